//! A small deterministic random number generator whose whole state is one `u64`, so a
//! checkpoint can store it and a resumed run draws exactly the numbers an uninterrupted one would.

use serde::{Deserialize, Serialize};

/// `SplitMix64` (Steele, Lea & Flood 2014): passes `BigCrush`, one `u64` of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitMix64 {
    pub state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Uniform in `0..n` (`n > 0`; returns 0 for `n == 0`). Lemire's multiply-shift; the bias
    /// for the sizes used here (< 2³²) is below 2⁻³².
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// The `SplitMix64` output function, also a good 64-bit hash finaliser.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_resumable() {
        let mut a = SplitMix64::new(7);
        let first: Vec<u64> = (0..3).map(|_| a.next_u64()).collect();
        let mut b = SplitMix64::new(7);
        assert_eq!(b.next_u64(), first[0]);
        let mut resumed = SplitMix64 { state: b.state };
        assert_eq!(resumed.next_u64(), first[1]);
    }

    #[test]
    fn below_and_shuffle_stay_in_range() {
        let mut r = SplitMix64::new(1);
        assert!((0..1000).all(|_| r.below(5) < 5));
        let mut v: Vec<u32> = (0..50).collect();
        r.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
