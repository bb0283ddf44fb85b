//! `terraform import k0stack_management_cluster.<name> <id>` of a connected cluster:
//! `<kube-system uid>/<namespace>`, an id of an earlier version
//! (`<context-or-server>/<namespace>`), or just `<namespace>`.
//!
//! Import takes over what a lost state's instance owned there (the namespace k0stack
//! created, the credentials Secret of the default name), with a warning naming it.
//!
//! A bootstrapped cluster cannot be imported: its CA private key and admin credentials
//! exist only in the state that created it (the provider generated them; nothing is read
//! back from the VMs), and without them the provider cannot reach or repair the cluster.

use tf_provider::value::Value;

use crate::framework::ownership::{self, Owner};
use crate::framework::validators::dns_label;
use crate::provider::Clients;
use crate::resources::kube_io::{self, KubeError};

use super::identity::{self, RecordedId};
use super::model::*;
use super::namespace;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0:?}: import a management cluster by <kube-system uid>/<namespace> (the id `terraform output` shows, or `kubectl get namespace kube-system -o jsonpath='{{.metadata.uid}}'`), by <namespace>, or by the <context>/<namespace> of earlier versions.")]
    BadId(String),
    #[error("the provider has no kubernetes connection, and import reads the cluster through it. For a cluster this provider did not create, set the provider's kubernetes block (or KUBECONFIG) and import again. A bootstrapped management cluster (bootstrap {{ ... }}) cannot be imported: its CA private key and admin credentials exist only in the Terraform state that created it. Keep that state (move it between backends or addresses with `terraform state pull`/`push` or `terraform state mv`), or create a new bootstrapped cluster.")]
    NoConnection,
    #[error("{id:?} names the cluster whose kube-system uid is {named}, but the provider is connected to the one with uid {live} ({origin}).")]
    OtherUid {
        id: String,
        named: String,
        live: String,
        origin: String,
    },
    #[error("{id:?} names {key:?}, but the provider is connected to {live:?} (its kubernetes block or KUBECONFIG decides which cluster it manages); import by <namespace> or <kube-system uid>/<namespace> instead.")]
    OtherKey {
        id: String,
        key: String,
        live: String,
    },
    #[error("namespace {0} does not exist in the management cluster: nothing to import (apply creates it).")]
    NoNamespace(String),
    #[error("invalid namespace {0:?}: {1}")]
    BadNamespace(String, String),
    #[error(transparent)]
    Kube(#[from] KubeError),
}

impl ImportError {
    pub fn summary(&self) -> &'static str {
        match self {
            Self::BadId(_) | Self::BadNamespace(..) => "Invalid import id",
            Self::NoConnection => "No management cluster connection to import from",
            Self::OtherUid { .. } | Self::OtherKey { .. } => "Import id names another cluster",
            Self::NoNamespace(_) => "Nothing to import",
            Self::Kube(_) => "Cannot read the management cluster",
        }
    }
}

/// The state of the imported resource (read fills in the rest), and warnings.
pub async fn import(clients: &Clients, id: &str) -> Result<(State, Vec<String>), ImportError> {
    let parsed = identity::parse(id).ok_or_else(|| ImportError::BadId(id.into()))?;
    let k = clients.kube().map_err(|_| ImportError::NoConnection)?;
    let kube = &k.client;
    let live = kube_io::cluster_uid(kube).await?;
    let ns = match parsed {
        RecordedId::Uid { uid, .. } if uid != live => {
            return Err(ImportError::OtherUid {
                id: id.into(),
                named: uid,
                live,
                origin: k.source.origin(),
            })
        }
        RecordedId::Legacy { key, .. } if key != k.cluster_key() => {
            return Err(ImportError::OtherKey {
                id: id.into(),
                key,
                live: k.cluster_key(),
            })
        }
        RecordedId::Uid { namespace, .. } | RecordedId::Legacy { namespace, .. } => namespace,
        RecordedId::Namespace(ns) => ns,
    };
    dns_label(&ns, 63).map_err(|e| ImportError::BadNamespace(ns.clone(), e.to_string()))?;
    let Some(ns_obj) = kube_io::get(kube, &kube_io::namespace_resource(), None, &ns).await? else {
        return Err(ImportError::NoNamespace(ns));
    };
    // Import is the explicit way to recover a lost state: this new instance uses the
    // namespace, and takes over what the lost instance owned — the namespace (when k0stack
    // created it) and the credentials Secret of the default name.
    let instance = ownership::new_instance_id();
    namespace::mark_used(kube, &ns, &instance).await?;
    let mut warnings = Vec::new();
    let namespace_owner = Owner::of(&ns_obj).map(|o| o.instance);
    if let Some(before) = &namespace_owner {
        namespace::hand_over(kube, &ns, &instance).await?;
        namespace::unmark(kube, &ns, before).await?;
        warnings.push(format!(
            "namespace {ns} was created by k0stack instance {before}; it is now this one's ({instance}), and destroy deletes it when no other instance uses it. If a state still manages that instance, remove it there (terraform state rm)."
        ));
    }
    let ar = kube_io::secret_resource();
    let secret = kube_io::get(kube, &ar, Some(&ns), DEFAULT_SECRET_NAME).await?;
    if let Some(o) = &secret {
        if let Some(before) = Owner::of(o) {
            warnings.push(format!(
                "Secret {ns}/{DEFAULT_SECRET_NAME} belonged to k0stack instance {}; it is now this one's ({instance}). If a state still manages that instance, remove it there (terraform state rm), or both will write the Secret.",
                before.instance
            ));
        }
        let patch = ownership::owner_patch(&Owner::created(&instance));
        kube_io::patch_merge(kube, &ar, Some(&ns), DEFAULT_SECRET_NAME, &patch).await?;
    }
    let state = State {
        id: Value::Value(identity::format(&live, &ns).into()),
        namespace: Value::Value(ns.into()),
        force_destroy: Value::Value(false),
        namespace_created: Value::Value(namespace_owner.is_some()),
        instance_id: Value::Value(instance.into()),
        openstack_credentials: if secret.is_some() {
            Value::Value(CredentialsBlock {
                secret_name: Value::Value(DEFAULT_SECRET_NAME.into()),
                ..Default::default()
            })
        } else {
            Value::Null
        },
        ..Default::default()
    };
    Ok((state, warnings))
}
