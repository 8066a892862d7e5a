//! The engine's only source of randomness: a seeded SplitMix64 generator.
//!
//! Jitter must be reproducible in tests and must not pull in `getrandom` on wasm, so the
//! shell passes a seed to [`super::Engine::new`] and every draw comes from here.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for jitter.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, bound)`; `0` when `bound` is `0`.
    ///
    /// Multiply-shift (Lemire) without the rejection step: the bias is below 2^-40 for
    /// any bound the engine uses (milliseconds), which jitter does not care about.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_draws_and_draws_stay_below_bound() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for bound in [0u64, 1, 2, 10, 1000, u64::MAX] {
            for _ in 0..100 {
                let x = a.below(bound);
                assert_eq!(x, b.below(bound));
                assert!(bound == 0 && x == 0 || x < bound);
            }
        }
    }

    #[test]
    fn below_covers_the_whole_range() {
        let mut r = Rng::new(1);
        let mut seen = [false; 8];
        for _ in 0..1000 {
            seen[r.below(8) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
