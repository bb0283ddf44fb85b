//! Request coalescing: concurrent callers asking for the same key share one in-flight
//! computation (one HTTP request), and each gets a clone of its result.
//!
//! Why: during one plan every worker pool refreshes by listing its servers, and with many
//! pools (or many reads of the same flavor/image/network) the identical GETs would reach
//! the API at the same moment. Nothing is cached: the entry is removed when the
//! computation finishes, so a call that starts afterwards sends a fresh request.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};

use futures_util::future::{BoxFuture, FutureExt, Shared};

type InFlight<T> = Mutex<HashMap<String, Shared<BoxFuture<'static, T>>>>;

/// Shares in-flight computations by key.
pub struct Coalescer<T: Clone> {
    inflight: Arc<InFlight<T>>,
}

impl<T: Clone> Default for Coalescer<T> {
    fn default() -> Self {
        Self {
            inflight: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Coalescer<T> {
    /// Runs `make()` unless a computation for `key` is in flight, in which case its
    /// result is awaited instead. The computation keeps running if the caller that
    /// started it is dropped, as long as another caller waits for it.
    pub async fn run<F>(&self, key: String, make: impl FnOnce() -> F) -> T
    where
        F: Future<Output = T> + Send + 'static,
    {
        let shared = {
            let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(&key) {
                Some(f) => f.clone(),
                None => {
                    let fut = make();
                    let weak: Weak<InFlight<T>> = Arc::downgrade(&self.inflight);
                    let k = key.clone();
                    let shared = async move {
                        let out = fut.await;
                        // Removed before the result is handed out: whoever arrives from now
                        // on starts a new request.
                        if let Some(m) = weak.upgrade() {
                            m.lock().unwrap_or_else(|e| e.into_inner()).remove(&k);
                        }
                        out
                    }
                    .boxed()
                    .shared();
                    map.insert(key, shared.clone());
                    shared
                }
            }
        };
        shared.await
    }

    /// How many computations are in flight (for tests).
    pub fn in_flight(&self) -> usize {
        self.inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_calls_share_one_computation_and_nothing_is_cached() {
        let c = Arc::new(Coalescer::<Result<u32, String>>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let call = |c: Arc<Coalescer<Result<u32, String>>>, runs: Arc<AtomicUsize>| async move {
            c.run("GET /x".into(), || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(7)
            })
            .await
        };
        let handles: Vec<_> = (0..10)
            .map(|_| tokio::spawn(call(c.clone(), runs.clone())))
            .collect();
        for h in handles {
            assert_eq!(h.await.unwrap(), Ok(7));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(c.in_flight(), 0);
        assert_eq!(call(c.clone(), runs.clone()).await, Ok(7));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn different_keys_do_not_share() {
        let c = Coalescer::<u32>::default();
        let (a, b) = tokio::join!(
            c.run("a".into(), || async { 1 }),
            c.run("b".into(), || async { 2 })
        );
        assert_eq!((a, b), (1, 2));
    }

    #[tokio::test]
    async fn a_dropped_leader_does_not_cancel_the_followers() {
        let c = Arc::new(Coalescer::<u32>::default());
        let c1 = c.clone();
        let leader = tokio::spawn(async move {
            c1.run("k".into(), || async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                5
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let follower = c.run("k".into(), || async { 99 });
        leader.abort();
        assert_eq!(follower.await, 5);
    }
}
