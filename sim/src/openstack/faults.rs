//! Fault injection: the ways a real cloud misbehaves, switchable while a test runs.
//!
//! The provider's retry, timeout and rate-limit handling can only be tested against a
//! cloud that fails on demand, so every knob here is settable at start (options / CLI)
//! and at run time (`PUT /admin/faults`, or [`FaultsHandle`] in-process).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// 429 bursts, as a rate-limiting proxy in front of the APIs answers them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Fraction (0..=1) of requests answered 429.
    pub rate: f64,
    /// Value of the `Retry-After` header, in seconds.
    #[serde(default = "one")]
    pub retry_after_s: u64,
}

fn one() -> u64 {
    1
}

fn default_action_latency() -> u64 {
    100
}

/// The current fault knobs (the JSON of `GET /admin/faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Added to every non-admin request.
    pub latency_ms: u64,
    /// Status code ("500", "503", ...) -> fraction of non-admin requests answered with it.
    pub error_rates: BTreeMap<String, f64>,
    pub rate_limit: Option<RateLimit>,
    /// Lifetime of tokens issued from now on.
    pub token_ttl_s: f64,
    /// Fraction of boots that end in ERROR with a fault.
    pub vm_error_rate: f64,
    /// BUILD -> ACTIVE time of servers created from now on.
    pub boot_latency_ms: u64,
    /// Time a deleted server stays visible (task_state `deleting`) before it is gone.
    pub delete_latency_ms: u64,
    /// Time a server action (os-start, os-stop, shelve, ...) takes to finish.
    #[serde(default = "default_action_latency")]
    pub action_latency_ms: u64,
    /// Every non-admin request answers 503 (a cloud outage).
    pub down: bool,
    /// Nova's `[api] max_limit`: the largest page a list answers (1000, as Nova's default);
    /// lower it to make clients page.
    pub max_limit: usize,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            error_rates: BTreeMap::new(),
            rate_limit: None,
            token_ttl_s: 3600.0,
            vm_error_rate: 0.0,
            boot_latency_ms: 200,
            delete_latency_ms: 100,
            action_latency_ms: default_action_latency(),
            down: false,
            max_limit: 1000,
        }
    }
}

/// A partial update (the JSON of `PUT /admin/faults`): fields left out stay as they are;
/// `error_rates` entries merge by status code (a rate of 0 removes one); `rate_limit: null`
/// switches rate limiting off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsPatch {
    pub latency_ms: Option<u64>,
    pub error_rates: Option<BTreeMap<String, f64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub rate_limit: Option<Option<RateLimit>>,
    pub token_ttl_s: Option<f64>,
    pub vm_error_rate: Option<f64>,
    pub boot_latency_ms: Option<u64>,
    pub delete_latency_ms: Option<u64>,
    pub action_latency_ms: Option<u64>,
    pub down: Option<bool>,
    pub max_limit: Option<usize>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<RateLimit>>, D::Error> {
    Option::<RateLimit>::deserialize(d).map(Some)
}

impl Faults {
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs_f64(self.token_ttl_s.max(0.0))
    }

    pub fn boot_latency(&self) -> Duration {
        Duration::from_millis(self.boot_latency_ms)
    }

    /// Applies `p`; rejects rates outside 0..=1 and codes that are not 4xx/5xx.
    pub fn apply(&mut self, p: FaultsPatch) -> Result<(), String> {
        let rate_ok = |r: f64| (0.0..=1.0).contains(&r);
        if let Some(rates) = &p.error_rates {
            for (code, r) in rates {
                let c: u16 = code
                    .parse()
                    .map_err(|_| format!("error_rates: {code:?} is not a status code"))?;
                if !(400..600).contains(&c) || !rate_ok(*r) {
                    return Err(format!("error_rates: bad entry {code}: {r}"));
                }
            }
        }
        for r in [
            p.vm_error_rate,
            p.rate_limit.clone().flatten().map(|r| r.rate),
        ]
        .into_iter()
        .flatten()
        {
            if !rate_ok(r) {
                return Err(format!("rate {r} is not within 0..=1"));
            }
        }
        if p.token_ttl_s.is_some_and(|t| !(0.0..1e9).contains(&t)) {
            return Err("token_ttl_s out of range".into());
        }
        if p.max_limit == Some(0) {
            return Err("max_limit must be at least 1".into());
        }
        if let Some(v) = p.max_limit {
            self.max_limit = v;
        }
        if let Some(v) = p.latency_ms {
            self.latency_ms = v;
        }
        if let Some(rates) = p.error_rates {
            for (code, r) in rates {
                if r == 0.0 {
                    self.error_rates.remove(&code);
                } else {
                    self.error_rates.insert(code, r);
                }
            }
        }
        if let Some(r) = p.rate_limit {
            self.rate_limit = r;
        }
        if let Some(v) = p.token_ttl_s {
            self.token_ttl_s = v;
        }
        if let Some(v) = p.vm_error_rate {
            self.vm_error_rate = v;
        }
        if let Some(v) = p.boot_latency_ms {
            self.boot_latency_ms = v;
        }
        if let Some(v) = p.action_latency_ms {
            self.action_latency_ms = v;
        }
        if let Some(v) = p.delete_latency_ms {
            self.delete_latency_ms = v;
        }
        if let Some(v) = p.down {
            self.down = v;
        }
        Ok(())
    }

    /// The injected failure for one request, if any: (status, Retry-After seconds).
    pub fn roll(&self) -> Option<(u16, Option<u64>)> {
        if self.down {
            return Some((503, None));
        }
        if let Some(rl) = &self.rate_limit {
            if rl.rate > 0.0 && rand::random::<f64>() < rl.rate {
                return Some((429, Some(rl.retry_after_s)));
            }
        }
        for (code, rate) in &self.error_rates {
            if *rate > 0.0 && rand::random::<f64>() < *rate {
                return Some((code.parse().unwrap_or(500), None));
            }
        }
        None
    }
}

/// Shared, run-time settable faults (the same state `/admin/faults` reads and writes).
#[derive(Debug, Clone, Default)]
pub struct FaultsHandle(Arc<Mutex<Faults>>);

impl FaultsHandle {
    pub fn new(f: Faults) -> Self {
        Self(Arc::new(Mutex::new(f)))
    }

    pub fn get(&self) -> Faults {
        self.0.lock().expect("faults").clone()
    }

    pub fn set(&self, f: Faults) {
        *self.0.lock().expect("faults") = f;
    }

    /// Merges a partial update, as `PUT /admin/faults` does.
    pub fn update(&self, p: FaultsPatch) -> Result<Faults, String> {
        let mut f = self.0.lock().expect("faults");
        f.apply(p)?;
        Ok(f.clone())
    }
}

/// Requests per `"METHOD /path/{template}"` (ids replaced by `{id}`), for benchmarks and
/// tests that assert how many calls the provider made; `"injected <status>"` counts the
/// failures the fault knobs answered instead.
#[derive(Debug, Clone, Default)]
pub struct Counters(Arc<Mutex<BTreeMap<String, u64>>>);

impl Counters {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().expect("counters").clone()
    }

    pub fn reset(&self) {
        self.0.lock().expect("counters").clear();
    }

    /// The count of one key (0 when never requested).
    pub fn get(&self, key: &str) -> u64 {
        self.0
            .lock()
            .expect("counters")
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn bump(&self, key: String) {
        *self.0.lock().expect("counters").entry(key).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_merges_and_validates() {
        let mut f = Faults::default();
        let p: FaultsPatch =
            serde_json::from_str(r#"{"error_rates": {"500": 0.5}, "latency_ms": 3}"#).unwrap();
        f.apply(p).unwrap();
        let p: FaultsPatch =
            serde_json::from_str(r#"{"error_rates": {"503": 0.1}, "rate_limit": {"rate": 1}}"#)
                .unwrap();
        f.apply(p).unwrap();
        assert_eq!(f.error_rates.len(), 2);
        assert_eq!(f.latency_ms, 3);
        assert_eq!(f.rate_limit.as_ref().unwrap().retry_after_s, 1);
        let p: FaultsPatch = serde_json::from_str(r#"{"rate_limit": null}"#).unwrap();
        f.apply(p).unwrap();
        assert!(f.rate_limit.is_none());
        let p: FaultsPatch = serde_json::from_str(r#"{"vm_error_rate": 2}"#).unwrap();
        assert!(f.apply(p).is_err());
        assert!(serde_json::from_str::<FaultsPatch>(r#"{"nope": 1}"#).is_err());
    }
}
