//! When to try again: exponential backoff, a token bucket for Notion's rate limit, and
//! `Retry-After`.
//!
//! Randomness and time come from the caller, so a test with a fixed seed and a simulated clock
//! sees the same delays every run.

/// The longest wait a `Retry-After` can ask for; anything longer is treated as this (a day).
pub const MAX_RETRY_AFTER_MS: u64 = 86_400_000;

/// Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries
/// spread out but never come back immediately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first retry (attempt 0), before jitter.
    pub base_ms: u64,
    /// The cap on any delay.
    pub max_ms: u64,
}

impl Backoff {
    /// The delay before retry number `attempt` (0 for the first retry): `base * 2^attempt`,
    /// capped at `max_ms`, of which the upper half is scaled by `random` (any `u32`, e.g. from
    /// `wasi:random`). The result is in `[cap/2, cap]`.
    pub fn delay_ms(&self, attempt: u32, random: u32) -> u64 {
        let exp = self
            .base_ms
            .saturating_mul(1u64.checked_shl(attempt.min(63)).unwrap_or(u64::MAX));
        let capped = exp.min(self.max_ms);
        let half = capped / 2;
        let spread = capped - half;
        let jitter = (u128::from(spread) * u128::from(random) / u128::from(u32::MAX)) as u64;
        half + jitter
    }
}

/// A token bucket: `burst` requests at once, then `rate_per_sec` on average.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    rate_per_sec: f64,
    burst: f64,
    tokens: f64,
    last_ms: Option<u64>,
}

impl TokenBucket {
    /// A full bucket. A rate that is zero, negative or not finite means "no limit".
    pub fn new(rate_per_sec: f64, burst: f64) -> TokenBucket {
        let burst = if burst.is_finite() {
            burst.max(1.0)
        } else {
            1.0
        };
        TokenBucket {
            rate_per_sec,
            burst,
            tokens: burst,
            last_ms: None,
        }
    }

    /// Takes one token at `now_ms`, or says how many milliseconds until one is available. A
    /// clock that goes backwards refills nothing.
    pub fn try_take(&mut self, now_ms: u64) -> Result<(), u64> {
        if !(self.rate_per_sec.is_finite() && self.rate_per_sec > 0.0) {
            return Ok(());
        }
        if let Some(last) = self.last_ms {
            let elapsed = now_ms.saturating_sub(last) as f64;
            self.tokens = (self.tokens + elapsed * self.rate_per_sec / 1000.0).min(self.burst);
        }
        self.last_ms = Some(self.last_ms.map_or(now_ms, |l| l.max(now_ms)));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - self.tokens) * 1000.0 / self.rate_per_sec).ceil();
            Err((wait as u64).max(1))
        }
    }
}

/// A `Retry-After` value in milliseconds: delta seconds (`"7"`, or `"1.5"` as some servers
/// send), capped at [`MAX_RETRY_AFTER_MS`]. `None` for anything else, an HTTP-date included
/// (Notion sends integer seconds); the caller then uses its default.
pub fn retry_after_to_ms(value: &str) -> Option<u64> {
    let secs: f64 = value.trim().parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(((secs * 1000.0).ceil() as u64).min(MAX_RETRY_AFTER_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base_ms: 1000,
        max_ms: 60_000,
    };

    #[test]
    fn backoff_doubles_with_equal_jitter_and_is_capped() {
        assert_eq!(B.delay_ms(0, 0), 500);
        assert_eq!(B.delay_ms(0, u32::MAX), 1000);
        assert_eq!(B.delay_ms(1, 0), 1000);
        assert_eq!(B.delay_ms(3, u32::MAX), 8000);
        assert_eq!(B.delay_ms(10, u32::MAX), 60_000);
        assert_eq!(B.delay_ms(10, 0), 30_000);
        assert_eq!(B.delay_ms(u32::MAX, u32::MAX / 2), 44_999);
        let d = B.delay_ms(2, 1 << 31);
        assert!((2000..=4000).contains(&d), "{d}");
    }

    #[test]
    fn a_bucket_allows_its_burst_then_the_rate() {
        let mut b = TokenBucket::new(3.0, 2.0);
        assert_eq!(b.try_take(0), Ok(()));
        assert_eq!(b.try_take(0), Ok(()));
        assert_eq!(b.try_take(0), Err(334));
        assert_eq!(b.try_take(200), Err(134));
        assert_eq!(b.try_take(334), Ok(()));
        // Refill stops at the burst.
        assert_eq!(b.try_take(100_000), Ok(()));
        assert_eq!(b.try_take(100_000), Ok(()));
        assert!(b.try_take(100_000).is_err());
    }

    #[test]
    fn a_clock_going_backwards_refills_nothing() {
        let mut b = TokenBucket::new(1.0, 1.0);
        assert_eq!(b.try_take(10_000), Ok(()));
        assert_eq!(b.try_take(5_000), Err(1000));
        assert_eq!(b.try_take(11_000), Ok(()));
    }

    #[test]
    fn a_zero_rate_means_no_limit() {
        let mut b = TokenBucket::new(0.0, 0.0);
        for _ in 0..100 {
            assert_eq!(b.try_take(0), Ok(()));
        }
        assert_eq!(
            TokenBucket::new(f64::NAN, f64::INFINITY).try_take(0),
            Ok(())
        );
    }

    #[test]
    fn retry_after_takes_delta_seconds_only() {
        assert_eq!(retry_after_to_ms("7"), Some(7000));
        assert_eq!(retry_after_to_ms(" 0 "), Some(0));
        assert_eq!(retry_after_to_ms("1.5"), Some(1500));
        assert_eq!(retry_after_to_ms("999999999"), Some(MAX_RETRY_AFTER_MS));
        assert_eq!(retry_after_to_ms("-1"), None);
        assert_eq!(retry_after_to_ms("inf"), None);
        assert_eq!(retry_after_to_ms("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after_to_ms(""), None);
    }
}
