//! Retry policy: how often and how long a retryable handler error is retried in place.
//!
//! Retries happen inside the partition's worker, so the partition's order is kept: the next
//! message waits until this one succeeded, was dead-lettered, or the service stops. The delay
//! grows exponentially from `initial_backoff` by `multiplier` up to `max_backoff`, with full
//! jitter in `[delay * (1 - jitter), delay]` so that many consumers failing together do not retry
//! in lockstep. A retry stops at `max_attempts` attempts or once `max_elapsed` has passed since
//! the first failure, whichever comes first.

use std::time::Duration;

/// When and how often to retry a retryable handler error.
///
/// ```
/// use std::time::Duration;
/// use stream_core::reliability::retry::RetryPolicy;
/// let policy = RetryPolicy::default()
///     .max_attempts(5)
///     .backoff(Duration::from_millis(10), Duration::from_secs(1));
/// assert!(policy.should_retry(4, Duration::ZERO));
/// assert!(!policy.should_retry(5, Duration::ZERO));
/// assert!(policy.delay(1) <= Duration::from_millis(10));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1 = never retry). Default 3.
    pub max_attempts: u32,
    /// Delay before the first retry. Default 100 ms.
    pub initial_backoff: Duration,
    /// Upper bound of one delay. Default 10 s.
    pub max_backoff: Duration,
    /// Growth factor of the delay. Default 2.
    pub multiplier: f64,
    /// Fraction of each delay that is randomized (0 = none, 1 = full jitter). Default 0.2.
    pub jitter: f64,
    /// Give up once this much time has passed since the first failure. Default 5 minutes.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: 0.2,
            max_elapsed: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: the first retryable error goes to the dead-letter topic.
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// Sets the number of attempts in all (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first and the largest delay.
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets the growth factor (at least 1).
    #[must_use]
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier.max(1.0);
        self
    }

    /// Sets the randomized fraction of each delay (clamped to `0..=1`).
    #[must_use]
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// Sets the total time budget for retries of one message.
    #[must_use]
    pub fn max_elapsed(mut self, max: Duration) -> Self {
        self.max_elapsed = max;
        self
    }

    /// Whether to try again after `attempts` failed attempts, `elapsed` after the first failure.
    pub fn should_retry(&self, attempts: u32, elapsed: Duration) -> bool {
        attempts < self.max_attempts && elapsed < self.max_elapsed
    }

    /// The delay before retry number `retry` (1 = the first retry), jitter applied.
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = self.multiplier.powi(retry.saturating_sub(1).min(64) as i32);
        let base = self.initial_backoff.as_secs_f64() * exp;
        let base = base.min(self.max_backoff.as_secs_f64());
        let spread = base * self.jitter;
        Duration::from_secs_f64((base - spread * fastrand::f64()).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let p = RetryPolicy::default()
            .backoff(Duration::from_millis(100), Duration::from_millis(800))
            .jitter(0.0);
        let d: Vec<_> = (1..=6).map(|r| p.delay(r).as_millis()).collect();
        assert_eq!(d, vec![100, 200, 400, 800, 800, 800]);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let p = RetryPolicy::default()
            .backoff(Duration::from_millis(1000), Duration::from_secs(10))
            .jitter(0.5);
        for _ in 0..1000 {
            let d = p.delay(1);
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn elapsed_budget_stops_retries() {
        let p = RetryPolicy::default()
            .max_attempts(100)
            .max_elapsed(Duration::from_secs(1));
        assert!(p.should_retry(3, Duration::from_millis(999)));
        assert!(!p.should_retry(3, Duration::from_secs(1)));
        assert!(!RetryPolicy::none().should_retry(1, Duration::ZERO));
    }
}
