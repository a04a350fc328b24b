//! Exhaustive f32 checks: every one of the 2^32 bit patterns (ignored by
//! default; run with `cargo test --release --test math_exhaustive -- --ignored`).
//! Each takes roughly 20–60 s on 2 cores in release.

mod math_support;
use common::*;
use gradjit::jit::math::MathFn;
use math_support as common;

/// `JITMATH_NO_FMA=1` tests the mul+add code; `JITMATH_REF64=1` compares
/// against the f64 function rounded to f32 (the true error, instead of the
/// distance to `std`'s f32 functions, which are themselves up to ~1.5 ulp
/// off for tanh).
fn exhaustive(f: MathFn) {
    let fma = std::env::var_os("JITMATH_NO_FMA").is_none();
    let ref64 = std::env::var_os("JITMATH_REF64").is_some();
    let mut jit = Jit::new(fma);
    let k = jit.f32(Op::Unary(f));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let per = (1u64 << 32) / threads;
    let worst = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut w = Worst::default();
                    let (lo, hi) = (
                        t * per,
                        if t + 1 == threads {
                            1 << 32
                        } else {
                            (t + 1) * per
                        },
                    );
                    let mut xs = Vec::with_capacity(1 << 16);
                    let mut out = vec![0f32; 1 << 16];
                    let mut b = lo;
                    while b < hi {
                        xs.clear();
                        let end = (b + (1 << 16)).min(hi);
                        xs.extend((b..end).map(|v| f32::from_bits(v as u32)));
                        // Mostly vector, plus a 3-element scalar tail per chunk.
                        let n = xs.len();
                        k.run_into(&xs[..n - 3], &mut out[..n - 3]);
                        k.run_into(&xs[n - 3..], &mut out[n - 3..n]);
                        for (&x, &g) in xs.iter().zip(&out[..n]) {
                            let r = if ref64 { ref64_32(f, x) } else { ref32(f, x) };
                            let u = ulp32(g, r);
                            if u > w.ulp {
                                w.add(u, x, g, r);
                            } else {
                                w.count += 1;
                            }
                        }
                        b = end;
                    }
                    w
                })
            })
            .collect();
        let mut w = Worst::default();
        for h in hs {
            w.merge(h.join().unwrap());
        }
        w
    });
    println!(
        "{f:?} f32 exhaustive (fma={fma}, ref64={ref64}): max {} ulp at x={:e} (bits {:#x}) got {:e} want {:e}",
        worst.ulp,
        worst.x,
        worst.x.to_bits(),
        worst.got,
        worst.want
    );
    assert!(worst.ulp <= 2, "{worst:?}");
}

fn ref64_32(f: MathFn, x: f32) -> f32 {
    ref64(f, x as f64) as f32
}

macro_rules! ex {
    ($($name:ident, $f:expr;)*) => {$(
        #[test]
        #[ignore]
        fn $name() { exhaustive($f); }
    )*};
}

ex! {
    exhaustive_f32_exp, MathFn::Exp;
    exhaustive_f32_expm1, MathFn::Expm1;
    exhaustive_f32_log, MathFn::Log;
    exhaustive_f32_log1p, MathFn::Log1p;
    exhaustive_f32_tanh, MathFn::Tanh;
    exhaustive_f32_sigmoid, MathFn::Sigmoid;
    exhaustive_f32_softplus, MathFn::Softplus;
    exhaustive_f32_sin, MathFn::Sin;
    exhaustive_f32_cos, MathFn::Cos;
}
