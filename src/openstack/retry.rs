//! Which failures are retried, and how long to wait before the next attempt.
//!
//! | answer                                | GET, PUT, DELETE, Keystone `POST /auth/tokens` | other POST (server create, server group create) |
//! |---------------------------------------|------------------------------------------------|-------------------------------------------------|
//! | 429 Too Many Requests                 | retried, `Retry-After` honoured                | retried, `Retry-After` honoured                 |
//! | 503 Service Unavailable               | retried (`Retry-After` honoured if sent)       | retried (`Retry-After` honoured if sent)        |
//! | 408, 500, 502, 504                    | retried                                        | **not** retried                                 |
//! | 409 Conflict                          | retried for DELETE only                        | not retried                                     |
//! | connection refused / DNS / TLS setup  | retried                                        | retried (the request never left)                |
//! | reset, timeout, body cut off          | retried                                        | **not** retried                                 |
//! | 401 from a service                    | one re-authentication, then the request again (not counted as a retry) | same                  |
//! | anything else                         | not retried                                    | not retried                                     |
//!
//! Why POST is different: a 500/502/504 or a reset connection may come after Nova created
//! the server, so resending could boot a duplicate VM; the worker pool finds such servers
//! by their tags and adopts them instead. 429 and 503 are answered by rate limiters and
//! load balancers (or an API that is down) before the request is processed, and a refused
//! connection never reached anything, so those are safe to resend.
//!
//! A 409 on DELETE means the server is in a transitional task state (e.g. still
//! `deleting` or `rebuilding`) and the same request succeeds a moment later; on POST it is
//! a real conflict (duplicate keypair name, ...) that retrying cannot fix.
//!
//! The wait is exponential (`base * 2^attempt`), capped, with "equal jitter" (half fixed,
//! half random) so 200 workers that failed together do not come back together. A
//! `Retry-After` header replaces it (bounded by [`MAX_RETRY_AFTER`]).

use std::time::{Duration, SystemTime};

use reqwest::Method;

/// The longest `Retry-After` honoured; a proxy asking for an hour would otherwise stall
/// an apply silently. Longer requests wait this long and try again.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// What a failed attempt was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Status(u16),
    /// The connection could not be established: nothing was sent.
    Connect,
    /// The request may have been (partly) sent: reset, timeout, truncated answer.
    Transport,
}

/// Whether `failure` of a `method` request deserves another attempt (see the module doc).
/// `auth` marks the Keystone token request, which is safe to repeat.
pub fn is_retryable(method: &Method, auth: bool, failure: Failure) -> bool {
    let idempotent = auth || *method != Method::POST;
    match failure {
        Failure::Connect => true,
        Failure::Transport => idempotent,
        Failure::Status(429 | 503) => true,
        Failure::Status(408 | 500 | 502 | 504) => idempotent,
        Failure::Status(409) => *method == Method::DELETE,
        Failure::Status(_) => false,
    }
}

/// Delays between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait before the first retry (before jitter).
    pub base: Duration,
    /// No wait is longer than this (without `Retry-After`).
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(20),
        }
    }
}

impl Backoff {
    /// The wait before retry number `attempt` (0 = first retry): between half and all of
    /// `min(cap, base * 2^attempt)`, `unit` in [0, 1) choosing where.
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self
            .base
            .checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.cap)
            .min(self.cap);
        let half = exp / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// [`Backoff::delay_with`] with a random `unit`.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }

    /// The wait before the next attempt: `Retry-After` (bounded) if the server sent one,
    /// with a little jitter on top, else the exponential backoff.
    pub fn next_wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(d) => {
                let d = d.min(MAX_RETRY_AFTER);
                d + Duration::from_millis(50).mul_f64(rand::random::<f64>())
            }
            None => self.delay(attempt),
        }
    }
}

/// Parses a `Retry-After` value: delta-seconds (`"120"`) or an HTTP date
/// (`"Fri, 31 Dec 1999 23:59:59 GMT"`, relative to `now`; a date in the past means 0).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn retry_table() {
        let (get, post, del) = (Method::GET, Method::POST, Method::DELETE);
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable(&get, false, Failure::Status(s)), "GET {s}");
            assert!(is_retryable(&del, false, Failure::Status(s)), "DELETE {s}");
            assert!(is_retryable(&post, true, Failure::Status(s)), "auth {s}");
        }
        for s in [429, 503] {
            assert!(is_retryable(&post, false, Failure::Status(s)), "POST {s}");
        }
        for s in [408, 500, 502, 504, 409, 400, 403, 404, 413] {
            assert!(!is_retryable(&post, false, Failure::Status(s)), "POST {s}");
        }
        assert!(is_retryable(&del, false, Failure::Status(409)));
        assert!(!is_retryable(&get, false, Failure::Status(409)));
        for s in [400, 401, 403, 404, 413, 501] {
            assert!(!is_retryable(&get, false, Failure::Status(s)), "GET {s}");
        }
        assert!(is_retryable(&post, false, Failure::Connect));
        assert!(!is_retryable(&post, false, Failure::Transport));
        assert!(is_retryable(&get, false, Failure::Transport));
        assert!(is_retryable(&post, true, Failure::Transport));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn retry_after_is_bounded() {
        let b = Backoff::default();
        let w = b.next_wait(0, Some(Duration::from_secs(3600)));
        assert!(w >= MAX_RETRY_AFTER && w < MAX_RETRY_AFTER + Duration::from_millis(60));
        let w = b.next_wait(7, Some(Duration::from_secs(2)));
        assert!(w >= Duration::from_secs(2) && w < Duration::from_millis(2060));
    }

    proptest! {
        #[test]
        fn backoff_is_capped_and_jittered(
            base_ms in 1u64..5_000,
            cap_ms in 1u64..60_000,
            attempt in 0u32..200,
            unit in 0.0f64..1.0,
        ) {
            let b = Backoff { base: Duration::from_millis(base_ms), cap: Duration::from_millis(cap_ms) };
            let d = b.delay_with(attempt, unit);
            let full = Duration::from_millis(base_ms.saturating_mul(1u64 << attempt.min(40))).min(b.cap);
            prop_assert!(d <= b.cap);
            prop_assert!(d <= full);
            prop_assert!(d >= full / 2);
            // Different random draws give different waits (jitter), unless the range is tiny.
            let lo = b.delay_with(attempt, 0.0);
            let hi = b.delay_with(attempt, 0.999);
            prop_assert!(full < Duration::from_millis(4) || hi > lo);
        }

        #[test]
        fn backoff_grows_until_the_cap(base_ms in 1u64..1_000, attempt in 0u32..30) {
            let b = Backoff { base: Duration::from_millis(base_ms), cap: Duration::from_secs(30) };
            prop_assert!(b.delay_with(attempt + 1, 0.5) >= b.delay_with(attempt, 0.5));
        }
    }
}
