//! Which objects a resource instance owns, so that a create never takes over an object that
//! is not its own, and update/destroy act only on objects they can prove are theirs.
//!
//! # Why an instance id of our own
//!
//! Terraform never tells a provider which resource instance (address) it is working on, and
//! two instances of one configuration can exist at once (the old and the new of a
//! `create_before_destroy`, or of a `-replace`). So every instance draws a random id when it
//! is created, keeps it in its state, and writes it on every object it creates:
//! annotations `k0stack.io/owner` on Kubernetes objects, a tag on OpenStack servers.
//!
//! # Interrupted creates
//!
//! An apply killed in the middle of a create (SIGKILL, a lost CI runner) leaves objects that
//! no state records. Terraform saves the state the moment a create returns, so an object
//! whose create never returned is recognisable: it is marked `creating`, with a lease that
//! the running create renews every few seconds ([`LEASE_RENEW`]). A later create of the same
//! resource that finds such an object with an expired lease adopts it (its id and all);
//! one whose lease is still valid is waited for; one marked `created` belongs to an instance
//! that some state records, and is never taken over. A create marks its objects `created`
//! just before it returns; any later operation that receives the instance's prior state
//! (refresh, plan, update) marks them too, which closes the gap if that last write failed.
//!
//! # Objects whose metadata must not change
//!
//! A k0smotron `Cluster` rolls its control plane when its annotations change (and breaks
//! when its labels do), so it carries only `k0stack.io/owner`, written at its POST; the
//! phase and lease of its create, and later takeovers, are kept on a companion ConfigMap
//! (`resources::hosted_control_plane::companion`), and these rules apply to the view of the
//! `Cluster` that companion gives.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// Annotation: the instance id of the resource instance that created the object.
pub const OWNER: &str = "k0stack.io/owner";
/// Annotation: `creating` while the create that made the object runs, then `created`.
pub const PHASE: &str = "k0stack.io/owner-phase";
/// Annotation: unix seconds until which a running create holds the object.
pub const LEASE: &str = "k0stack.io/owner-lease-until";

/// How long a create holds its objects without renewing.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often a running create renews its lease.
pub const LEASE_RENEW: Duration = Duration::from_secs(5);

/// A new random instance id: 16 lowercase hex digits.
pub fn new_instance_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..8).map(|_| format!("{:02x}", rng.gen::<u8>())).collect()
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Where an owner's create stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The create is running (or was interrupted) and holds the object until `until`.
    Creating { until: u64 },
    /// The create returned: a state records the instance.
    Created,
}

/// The owner of an object, as its annotations say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub instance: String,
    pub phase: Phase,
}

impl Owner {
    /// A create starting now, holding the object for [`LEASE_DURATION`].
    pub fn creating(instance: &str, now: u64) -> Self {
        Self {
            instance: instance.to_string(),
            phase: Phase::Creating {
                until: now + LEASE_DURATION.as_secs(),
            },
        }
    }

    pub fn created(instance: &str) -> Self {
        Self {
            instance: instance.to_string(),
            phase: Phase::Created,
        }
    }

    /// The annotations that say so (the lease is removed, `null`, once created: a merge
    /// patch with these values leaves exactly them).
    pub fn annotations(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(OWNER.into(), json!(self.instance));
        match self.phase {
            Phase::Creating { until } => {
                m.insert(PHASE.into(), json!("creating"));
                m.insert(LEASE.into(), json!(until.to_string()));
            }
            Phase::Created => {
                m.insert(PHASE.into(), json!("created"));
                m.insert(LEASE.into(), Value::Null);
            }
        }
        m
    }

    /// The owner recorded in an object's `metadata.annotations` (None: no owner annotation).
    pub fn of(object: &Value) -> Option<Owner> {
        let a = &object["metadata"]["annotations"];
        let instance = a[OWNER].as_str().filter(|s| !s.is_empty())?.to_string();
        let phase = match a[PHASE].as_str() {
            Some("creating") => Phase::Creating {
                until: a[LEASE].as_str().and_then(|s| s.parse().ok()).unwrap_or(0),
            },
            // Anything else (missing, or an unknown word) counts as created: never adopted.
            _ => Phase::Created,
        };
        Some(Owner { instance, phase })
    }
}

/// What an existing object is to the instance `ours` (None: an instance not created yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It carries our instance id.
    Ours,
    /// No owner annotation: made outside k0stack, or by a provider version before owner
    /// annotations. Only `terraform import` (or a recorded uid) makes it ours.
    Unowned,
    /// Left by a create of another instance that never returned (lease expired): a create
    /// of the same resource adopts it.
    Interrupted { instance: String },
    /// A create of another instance holds it until `until` (unix seconds).
    Busy { instance: String, until: u64 },
    /// Another instance's, recorded in some state.
    Foreign { instance: String },
}

/// Classifies `object` for instance `ours` at time `now` (unix seconds).
pub fn claim(object: &Value, ours: Option<&str>, now: u64) -> Claim {
    let Some(owner) = Owner::of(object) else {
        return Claim::Unowned;
    };
    if Some(owner.instance.as_str()) == ours {
        return Claim::Ours;
    }
    match owner.phase {
        Phase::Creating { until } if until <= now => Claim::Interrupted {
            instance: owner.instance,
        },
        Phase::Creating { until } => Claim::Busy {
            instance: owner.instance,
            until,
        },
        Phase::Created => Claim::Foreign {
            instance: owner.instance,
        },
    }
}

/// The metadata patch that renews a create's lease from `now`.
pub fn lease_patch(now: u64) -> Value {
    json!({ "metadata": { "annotations": {
        LEASE: (now + LEASE_DURATION.as_secs()).to_string()
    } } })
}

/// The metadata patch that writes `owner`.
pub fn owner_patch(owner: &Owner) -> Value {
    json!({ "metadata": { "annotations": Value::Object(owner.annotations()) } })
}

/// Adds `owner`'s annotations to an object about to be created.
pub fn stamp(object: &mut Value, owner: &Owner) {
    let meta = &mut object["metadata"];
    if !meta["annotations"].is_object() {
        meta["annotations"] = json!({});
    }
    let annotations = meta["annotations"].as_object_mut().expect("an object");
    for (k, v) in owner.annotations() {
        if !v.is_null() {
            annotations.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_of(owner: &Owner) -> Value {
        let mut o = json!({"metadata": {"name": "x"}});
        stamp(&mut o, owner);
        o
    }

    #[test]
    fn instance_ids_are_random_hex() {
        let (a, b) = (new_instance_id(), new_instance_id());
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn claims_in_every_situation() {
        let now = 1_000;
        let unowned = json!({"metadata": {"name": "x"}});
        assert_eq!(claim(&unowned, Some("a"), now), Claim::Unowned);
        let created = object_of(&Owner::created("a"));
        assert_eq!(claim(&created, Some("a"), now), Claim::Ours);
        assert_eq!(
            claim(&created, Some("b"), now),
            Claim::Foreign {
                instance: "a".into()
            }
        );
        assert_eq!(
            claim(&created, None, now),
            Claim::Foreign {
                instance: "a".into()
            }
        );
        let creating = object_of(&Owner::creating("a", now));
        assert_eq!(
            claim(&creating, None, now + 1),
            Claim::Busy {
                instance: "a".into(),
                until: now + LEASE_DURATION.as_secs()
            }
        );
        assert_eq!(
            claim(&creating, None, now + LEASE_DURATION.as_secs()),
            Claim::Interrupted {
                instance: "a".into()
            }
        );
        assert_eq!(claim(&creating, Some("a"), now + 100), Claim::Ours);
    }

    #[test]
    fn an_unknown_phase_is_never_adoptable() {
        let o = json!({"metadata": {"annotations": {OWNER: "a", PHASE: "weird"}}});
        assert_eq!(
            claim(&o, Some("b"), 0),
            Claim::Foreign {
                instance: "a".into()
            }
        );
    }

    #[test]
    fn created_clears_the_lease_in_a_merge_patch() {
        let p = owner_patch(&Owner::created("a"));
        assert_eq!(p["metadata"]["annotations"][LEASE], Value::Null);
        assert_eq!(p["metadata"]["annotations"][PHASE], "created");
        let renewed = lease_patch(10);
        assert_eq!(renewed["metadata"]["annotations"][LEASE], "25");
        let mut o = json!({"metadata": {"annotations": {"keep": "me"}}});
        stamp(&mut o, &Owner::created("a"));
        assert_eq!(o["metadata"]["annotations"]["keep"], "me");
        assert!(o["metadata"]["annotations"].get(LEASE).is_none());
    }
}
