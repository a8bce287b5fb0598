//! Time and randomness, injected so that TTLs, back-off and eviction are tested without sleeping.
//!
//! Production code reads [`SystemClock`] (`Date.now()` in the browser, the system time natively)
//! and [`SystemRandom`] (`Math.random()` in the browser). Tests use `ManualClock`, which only
//! moves when told to, and `SeededRandom`, which repeats the same sequence for the same seed:
//! test doubles, compiled only for tests (`cfg(test)` or the `testing` feature), never part of
//! the release API.

#[cfg(any(test, feature = "testing"))]
pub use doubles::{ManualClock, SeededRandom};

/// Milliseconds since the Unix epoch, as JavaScript counts them.
pub type Millis = f64;

/// A source of wall-clock time.
pub trait Clock {
    /// The current time in milliseconds since the Unix epoch.
    fn now_ms(&self) -> Millis;

    /// A monotonic, sub-millisecond reading for measuring durations (`performance.now()` in the
    /// browser). Only differences between two readings mean anything.
    fn monotonic_ms(&self) -> Millis {
        self.now_ms()
    }
}

/// The real clock: `Date.now()` in the browser, `SystemTime::now()` natively.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(target_arch = "wasm32")]
    fn now_ms(&self) -> Millis {
        js_sys::Date::now()
    }

    #[cfg(target_arch = "wasm32")]
    fn monotonic_ms(&self) -> Millis {
        use wasm_bindgen::JsCast;
        thread_local! {
            // Looked up once: every get reads the clock several times.
            static PERFORMANCE: Option<web_sys::Performance> =
                js_sys::Reflect::get(&js_sys::global(), &"performance".into())
                    .ok()
                    .and_then(|p| p.dyn_into::<web_sys::Performance>().ok());
        }
        PERFORMANCE
            .with(|p| p.as_ref().map(|p| p.now()))
            .unwrap_or_else(js_sys::Date::now)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn now_ms(&self) -> Millis {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    }
}

/// A source of uniform random numbers in `[0, 1)`, used for back-off jitter.
pub trait Random {
    /// The next number in `[0, 1)`.
    fn next_unit(&self) -> f64;
}

/// `Math.random()` in the browser; a time-seeded xorshift64* natively.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl Random for SystemRandom {
    #[cfg(target_arch = "wasm32")]
    fn next_unit(&self) -> f64 {
        js_sys::Math::random()
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn next_unit(&self) -> f64 {
        use std::cell::Cell;
        thread_local! {
            static STATE: Cell<u64> = Cell::new(xorshift::seed(SystemClock.now_ms() as u64));
        }
        STATE.with(|state| xorshift::unit(xorshift::next(state)))
    }
}

/// xorshift64*: a small deterministic generator, for native randomness and `SeededRandom`.
#[cfg(any(test, feature = "testing", not(target_arch = "wasm32")))]
mod xorshift {
    use std::cell::Cell;

    /// The state for `seed` (zero, a fixed point of xorshift, is replaced by a constant).
    pub fn seed(seed: u64) -> u64 {
        if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        }
    }

    /// Advances `state` and returns the next raw 64-bit value.
    pub fn next(state: &Cell<u64>) -> u64 {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A raw value as a number in `[0, 1)` (its top 53 bits).
    pub fn unit(raw: u64) -> f64 {
        (raw >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The test doubles: a clock and a random source that tests drive.
#[cfg(any(test, feature = "testing"))]
mod doubles {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::{xorshift, Clock, Millis, Random};

    /// A clock that stands still until [`ManualClock::advance`] or [`ManualClock::set`] moves it.
    ///
    /// Clones share the same time, so a test keeps one handle and gives another to the cache.
    #[derive(Debug, Clone, Default)]
    pub struct ManualClock {
        now: Rc<Cell<Millis>>,
    }

    impl ManualClock {
        /// A clock that reads `start_ms`.
        pub fn new(start_ms: Millis) -> Self {
            ManualClock {
                now: Rc::new(Cell::new(start_ms)),
            }
        }

        /// Moves the clock forward by `ms`.
        pub fn advance(&self, ms: Millis) {
            self.now.set(self.now.get() + ms);
        }

        /// Sets the clock to `ms`.
        pub fn set(&self, ms: Millis) {
            self.now.set(ms);
        }
    }

    impl Clock for ManualClock {
        fn now_ms(&self) -> Millis {
            self.now.get()
        }
    }

    /// A deterministic generator (xorshift64*): the same seed gives the same sequence.
    #[derive(Debug, Clone)]
    pub struct SeededRandom {
        state: Rc<Cell<u64>>,
    }

    impl SeededRandom {
        /// A generator started from `seed` (zero is replaced by a fixed non-zero constant).
        pub fn new(seed: u64) -> Self {
            SeededRandom {
                state: Rc::new(Cell::new(xorshift::seed(seed))),
            }
        }

        /// The next raw 64-bit value.
        pub fn next_u64(&self) -> u64 {
            xorshift::next(&self.state)
        }
    }

    impl Random for SeededRandom {
        fn next_unit(&self) -> f64 {
            xorshift::unit(self.next_u64())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let clock = ManualClock::new(1_000.0);
        let handle = clock.clone();
        assert_eq!(clock.now_ms(), 1_000.0);
        handle.advance(250.0);
        assert_eq!(clock.now_ms(), 1_250.0);
        handle.set(5.0);
        assert_eq!(clock.now_ms(), 5.0);
    }

    #[test]
    fn seeded_random_repeats_and_stays_in_unit_interval() {
        let a = SeededRandom::new(42);
        let b = SeededRandom::new(42);
        for _ in 0..1_000 {
            let x = a.next_unit();
            assert_eq!(x, b.next_unit());
            assert!((0.0..1.0).contains(&x));
        }
    }
}
