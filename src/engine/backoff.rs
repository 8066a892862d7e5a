//! Retry delays: capped exponential backoff with full jitter.
//!
//! Attempt `n` (counting from 0) waits uniformly in `[0, min(cap, base * 2^n))`, as in
//! "Exponential Backoff And Jitter" (AWS architecture blog): full jitter spreads a crowd of
//! clients retrying against one server better than any fixed schedule.

use super::rng::Rng;
use super::Millis;

#[derive(Clone, Debug, Default)]
pub(crate) struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The delay before the next attempt, counting this failure.
    pub(crate) fn next_delay(&mut self, base: Millis, cap: Millis, rng: &mut Rng) -> Millis {
        let bound = base.saturating_mul(1u64 << self.failures.min(63)).min(cap);
        self.failures = self.failures.saturating_add(1);
        rng.below(bound)
    }

    /// How many failures in a row so far.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_doubles_up_to_the_cap() {
        let mut rng = Rng::new(3);
        let mut b = Backoff::default();
        let mut maxima = [0u64; 8];
        for m in maxima.iter_mut() {
            // Sample each attempt's bound many times with a fresh backoff at that attempt.
            let attempt = b.failures();
            for _ in 0..2000 {
                let mut probe = Backoff { failures: attempt };
                *m = (*m).max(probe.next_delay(500, 8_000, &mut rng));
            }
            let _ = b.next_delay(500, 8_000, &mut rng);
        }
        let bounds = [500u64, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 8_000];
        for (m, bound) in maxima.iter().zip(bounds) {
            assert!(
                *m < bound && *m >= bound * 9 / 10,
                "max {m} for bound {bound}"
            );
        }
    }

    #[test]
    fn reset_starts_over_and_huge_attempt_counts_do_not_overflow() {
        let mut rng = Rng::new(1);
        let mut b = Backoff { failures: u32::MAX };
        assert!(b.next_delay(u64::MAX, u64::MAX, &mut rng) < u64::MAX);
        b.reset();
        assert_eq!(b.failures(), 0);
        assert!(b.next_delay(10, 100, &mut rng) < 10);
    }
}
