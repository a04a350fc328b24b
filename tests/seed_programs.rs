//! The seed programs of the project, with values worked out by hand.

use gradjit::{DType, Graph, Session, Shape};
use ndarray::{arr0, arr1};

#[test]
fn x_squared_plus_three_x() {
    // y = x*x + 3x: y(2) = 10, dy/dx = 2x + 3 = 7, d2y/dx2 = 2
    for dtype in [DType::F32, DType::F64] {
        let g = Graph::new();
        let x = g.placeholder("x", dtype, Shape::unknown());
        let y = x * x + 3.0 * x;
        let d = g.gradients(&[y], &[x]).unwrap()[0].expect("connected");
        let d2 = g.gradients(&[d], &[x]).unwrap()[0].expect("connected");
        let mut sess = Session::new(&g);
        let out = match dtype {
            DType::F32 => sess.run(&[y, d, d2], &[(x, arr0(2.0f32).into_dyn())]),
            DType::F64 => sess.run(&[y, d, d2], &[(x, arr0(2.0f64).into_dyn())]),
        }
        .unwrap();
        assert!(out.iter().all(|v| v.dtype() == dtype));
        assert_eq!(out[0].to_f64_vec(), vec![10.0], "{dtype}");
        assert_eq!(out[1].to_f64_vec(), vec![7.0], "{dtype}");
        assert_eq!(out[2].to_f64_vec(), vec![2.0], "{dtype}");
        // elementwise on a vector: 2x + 3
        let out = match dtype {
            DType::F32 => sess.run(&[d], &[(x, arr1(&[-1.0f32, 0.0, 1.5]).into_dyn())]),
            DType::F64 => sess.run(&[d], &[(x, arr1(&[-1.0f64, 0.0, 1.5]).into_dyn())]),
        }
        .unwrap();
        assert_eq!(out[0].to_f64_vec(), vec![1.0, 3.0, 6.0], "{dtype}");
    }
}

#[test]
fn x_y_plus_y_squared() {
    // z = x*y + y*y: z(2, 3) = 15, dz/dx = y = 3, dz/dy = x + 2y = 8
    for dtype in [DType::F32, DType::F64] {
        let g = Graph::new();
        let x = g.placeholder("x", dtype, Shape::unknown());
        let y = g.placeholder("y", dtype, Shape::unknown());
        let z = x * y + y * y;
        let gs = g.gradients(&[z], &[x, y]).unwrap();
        let (gx, gy) = (gs[0].expect("x connected"), gs[1].expect("y connected"));
        let mut sess = Session::new(&g);
        let out = match dtype {
            DType::F32 => sess.run(
                &[z, gx, gy],
                &[(x, arr0(2.0f32).into_dyn()), (y, arr0(3.0f32).into_dyn())],
            ),
            DType::F64 => sess.run(
                &[z, gx, gy],
                &[(x, arr0(2.0f64).into_dyn()), (y, arr0(3.0f64).into_dyn())],
            ),
        }
        .unwrap();
        assert_eq!(out[0].to_f64_vec(), vec![15.0], "{dtype}");
        assert_eq!(out[1].to_f64_vec(), vec![3.0], "{dtype}");
        assert_eq!(out[2].to_f64_vec(), vec![8.0], "{dtype}");
    }
}
