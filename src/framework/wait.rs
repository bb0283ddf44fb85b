//! Polling until something is ready, with a deadline, backoff, progress logs, and an error
//! that says what the last observed state was (k0smotron#1026: "timed out" alone is useless).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// One observation of the thing being waited for.
pub enum Check<T> {
    /// Done, with the result.
    Ready(T),
    /// Not yet; the string describes the current state (e.g. the last condition's
    /// reason and message) and ends up in the timeout error.
    Pending(String),
}

/// Why waiting stopped without success.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WaitError<E> {
    #[error("timed out after {waited} waiting for {what}; last state: {last}")]
    Timeout {
        what: String,
        waited: String,
        last: String,
    },
    #[error("{0}")]
    Failed(E),
}

/// Backoff between checks: starts at `initial`, grows by half each time, capped at `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    fn next(&self, current: Duration) -> Duration {
        (current + current / 2).min(self.max)
    }
}

/// How often a wait says at INFO what it is still waiting for, even when nothing changed:
/// someone watching a long apply must see it is alive and what it waits for. Checks are at
/// most 5 s apart, so a line comes at least every 15 s.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Calls `check` until it returns `Ready`, an error, or `timeout` passes. Logs progress at
/// INFO when the state changes, and at least every [`HEARTBEAT`] (not on every poll).
pub async fn until<T, E, F, Fut>(
    what: &str,
    timeout: Duration,
    backoff: Backoff,
    mut check: F,
) -> Result<T, WaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Check<T>, E>>,
{
    let start = Instant::now();
    let deadline = start + timeout;
    let mut delay = backoff.initial;
    let mut last = String::from("not checked yet");
    let mut logged = start;
    loop {
        match check().await.map_err(WaitError::Failed)? {
            Check::Ready(v) => return Ok(v),
            Check::Pending(state) => {
                if state != last || logged.elapsed() >= HEARTBEAT {
                    tracing::info!(waiting_for = what, elapsed = %super::duration::format(start.elapsed()), "{state}");
                    last = state;
                    logged = Instant::now();
                }
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitError::Timeout {
                what: what.to_string(),
                waited: super::duration::format(timeout),
                last,
            });
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = backoff.next(delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn returns_when_ready() {
        let n = AtomicU32::new(0);
        let r: Result<u32, WaitError<String>> = until(
            "thing",
            Duration::from_secs(60),
            Backoff::default(),
            || async {
                let i = n.fetch_add(1, Ordering::SeqCst);
                Ok(if i == 3 {
                    Check::Ready(i)
                } else {
                    Check::Pending(format!("step {i}"))
                })
            },
        )
        .await;
        assert_eq!(r, Ok(3));
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_reports_the_last_state() {
        let start = Instant::now();
        let r: Result<(), WaitError<String>> = until(
            "cluster dev/a to be Available",
            Duration::from_secs(30),
            Backoff::default(),
            || async {
                Ok(Check::Pending(
                    "Available=False: ControlPlaneNotReady: 0/1 replicas ready".into(),
                ))
            },
        )
        .await;
        let e = r.unwrap_err();
        assert_eq!(
            e.to_string(),
            "timed out after 30s waiting for cluster dev/a to be Available; last state: Available=False: ControlPlaneNotReady: 0/1 replicas ready"
        );
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(30) && waited < Duration::from_secs(31),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn errors_stop_waiting() {
        let r: Result<(), WaitError<String>> =
            until("x", Duration::from_secs(30), Backoff::default(), || async {
                Err("forbidden".to_string())
            })
            .await;
        assert_eq!(r, Err(WaitError::Failed("forbidden".into())));
    }

    #[test]
    fn backoff_grows_to_the_cap() {
        let b = Backoff::default();
        let mut d = b.initial;
        for _ in 0..20 {
            d = b.next(d);
        }
        assert_eq!(d, b.max);
    }
}
