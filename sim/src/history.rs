//! One process-wide order of simulated events.
//!
//! Tests assert orderings that span both halves of the simulator ("nodes drained before
//! servers deleted", "never fewer than N ready during a roll"). Wall clocks of two tasks
//! can tie or skew, so every recorded event takes a number from the single counter here;
//! `since_start_ms` is only for humans reading a timeline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use serde::Serialize;

static SEQ: AtomicU64 = AtomicU64::new(0);
static START: OnceLock<Instant> = OnceLock::new();

/// The next sequence number (strictly increasing across the whole process, from 1).
pub fn next_seq() -> u64 {
    start();
    SEQ.fetch_add(1, Ordering::SeqCst) + 1
}

/// Milliseconds since the first use of this module (the simulator's start, in practice).
pub fn since_start_ms() -> u64 {
    start().elapsed().as_millis() as u64
}

fn start() -> Instant {
    *START.get_or_init(Instant::now)
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// From [`next_seq`]: the order of events, also across the two halves.
    pub seq: u64,
    /// Milliseconds since start ([`since_start_ms`]).
    pub at: u64,
    /// What happened, e.g. `server.create`, `server.active`, `server.error`, `server.delete`.
    pub kind: String,
    /// The object it happened to (a server id for the OpenStack half).
    pub server_id: String,
    pub name: String,
}

impl HistoryEntry {
    /// Stamps an event now.
    pub fn now(kind: &str, server_id: &str, name: &str) -> Self {
        Self {
            seq: next_seq(),
            at: since_start_ms(),
            kind: kind.into(),
            server_id: server_id.into(),
            name: name.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_strictly_increasing_across_threads() {
        let handles: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..1000).map(|_| next_seq()).collect::<Vec<_>>()))
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "no number handed out twice");
    }
}
