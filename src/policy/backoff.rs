//! How long to wait before the next retry?
//!
//! Exponential back-off with "equal jitter": the delay before retry `n` is capped at
//! `min(max, base × 2^(n-1))`; half of that cap is always waited and the other half is drawn at
//! random. So a retry never comes sooner than half its cap (the backend gets real rest, and
//! until the cap reaches `max` a delay is never shorter than the one before it), while clients
//! that failed together do not retry together. Every delay lies within `[0, max]`.

use crate::clock::{Millis, Random};
use crate::config::RetryConfig;
use crate::error::Error;

/// A retry schedule: how many attempts in all, and the delays between them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    attempts: u32,
    base_delay_ms: Millis,
    max_delay_ms: Millis,
}

/// A delay as a usable number: `NaN` and negative values become 0.
fn non_negative(ms: Millis) -> Millis {
    if ms > 0.0 {
        ms
    } else {
        0.0
    }
}

impl Backoff {
    /// A schedule of `attempts` attempts in all (the first included; 0 counts as 1), waiting
    /// about `base_delay_ms` before the first retry, doubling each time, never more than
    /// `max_delay_ms`. Negative or `NaN` delays count as 0.
    pub fn new(attempts: u32, base_delay_ms: Millis, max_delay_ms: Millis) -> Self {
        Backoff {
            attempts: attempts.max(1),
            base_delay_ms: non_negative(base_delay_ms),
            max_delay_ms: non_negative(max_delay_ms),
        }
    }

    /// The schedule of the `retry` section of the config.
    pub fn from_config(c: &RetryConfig) -> Self {
        Backoff::new(c.attempts, c.base_delay_ms, c.max_delay_ms)
    }

    /// Attempts in all, the first included (1 means no retry).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The cap of the delay before retry `retry` (1 for the first retry, 0 counts as 1):
    /// `min(max, base × 2^(retry-1))`, without jitter.
    pub fn cap_ms(&self, retry: u32) -> Millis {
        let exponent = retry.saturating_sub(1).min(1_000) as i32;
        (self.base_delay_ms * 2f64.powi(exponent)).min(self.max_delay_ms)
    }

    /// How long to wait before retry `retry` (1 for the first retry): half of
    /// [`Backoff::cap_ms`] fixed plus up to the other half at random ("equal jitter"). Always
    /// within `[cap/2, cap]`, so within `[0, max]`, whatever `random` returns.
    pub fn delay_ms(&self, retry: u32, random: &dyn Random) -> Millis {
        let cap = self.cap_ms(retry);
        let unit = random.next_unit();
        let unit = if (0.0..=1.0).contains(&unit) {
            unit
        } else {
            0.5
        };
        let half = cap / 2.0;
        (half + half * unit).min(cap)
    }

    /// Whether another attempt should follow a failure: only for transient errors
    /// ([`Error::is_transient`]), and only while fewer than `attempts` attempts were made.
    pub fn should_retry(&self, attempts_made: u32, error: &Error) -> bool {
        attempts_made < self.attempts && error.is_transient()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    struct Fixed(f64);

    impl Random for Fixed {
        fn next_unit(&self) -> f64 {
            self.0
        }
    }

    fn net(status: u16) -> Error {
        Error::Network {
            status,
            request: "/user/1".into(),
        }
    }

    #[test]
    fn cap_doubles_from_base_and_stops_at_max() {
        let b = Backoff::new(10, 200.0, 5_000.0);
        let caps: Vec<_> = (1..=7).map(|r| b.cap_ms(r)).collect();
        assert_eq!(
            caps,
            vec![200.0, 400.0, 800.0, 1_600.0, 3_200.0, 5_000.0, 5_000.0]
        );
        assert_eq!(b.cap_ms(0), 200.0);
        assert_eq!(b.cap_ms(u32::MAX), 5_000.0);
    }

    #[test]
    fn equal_jitter_spans_the_upper_half_of_the_cap() {
        let b = Backoff::new(5, 200.0, 5_000.0);
        assert_eq!(b.delay_ms(1, &Fixed(0.0)), 100.0);
        assert_eq!(b.delay_ms(1, &Fixed(0.5)), 150.0);
        assert!(b.delay_ms(1, &Fixed(0.999_999)) < 200.0);
        assert_eq!(b.delay_ms(3, &Fixed(0.0)), 400.0);
    }

    #[test]
    fn delays_stay_within_half_cap_and_max_over_many_seeds() {
        let b = Backoff::new(20, 200.0, 5_000.0);
        for seed in 0..500 {
            let rng = SeededRandom::new(seed);
            for retry in 1..=20 {
                let d = b.delay_ms(retry, &rng);
                let cap = b.cap_ms(retry);
                assert!(d >= cap / 2.0 && d <= cap, "seed {seed} retry {retry}: {d}");
                assert!((0.0..=5_000.0).contains(&d));
            }
        }
    }

    #[test]
    fn delays_never_shrink_from_one_retry_to_the_next() {
        let b = Backoff::new(20, 100.0, 3_000.0);
        for seed in 0..200 {
            let rng = SeededRandom::new(seed);
            let delays: Vec<_> = (1..=8).map(|r| b.delay_ms(r, &rng)).collect();
            for pair in delays.windows(2).take(4) {
                assert!(pair[1] >= pair[0], "seed {seed}: {delays:?}");
            }
        }
    }

    #[test]
    fn jitter_actually_varies() {
        let b = Backoff::new(5, 1_000.0, 10_000.0);
        let rng = SeededRandom::new(3);
        let delays: std::collections::HashSet<u64> =
            (0..50).map(|_| b.delay_ms(2, &rng).to_bits()).collect();
        assert!(delays.len() > 40);
    }

    #[test]
    fn misbehaving_random_and_bad_delays_stay_in_bounds() {
        let b = Backoff::new(5, 200.0, 1_000.0);
        for x in [f64::NAN, -3.0, 7.0, f64::INFINITY] {
            let d = b.delay_ms(2, &Fixed(x));
            assert!((200.0..=400.0).contains(&d), "{x}: {d}");
        }
        let z = Backoff::new(5, f64::NAN, -1.0);
        assert_eq!(z.delay_ms(3, &Fixed(0.5)), 0.0);
        let no_base = Backoff::new(5, 0.0, 1_000.0);
        assert_eq!(no_base.delay_ms(u32::MAX, &Fixed(0.5)), 0.0);
        let capped = Backoff::new(5, 500.0, 100.0);
        assert!(capped.delay_ms(1, &Fixed(0.99)) <= 100.0);
    }

    #[test]
    fn only_transient_errors_within_the_attempt_budget_are_retried() {
        let b = Backoff::new(3, 200.0, 5_000.0);
        assert!(b.should_retry(1, &net(503)));
        assert!(b.should_retry(2, &Error::Timeout { after_ms: 10 }));
        assert!(!b.should_retry(3, &net(503)));
        assert!(!b.should_retry(1, &net(404)));
        assert!(!b.should_retry(
            1,
            &Error::NotAnImage {
                content_type: "text/html".into()
            }
        ));
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let b = Backoff::new(0, 200.0, 5_000.0);
        assert_eq!(b.attempts(), 1);
        assert!(!b.should_retry(1, &net(503)));
    }

    #[test]
    fn schedule_is_read_from_the_config() {
        let c = RetryConfig {
            attempts: 4,
            base_delay_ms: 50.0,
            max_delay_ms: 300.0,
        };
        let b = Backoff::from_config(&c);
        assert_eq!(b, Backoff::new(4, 50.0, 300.0));
        assert_eq!(b.attempts(), 4);
    }
}
