//! A token bucket over `/v1/` requests (`POST /_emulator/rate-limit`), off by default.

use std::time::Instant;

/// Refills `rate` tokens a second up to `burst`; each request takes one.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Default for TokenBucket {
    fn default() -> Self {
        Self {
            rate: 0.0,
            burst: 0.0,
            tokens: 0.0,
            last: Instant::now(),
        }
    }
}

impl TokenBucket {
    /// `rate` 0 turns the limit off. `burst` defaults to one second's worth (at least 1).
    pub fn configure(&mut self, rate: f64, burst: Option<f64>) {
        self.rate = rate.max(0.0);
        self.burst = burst.unwrap_or(self.rate).max(1.0);
        self.tokens = self.burst;
        self.last = Instant::now();
    }

    /// Takes a token, or says how many whole seconds to wait (Notion's integer `Retry-After`).
    pub fn take(&mut self, now: Instant) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err((((1.0 - self.tokens) / self.rate).ceil() as u64).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_burst_then_refuses_then_refills() {
        let mut bucket = TokenBucket::default();
        let start = Instant::now();
        assert!(bucket.take(start).is_ok(), "off by default");
        bucket.configure(1.0, Some(2.0));
        assert!(bucket.take(start).is_ok());
        assert!(bucket.take(start).is_ok());
        assert_eq!(bucket.take(start), Err(1));
        assert!(bucket.take(start + Duration::from_millis(1100)).is_ok());
    }
}
