//! Sampler wrap modes (genxml `Wrap Mode`) applied to one integer texel
//! coordinate, per the Vulkan spec's "Wrapping Operation":
//! repeat = i mod size; mirrored repeat = (size - 1) - mirror((i mod
//! 2 size) - size); clamp to edge = clamp(i, 0, size - 1); clamp to border
//! = the border texel outside [0, size); mirror clamp to edge =
//! clamp(mirror(i), 0, size - 1), with mirror(a) = a >= 0 ? a : -(1 + a).

use mali_csf::desc::WrapMode;

/// The texel index `i` wraps to in a dimension of `size` (>= 1) texels,
/// or `None` for the border texel.
pub fn wrap(mode: WrapMode, i: i64, size: u32) -> Option<u32> {
    let n = i64::from(size.max(1));
    let mirror = |a: i64| if a >= 0 { a } else { -(a + 1) };
    let r = match mode {
        WrapMode::Repeat => i.rem_euclid(n),
        WrapMode::MirroredRepeat => {
            let t = i.rem_euclid(2 * n);
            if t < n {
                t
            } else {
                2 * n - 1 - t
            }
        }
        WrapMode::ClampToEdge => i.clamp(0, n - 1),
        WrapMode::ClampToBorder => {
            if !(0..n).contains(&i) {
                return None;
            }
            i
        }
        WrapMode::MirroredClampToEdge => mirror(i).clamp(0, n - 1),
    };
    Some(r as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_on_a_four_texel_axis() {
        let all = |m| (-6..10).map(|i| wrap(m, i, 4)).collect::<Vec<_>>();
        let some = |v: &[u32]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        assert_eq!(
            all(WrapMode::Repeat),
            some(&[2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
        );
        assert_eq!(
            all(WrapMode::MirroredRepeat),
            some(&[2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1])
        );
        assert_eq!(
            all(WrapMode::ClampToEdge),
            some(&[0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 3, 3])
        );
        assert_eq!(
            all(WrapMode::MirroredClampToEdge),
            some(&[3, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 3, 3, 3, 3, 3])
        );
        let border = all(WrapMode::ClampToBorder);
        assert_eq!(border[6..10], some(&[0, 1, 2, 3])[..]);
        assert!(border[..6].iter().chain(&border[10..]).all(Option::is_none));
    }

    #[test]
    fn extreme_coordinates_do_not_panic() {
        for m in [
            WrapMode::Repeat,
            WrapMode::MirroredRepeat,
            WrapMode::ClampToEdge,
            WrapMode::ClampToBorder,
            WrapMode::MirroredClampToEdge,
        ] {
            for i in [i64::MIN, i64::MIN + 1, -1, i64::MAX] {
                if let Some(v) = wrap(m, i, 65536) {
                    assert!(v < 65536);
                }
            }
        }
    }
}
