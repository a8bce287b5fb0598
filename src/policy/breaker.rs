//! May a request go to this origin now?
//!
//! A circuit breaker per origin. While requests succeed it is **closed** and lets everything
//! through. After `failures` consecutive failures it **opens**: requests are refused at once,
//! without touching the network, for `cooldown_ms`. Then it is **half-open**: exactly one probe
//! request is let through. If the probe succeeds the breaker closes; if it fails the breaker
//! opens for another cool-down. Time is passed in, never read.
//!
//! Whoever acquires a probe must report how it ended ([`Breaker::on_success`],
//! [`Breaker::on_failure`], or [`Breaker::on_abandon`] when the request was cancelled);
//! otherwise the breaker stays half-open with its probe out and refuses everything.

use crate::clock::Millis;

/// What a breaker lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Every request goes through.
    Closed,
    /// Every request is refused until the cool-down has passed.
    Open,
    /// The cool-down has passed: one probe request goes through (or is already out).
    HalfOpen,
}

impl BreakerState {
    /// The name used in stats: `"closed"`, `"open"` or `"half-open"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }

    /// How bad the state is, for [`Breakers::worst`]: Open > HalfOpen > Closed.
    fn severity(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Requests go through; `consecutive` failures so far.
    Closed { consecutive: u32 },
    /// Requests are refused until `until`; from then on the next request is the probe.
    Open { until: Millis },
    /// The probe is out; everything else is refused until it reports.
    Probing,
}

/// One origin's circuit breaker.
#[derive(Debug, Clone, PartialEq)]
pub struct Breaker {
    failures: u32,
    cooldown_ms: Millis,
    phase: Phase,
}

impl Breaker {
    /// A closed breaker that opens after `failures` consecutive failures (0 counts as 1) and
    /// stays open for `cooldown_ms` (negative or `NaN` counts as 0).
    pub fn new(failures: u32, cooldown_ms: Millis) -> Self {
        Breaker {
            failures: failures.max(1),
            cooldown_ms: if cooldown_ms > 0.0 { cooldown_ms } else { 0.0 },
            phase: Phase::Closed { consecutive: 0 },
        }
    }

    /// Whether a request may go now. Closed: always. Open: no, until `now` reaches the end of
    /// the cool-down; then the breaker turns half-open and this one request is the probe.
    /// Half-open with the probe out: no.
    pub fn try_acquire(&mut self, now: Millis) -> bool {
        match self.phase {
            Phase::Closed { .. } => true,
            Phase::Open { until } if now >= until => {
                self.phase = Phase::Probing;
                true
            }
            Phase::Open { .. } | Phase::Probing => false,
        }
    }

    /// A request succeeded (or the origin answered at all): the breaker closes and the count of
    /// consecutive failures starts again from zero.
    pub fn on_success(&mut self) {
        self.phase = Phase::Closed { consecutive: 0 };
    }

    /// A request failed at `now`. Closed: one more consecutive failure; the `failures`-th opens
    /// the breaker for a cool-down. Half-open: the probe failed, the breaker opens for another
    /// cool-down. Open: nothing changes (a request that started before the breaker opened does
    /// not extend the cool-down).
    pub fn on_failure(&mut self, now: Millis) {
        match self.phase {
            Phase::Closed { consecutive } => {
                let consecutive = consecutive.saturating_add(1);
                self.phase = if consecutive >= self.failures {
                    Phase::Open {
                        until: now + self.cooldown_ms,
                    }
                } else {
                    Phase::Closed { consecutive }
                };
            }
            Phase::Probing => {
                self.phase = Phase::Open {
                    until: now + self.cooldown_ms,
                }
            }
            Phase::Open { .. } => {}
        }
    }

    /// A request ended without an outcome (it was cancelled). If it was the probe, the breaker
    /// goes back to waiting for one: the next request becomes the probe. Otherwise nothing
    /// changes.
    pub fn on_abandon(&mut self) {
        if self.phase == Phase::Probing {
            self.phase = Phase::Open {
                until: Millis::NEG_INFINITY,
            };
        }
    }

    /// The state at `now`. An open breaker whose cool-down has passed reports
    /// [`BreakerState::HalfOpen`] (its next request will be the probe).
    pub fn state(&self, now: Millis) -> BreakerState {
        match self.phase {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { until } if now >= until => BreakerState::HalfOpen,
            Phase::Open { .. } => BreakerState::Open,
            Phase::Probing => BreakerState::HalfOpen,
        }
    }

    /// Consecutive failures counted while closed (0 once open or half-open).
    pub fn consecutive_failures(&self) -> u32 {
        match self.phase {
            Phase::Closed { consecutive } => consecutive,
            _ => 0,
        }
    }
}

/// One [`Breaker`] per origin, so that a failing image bucket does not block the API.
///
/// Origins are compared as given (see [`crate::policy::presign::origin_of`]). An origin that is
/// closed with no failures holds no memory. The table holds a few origins (an API and an image
/// bucket or two) and never more than [`MAX_ORIGINS`], so it is a list searched in order.
#[derive(Debug, Clone)]
pub struct Breakers {
    failures: u32,
    cooldown_ms: Millis,
    by_origin: Vec<(String, Breaker)>,
}

/// The most origins whose failures are remembered at once.
pub const MAX_ORIGINS: usize = 64;

impl Breakers {
    /// Breakers that each open after `failures` consecutive failures for `cooldown_ms`.
    pub fn new(failures: u32, cooldown_ms: Millis) -> Self {
        Breakers {
            failures,
            cooldown_ms,
            by_origin: Vec::new(),
        }
    }

    /// Where `origin`'s breaker is in the table, if it has one.
    fn position(&self, origin: &str) -> Option<usize> {
        self.by_origin.iter().position(|(o, _)| o == origin)
    }

    fn get_mut(&mut self, origin: &str) -> Option<&mut Breaker> {
        let at = self.position(origin)?;
        Some(&mut self.by_origin[at].1)
    }

    /// Whether a request to `origin` may go now (see [`Breaker::try_acquire`]).
    pub fn try_acquire(&mut self, origin: &str, now: Millis) -> bool {
        match self.get_mut(origin) {
            Some(b) => b.try_acquire(now),
            None => true,
        }
    }

    /// A request to `origin` succeeded: its breaker closes.
    pub fn on_success(&mut self, origin: &str) {
        if let Some(at) = self.position(origin) {
            self.by_origin.swap_remove(at);
        }
    }

    /// A request to `origin` failed at `now` (see [`Breaker::on_failure`]). The table keeps at
    /// most [`MAX_ORIGINS`] failing origins: a new one takes the place of a closed one, else of
    /// any other, so hostile answers naming endless origins cannot grow it.
    pub fn on_failure(&mut self, origin: &str, now: Millis) {
        if let Some(b) = self.get_mut(origin) {
            b.on_failure(now);
            return;
        }
        if self.by_origin.len() >= MAX_ORIGINS {
            let victim = self
                .by_origin
                .iter()
                .position(|(_, b)| b.state(now) == BreakerState::Closed)
                .unwrap_or(0);
            self.by_origin.swap_remove(victim);
        }
        let mut breaker = Breaker::new(self.failures, self.cooldown_ms);
        breaker.on_failure(now);
        self.by_origin.push((origin.to_string(), breaker));
    }

    /// A request to `origin` was cancelled before it had an outcome (see
    /// [`Breaker::on_abandon`]).
    pub fn on_abandon(&mut self, origin: &str) {
        if let Some(b) = self.get_mut(origin) {
            b.on_abandon();
        }
    }

    /// The state of `origin`'s breaker at `now` (closed for an origin never seen failing).
    pub fn state(&self, origin: &str, now: Millis) -> BreakerState {
        self.position(origin)
            .map_or(BreakerState::Closed, |at| self.by_origin[at].1.state(now))
    }

    /// The worst state over all origins at `now` (Open > HalfOpen > Closed), for stats.
    pub fn worst(&self, now: Millis) -> BreakerState {
        self.by_origin
            .iter()
            .map(|(_, b)| b.state(now))
            .max_by_key(|s| s.severity())
            .unwrap_or(BreakerState::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Millis = 30_000.0;

    fn open_breaker(at: Millis) -> Breaker {
        let mut b = Breaker::new(3, COOL);
        for _ in 0..3 {
            assert!(b.try_acquire(at));
            b.on_failure(at);
        }
        b
    }

    #[test]
    fn the_table_of_failing_origins_is_bounded() {
        let mut breakers = Breakers::new(3, COOL);
        for i in 0..1_000 {
            breakers.on_failure(&format!("https://o{i}.example"), 0.0);
        }
        assert!(breakers.by_origin.len() <= MAX_ORIGINS);
        for _ in 0..3 {
            breakers.on_failure("https://api.example", 1.0);
        }
        assert_eq!(
            breakers.state("https://api.example", 1.0),
            BreakerState::Open
        );
    }

    #[test]
    fn closed_breaker_lets_everything_through() {
        let mut b = Breaker::new(3, COOL);
        for t in 0..10 {
            assert!(b.try_acquire(f64::from(t)));
        }
        assert_eq!(b.state(0.0), BreakerState::Closed);
    }

    #[test]
    fn breaker_opens_after_the_configured_consecutive_failures() {
        let mut b = Breaker::new(3, COOL);
        b.on_failure(0.0);
        b.on_failure(0.0);
        assert_eq!(b.state(0.0), BreakerState::Closed);
        assert_eq!(b.consecutive_failures(), 2);
        b.on_failure(0.0);
        assert_eq!(b.state(0.0), BreakerState::Open);
        assert!(!b.try_acquire(1.0));
    }

    #[test]
    fn a_success_resets_the_consecutive_count() {
        let mut b = Breaker::new(3, COOL);
        b.on_failure(0.0);
        b.on_failure(0.0);
        b.on_success();
        b.on_failure(0.0);
        b.on_failure(0.0);
        assert_eq!(b.state(0.0), BreakerState::Closed);
    }

    #[test]
    fn open_breaker_refuses_until_the_cooldown_has_passed() {
        let mut b = open_breaker(1_000.0);
        assert!(!b.try_acquire(1_000.0 + COOL - 1.0));
        assert_eq!(b.state(1_000.0 + COOL - 1.0), BreakerState::Open);
        assert_eq!(b.state(1_000.0 + COOL), BreakerState::HalfOpen);
    }

    #[test]
    fn after_the_cooldown_exactly_one_probe_goes_through() {
        let mut b = open_breaker(0.0);
        assert!(b.try_acquire(COOL));
        assert_eq!(b.state(COOL), BreakerState::HalfOpen);
        assert!(!b.try_acquire(COOL));
        assert!(!b.try_acquire(COOL * 10.0));
    }

    #[test]
    fn probe_success_closes_the_breaker() {
        let mut b = open_breaker(0.0);
        assert!(b.try_acquire(COOL));
        b.on_success();
        assert_eq!(b.state(COOL), BreakerState::Closed);
        assert!(b.try_acquire(COOL));
        assert!(b.try_acquire(COOL));
    }

    #[test]
    fn probe_failure_reopens_the_breaker_for_another_cooldown() {
        let mut b = open_breaker(0.0);
        assert!(b.try_acquire(COOL + 5.0));
        b.on_failure(COOL + 5.0);
        assert_eq!(b.state(COOL + 5.0), BreakerState::Open);
        assert!(!b.try_acquire(2.0 * COOL));
        assert!(b.try_acquire(2.0 * COOL + 5.0));
    }

    #[test]
    fn late_failures_do_not_extend_an_open_breaker() {
        let mut b = open_breaker(0.0);
        b.on_failure(20_000.0);
        assert!(b.try_acquire(COOL));
    }

    #[test]
    fn abandoned_probe_lets_the_next_request_probe() {
        let mut b = open_breaker(0.0);
        assert!(b.try_acquire(COOL));
        b.on_abandon();
        assert_eq!(b.state(COOL), BreakerState::HalfOpen);
        assert!(b.try_acquire(COOL));
        assert!(!b.try_acquire(COOL));
    }

    #[test]
    fn abandon_outside_a_probe_changes_nothing() {
        let mut closed = Breaker::new(3, COOL);
        closed.on_failure(0.0);
        closed.on_abandon();
        assert_eq!(closed.consecutive_failures(), 1);
        let mut open = open_breaker(0.0);
        open.on_abandon();
        assert!(!open.try_acquire(1.0));
    }

    #[test]
    fn zero_failures_counts_as_one() {
        let mut b = Breaker::new(0, COOL);
        b.on_failure(0.0);
        assert_eq!(b.state(0.0), BreakerState::Open);
    }

    #[test]
    fn states_have_their_stats_names() {
        assert_eq!(BreakerState::Closed.as_str(), "closed");
        assert_eq!(BreakerState::Open.as_str(), "open");
        assert_eq!(BreakerState::HalfOpen.as_str(), "half-open");
    }

    #[test]
    fn origins_have_independent_breakers() {
        let mut bs = Breakers::new(2, COOL);
        bs.on_failure("https://bucket", 0.0);
        bs.on_failure("https://bucket", 0.0);
        assert!(!bs.try_acquire("https://bucket", 1.0));
        assert!(bs.try_acquire("", 1.0));
        assert!(bs.try_acquire("https://api", 1.0));
        assert_eq!(bs.state("https://bucket", 1.0), BreakerState::Open);
        assert_eq!(bs.state("https://api", 1.0), BreakerState::Closed);
    }

    #[test]
    fn worst_state_ranks_open_over_half_open_over_closed() {
        let mut bs = Breakers::new(1, COOL);
        assert_eq!(bs.worst(0.0), BreakerState::Closed);
        bs.on_failure("a", 0.0);
        bs.on_failure("b", 10_000.0);
        assert_eq!(bs.worst(COOL), BreakerState::Open);
        assert_eq!(bs.worst(COOL + 10_000.0), BreakerState::HalfOpen);
        bs.on_success("a");
        bs.on_success("b");
        assert_eq!(bs.worst(COOL + 10_000.0), BreakerState::Closed);
    }

    #[test]
    fn per_origin_probe_cycle_works_through_breakers() {
        let mut bs = Breakers::new(1, COOL);
        bs.on_failure("o", 0.0);
        assert!(bs.try_acquire("o", COOL));
        assert!(!bs.try_acquire("o", COOL));
        bs.on_abandon("o");
        assert!(bs.try_acquire("o", COOL));
        bs.on_success("o");
        assert_eq!(bs.state("o", COOL), BreakerState::Closed);
    }
}
