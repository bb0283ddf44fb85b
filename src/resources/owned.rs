//! Owned objects in a Kubernetes cluster (the rules are in [`crate::framework::ownership`]):
//! create-or-adopt-an-interrupted-create, the lease a running create keeps, marking an
//! object created, and the check update and destroy make before they touch an object.

use std::time::Duration;

use kube::core::ApiResource;
use serde_json::Value;

use crate::framework::ownership::{self, Claim, Owner};

use super::kube_io::{self, KubeError};

/// Why an owned create did not happen.
#[derive(Debug, thiserror::Error)]
pub enum OwnedError {
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// The object exists and is not ours to take.
    #[error("{kind} {who} already exists{}", owner_words(.owner))]
    Exists {
        kind: String,
        who: String,
        /// The instance id in its owner annotation (None: no annotation).
        owner: Option<String>,
    },
    /// Another create holds the object and keeps renewing its lease.
    #[error("{kind} {who} is being created right now by another Terraform run (k0stack instance {owner}); wait until it finishes")]
    Busy {
        kind: String,
        who: String,
        owner: String,
    },
}

fn owner_words(owner: &Option<String>) -> String {
    match owner {
        Some(o) => format!(" and belongs to another k0stack resource instance ({o})"),
        None => " and was not created by k0stack".to_string(),
    }
}

fn who(ns: Option<&str>, name: &str) -> String {
    match ns {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// The outcome of [`create_or_adopt`].
#[derive(Debug, Clone)]
pub struct Created {
    /// The object as the API returned it.
    pub object: Value,
    /// The instance id the object carries now: ours, or that of the interrupted create we
    /// adopted (the caller continues as that instance).
    pub instance: String,
    /// True when an interrupted create's object was adopted.
    pub adopted: bool,
}

/// Creates `object` owned by `instance` (phase `creating`). When it already exists: ours →
/// returned as is; left by an interrupted create → adopted (renewed for us, its instance
/// id returned); held by a running create → waited for, at most two leases; anything
/// else → [`OwnedError::Exists`].
pub async fn create_or_adopt(
    client: &kube::Client,
    ar: &ApiResource,
    object: &Value,
    instance: &str,
) -> Result<Created, OwnedError> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let ns = object["metadata"]["namespace"].as_str();
    let give_up = tokio::time::Instant::now() + ownership::LEASE_DURATION * 2;
    loop {
        let mut stamped = object.clone();
        ownership::stamp(
            &mut stamped,
            &Owner::creating(instance, ownership::now_secs()),
        );
        match kube_io::create(client, ar, &stamped).await {
            Ok(o) => {
                return Ok(Created {
                    object: o,
                    instance: instance.to_string(),
                    adopted: false,
                })
            }
            Err(KubeError::Object {
                code: Some(409), ..
            }) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(existing) = kube_io::get(client, ar, ns, name).await? else {
            continue; // deleted meanwhile: create again
        };
        match ownership::claim(&existing, Some(instance), ownership::now_secs()) {
            Claim::Ours => {
                return Ok(Created {
                    object: existing,
                    instance: instance.to_string(),
                    adopted: false,
                })
            }
            Claim::Interrupted { instance: theirs } => {
                let owner = Owner::creating(&theirs, ownership::now_secs());
                let object =
                    kube_io::patch_merge(client, ar, ns, name, &ownership::owner_patch(&owner))
                        .await?;
                tracing::info!(object = %who(ns, name), instance = %theirs, "adopted the object of an interrupted create");
                return Ok(Created {
                    object,
                    instance: theirs,
                    adopted: true,
                });
            }
            Claim::Busy {
                instance: theirs,
                until,
            } => {
                if tokio::time::Instant::now() >= give_up {
                    return Err(OwnedError::Busy {
                        kind: ar.kind.clone(),
                        who: who(ns, name),
                        owner: theirs,
                    });
                }
                let wait = until.saturating_sub(ownership::now_secs()).max(1);
                tracing::info!(object = %who(ns, name), instance = %theirs, "another create holds the object for {wait} s more (an interrupted apply, or one still running); waiting");
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            Claim::Unowned => {
                return Err(OwnedError::Exists {
                    kind: ar.kind.clone(),
                    who: who(ns, name),
                    owner: None,
                })
            }
            Claim::Foreign { instance: theirs } => {
                return Err(OwnedError::Exists {
                    kind: ar.kind.clone(),
                    who: who(ns, name),
                    owner: Some(theirs),
                })
            }
        }
    }
}

/// Marks `instance`'s object created (its create returned; a state records it). Objects
/// already marked are left alone, so this is cheap to call on every refresh.
pub async fn mark_created(
    client: &kube::Client,
    ar: &ApiResource,
    object: &Value,
    instance: &str,
) -> Result<(), KubeError> {
    let owner = Owner::of(object);
    if owner
        .as_ref()
        .is_some_and(|o| o.instance == instance && o.phase == ownership::Phase::Created)
    {
        return Ok(());
    }
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let ns = object["metadata"]["namespace"].as_str();
    kube_io::patch_merge(
        client,
        ar,
        ns,
        name,
        &ownership::owner_patch(&Owner::created(instance)),
    )
    .await?;
    Ok(())
}

/// One object a lease covers: its resource, namespace and name.
pub type LeaseTarget = (ApiResource, Option<String>, String);

/// Renews a running create's lease on its objects every [`ownership::LEASE_RENEW`] until
/// dropped, so that another create can tell it from an interrupted one.
pub struct LeaseKeeper {
    task: tokio::task::JoinHandle<()>,
}

impl LeaseKeeper {
    pub fn start(client: kube::Client, targets: Vec<LeaseTarget>) -> Self {
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(ownership::LEASE_RENEW).await;
                let patch = ownership::lease_patch(ownership::now_secs());
                for (ar, ns, name) in &targets {
                    if let Err(e) =
                        kube_io::patch_merge(&client, ar, ns.as_deref(), name, &patch).await
                    {
                        tracing::debug!(object = %who(ns.as_deref(), name), "cannot renew the create lease: {e}");
                    }
                }
            }
        });
        Self { task }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether an object an update or destroy is about to touch is this instance's: it carries
/// `instance`, or (written by a provider version before owner annotations) it has no owner
/// annotation and its uid is the one recorded in the state. The error says whose it is.
pub fn check_ours(
    object: &Value,
    instance: Option<&str>,
    recorded_uid: Option<&str>,
) -> Result<(), String> {
    let uid = object["metadata"]["uid"].as_str();
    match ownership::claim(object, instance, ownership::now_secs()) {
        Claim::Ours => Ok(()),
        Claim::Unowned if recorded_uid.is_some() && uid == recorded_uid => Ok(()),
        Claim::Unowned => Err(format!(
            "it has no k0stack owner annotation and its uid ({}) is not the one in the state ({}): it is another object of the same name",
            uid.unwrap_or("?"),
            recorded_uid.unwrap_or("none recorded")
        )),
        Claim::Interrupted { instance: o }
        | Claim::Busy { instance: o, .. }
        | Claim::Foreign { instance: o } => Err(format!(
            "it belongs to another k0stack resource instance ({o}; this one is {})",
            instance.unwrap_or("not recorded")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ours_by_annotation_or_by_recorded_uid() {
        let mut o = json!({"metadata": {"name": "x", "uid": "u1"}});
        assert!(check_ours(&o, Some("a"), Some("u1")).is_ok());
        let e = check_ours(&o, Some("a"), Some("u2")).unwrap_err();
        assert!(e.contains("another object of the same name"), "{e}");
        ownership::stamp(&mut o, &Owner::created("b"));
        let e = check_ours(&o, Some("a"), Some("u1")).unwrap_err();
        assert!(e.contains("another k0stack resource instance (b"), "{e}");
        assert!(check_ours(&o, Some("b"), None).is_ok());
    }

    #[test]
    fn exists_error_names_the_owner() {
        let e = OwnedError::Exists {
            kind: "Cluster".into(),
            who: "kmc-system/dev".into(),
            owner: Some("abc".into()),
        };
        assert_eq!(
            e.to_string(),
            "Cluster kmc-system/dev already exists and belongs to another k0stack resource instance (abc)"
        );
    }
}
