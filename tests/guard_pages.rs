//! Native code never reads or writes out of bounds.
//!
//! Every kernel shape the compiler emits (every unary and binary op and
//! `where`, both dtypes, every broadcast pattern, fused reductions per row,
//! per column and whole, lengths 0 to 70, around the vector width and the
//! unroll factor, and large) is compiled with `gradjit::jit::compile` from
//! the `KernelSpec` that `gradjit::fuse::plan` makes, and called through its
//! `KernelFn` on buffers of exactly the size the layout says it touches,
//! placed in `mmap`ed memory between two pages with no access rights: once
//! with each buffer's end flush against the page after it (an overrun
//! faults), once with its start flush against the page before it (a read
//! below the start faults). Empty buffers point at the guard page itself.
//! The results are also checked against the interpreter, so the harness
//! calls kernels the way the executor does.
//!
//! A second part runs whole executables (`Executable::run_into`, and the
//! whole-program function through `Executable::run_entry`) with feeds and
//! outputs in guarded memory, covering the executor's own slab loop, the
//! re-blocking of long reductions, the multi-threaded split, and every
//! library step lowered into the whole-program function.
//!
//! A fault kills the test binary with SIGSEGV: that is the failure.

use std::collections::HashMap;

use gradjit::exec::{compile, CompileOptions};
use gradjit::fuse::{plan, Fusion, KernelStep, Layout, ReduceClass};
use gradjit::graph::kernel::KernelSpec;
use gradjit::graph::{BinaryOp, Op, ReduceOp, UnaryOp, BINARY_OPS, UNARY_OPS};
use gradjit::interp::evaluate;
use gradjit::jit::{self, CompiledKernels};
use gradjit::value::ValueViewMut;
use gradjit::{DType, Graph, NodeId, Shape, Value, ValueView};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Lengths 0 to 70, around multiples of the vector width (4 f32 / 2 f64
/// lanes) times the unroll factor (2), and large.
fn lengths() -> Vec<usize> {
    let mut v: Vec<usize> = (0..=70).collect();
    v.extend([127, 128, 129, 255, 256, 257, 1000, 4095, 4096, 4097, 10_007]);
    v
}

/// Where a buffer sits against its guard pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flush {
    /// Its last byte is just before an inaccessible page.
    End,
    /// Its first byte is just after an inaccessible page.
    Start,
}

/// Memory for `len` elements of `T` between two `PROT_NONE` pages.
struct Guarded<T> {
    map: *mut u8,
    map_len: usize,
    data: *mut T,
    len: usize,
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).unwrap_or(4096)
}

impl<T: Copy> Guarded<T> {
    fn new(len: usize, flush: Flush) -> Self {
        let page = page_size();
        let bytes = len * std::mem::size_of::<T>();
        let data_pages = bytes.div_ceil(page).max(1);
        let map_len = (data_pages + 2) * page;
        // SAFETY: an anonymous private mapping; the arguments are valid and
        // the result is checked against MAP_FAILED.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED, "mmap failed");
        let map = map.cast::<u8>();
        // SAFETY: both ranges are whole pages inside the mapping just made.
        unsafe {
            assert_eq!(libc::mprotect(map.cast(), page, libc::PROT_NONE), 0);
            let tail = map.add((data_pages + 1) * page);
            assert_eq!(libc::mprotect(tail.cast(), page, libc::PROT_NONE), 0);
        }
        let data = match flush {
            // SAFETY: `page` bytes in is the first byte after the first guard.
            Flush::Start => unsafe { map.add(page) },
            // SAFETY: the data pages end at `(data_pages + 1) * page`, and
            // `bytes` is at most `data_pages * page`.
            Flush::End => unsafe { map.add((data_pages + 1) * page - bytes) },
        };
        Guarded {
            map,
            map_len,
            data: data.cast(),
            len,
        }
    }

    fn fill(&mut self, f: impl FnMut() -> T) {
        self.as_mut_slice().iter_mut().for_each({
            let mut f = f;
            move |v| *v = f()
        });
    }

    fn as_slice(&self) -> &[T] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `data` points at `len` readable, writable elements of the
        // mapping (aligned: page offsets are multiples of size_of::<T>()),
        // and `self` is borrowed for the slice's lifetime.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: as in `as_slice`, with `self` borrowed mutably.
        unsafe { std::slice::from_raw_parts_mut(self.data, self.len) }
    }
}

impl<T> Drop for Guarded<T> {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `Guarded::new` with this length
        // and nothing borrows it any more.
        unsafe { libc::munmap(self.map.cast(), self.map_len) };
    }
}

/// The furthest element (exclusive) a kernel touches from an operand's
/// base, as the executor computes it.
fn extent(layout: &Layout, outer: &[isize], inner_stride: isize) -> usize {
    if layout.is_empty() {
        return 0;
    }
    let mut max = 0isize;
    for (d, s) in layout.outer_dims.iter().zip(outer) {
        assert!(*s >= 0);
        max += s * (*d as isize - 1);
    }
    let row = if inner_stride == 0 {
        1
    } else {
        layout.inner as isize
    };
    (max + row) as usize
}

/// Compiled kernels, one per distinct kernel body.
#[derive(Default)]
struct Cache {
    specs: Vec<(KernelSpec, CompiledKernels)>,
}

impl Cache {
    fn get(&mut self, spec: &KernelSpec) -> gradjit::jit::KernelFn {
        let i = match self.specs.iter().position(|(s, _)| s.same_code(spec)) {
            Some(i) => i,
            None => {
                let k = jit::compile(&[spec]).expect("kernel compiles");
                self.specs.push((spec.clone(), k));
                self.specs.len() - 1
            }
        };
        self.specs[i].1.get(0).expect("one kernel")
    }
}

/// An element type: f32 or f64.
trait Elem: Copy + Default + 'static {
    const DT: DType;
    fn make(v: f64) -> Self;
    fn wide(self) -> f64;
}
impl Elem for f32 {
    const DT: DType = DType::F32;
    fn make(v: f64) -> Self {
        v as f32
    }
    fn wide(self) -> f64 {
        f64::from(self)
    }
}
impl Elem for f64 {
    const DT: DType = DType::F64;
    fn make(v: f64) -> Self {
        v
    }
    fn wide(self) -> f64 {
        self
    }
}

fn close(p: f64, q: f64, rtol: f64) -> bool {
    (p.is_nan() && q.is_nan()) || p == q || (p - q).abs() <= rtol * p.abs().max(q.abs()).max(1.0)
}

/// Runs one kernel step on guarded buffers, as the executor would (slabs of
/// the leading outer dimensions, `rows × inner` per call), then checks its
/// outputs and reductions against the interpreter.
fn run_step<T: Elem>(
    g: &Graph,
    step: &KernelStep,
    cache: &mut Cache,
    flush: Flush,
    rng: &mut SmallRng,
) {
    let layout = &step.layout;
    let f = cache.get(&step.spec);
    let (lead, rows) = match layout.outer_dims.split_last() {
        Some((last, lead)) => (lead.to_vec(), *last),
        None => (vec![], 1),
    };
    let slabs: usize = lead.iter().product();
    // inputs
    let mut ins: Vec<Guarded<T>> = Vec::new();
    let mut feeds = std::collections::HashMap::new();
    for (k, &node) in step.inputs.iter().enumerate() {
        let n = extent(layout, &layout.input_strides[k], layout.input_inner[k]);
        let shape = g.node(node).shape.concrete().expect("concrete");
        let numel: usize = shape.iter().product();
        assert!(
            n == numel || layout.is_empty(),
            "input {k}: extent {n}, but {numel} elements"
        );
        let mut b = Guarded::<T>::new(numel, flush);
        b.fill(|| T::make(rng.gen_range(-2.0..2.0)));
        let a = ArrayD::from_shape_vec(shape, b.as_slice().iter().map(|v| v.wide()).collect())
            .expect("shape");
        feeds.insert(node, Value::from_f64_array(a, T::DT));
        ins.push(b);
    }
    let out_n = extent(layout, &layout.output_strides, 1);
    let mut outs: Vec<Guarded<T>> = step
        .outputs
        .iter()
        .map(|_| Guarded::new(out_n, flush))
        .collect();
    let mut reds: Vec<Guarded<T>> = Vec::new();
    for (j, r) in step.reductions.iter().enumerate() {
        let numel: usize = g
            .node(r.node)
            .shape
            .concrete()
            .expect("concrete")
            .iter()
            .product();
        let n = match r.class {
            ReduceClass::All => slabs * rows,
            ReduceClass::PerRow => extent(layout, &layout.reduce_strides[j], 0),
            ReduceClass::PerColumn => extent(layout, &layout.reduce_strides[j], 1),
        };
        // an empty space touches nothing; its results are the identity
        assert!(r.class == ReduceClass::All || n == numel || layout.is_empty());
        let n = if r.class == ReduceClass::All || !layout.is_empty() {
            n
        } else {
            numel
        };
        let mut b = Guarded::<T>::new(n, flush);
        let id = step.spec.reductions[j].op;
        let identity = match id {
            ReduceOp::Max => f64::NEG_INFINITY,
            ReduceOp::Min => f64::INFINITY,
            _ => 0.0,
        };
        b.fill(|| T::make(identity));
        reds.push(b);
    }
    let row_strides: Vec<isize> = layout
        .input_strides
        .iter()
        .map(|s| s.last().copied().unwrap_or(0))
        .collect();
    let size = std::mem::size_of::<T>();
    let call = |ptrs: &[*mut u8], rows: usize, inner: usize| {
        // SAFETY: every pointer is an operand's base plus the slab's offset,
        // inside a buffer of exactly the extent the layout says the kernel
        // touches from it: what this test checks is that it touches no more.
        unsafe { f(ptrs.as_ptr().cast(), row_strides.as_ptr(), rows, inner) };
    };
    let mut index = vec![0usize; lead.len()];
    for slab in 0..slabs {
        let dot =
            |s: &[isize]| -> usize { index.iter().zip(s).map(|(&i, &st)| i * st as usize).sum() };
        let mut ptrs: Vec<*mut u8> = Vec::new();
        for (k, b) in ins.iter().enumerate() {
            ptrs.push(
                b.data
                    .cast::<u8>()
                    .wrapping_add(dot(&layout.input_strides[k]) * size),
            );
        }
        for b in &outs {
            ptrs.push(
                b.data
                    .cast::<u8>()
                    .wrapping_add(dot(&layout.output_strides) * size),
            );
        }
        for (j, (r, b)) in step.reductions.iter().zip(&reds).enumerate() {
            let off = match r.class {
                ReduceClass::All => slab * rows,
                _ => dot(&layout.reduce_strides[j]),
            };
            ptrs.push(b.data.cast::<u8>().wrapping_add(off * size));
        }
        if !layout.is_empty() {
            call(&ptrs, rows, layout.inner);
        }
        for d in (0..lead.len()).rev() {
            index[d] += 1;
            if index[d] < lead[d] {
                break;
            }
            index[d] = 0;
        }
    }
    // an empty iteration space reads and writes nothing, even a splat
    let bases: Vec<*mut u8> = ins
        .iter()
        .map(|b| b.data.cast())
        .chain(outs.iter().map(|b| b.data.cast()))
        .chain(reds.iter().map(|b| b.data.cast()))
        .collect();
    if layout.is_empty() {
        call(&bases, rows, layout.inner);
        call(&bases, 0, layout.inner);
        call(&bases, rows, 0);
    }
    // the values, against the interpreter fed the kernel's inputs
    let views: HashMap<NodeId, ValueView<'_>> = feeds.iter().map(|(k, v)| (*k, v.view())).collect();
    let fetch: Vec<NodeId> = step
        .outputs
        .iter()
        .copied()
        .chain(step.reductions.iter().map(|r| r.node))
        .collect();
    let want = evaluate(g, &fetch, &views).expect("interpreter");
    let rtol = if T::DT == DType::F32 { 1e-3 } else { 1e-9 };
    for (j, b) in outs.iter_mut().enumerate() {
        let w = want[j].to_f64_vec();
        let h: Vec<f64> = b.as_slice().iter().map(|v| v.wide()).collect();
        assert_eq!(w.len(), h.len(), "{}: output {j} size", step.spec.name);
        for (i, (p, q)) in w.iter().zip(&h).enumerate() {
            assert!(
                close(*p, *q, rtol),
                "{}: output {j}[{i}] {p} vs {q}",
                step.spec.name
            );
        }
    }
    for (j, (r, b)) in step.reductions.iter().zip(&reds).enumerate() {
        let w = want[step.outputs.len() + j].to_f64_vec();
        let raw: Vec<f64> = b.as_slice().iter().map(|v| v.wide()).collect();
        let op = step.spec.reductions[j].op;
        let mut h = match r.class {
            ReduceClass::All if !layout.is_empty() => vec![op.eval(raw.iter().copied())],
            ReduceClass::All => vec![op.eval(std::iter::empty::<f64>())],
            _ => raw,
        };
        if r.mean {
            h.iter_mut().for_each(|v| *v /= r.count as f64);
        }
        assert_eq!(w.len(), h.len(), "{}: reduction {j} size", step.spec.name);
        for (i, (p, q)) in w.iter().zip(&h).enumerate() {
            assert!(
                close(*p, *q, rtol * 10.0),
                "{}: reduction {j} ({:?})[{i}] {p} vs {q}",
                step.spec.name,
                r.class
            );
        }
    }
}

/// Plans `y` of `g` and runs every kernel step in both placements.
fn run_graph<T: Elem>(
    g: &Graph,
    y: &[NodeId],
    fusion: Fusion,
    cache: &mut Cache,
    seed: u64,
) -> usize {
    let p = plan(g, y, fusion).expect("plans");
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut n = 0;
    for step in p.kernels() {
        for flush in [Flush::End, Flush::Start] {
            run_step::<T>(g, step, cache, flush, &mut rng);
        }
        n += 1;
    }
    n
}

/// Shapes of two operands broadcast against each other, for length `n`.
fn patterns(n: usize) -> Vec<(Vec<usize>, Vec<usize>)> {
    vec![
        (vec![n], vec![n]),
        (vec![n], vec![]),
        (vec![], vec![n]),
        (vec![3, n], vec![n]),
        (vec![3, n], vec![3, 1]),
        (vec![n, 3], vec![1, 3]),
        (vec![2, 1, n], vec![2, 3, n]),
        (vec![n, 1], vec![1, 5]),
    ]
}

fn elementwise_all_ops<T: Elem>(cache: &mut Cache, lengths: &[usize]) {
    for &n in lengths {
        for (sa, sb) in patterns(n) {
            let g = Graph::new();
            let a = g.add_placeholder("a", T::DT, Shape::known(&sa)).unwrap();
            let b = g.add_placeholder("b", T::DT, Shape::known(&sb)).unwrap();
            // every unary op of a and every binary op of (a, b), and where,
            // as outputs of one fused kernel
            let mut ys = Vec::new();
            for u in UNARY_OPS {
                let x = g.add_node(Op::Binary(BinaryOp::Add), &[a, b]).unwrap();
                ys.push(g.add_node(Op::Unary(u), &[x]).unwrap());
            }
            for op in BINARY_OPS {
                ys.push(g.add_node(Op::Binary(op), &[a, b]).unwrap());
            }
            ys.push(g.add_node(Op::Where, &[a, b, a]).unwrap());
            run_graph::<T>(&g, &ys, Fusion::Fused, cache, n as u64);
        }
    }
}

#[test]
fn every_op_fused_every_length_and_broadcast_f32() {
    elementwise_all_ops::<f32>(&mut Cache::default(), &lengths());
}

#[test]
fn every_op_fused_every_length_and_broadcast_f64() {
    elementwise_all_ops::<f64>(&mut Cache::default(), &lengths());
}

/// Each op alone in its own kernel (the unfused engine's kernels), on a
/// splatted and a contiguous operand.
#[test]
fn every_op_alone() {
    fn go<T: Elem>(cache: &mut Cache) {
        for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 65, 70, 4097] {
            for (sa, sb) in [
                (vec![n], vec![n]),
                (vec![2, n], vec![]),
                (vec![n, 3], vec![n, 1]),
            ] {
                let g = Graph::new();
                let a = g.add_placeholder("a", T::DT, Shape::known(&sa)).unwrap();
                let b = g.add_placeholder("b", T::DT, Shape::known(&sb)).unwrap();
                let mut ys: Vec<NodeId> = UNARY_OPS
                    .iter()
                    .map(|u| g.add_node(Op::Unary(*u), &[b]).unwrap())
                    .collect();
                for op in BINARY_OPS {
                    ys.push(g.add_node(Op::Binary(op), &[a, b]).unwrap());
                    ys.push(g.add_node(Op::Binary(op), &[b, a]).unwrap());
                }
                ys.push(g.add_node(Op::Where, &[b, a, b]).unwrap());
                let k = run_graph::<T>(&g, &ys, Fusion::Unfused, cache, n as u64);
                assert_eq!(k, ys.len());
            }
        }
    }
    go::<f32>(&mut Cache::default());
    go::<f64>(&mut Cache::default());
}

/// Reductions fused into kernels: whole, per row, per column, with and
/// without keepdims, beside an elementwise output, over broadcast inputs.
#[test]
fn fused_reductions_every_class() {
    fn go<T: Elem>(cache: &mut Cache) {
        let mut classes = std::collections::BTreeSet::new();
        let mut ns: Vec<usize> = (0..=20).collect();
        ns.extend([31, 32, 33, 63, 64, 65, 70, 129, 4097]);
        for n in ns {
            let shapes: Vec<(Vec<usize>, Option<Vec<usize>>)> = vec![
                (vec![n], None),
                (vec![3, n], None),
                (vec![3, n], Some(vec![1])),
                (vec![3, n], Some(vec![0])),
                (vec![n, 5], Some(vec![1])),
                (vec![n, 5], Some(vec![0])),
                (vec![2, 3, n], Some(vec![1])),
                (vec![2, 3, n], Some(vec![2])),
                (vec![2, 3, n], Some(vec![0, 1])),
                (vec![2, 3, n], Some(vec![1, 2])),
                (vec![2, 3, n], Some(vec![0, 2])),
            ];
            for (shape, axes) in shapes {
                for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min] {
                    for keepdims in [false, true] {
                        let g = Graph::new();
                        let x = g.add_placeholder("x", T::DT, Shape::known(&shape)).unwrap();
                        let last = &shape[shape.len() - 1..];
                        let b = g.add_placeholder("b", T::DT, Shape::known(last)).unwrap();
                        let z = g.add_node(Op::Binary(BinaryOp::Mul), &[x, b]).unwrap();
                        let t = g.add_node(Op::Unary(UnaryOp::Tanh), &[z]).unwrap();
                        let r = g
                            .add_node(
                                Op::Reduce {
                                    op,
                                    axes: axes.clone(),
                                    keepdims,
                                },
                                &[t],
                            )
                            .unwrap();
                        // with and without the elementwise value fetched too
                        for fetch in [vec![r], vec![r, t]] {
                            let p = plan(&g, &fetch, Fusion::Fused).expect("plans");
                            for k in p.kernels() {
                                for red in &k.reductions {
                                    classes.insert(format!("{:?}", red.class));
                                }
                            }
                            run_graph::<T>(&g, &fetch, Fusion::Fused, cache, n as u64);
                        }
                    }
                }
            }
        }
        assert_eq!(classes.len(), 3, "every class is exercised: {classes:?}");
    }
    go::<f32>(&mut Cache::default());
    go::<f64>(&mut Cache::default());
}

/// Splatted inputs (scalars, rows of one, columns) and constants of more
/// than one element read through strides.
#[test]
fn splats_and_constants() {
    fn go<T: Elem>(cache: &mut Cache) {
        for n in [0, 1, 2, 3, 5, 8, 9, 17, 66] {
            for shape in [
                vec![n],
                vec![n, 1],
                vec![1, n],
                vec![4, n],
                vec![n, 4],
                vec![2, n, 3],
            ] {
                let g = Graph::new();
                let x = g.add_placeholder("x", T::DT, Shape::known(&shape)).unwrap();
                let s = g.add_placeholder("s", T::DT, Shape::known(&[])).unwrap();
                let one = g.add_placeholder("one", T::DT, Shape::known(&[1])).unwrap();
                let c = g.add_scalar(0.5, T::DT);
                let y = g.add_node(Op::Binary(BinaryOp::Mul), &[x, s]).unwrap();
                let y = g.add_node(Op::Binary(BinaryOp::Sub), &[one, y]).unwrap();
                let y = g.add_node(Op::Binary(BinaryOp::Pow), &[y, c]).unwrap();
                let y = g.add_node(Op::Where, &[s, y, one]).unwrap();
                run_graph::<T>(&g, &[y], Fusion::Fused, cache, n as u64);
            }
        }
    }
    go::<f32>(&mut Cache::default());
    go::<f64>(&mut Cache::default());
}

/// Whole executables with feeds and outputs in guarded memory: the
/// executor's slab loop, the re-blocking of long whole reductions, the
/// thread split and library steps, at lengths around their thresholds.
#[test]
fn executables_on_guarded_feeds_and_outputs() {
    fn go<T: Elem + gradjit::value::Element + WrapMut>() {
        let big = gradjit::exec::PARALLEL_THRESHOLD + 5;
        for n in [0usize, 1, 3, 4, 5, 8, 9, 33, 4095, 4096, 4097, 8193, big] {
            for threads in [1, 2] {
                let g = Graph::new();
                let x = g.add_placeholder("x", T::DT, Shape::known(&[n])).unwrap();
                let m = g
                    .add_placeholder("m", T::DT, Shape::known(&[2, n]))
                    .unwrap();
                let t = g.add_node(Op::Unary(UnaryOp::Tanh), &[x]).unwrap();
                let s = g
                    .add_node(
                        Op::Reduce {
                            op: ReduceOp::Sum,
                            axes: None,
                            keepdims: false,
                        },
                        &[t],
                    )
                    .unwrap();
                let e = g.add_node(Op::Binary(BinaryOp::Mul), &[m, t]).unwrap();
                let r = g
                    .add_node(
                        Op::Reduce {
                            op: ReduceOp::Max,
                            axes: Some(vec![0]),
                            keepdims: false,
                        },
                        &[e],
                    )
                    .unwrap();
                let fetch = [s, e, r, t];
                let exe = compile(
                    &g,
                    &fetch,
                    &[(x, vec![n]), (m, vec![2, n])],
                    &CompileOptions {
                        threads,
                        ..CompileOptions::default()
                    },
                )
                .expect("compiles");
                let mut rng = SmallRng::seed_from_u64(n as u64);
                for flush in [Flush::End, Flush::Start] {
                    let mut fx = Guarded::<T>::new(n, flush);
                    let mut fm = Guarded::<T>::new(2 * n, flush);
                    fx.fill(|| T::make(rng.gen_range(-2.0..2.0)));
                    fm.fill(|| T::make(rng.gen_range(-2.0..2.0)));
                    let mut outs: Vec<Guarded<T>> = exe
                        .output_shapes()
                        .iter()
                        .map(|s| Guarded::new(s.iter().product(), flush))
                        .collect();
                    let by_name = |name: &str| -> Vec<usize> {
                        exe.inputs()
                            .iter()
                            .find(|(k, _)| k == name)
                            .map(|(_, s)| s.clone())
                            .unwrap()
                    };
                    let views: Vec<ValueView<'_>> = exe
                        .inputs()
                        .iter()
                        .map(|(name, _)| {
                            let b = if name == "x" { &fx } else { &fm };
                            let a = ArrayViewD::from_shape(IxDyn(&by_name(name)), b.as_slice())
                                .unwrap();
                            T::wrap_view(a)
                        })
                        .collect();
                    let shapes: Vec<Vec<usize>> = exe.output_shapes().to_vec();
                    {
                        let mut mv: Vec<ValueViewMut<'_>> = outs
                            .iter_mut()
                            .zip(&shapes)
                            .map(|(o, s)| {
                                let a =
                                    ArrayViewMutD::from_shape(IxDyn(s), o.as_mut_slice()).unwrap();
                                T::wrap_view_mut(a)
                            })
                            .collect();
                        exe.run_into(&views, &mut mv).expect("runs");
                    }
                    // the whole-program function on the same guarded buffers
                    let mut again: Vec<Guarded<T>> = shapes
                        .iter()
                        .map(|s| Guarded::new(s.iter().product(), flush))
                        .collect();
                    {
                        let mut mv: Vec<ValueViewMut<'_>> = again
                            .iter_mut()
                            .zip(&shapes)
                            .map(|(o, s)| {
                                let a =
                                    ArrayViewMutD::from_shape(IxDyn(s), o.as_mut_slice()).unwrap();
                                T::wrap_view_mut(a)
                            })
                            .collect();
                        exe.run_entry(&views, &mut mv).expect("the entry runs");
                    }
                    for (k, (a, o)) in again.iter().zip(&outs).enumerate() {
                        for (p, q) in a.as_slice().iter().zip(o.as_slice()) {
                            assert!(
                                close(p.wide(), q.wide(), 1e-3),
                                "n={n} output {k}: entry {} vs {}",
                                p.wide(),
                                q.wide()
                            );
                        }
                    }
                    let want = gradjit::Session::new(&g)
                        .run(
                            &fetch.map(|f| g.tensor(f)),
                            &[
                                (g.tensor(x), views_of(&exe, &views, "x")),
                                (g.tensor(m), views_of(&exe, &views, "m")),
                            ],
                        )
                        .expect("interpreter");
                    for (k, (w, o)) in want.iter().zip(&outs).enumerate() {
                        let h: Vec<f64> = o.as_slice().iter().map(|v| v.wide()).collect();
                        for (p, q) in w.to_f64_vec().iter().zip(&h) {
                            assert!(close(*p, *q, 1e-3), "n={n} output {k}: {p} vs {q}");
                        }
                    }
                }
            }
        }
    }
    go::<f32>();
    go::<f64>();
}

fn views_of<'a>(
    exe: &gradjit::exec::Executable,
    views: &[ValueView<'a>],
    name: &str,
) -> ValueView<'a> {
    let k = exe.inputs().iter().position(|(n, _)| n == name).unwrap();
    views[k].clone()
}

/// `wrap_view_mut` for the two element types.
trait WrapMut: Sized {
    fn wrap_view_mut(a: ArrayViewMutD<'_, Self>) -> ValueViewMut<'_>;
}
impl WrapMut for f32 {
    fn wrap_view_mut(a: ArrayViewMutD<'_, f32>) -> ValueViewMut<'_> {
        ValueViewMut::F32(a)
    }
}
impl WrapMut for f64 {
    fn wrap_view_mut(a: ArrayViewMutD<'_, f64>) -> ValueViewMut<'_> {
        ValueViewMut::F64(a)
    }
}

/// In a child process (`GRADJIT_GUARD_OVERRUN` set): calls a kernel one
/// element past its buffers' end, or one element before their start.
fn overrun_child(mode: &str) {
    let n = 37;
    let g = Graph::new();
    let x = g
        .add_placeholder("x", DType::F32, Shape::known(&[n]))
        .unwrap();
    let y = g.add_node(Op::Unary(UnaryOp::Exp), &[x]).unwrap();
    let p = plan(&g, &[y], Fusion::Fused).unwrap();
    let step = p.kernels().next().unwrap();
    let mut cache = Cache::default();
    let f = cache.get(&step.spec);
    let (flush, shift, len) = match mode {
        "end" => (Flush::End, 0, n + 1),
        _ => (Flush::Start, 1, n),
    };
    let a = Guarded::<f32>::new(n, flush);
    let b = Guarded::<f32>::new(n, flush);
    let ptrs: Vec<*mut u8> = [&a, &b]
        .iter()
        .map(|g| g.data.cast::<u8>().wrapping_sub(shift * 4))
        .collect();
    let strides = [0isize];
    // SAFETY: deliberately not: this call must fault on the guard page, and
    // runs only in a child process whose death the parent expects.
    unsafe { f(ptrs.as_ptr().cast(), strides.as_ptr(), 1, len) };
}

/// The harness can fail: a kernel called one element past the end, or one
/// before the start, of guarded buffers kills its process with SIGSEGV.
#[test]
fn an_overrun_faults() {
    if let Ok(mode) = std::env::var("GRADJIT_GUARD_OVERRUN") {
        overrun_child(&mode);
        return;
    }
    for mode in ["end", "start"] {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["an_overrun_faults", "--exact", "--test-threads", "1"])
            .env("GRADJIT_GUARD_OVERRUN", mode)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGSEGV), "{mode}: {status:?}");
    }
}

// ---------------------------------------------------------------------------
// Library steps of version 2 on guarded feeds and outputs
//
// Gathers, slices, padding, concatenation, convolutions and poolings (and
// their gradient operations) run as library steps, which the harness above
// cannot call one by one (`gradjit::exec`'s library is private). They are
// reached through whole executables instead: the executor reads a
// contiguous feed in place and writes a fetched step's result straight into
// the caller's output, so with feeds and outputs in guarded memory a read
// or write past either end of those buffers faults. Temporaries between
// steps (and the im2col matrix of a convolution) are the executor's own
// allocations and are not guarded; those steps are written in safe Rust,
// whose bounds checks stand in for the guard pages there.

/// A placeholder of the graph and the values it is fed.
struct FeedOf {
    node: NodeId,
    name: &'static str,
    shape: Vec<usize>,
    data: Vec<f64>,
}

fn placeholder<T: Elem>(g: &Graph, name: &'static str, shape: &[usize]) -> NodeId {
    g.add_placeholder(name, T::DT, Shape::known(shape)).unwrap()
}

/// Uniform values in [-2, 2), rounded to quarters so that ties occur.
fn quarters(rng: &mut SmallRng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| (rng.gen_range(-8..8) as f64) / 4.0)
        .collect()
}

/// Compiles `fetch` for each native engine (`jit`, `jit-mt` on 2 threads,
/// `jit-unfused`), runs it with every feed and every output in guarded
/// memory, flush against the page after and against the page before, and
/// checks the results against the interpreter.
fn guarded_library<T: Elem + gradjit::value::Element + WrapMut>(
    g: &Graph,
    fetch: &[NodeId],
    feeds: &[FeedOf],
    what: &str,
) {
    use gradjit::exec::Engine;
    let values: Vec<Value> = feeds
        .iter()
        .map(|f| {
            let a = ArrayD::from_shape_vec(IxDyn(&f.shape), f.data.clone()).unwrap();
            Value::from_f64_array(a, T::DT)
        })
        .collect();
    let want = gradjit::Session::new(g)
        .run(
            &fetch.iter().map(|&f| g.tensor(f)).collect::<Vec<_>>(),
            &feeds
                .iter()
                .zip(&values)
                .map(|(f, v)| (g.tensor(f.node), v.view()))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|e| panic!("{what}: interpreter: {e}"));
    let shapes: Vec<(NodeId, Vec<usize>)> =
        feeds.iter().map(|f| (f.node, f.shape.clone())).collect();
    let rtol = if T::DT == DType::F32 { 1e-4 } else { 1e-10 };
    for engine in [Engine::Jit, Engine::JitMt, Engine::JitUnfused] {
        let exe = compile(
            g,
            fetch,
            &shapes,
            &CompileOptions::for_engine(engine, Some(2)),
        )
        .unwrap_or_else(|e| panic!("{what} on {engine}: {e}"));
        // the operations under test run as library steps, not folded away
        assert!(
            exe.library_steps() > 0,
            "{what} on {engine}: no library step"
        );
        // through `run_into` (the executor, or the whole-program function
        // where it runs) and through `run_entry` (always the function)
        for (flush, entry) in [
            (Flush::End, false),
            (Flush::Start, false),
            (Flush::End, true),
            (Flush::Start, true),
        ] {
            let ins: Vec<(Guarded<T>, Vec<usize>)> = exe
                .inputs()
                .iter()
                .map(|(name, shape)| {
                    let f = feeds.iter().find(|f| f.name == name).expect("a fed input");
                    assert_eq!(&f.shape, shape, "{what}: the shape of {name}");
                    let mut b = Guarded::<T>::new(f.data.len(), flush);
                    let mut it = f.data.iter();
                    b.fill(|| T::make(*it.next().unwrap()));
                    (b, shape.clone())
                })
                .collect();
            let views: Vec<ValueView<'_>> = ins
                .iter()
                .map(|(b, s)| T::wrap_view(ArrayViewD::from_shape(IxDyn(s), b.as_slice()).unwrap()))
                .collect();
            let out_shapes: Vec<Vec<usize>> = exe.output_shapes().to_vec();
            let mut outs: Vec<Guarded<T>> = out_shapes
                .iter()
                .map(|s| Guarded::new(s.iter().product(), flush))
                .collect();
            {
                let mut mv: Vec<ValueViewMut<'_>> = outs
                    .iter_mut()
                    .zip(&out_shapes)
                    .map(|(o, s)| {
                        T::wrap_view_mut(
                            ArrayViewMutD::from_shape(IxDyn(s), o.as_mut_slice()).unwrap(),
                        )
                    })
                    .collect();
                if entry {
                    exe.run_entry(&views, &mut mv)
                } else {
                    exe.run_into(&views, &mut mv)
                }
                .unwrap_or_else(|e| panic!("{what} on {engine} (entry: {entry}): {e}"));
            }
            for (k, (w, o)) in want.iter().zip(&outs).enumerate() {
                assert_eq!(w.shape(), &out_shapes[k][..], "{what}: output {k} shape");
                let h: Vec<f64> = o.as_slice().iter().map(|v| v.wide()).collect();
                for (i, (p, q)) in w.to_f64_vec().iter().zip(&h).enumerate() {
                    assert!(
                        close(*p, *q, rtol),
                        "{what} on {engine} ({flush:?}): output {k}[{i}] {p} vs {q}"
                    );
                }
            }
        }
    }
}

/// `gather` along each axis with the first and the last index, indices
/// only at the edges of `params`, repeated; and its scatter-add gradient.
#[test]
fn guarded_gather_and_its_gradient() {
    fn go<T: Elem + gradjit::value::Element + WrapMut>() {
        let mut rng = SmallRng::seed_from_u64(71);
        for n in [1usize, 2, 3, 5, 17] {
            let last = (n - 1) as f64;
            let index_sets: Vec<Vec<f64>> = vec![
                vec![0.0],
                vec![last],
                vec![last, 0.0],
                vec![0.0, last, 0.0, last, last],
                (0..n).rev().map(|i| i as f64).collect(),
            ];
            for (pshape, axis) in [
                (vec![n], 0),
                (vec![n, 3], 0),
                (vec![3, n], 1),
                (vec![2, n, 5], 1),
                (vec![2, 3, n], 2),
            ] {
                for idx in &index_sets {
                    let g = Graph::new();
                    let p = placeholder::<T>(&g, "p", &pshape);
                    let i = placeholder::<T>(&g, "i", &[idx.len()]);
                    let y = g.add_node(Op::Gather { axis }, &[p, i]).unwrap();
                    let ys = g.node(y).shape.concrete().expect("concrete");
                    let gy = placeholder::<T>(&g, "gy", &ys);
                    let like = placeholder::<T>(&g, "like", &pshape);
                    let d = g.add_node(Op::GatherGrad { axis }, &[gy, i, like]).unwrap();
                    let np: usize = pshape.iter().product();
                    let feeds = vec![
                        FeedOf {
                            node: p,
                            name: "p",
                            shape: pshape.clone(),
                            data: quarters(&mut rng, np),
                        },
                        FeedOf {
                            node: i,
                            name: "i",
                            shape: vec![idx.len()],
                            data: idx.clone(),
                        },
                        FeedOf {
                            node: gy,
                            name: "gy",
                            shape: ys.clone(),
                            data: quarters(&mut rng, ys.iter().product()),
                        },
                        FeedOf {
                            node: like,
                            name: "like",
                            shape: pshape.clone(),
                            data: vec![0.0; np],
                        },
                    ];
                    let what = format!("gather({pshape:?}, {idx:?}, {axis})");
                    guarded_library::<T>(&g, &[y, d], &feeds, &what);
                    // a 2-D block of indices, and one_hot of edge indices
                    let g = Graph::new();
                    let i2 = placeholder::<T>(&g, "i", &[2, 2]);
                    let p2 = placeholder::<T>(&g, "p", &pshape);
                    let y2 = g.add_node(Op::Gather { axis }, &[p2, i2]).unwrap();
                    let oh = g.add_node(Op::OneHot { depth: n }, &[i2]).unwrap();
                    let feeds = vec![
                        FeedOf {
                            node: p2,
                            name: "p",
                            shape: pshape.clone(),
                            data: quarters(&mut rng, np),
                        },
                        FeedOf {
                            node: i2,
                            name: "i",
                            shape: vec![2, 2],
                            data: vec![last, 0.0, 0.0, last],
                        },
                    ];
                    guarded_library::<T>(&g, &[y2, oh], &feeds, &format!("2-D {what}"));
                }
            }
        }
    }
    go::<f32>();
    go::<f64>();
}

fn range(start: Option<i64>, stop: Option<i64>, step: i64) -> gradjit::graph::SliceItem {
    gradjit::graph::SliceItem::Range { start, stop, step }
}

/// Slices with negative steps, slices reaching both ends (and clamped past
/// them), integer items at both ends, empty slices; and their gradient.
#[test]
fn guarded_slices_and_their_gradient() {
    use gradjit::graph::SliceItem::{self, Index};
    fn go<T: Elem + gradjit::value::Element + WrapMut>() {
        let mut rng = SmallRng::seed_from_u64(72);
        let all = SliceItem::ALL;
        let cases: Vec<(Vec<usize>, Vec<SliceItem>)> = vec![
            (vec![7], vec![range(None, None, -1)]),
            (vec![7], vec![range(None, None, -2)]),
            (vec![7], vec![range(None, None, 3)]),
            (vec![7], vec![range(Some(-1), Some(-8), -1)]),
            (vec![7], vec![range(Some(6), None, -3)]),
            (vec![7], vec![range(Some(-100), Some(100), 1)]),
            (vec![7], vec![range(Some(100), Some(-100), -1)]),
            (vec![7], vec![range(Some(0), Some(7), 6)]),
            (vec![7], vec![range(Some(3), Some(3), 1)]),
            (vec![7], vec![Index(0)]),
            (vec![7], vec![Index(-1)]),
            (vec![1], vec![range(None, None, -1)]),
            (
                vec![5, 4],
                vec![range(None, None, -1), range(None, None, -1)],
            ),
            (vec![5, 4], vec![Index(-1), range(None, None, -3)]),
            (vec![5, 4], vec![all, Index(3)]),
            (vec![5, 4], vec![Index(0), Index(0)]),
            (vec![5, 4], vec![Index(4), Index(3)]),
            (
                vec![5, 4],
                vec![range(Some(4), Some(0), -4), range(Some(-1), None, 1)],
            ),
            (vec![3, 4, 5], vec![all, all, range(None, None, -1)]),
            (
                vec![3, 4, 5],
                vec![
                    range(None, None, -2),
                    Index(-1),
                    range(Some(4), Some(-6), -2),
                ],
            ),
            (vec![3, 4, 5], vec![Index(2), range(Some(1), Some(4), 2)]),
            (
                vec![2, 3, 33],
                vec![all, range(None, None, -1), range(Some(32), None, -1)],
            ),
        ];
        for (shape, items) in cases {
            let g = Graph::new();
            let x = placeholder::<T>(&g, "x", &shape);
            let y = g
                .add_node(
                    Op::Slice {
                        items: items.clone(),
                    },
                    &[x],
                )
                .unwrap();
            let ys = g.node(y).shape.concrete().expect("concrete");
            let gy = placeholder::<T>(&g, "gy", &ys);
            let like = placeholder::<T>(&g, "like", &shape);
            let d = g
                .add_node(
                    Op::SliceGrad {
                        items: items.clone(),
                    },
                    &[gy, like],
                )
                .unwrap();
            let n: usize = shape.iter().product();
            let feeds = vec![
                FeedOf {
                    node: x,
                    name: "x",
                    shape: shape.clone(),
                    data: quarters(&mut rng, n),
                },
                FeedOf {
                    node: gy,
                    name: "gy",
                    shape: ys.clone(),
                    data: quarters(&mut rng, ys.iter().product()),
                },
                FeedOf {
                    node: like,
                    name: "like",
                    shape: shape.clone(),
                    data: vec![0.0; n],
                },
            ];
            guarded_library::<T>(&g, &[y, d], &feeds, &format!("{shape:?}[{items:?}]"));
        }
    }
    go::<f32>();
    go::<f64>();
}

/// Padding before, after, both, neither, on every axis, of empty inputs.
#[test]
fn guarded_pad() {
    fn go<T: Elem + gradjit::value::Element + WrapMut>() {
        let mut rng = SmallRng::seed_from_u64(73);
        for (shape, widths) in [
            (vec![5], vec![(0, 0)]),
            (vec![5], vec![(3, 0)]),
            (vec![5], vec![(0, 3)]),
            (vec![1], vec![(1, 1)]),
            (vec![3, 4], vec![(0, 0), (2, 1)]),
            (vec![3, 4], vec![(1, 0), (0, 3)]),
            (vec![3, 4], vec![(2, 2), (2, 2)]),
            (vec![2, 3, 9], vec![(0, 1), (1, 0), (4, 5)]),
            (vec![0, 3], vec![(1, 1), (0, 0)]),
            (vec![3, 0], vec![(0, 0), (2, 0)]),
            (vec![2, 33], vec![(0, 0), (0, 1)]),
        ] {
            let g = Graph::new();
            let x = placeholder::<T>(&g, "x", &shape);
            let y = g
                .add_node(
                    Op::Pad {
                        widths: widths.clone(),
                    },
                    &[x],
                )
                .unwrap();
            let n: usize = shape.iter().product();
            let feeds = vec![FeedOf {
                node: x,
                name: "x",
                shape: shape.clone(),
                data: quarters(&mut rng, n),
            }];
            guarded_library::<T>(&g, &[y], &feeds, &format!("pad({shape:?}, {widths:?})"));
        }
    }
    go::<f32>();
    go::<f64>();
}

/// Concatenation along the first, a middle and the last axis, of two and
/// three operands, one of them empty along the axis.
#[test]
fn guarded_concat() {
    fn go<T: Elem + gradjit::value::Element + WrapMut>() {
        let mut rng = SmallRng::seed_from_u64(74);
        for (shapes, axis) in [
            (vec![vec![3], vec![1]], 0),
            (vec![vec![2, 3], vec![1, 3], vec![4, 3]], 0),
            (vec![vec![2, 3], vec![2, 1], vec![2, 5]], 1),
            (vec![vec![2, 3, 4], vec![2, 1, 4]], 1),
            (vec![vec![2, 3, 4], vec![2, 3, 1], vec![2, 3, 7]], 2),
            (vec![vec![2, 0], vec![2, 3]], 1),
            (vec![vec![2, 3], vec![2, 0]], 1),
            (vec![vec![0, 3], vec![0, 3]], 0),
            (vec![vec![1, 33], vec![1, 1]], 1),
        ] {
            let g = Graph::new();
            let names = ["a", "b", "c"];
            let mut feeds = Vec::new();
            for (k, s) in shapes.iter().enumerate() {
                let node = placeholder::<T>(&g, names[k], s);
                let n: usize = s.iter().product();
                feeds.push(FeedOf {
                    node,
                    name: names[k],
                    shape: s.clone(),
                    data: quarters(&mut rng, n),
                });
            }
            let ids: Vec<NodeId> = feeds.iter().map(|f| f.node).collect();
            let y = g.add_node(Op::Concat { axis }, &ids).unwrap();
            guarded_library::<T>(&g, &[y], &feeds, &format!("concat({shapes:?}, {axis})"));
        }
    }
    go::<f32>();
    go::<f64>();
}

/// `conv2d` with `"SAME"` padding at every border (odd and even filters,
/// the odd element after), strides that leave a tail of rows and columns,
/// filters as large as the input; its gradients to the input and the
/// filter; a bias added by a kernel reading the step's result.
#[test]
fn guarded_conv2d_and_its_gradients() {
    use gradjit::graph::Padding;
    fn go<T: Elem + gradjit::value::Element + WrapMut>() {
        let mut rng = SmallRng::seed_from_u64(75);
        for (xs, fs, strides, padding) in [
            ([1, 5, 5, 1], [3, 3, 1, 1], [1, 1], Padding::Same),
            ([2, 5, 7, 3], [3, 2, 3, 4], [1, 1], Padding::Same),
            ([2, 5, 7, 3], [2, 2, 3, 2], [1, 1], Padding::Same),
            ([2, 6, 6, 2], [4, 4, 2, 3], [1, 1], Padding::Same),
            ([1, 7, 8, 2], [3, 3, 2, 2], [2, 3], Padding::Same),
            ([1, 7, 8, 2], [3, 3, 2, 2], [2, 3], Padding::Valid),
            ([2, 7, 7, 1], [2, 2, 1, 5], [3, 3], Padding::Valid),
            ([1, 2, 3, 2], [4, 5, 2, 1], [1, 1], Padding::Same),
            ([1, 3, 4, 2], [3, 4, 2, 3], [1, 1], Padding::Valid),
            ([1, 1, 1, 1], [1, 1, 1, 1], [1, 1], Padding::Same),
            ([1, 9, 9, 16], [3, 3, 16, 32], [1, 1], Padding::Same),
        ] {
            let g = Graph::new();
            let x = placeholder::<T>(&g, "x", &xs);
            let f = placeholder::<T>(&g, "f", &fs);
            let op = Op::Conv2d { strides, padding };
            let y = g.add_node(op, &[x, f]).unwrap();
            let ys = g.node(y).shape.concrete().expect("concrete");
            let gy = placeholder::<T>(&g, "gy", &ys);
            let dx = g
                .add_node(Op::Conv2dBackpropInput { strides, padding }, &[gy, f, x])
                .unwrap();
            let df = g
                .add_node(Op::Conv2dBackpropFilter { strides, padding }, &[x, gy, f])
                .unwrap();
            let b = placeholder::<T>(&g, "b", &fs[3..]);
            let biased = g.add_node(Op::Binary(BinaryOp::Add), &[y, b]).unwrap();
            let feeds = vec![
                FeedOf {
                    node: x,
                    name: "x",
                    shape: xs.to_vec(),
                    data: quarters(&mut rng, xs.iter().product()),
                },
                FeedOf {
                    node: f,
                    name: "f",
                    shape: fs.to_vec(),
                    data: quarters(&mut rng, fs.iter().product()),
                },
                FeedOf {
                    node: gy,
                    name: "gy",
                    shape: ys.clone(),
                    data: quarters(&mut rng, ys.iter().product()),
                },
                FeedOf {
                    node: b,
                    name: "b",
                    shape: vec![fs[3]],
                    data: quarters(&mut rng, fs[3]),
                },
            ];
            let what = format!("conv2d({xs:?}, {fs:?}, {strides:?}, {padding:?})");
            guarded_library::<T>(&g, &[y, dx, df], &feeds, &what);
            guarded_library::<T>(&g, &[biased], &feeds, &format!("{what} + b"));
        }
    }
    go::<f32>();
    go::<f64>();
}

/// `max_pool2d` and `avg_pool2d` with `"SAME"` windows reaching over every
/// border, overlapping windows, windows that stop short of the last rows
/// and columns, windows larger than the input; their gradients (and
/// `max_pool2d`'s second-order operation), on values with ties.
#[test]
fn guarded_pooling_and_its_gradients() {
    use gradjit::graph::{Padding, Window};
    fn go<T: Elem + gradjit::value::Element + WrapMut>() {
        let mut rng = SmallRng::seed_from_u64(76);
        for (xs, ksize, strides, padding) in [
            ([1, 5, 5, 1], [2, 2], [2, 2], Padding::Same),
            ([2, 5, 7, 3], [3, 3], [2, 2], Padding::Same),
            ([2, 5, 7, 3], [2, 3], [1, 2], Padding::Same),
            ([2, 5, 7, 3], [3, 3], [1, 1], Padding::Same),
            ([2, 5, 7, 3], [2, 2], [2, 2], Padding::Valid),
            ([2, 5, 7, 3], [3, 2], [1, 1], Padding::Valid),
            ([1, 7, 8, 2], [3, 3], [3, 3], Padding::Valid),
            ([1, 2, 3, 5], [4, 5], [1, 1], Padding::Same),
            ([1, 1, 1, 1], [1, 1], [1, 1], Padding::Valid),
            ([1, 8, 8, 33], [2, 2], [2, 2], Padding::Same),
        ] {
            let window = Window {
                ksize,
                strides,
                padding,
            };
            let g = Graph::new();
            let x = placeholder::<T>(&g, "x", &xs);
            let mp = g.add_node(Op::MaxPool2d { window }, &[x]).unwrap();
            let ap = g.add_node(Op::AvgPool2d { window }, &[x]).unwrap();
            let ys = g.node(mp).shape.concrete().expect("concrete");
            let gy = placeholder::<T>(&g, "gy", &ys);
            let gg = placeholder::<T>(&g, "gg", &xs);
            let mg = g.add_node(Op::MaxPoolGrad { window }, &[x, gy]).unwrap();
            let ag = g.add_node(Op::AvgPoolGrad { window }, &[gy, x]).unwrap();
            let mgg = g
                .add_node(Op::MaxPoolGradGrad { window }, &[x, gg])
                .unwrap();
            let n: usize = xs.iter().product();
            let feeds = vec![
                FeedOf {
                    node: x,
                    name: "x",
                    shape: xs.to_vec(),
                    data: quarters(&mut rng, n),
                },
                FeedOf {
                    node: gy,
                    name: "gy",
                    shape: ys.clone(),
                    data: quarters(&mut rng, ys.iter().product()),
                },
                FeedOf {
                    node: gg,
                    name: "gg",
                    shape: xs.to_vec(),
                    data: quarters(&mut rng, n),
                },
            ];
            let what = format!("pooling {xs:?} {window:?}");
            guarded_library::<T>(&g, &[mp, ap, mg, ag, mgg], &feeds, &what);
        }
    }
    go::<f32>();
    go::<f64>();
}
