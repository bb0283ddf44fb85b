//! The identity of a pool *instance*, and the record that tells an interrupted create from
//! a live sibling.
//!
//! Each instance draws a random `uid` at create and tags every server with it, so two
//! instances with the same name (the old and the new of a `create_before_destroy`, a
//! `-replace`, a tainted re-create) own disjoint servers, and destroying one never touches
//! the other's. The uid is also written, before any server exists, into a ConfigMap
//! `k0stack-pool-<uid>` in the hosted control plane's namespace of the management cluster,
//! labelled with the pool's key (a hash of `<namespace>/<control plane>/<pool name>`) and
//! carrying the owner annotations of [`crate::framework::ownership`]:
//!
//! - while the create runs, the record is `creating` with a lease the create renews;
//! - when the create returns (Terraform saves the state right then), it is `created`; any
//!   later refresh, plan or update of the instance marks it too (in case that write failed);
//! - a create of the same pool that finds a record still `creating` with an expired lease
//!   knows its create never returned (SIGKILL, lost runner): nothing records those servers,
//!   so it continues as that instance (same uid, its servers adopted). A record that is
//!   `created` belongs to a live sibling and is never taken over.
//!
//! Why a record rather than a uid derived from (control plane, pool name) as before: a
//! derived uid is the same for every instance of the pool, which is exactly how a second
//! instance took over, and then deleted, the first one's servers.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::framework::ownership::{self, Claim, Owner};
use crate::resources::kube_io::{self, KubeError};
use crate::resources::owned;

use super::token_plan::Tracked;

/// Label holding the pool's key on its records.
pub const LABEL_POOL: &str = "k0stack.io/worker-pool";

/// The label value naming a pool (`<ns>/<control plane>/<name>`): 16 hex digits of SHA-256
/// (label values are limited to 63 characters).
pub fn pool_key(pool_id: &str) -> String {
    let d = Sha256::digest(pool_id.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub fn record_name(uid: &str) -> String {
    format!("k0stack-pool-{uid}")
}

/// The record of instance `uid` of pool `pool_id`, whose servers join the control plane
/// with Kubernetes uid `hcp_uid`.
pub fn record_object(ns: &str, pool_id: &str, uid: &str, hcp_uid: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": record_name(uid),
            "namespace": ns,
            "labels": { "app.kubernetes.io/managed-by": "k0stack", LABEL_POOL: pool_key(pool_id) },
        },
        "data": { "pool": pool_id, "uid": uid, "hosted-control-plane-uid": hcp_uid },
    })
}

/// What a create found among the pool's records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Found {
    /// Interrupted creates of this pool on this control plane: the first is adopted.
    pub adoptable: Vec<String>,
    /// Interrupted creates whose servers joined another (replaced) control plane: their
    /// servers are nobody's and are deleted.
    pub stale: Vec<String>,
    /// Records another create holds right now: (uid, lease end).
    pub busy: Vec<(String, u64)>,
}

/// Sorts a pool's records for a create (pure): `now` in unix seconds.
pub fn sort_records(records: &[Value], hcp_uid: &str, now: u64) -> Found {
    let mut f = Found::default();
    for r in records {
        let Some(uid) = r["data"]["uid"].as_str().map(String::from) else {
            continue;
        };
        match ownership::claim(r, None, now) {
            Claim::Interrupted { .. } if r["data"]["hosted-control-plane-uid"] == hcp_uid => {
                f.adoptable.push(uid)
            }
            Claim::Interrupted { .. } => f.stale.push(uid),
            Claim::Busy { until, .. } => f.busy.push((uid, until)),
            Claim::Ours | Claim::Unowned | Claim::Foreign { .. } => {}
        }
    }
    f.adoptable.sort();
    f
}

/// The pool's records in `ns`.
pub async fn list(kube: &kube::Client, ns: &str, pool_id: &str) -> Result<Vec<Value>, KubeError> {
    kube_io::list_selected(
        kube,
        &kube_io::configmap_resource(),
        Some(ns),
        Some(&format!("{LABEL_POOL}={}", pool_key(pool_id))),
    )
    .await
}

/// How a create begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub uid: String,
    /// True when an interrupted create's instance (and its servers) was adopted.
    pub adopted: bool,
    /// Interrupted creates on a replaced control plane, whose servers are to be deleted.
    pub stale: Vec<String>,
}

/// Starts the create of pool `pool_id`: adopts an interrupted create of it, or writes the
/// record of a new instance. A create still holding a record is waited for (at most two
/// leases: then it is alive elsewhere, and this create takes a uid of its own).
pub async fn claim_for_create(
    kube: &kube::Client,
    ns: &str,
    pool_id: &str,
    hcp_uid: &str,
) -> Result<Claimed, KubeError> {
    let give_up = ownership::now_secs() + 2 * ownership::LEASE_DURATION.as_secs();
    let found = loop {
        let found = sort_records(
            &list(kube, ns, pool_id).await?,
            hcp_uid,
            ownership::now_secs(),
        );
        let wait_until = found.busy.iter().map(|(_, until)| *until).max();
        match wait_until {
            Some(until) if found.adoptable.is_empty() && ownership::now_secs() < give_up => {
                let secs = until.saturating_sub(ownership::now_secs()).max(1);
                tracing::info!(pool = %pool_id, "another create of this pool holds its record for {secs} s more (an interrupted apply, or one still running); waiting");
                tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
            }
            _ => break found,
        }
    };
    let cm = kube_io::configmap_resource();
    if let Some(uid) = found.adoptable.first() {
        let patch = ownership::owner_patch(&Owner::creating(uid, ownership::now_secs()));
        kube_io::patch_merge(kube, &cm, Some(ns), &record_name(uid), &patch).await?;
        tracing::info!(pool = %pool_id, %uid, "continuing an interrupted create of this pool (its servers are adopted)");
        return Ok(Claimed {
            uid: uid.clone(),
            adopted: true,
            stale: found.stale,
        });
    }
    let uid = ownership::new_instance_id();
    let record = record_object(ns, pool_id, &uid, hcp_uid);
    owned::create_or_adopt(kube, &cm, &record, &uid)
        .await
        .map_err(|e| match e {
            owned::OwnedError::Kube(k) => k,
            other => KubeError::Api(other.to_string()),
        })?;
    Ok(Claimed {
        uid,
        adopted: false,
        stale: found.stale,
    })
}

/// Marks instance `uid`'s record created, writing it if it is missing (a pool of an
/// earlier version, or one whose record was deleted). Best effort: callers log failures.
pub async fn confirm(
    kube: &kube::Client,
    ns: &str,
    pool_id: &str,
    uid: &str,
    hcp_uid: &str,
) -> Result<(), KubeError> {
    let cm = kube_io::configmap_resource();
    match kube_io::get(kube, &cm, Some(ns), &record_name(uid)).await? {
        Some(r) => owned::mark_created(kube, &cm, &r, uid).await,
        None => {
            let mut r = record_object(ns, pool_id, uid, hcp_uid);
            ownership::stamp(&mut r, &Owner::created(uid));
            match kube_io::create(kube, &cm, &r).await {
                Ok(_) => Ok(()),
                Err(KubeError::Object {
                    code: Some(409), ..
                }) => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}

/// The record's key listing the join token requests the instance made (JSON).
pub const DATA_TOKEN_REQUESTS: &str = "join-token-requests";

/// The join token requests instance `uid` made and has not revoked yet (none when the
/// record or the key is missing).
pub async fn token_requests(
    kube: &kube::Client,
    ns: &str,
    uid: &str,
) -> Result<Vec<Tracked>, KubeError> {
    let cm = kube_io::configmap_resource();
    let r = kube_io::get(kube, &cm, Some(ns), &record_name(uid)).await?;
    Ok(parse_token_requests(r.as_ref()))
}

/// The tracked requests in a record (pure; unreadable data is none).
pub fn parse_token_requests(record: Option<&Value>) -> Vec<Tracked> {
    record
        .and_then(|r| r["data"][DATA_TOKEN_REQUESTS].as_str())
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// Writes the requests instance `uid` still tracks (the record must exist: see
/// [`confirm`], which writes a missing one).
pub async fn set_token_requests(
    kube: &kube::Client,
    ns: &str,
    uid: &str,
    tracked: &[Tracked],
) -> Result<(), KubeError> {
    let value = serde_json::to_string(tracked).expect("serializes");
    let patch = json!({ "data": { DATA_TOKEN_REQUESTS: value } });
    let cm = kube_io::configmap_resource();
    kube_io::patch_merge(kube, &cm, Some(ns), &record_name(uid), &patch)
        .await
        .map(|_| ())
}

/// Deletes instance `uid`'s record.
pub async fn delete(kube: &kube::Client, ns: &str, uid: &str) -> Result<(), KubeError> {
    kube_io::delete(
        kube,
        &kube_io::configmap_resource(),
        Some(ns),
        &record_name(uid),
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(uid: &str, owner: &Owner, hcp: &str) -> Value {
        let mut r = record_object("kmc", "kmc/dev/general", uid, hcp);
        ownership::stamp(&mut r, owner);
        r
    }

    #[test]
    fn records_sort_into_adoptable_stale_and_busy() {
        let now = 10_000;
        let records = vec![
            record("b", &Owner::creating("b", now - 100), "cp1"),
            record("a", &Owner::creating("a", now - 100), "cp1"),
            record("old", &Owner::creating("old", now - 100), "cp0"),
            record("live", &Owner::created("live"), "cp1"),
            record("running", &Owner::creating("running", now), "cp1"),
            json!({"metadata": {"name": "junk"}}),
        ];
        let f = sort_records(&records, "cp1", now);
        assert_eq!(f.adoptable, vec!["a", "b"]);
        assert_eq!(f.stale, vec!["old"]);
        assert_eq!(f.busy.len(), 1);
        assert_eq!(f.busy[0].0, "running");
    }

    #[test]
    fn a_live_sibling_is_never_adoptable() {
        let f = sort_records(&[record("live", &Owner::created("live"), "cp1")], "cp1", 0);
        assert_eq!(f, Found::default());
    }

    #[test]
    fn token_requests_round_trip_through_the_record() {
        let mut r = record_object("kmc", "kmc/dev/general", "u", "cp1");
        assert_eq!(parse_token_requests(Some(&r)), vec![]);
        let t = vec![Tracked {
            name: "k0stack-u-1".into(),
            expires: 42,
        }];
        r["data"][DATA_TOKEN_REQUESTS] = json!(serde_json::to_string(&t).unwrap());
        assert_eq!(parse_token_requests(Some(&r)), t);
        r["data"][DATA_TOKEN_REQUESTS] = json!("not json");
        assert_eq!(parse_token_requests(Some(&r)), vec![]);
        assert_eq!(parse_token_requests(None), vec![]);
    }

    #[test]
    fn keys_fit_in_a_label_value() {
        let k = pool_key("kmc-system/dev/general");
        assert_eq!(k.len(), 16);
        assert_ne!(k, pool_key("kmc-system/dev/gpu"));
        assert_eq!(record_name("abc"), "k0stack-pool-abc");
    }
}
