//! Train/validation split by notebook: every cell of a notebook lands on the same side, so
//! validation never sees a notebook whose other cells were trained on.

use crate::rng::mix;

/// Whether `notebook` belongs to the validation side, for a split of `fraction` of all
/// notebooks (hash-based: stable across runs and independent of the order of the data).
pub fn is_validation(notebook: u64, fraction: f64, seed: u64) -> bool {
    if fraction <= 0.0 {
        return false;
    }
    if fraction >= 1.0 {
        return true;
    }
    let h = mix(notebook ^ mix(seed ^ 0x0005_EED5_11A7));
    // Top 53 bits as a uniform number in [0, 1).
    let u = (h >> 11) as f64 / (1u64 << 53) as f64;
    u < fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stable_and_roughly_sized() {
        let val = (0..10_000u64).filter(|&n| is_validation(n, 0.1, 7)).count();
        assert!((800..1200).contains(&val), "{val}");
        assert!((0..100u64).all(|n| is_validation(n, 0.1, 7) == is_validation(n, 0.1, 7)));
        assert!(!(0..100u64).any(|n| is_validation(n, 0.0, 7)));
        assert!((0..100u64).all(|n| is_validation(n, 1.0, 7)));
    }
}
