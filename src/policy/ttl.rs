//! Is this entry still fresh?
//!
//! An entry written at `written_at` is fresh while its age is strictly less than the layer's
//! TTL: an entry exactly `ttl_ms` old is already stale. A timestamp in the future (clock skew
//! between tabs, or a clock that was set back) counts as age 0, so it is fresh, never negative.
//! A timestamp that is not a number (`NaN`) counts as infinitely old: it is never fresh.

use crate::clock::Millis;

/// Whether an entry may be served as it is, or must be revalidated first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Younger than the TTL: serve it as it is.
    Fresh,
    /// As old as the TTL or older: serve it only as a stale answer, and revalidate.
    Stale,
}

/// How old an entry written at `written_at` is at `now`, in milliseconds.
///
/// Never negative: a timestamp in the future gives 0. A `NaN` on either side gives infinity.
pub fn age_ms(written_at: Millis, now: Millis) -> Millis {
    let age = now - written_at;
    if age.is_nan() {
        Millis::INFINITY
    } else if age < 0.0 {
        0.0
    } else {
        age
    }
}

/// Whether an entry written at `written_at` is still fresh at `now` under a TTL of `ttl_ms`.
///
/// Fresh iff `age_ms(written_at, now) < ttl_ms`: an age of exactly `ttl_ms` is stale, and a
/// `NaN` TTL makes everything stale.
pub fn freshness(written_at: Millis, now: Millis, ttl_ms: Millis) -> Freshness {
    if age_ms(written_at, now) < ttl_ms {
        Freshness::Fresh
    } else {
        Freshness::Stale
    }
}

/// Shorthand for `freshness(..) == Freshness::Fresh`.
pub fn is_fresh(written_at: Millis, now: Millis, ttl_ms: Millis) -> bool {
    freshness(written_at, now, ttl_ms) == Freshness::Fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_800_000_000_000.0;
    const TTL: Millis = 30.0 * 60_000.0;

    #[test]
    fn entry_one_ms_younger_than_the_ttl_is_fresh() {
        assert_eq!(freshness(T0, T0 + TTL - 1.0, TTL), Freshness::Fresh);
        assert!(is_fresh(T0, T0, TTL));
    }

    #[test]
    fn entry_exactly_ttl_old_is_stale() {
        assert_eq!(freshness(T0, T0 + TTL, TTL), Freshness::Stale);
        assert_eq!(freshness(T0, T0 + TTL + 1.0, TTL), Freshness::Stale);
        assert!(!is_fresh(T0, T0 + TTL, TTL));
    }

    #[test]
    fn future_timestamps_count_as_age_zero() {
        assert_eq!(age_ms(T0 + 5_000.0, T0), 0.0);
        assert!(is_fresh(T0 + 5_000.0, T0, TTL));
    }

    #[test]
    fn age_is_the_elapsed_time() {
        assert_eq!(age_ms(T0, T0 + 1_234.0), 1_234.0);
    }

    #[test]
    fn zero_ttl_makes_everything_stale() {
        assert!(!is_fresh(T0, T0, 0.0));
        assert!(!is_fresh(T0 + 1.0, T0, 0.0));
    }

    #[test]
    fn nan_timestamps_are_never_fresh() {
        assert_eq!(age_ms(Millis::NAN, T0), Millis::INFINITY);
        assert!(!is_fresh(Millis::NAN, T0, TTL));
        assert!(!is_fresh(T0, Millis::NAN, TTL));
        assert!(!is_fresh(T0, T0, Millis::NAN));
    }

    #[test]
    fn infinite_ttl_keeps_everything_fresh() {
        assert!(is_fresh(0.0, T0, Millis::INFINITY));
    }
}
