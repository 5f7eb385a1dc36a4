//! Cube map face selection and the projection of directions (and their
//! derivatives) onto the selected face, per the Vulkan spec's "Cube Map
//! Face Selection" table:
//!
//! | major axis | face | sc  | tc  | rc |
//! |------------|------|-----|-----|----|
//! | +rx        | 0    | -rz | -ry | rx |
//! | -rx        | 1    | +rz | -ry | rx |
//! | +ry        | 2    | +rx | +rz | ry |
//! | -ry        | 3    | +rx | -rz | ry |
//! | +rz        | 4    | +rx | -ry | rz |
//! | -rz        | 5    | -rx | -ry | rz |
//!
//! s = (sc / |rc| + 1) / 2, t = (tc / |rc| + 1) / 2. When two axes have the
//! same magnitude the spec leaves the choice open; this unit prefers z,
//! then y, then x. A negative zero counts as positive.

/// A direction projected onto a face.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaceCoord {
    /// 0..6: +X, -X, +Y, -Y, +Z, -Z.
    pub face: u32,
    /// Normalized face coordinates (0..1 inside the face).
    pub s: f32,
    pub t: f32,
}

/// (face, sc, tc, rc) as linear functions of the direction: per face,
/// the (component, sign) of sc, tc and rc.
const AXES: [[(usize, f32); 3]; 6] = [
    [(2, -1.0), (1, -1.0), (0, 1.0)],
    [(2, 1.0), (1, -1.0), (0, 1.0)],
    [(0, 1.0), (2, 1.0), (1, 1.0)],
    [(0, 1.0), (2, -1.0), (1, 1.0)],
    [(0, 1.0), (1, -1.0), (2, 1.0)],
    [(0, -1.0), (1, -1.0), (2, 1.0)],
];

/// The face a direction selects.
pub fn face(dir: [f32; 3]) -> u32 {
    let [ax, ay, az] = dir.map(f32::abs);
    let (axis, v) = if az >= ax && az >= ay {
        (2, dir[2])
    } else if ay >= ax {
        (1, dir[1])
    } else {
        (0, dir[0])
    };
    axis * 2 + u32::from(v < 0.0)
}

fn sc_tc_rc(face: u32, v: [f32; 3]) -> [f32; 3] {
    AXES[face as usize % 6].map(|(c, sign)| v[c] * sign)
}

/// Projects `dir` onto its face. A zero direction gives NaN coordinates,
/// which sampling treats like any other coordinate (no panic).
pub fn project(dir: [f32; 3]) -> FaceCoord {
    let face = face(dir);
    let [sc, tc, rc] = sc_tc_rc(face, dir);
    let m = rc.abs();
    FaceCoord {
        face,
        s: 0.5 * (sc / m + 1.0),
        t: 0.5 * (tc / m + 1.0),
    }
}

/// The derivative (ds, dt) of the face coordinates of `dir` along
/// `d(dir)`, on the face `dir` selects (spec: d(sc/|rc|) =
/// (dsc |rc| - sc d|rc|) / rc^2, halved).
pub fn project_derivative(dir: [f32; 3], d: [f32; 3]) -> [f32; 2] {
    let face = face(dir);
    let [sc, tc, rc] = sc_tc_rc(face, dir);
    let [dsc, dtc, drc] = sc_tc_rc(face, d);
    let m = rc.abs();
    let dm = if rc < 0.0 { -drc } else { drc };
    let r2 = rc * rc;
    [
        0.5 * (dsc * m - sc * dm) / r2,
        0.5 * (dtc * m - tc * dm) / r2,
    ]
}
