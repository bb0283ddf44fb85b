//! `openstack_credentials {}`: the fleet's clouds.yaml as a Secret in the management
//! namespace, owned by this resource instance.
//!
//! The plan shows *who* the Secret authenticates as (auth URL, user or application
//! credential, project, region — read back from the stored clouds.yaml, planned from
//! what would be stored), so a run with other credentials (a CI bot instead of a person)
//! is visible as `user_name = "alice" -> "ci-bot"` instead of a changed hash only.
//!
//! Ownership: create never takes over an existing Secret (the error names it); update
//! rewrites only a Secret carrying this instance's id, or — for a state written before
//! owner annotations, or just imported — the unannotated Secret the state names; destroy
//! deletes only its own.

use serde_json::{json, Value as Json};
use tf_provider::value::Value;

use crate::framework::ownership::{self, Claim, Owner};
use crate::provider::Clients;
use crate::resources::kube_io::{self, KubeError};
use crate::resources::owned::{self, OwnedError};

use super::clouds::{self, Identity};
use super::model::*;

/// The Secret content to store: the explicit clouds.yaml or one built from the provider
/// (`Ok(None)`: not known yet).
pub fn content(clients: &Clients, block: &CredentialsBlock) -> Result<Option<String>, String> {
    if block.clouds_yaml.is_unknown() {
        return Ok(None);
    }
    if let Some(explicit) = known(&block.clouds_yaml) {
        return Ok(Some(explicit));
    }
    match clients.openstack() {
        Ok(c) => Ok(Some(clouds::clouds_yaml(c))),
        // Known at apply (the provider is configured again with the final values).
        Err(e) if e.until_apply() => Ok(None),
        Err(e) => Err(format!("{e}; or set openstack_credentials.clouds_yaml.")),
    }
}

pub fn secret_name(block: &CredentialsBlock) -> String {
    known(&block.secret_name).unwrap_or_else(|| DEFAULT_SECRET_NAME.to_string())
}

fn identity_fields(b: &mut CredentialsBlock) -> [&mut Str; 8] {
    [
        &mut b.auth_url,
        &mut b.user_name,
        &mut b.user_id,
        &mut b.application_credential_id,
        &mut b.application_credential_name,
        &mut b.project_name,
        &mut b.project_id,
        &mut b.region,
    ]
}

/// Records the hash and identity of `stored` (None: no Secret, everything null).
pub fn record(b: &mut CredentialsBlock, stored: Option<&str>) {
    let id = stored.map(clouds::identity_of).unwrap_or_default();
    let Identity {
        auth_url,
        user_name,
        user_id,
        application_credential_id,
        application_credential_name,
        project_name,
        project_id,
        region,
    } = id;
    let values = [
        auth_url,
        user_name,
        user_id,
        application_credential_id,
        application_credential_name,
        project_name,
        project_id,
        region,
    ];
    for (field, v) in identity_fields(b).into_iter().zip(values) {
        *field = v.map(|v| Value::Value(v.into())).unwrap_or(Value::Null);
    }
    b.sha256 = stored
        .map(|c| Value::Value(clouds::content_hash(c).into()))
        .unwrap_or(Value::Null);
}

/// Plans the hash and identity: known when the content is, unknown otherwise.
pub fn plan(b: &mut CredentialsBlock, content: Option<&str>) {
    match content {
        Some(c) => record(b, Some(c)),
        None => {
            b.sha256 = Value::Unknown;
            for f in identity_fields(b) {
                *f = Value::Unknown;
            }
        }
    }
}

/// No unknown left (a failed apply returns what it has).
pub fn settle(b: &mut CredentialsBlock) {
    for f in identity_fields(b) {
        if f.is_unknown() {
            *f = Value::Null;
        }
    }
    if b.sha256.is_unknown() {
        b.sha256 = Value::Null;
    }
}

/// Why the Secret was not written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error("{0}. Choose another openstack_credentials.secret_name, or, if that Secret is a stale copy nobody uses, delete it (kubectl -n {1} delete secret {2}) and apply again.")]
    Taken(OwnedError, String, String),
    #[error(transparent)]
    Owned(OwnedError),
}

fn secret_object(ns: &str, name: &str, content: &str, owner: &Owner) -> Json {
    let mut obj = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": { "name": name, "namespace": ns, "labels": { "app.kubernetes.io/managed-by": "k0stack" } },
        "stringData": { clouds::SECRET_KEY: content },
    });
    ownership::stamp(&mut obj, owner);
    obj
}

/// What [`store`] did.
pub struct Stored {
    /// The instance the Secret belongs to (another one only when a create adopted the
    /// Secret of an interrupted create).
    pub instance: String,
    /// Created by this call (the caller renews its lease while the create runs).
    pub created: bool,
}

/// Writes the Secret `name` in `ns` for `instance`. `creating`: this is the resource's
/// create (an interrupted create's Secret may be adopted); `named_in_state`: the prior
/// state names this Secret (an unannotated one is then claimed: a state of an earlier
/// version, or an import).
pub async fn store(
    kube: &kube::Client,
    ns: &str,
    name: &str,
    content: &str,
    instance: &str,
    creating: bool,
    named_in_state: bool,
) -> Result<Stored, StoreError> {
    let ar = kube_io::secret_resource();
    let taken = |e: OwnedError| StoreError::Taken(e, ns.to_string(), name.to_string());
    let existing = kube_io::get(kube, &ar, Some(ns), name).await?;
    let now = ownership::now_secs();
    let claim = existing
        .as_ref()
        .map(|o| ownership::claim(o, Some(instance), now));
    let write_as = match claim {
        None | Some(Claim::Interrupted { .. }) | Some(Claim::Busy { .. }) if creating => {
            let obj = secret_object(ns, name, content, &Owner::creating(instance, now));
            let c = owned::create_or_adopt(kube, &ar, &obj, instance)
                .await
                .map_err(|e| match e {
                    OwnedError::Kube(k) => StoreError::Kube(k),
                    e @ OwnedError::Exists { .. } => taken(e),
                    e => StoreError::Owned(e),
                })?;
            if !c.adopted {
                return Ok(Stored {
                    instance: c.instance,
                    created: true,
                });
            }
            Owner::creating(&c.instance, now)
        }
        None => {
            let obj = secret_object(ns, name, content, &Owner::created(instance));
            kube_io::create(kube, &ar, &obj).await?;
            return Ok(Stored {
                instance: instance.to_string(),
                created: false,
            });
        }
        Some(Claim::Ours) => Owner::created(instance),
        Some(Claim::Unowned) if named_in_state && !creating => Owner::created(instance),
        Some(Claim::Unowned) => {
            return Err(taken(OwnedError::Exists {
                kind: "Secret".into(),
                who: format!("{ns}/{name}"),
                owner: None,
            }))
        }
        Some(Claim::Interrupted { instance: o })
        | Some(Claim::Busy { instance: o, .. })
        | Some(Claim::Foreign { instance: o }) => {
            return Err(taken(OwnedError::Exists {
                kind: "Secret".into(),
                who: format!("{ns}/{name}"),
                owner: Some(o),
            }))
        }
    };
    kube_io::apply(kube, &ar, &secret_object(ns, name, content, &write_as)).await?;
    Ok(Stored {
        instance: write_as.instance,
        created: creating,
    })
}

/// Whether a Secret (or any object) may be deleted by `instance` (None: a state written
/// before instance ids, which owned what carries no owner annotation).
pub fn deletable(obj: &Json, instance: Option<&str>) -> bool {
    match ownership::claim(obj, instance, ownership::now_secs()) {
        Claim::Ours => true,
        Claim::Unowned => instance.is_none(),
        _ => false,
    }
}

/// Deletes the Secret `name` when it is this instance's; otherwise returns why it was left.
pub async fn delete(
    kube: &kube::Client,
    ns: &str,
    name: &str,
    instance: Option<&str>,
) -> Result<Option<String>, KubeError> {
    let ar = kube_io::secret_resource();
    let Some(obj) = kube_io::get(kube, &ar, Some(ns), name).await? else {
        return Ok(None);
    };
    if !deletable(&obj, instance) {
        return Ok(Some(format!(
            "Secret {ns}/{name} was left: {}",
            owned::check_ours(&obj, instance, None)
                .err()
                .unwrap_or_default()
        )));
    }
    kube_io::delete(kube, &ar, Some(ns), name).await?;
    Ok(None)
}

/// The stored clouds.yaml (None: no Secret, or no such key).
pub async fn read(kube: &kube::Client, ns: &str, name: &str) -> Result<Option<String>, KubeError> {
    Ok(kube_io::secret_data(kube, ns, name)
        .await?
        .and_then(|d| d.get(clouds::SECRET_KEY).cloned())
        .and_then(|b| String::from_utf8(b).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_shows_the_identity_and_a_failed_apply_leaves_no_unknown() {
        let mut b = CredentialsBlock::default();
        plan(
            &mut b,
            Some("clouds:\n  openstack:\n    auth: {auth_url: https://k/v3, username: alice, password: pw}\n"),
        );
        assert_eq!(known(&b.user_name).as_deref(), Some("alice"));
        assert_eq!(b.project_name, Value::Null);
        assert_eq!(known(&b.sha256).map(|h| h.len()), Some(64));
        plan(&mut b, None);
        assert!(b.user_name.is_unknown() && b.sha256.is_unknown());
        settle(&mut b);
        assert_eq!(
            (b.user_name.clone(), b.sha256.clone()),
            (Value::Null, Value::Null)
        );
    }

    #[test]
    fn only_own_objects_are_deletable() {
        let mut o = json!({"metadata": {"name": "s"}});
        assert!(
            deletable(&o, None),
            "a state without instance ids owned unannotated objects"
        );
        assert!(!deletable(&o, Some("a")));
        ownership::stamp(&mut o, &Owner::created("a"));
        assert!(deletable(&o, Some("a")));
        assert!(!deletable(&o, Some("b")));
        assert!(!deletable(&o, None));
    }
}
