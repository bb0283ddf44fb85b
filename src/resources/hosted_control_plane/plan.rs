//! Plan semantics, as pure functions over states: defaults, computed values, what forces
//! a replacement, and which version changes are refused.
//!
//! - Replace: `name`, `namespace` (the object would move), `management_cluster_id` when it
//!   designates another cluster or namespace (see [`identity::designates_another`]; another
//!   form of the same cluster's id is an in-place update), and the storage type (etcd ↔ kine:
//!   the datastore cannot be migrated in place).
//! - A new control plane's `id`, `uid`, `instance_id` and `management_cluster_uid` are
//!   unknown until it is created, so resources that reference its `id` (worker pools) see it
//!   change and plan their own replacement when it is replaced.
//! - In place: everything else — a `k0s_version` increase is an upgrade (the control plane
//!   StatefulSet rolls), `replicas` scales, ports/config/flags/manifests reconfigure.
//! - Refused: a version downgrade, and skipping a Kubernetes minor (1.30 → 1.32): Kubernetes
//!   supports upgrading the control plane one minor at a time.

use tf_provider::value::Value;

use crate::framework::version::K0sVersion;
use crate::framework::Problems;

use super::identity;
use super::model::*;
use super::validate::namespace_of_management_cluster;

/// The ports k0smotron uses when a `service` block leaves them out: planned as known
/// values, so the refresh after apply (which reads them back) sees no change.
fn service_defaults(s: &mut State) {
    if let Some(svc) = s.service.as_mut_option() {
        if svc.api_port.is_null() {
            svc.api_port = Value::Value(DEFAULT_API_PORT as i64);
        }
        if svc.konnectivity_port.is_null() {
            svc.konnectivity_port = Value::Value(DEFAULT_KONNECTIVITY_PORT as i64);
        }
    }
}

/// Fills defaults and marks computed values unknown for a create.
pub fn plan_create(mut s: State) -> State {
    service_defaults(&mut s);
    if s.replicas.is_null() {
        s.replicas = Value::Value(1);
    }
    if s.wait_for_ready.is_null() {
        s.wait_for_ready = Value::Value(true);
    }
    if s.namespace.is_null() {
        s.namespace = match known(&s.management_cluster_id) {
            Some(id) => namespace_of_management_cluster(&id)
                .map(|ns| Value::Value(ns.to_string().into()))
                .unwrap_or(Value::Unknown),
            None => Value::Unknown,
        };
    }
    if s.external_address.is_null() {
        s.external_address = Value::Unknown;
    }
    for v in [
        &mut s.endpoint,
        &mut s.ca_certificate,
        &mut s.kubeconfig,
        &mut s.client_certificate,
        &mut s.client_key,
        &mut s.status,
        &mut s.k0smotron_api_version,
        &mut s.uid,
        &mut s.id,
        &mut s.instance_id,
        &mut s.management_cluster_uid,
    ] {
        *v = Value::Unknown;
    }
    s
}

/// Effective storage type (no block = k0smotron's default, etcd).
fn storage_type(s: &State) -> Option<String> {
    match s.storage.as_ref_option() {
        None => Some("etcd".into()),
        Some(b) => known(&b.kind),
    }
}

/// What [`plan_update`] decided.
#[derive(Debug)]
pub struct UpdatePlan {
    pub planned: State,
    /// The paths to return as RequiresReplace (Terraform filters out those that did not change).
    pub replace: Vec<Vec<&'static str>>,
    /// Whether the plan is a replacement (what Terraform will make of `replace`).
    pub replacing: bool,
    /// Refused version changes.
    pub problems: Problems,
}

/// The planned state for an update. `namespace_configured`: whether the configuration sets
/// `namespace` (when it does not, it follows `management_cluster_id`, and Terraform's
/// proposal carries the prior value).
pub fn plan_update(prior: &State, mut proposed: State, namespace_configured: bool) -> UpdatePlan {
    let mut replace = Vec::new();
    let mut problems = Problems::default();
    service_defaults(&mut proposed);
    if proposed.replicas.is_null() {
        proposed.replicas = Value::Value(1);
    }
    if proposed.wait_for_ready.is_null() {
        proposed.wait_for_ready = Value::Value(true);
    }
    if !namespace_configured {
        proposed.namespace = match &proposed.management_cluster_id {
            Value::Value(id) => identity::split_id(id)
                .map(|(_, ns)| Value::Value(ns.to_string().into()))
                .unwrap_or_else(|| prior.namespace.clone()),
            Value::Unknown => Value::Unknown,
            Value::Null => prior.namespace.clone(),
        };
    }
    // Terraform replaces only for the paths whose value changed or is unknown: `name` and
    // `namespace` are returned always; our own planning must agree on what that means.
    let mut replacing = [
        (&prior.name, &proposed.name),
        (&prior.namespace, &proposed.namespace),
    ]
    .iter()
    .any(|(a, b)| b.is_unknown() || a != b);
    replace.push(vec!["name"]);
    replace.push(vec!["namespace"]);
    if identity::designates_another(prior, &proposed) {
        replace.push(vec!["management_cluster_id"]);
        replacing = true;
    }
    let (old_storage, new_storage) = (storage_type(prior), storage_type(&proposed));
    if new_storage.is_some() && old_storage != new_storage {
        replace.push(vec!["storage", "type"]);
        replacing = true;
    }
    if let (Some(old), Some(new)) = (known(&prior.k0s_version), known(&proposed.k0s_version)) {
        if let Err(e) = check_version_change(&old, &new) {
            problems.push(&["k0s_version"], "Unsupported version change", e);
        }
    }
    if replacing {
        proposed = plan_create(proposed);
    } else {
        // Computed values stay, but what reflects the control plane's spec is re-read after apply.
        let spec_changed = spec_fields_differ(prior, &proposed);
        proposed.id = prior.id.clone();
        proposed.uid = prior.uid.clone();
        proposed.instance_id = prior.instance_id.clone();
        proposed.management_cluster_uid = prior.management_cluster_uid.clone();
        proposed.k0smotron_api_version = prior.k0smotron_api_version.clone();
        proposed.ca_certificate = prior.ca_certificate.clone();
        proposed.client_certificate = prior.client_certificate.clone();
        proposed.client_key = prior.client_key.clone();
        proposed.kubeconfig = prior.kubeconfig.clone();
        proposed.endpoint = prior.endpoint.clone();
        proposed.status = if spec_changed {
            Value::Unknown
        } else {
            prior.status.clone()
        };
        let exposure_changed = prior.service != proposed.service
            || (!proposed.external_address.is_unknown()
                && prior.external_address != proposed.external_address);
        if exposure_changed {
            proposed.endpoint = Value::Unknown;
            proposed.kubeconfig = Value::Unknown;
            if proposed.external_address.is_null() {
                proposed.external_address = Value::Unknown;
            }
        }
    }
    UpdatePlan {
        planned: proposed,
        replace,
        replacing,
        problems,
    }
}

/// Any difference in what is sent to k0smotron.
fn spec_fields_differ(a: &State, b: &State) -> bool {
    a.k0s_version != b.k0s_version
        || a.replicas != b.replicas
        || a.image != b.image
        || a.service != b.service
        || a.storage != b.storage
        || a.persistence != b.persistence
        || a.k0s_config != b.k0s_config
        || a.control_plane_flags != b.control_plane_flags
        || a.manifests != b.manifests
        || a.resources != b.resources
        || a.cert_sans != b.cert_sans
}

/// An upgrade is fine one minor at a time; a downgrade never is.
pub fn check_version_change(old: &str, new: &str) -> Result<(), String> {
    let (Some(o), Some(n)) = (K0sVersion::parse(old), K0sVersion::parse(new)) else {
        return Ok(()); // validate reports malformed versions
    };
    if n < o {
        return Err(format!(
            "{new} is older than the running {old}: k0s control planes cannot be downgraded. Create a new hosted control plane to go back."
        ));
    }
    if o.minor_skew(&n) > 1 {
        return Err(format!(
            "{old} → {new} skips a Kubernetes minor version; upgrade one minor at a time (e.g. first to v{}.{}.x+k0s.y).",
            o.major,
            o.minor + 1
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::validate::tests::minimal;
    use super::*;

    fn applied() -> State {
        let mut s = plan_create(minimal());
        s.external_address = Value::Value("127.20.0.3".into());
        s.endpoint = Value::Value("https://127.20.0.3:30443".into());
        s.status = Value::Value("Available=True".into());
        s.uid = Value::Value("u1".into());
        s.id = Value::Value("kmc-system/dev".into());
        s.instance_id = Value::Value("0123456789abcdef".into());
        s.management_cluster_uid = Value::Value("0b6d2c4e-1f3a-4b5c-8d9e-0a1b2c3d4e5f".into());
        for v in [
            &mut s.ca_certificate,
            &mut s.kubeconfig,
            &mut s.client_certificate,
            &mut s.client_key,
            &mut s.k0smotron_api_version,
        ] {
            *v = Value::Value("x".into());
        }
        s
    }

    #[test]
    fn create_fills_defaults_and_id() {
        let s = plan_create(minimal());
        assert_eq!(s.replicas, Value::Value(1));
        assert_eq!(s.namespace, Value::Value("kmc-system".into()));
        // Unknown until created: a pool referencing it sees a replacement coming.
        assert!(
            s.id.is_unknown()
                && s.instance_id.is_unknown()
                && s.management_cluster_uid.is_unknown()
        );
        assert!(s.kubeconfig.is_unknown() && s.external_address.is_unknown());
    }

    #[test]
    fn version_upgrade_is_in_place_and_refreshes_status() {
        let prior = applied();
        let mut proposed = prior.clone();
        proposed.k0s_version = Value::Value("v1.33.1+k0s.0".into());
        let p = plan_update(&prior, proposed, false);
        assert!(!p.replacing && p.problems.is_empty());
        let planned = p.planned;
        assert!(planned.status.is_unknown());
        assert_eq!(planned.endpoint, prior.endpoint);
    }

    #[test]
    fn no_change_plans_nothing() {
        let prior = applied();
        let p = plan_update(&prior, prior.clone(), false);
        assert!(!p.replacing && p.problems.is_empty());
        assert_eq!(p.planned, prior);
        // Terraform filters the replace paths by what changed: name and namespace always.
        assert_eq!(p.replace, vec![vec!["name"], vec!["namespace"]]);
    }

    #[test]
    fn downgrade_and_minor_skip_are_refused() {
        let prior = applied();
        for (v, needle) in [
            ("v1.31.9+k0s.0", "cannot be downgraded"),
            ("v1.34.0+k0s.0", "skips a Kubernetes minor"),
        ] {
            let mut proposed = prior.clone();
            proposed.k0s_version = Value::Value(v.into());
            let problems = plan_update(&prior, proposed, false).problems;
            assert_eq!(problems.0.len(), 1);
            assert_eq!(problems.0[0].dotted_path(), "k0s_version");
            assert!(
                problems.0[0].detail.contains(needle),
                "{}",
                problems.0[0].detail
            );
        }
    }

    #[test]
    fn identity_and_storage_type_force_replacement() {
        let prior = applied();
        let mut p = prior.clone();
        p.name = Value::Value("dev2".into());
        let plan = plan_update(&prior, p, false);
        assert!(plan.replacing && plan.planned.id.is_unknown());
        assert!(plan.planned.instance_id.is_unknown(), "a new instance");
        let mut p = prior.clone();
        p.storage = Value::Value(StorageBlock {
            kind: Value::Value("kine".into()),
            kine_data_source_url: Value::Value("x".into()),
            etcd: Value::Null,
        });
        let plan = plan_update(&prior, p, false);
        assert!(plan.replace.contains(&vec!["storage", "type"]) && plan.replacing);
        assert!(plan.planned.uid.is_unknown());
        // Adding an explicit etcd block keeps the default type: no replacement.
        let mut p = prior.clone();
        p.storage = Value::Value(StorageBlock {
            kind: Value::Value("etcd".into()),
            ..Default::default()
        });
        let plan = plan_update(&prior, p, false);
        assert!(!plan.replacing && !plan.replace.contains(&vec!["storage", "type"]));
        // An unknown name (from an expression) is a replacement for Terraform: for us too.
        let mut p = prior.clone();
        p.name = Value::Unknown;
        assert!(plan_update(&prior, p, false).replacing);
    }

    #[test]
    fn management_cluster_id_replaces_only_for_another_cluster_or_namespace() {
        const U1: &str = "0b6d2c4e-1f3a-4b5c-8d9e-0a1b2c3d4e5f";
        let mut prior = applied();
        prior.management_cluster_uid = Value::Value(U1.into());
        prior.instance_id = Value::Value("abcd".into());
        // The same cluster in the new form: an in-place update of the string only.
        let mut p = prior.clone();
        p.management_cluster_id = Value::Value(format!("{U1}/kmc-system").into());
        let plan = plan_update(&prior, p, false);
        assert!(!plan.replacing);
        assert!(!plan.replace.contains(&vec!["management_cluster_id"]));
        assert_eq!(plan.planned.instance_id, prior.instance_id);
        assert_eq!(plan.planned.id, prior.id);
        assert_eq!(plan.planned.namespace, prior.namespace);
        // Another namespace: the derived namespace follows, and it is a replacement.
        let mut p = prior.clone();
        p.management_cluster_id = Value::Value(format!("{U1}/tenants").into());
        let plan = plan_update(&prior, p, false);
        assert!(plan.replacing && plan.replace.contains(&vec!["management_cluster_id"]));
        assert_eq!(plan.planned.namespace, Value::Value("tenants".into()));
        // With namespace configured, only the cluster matters.
        let mut p = prior.clone();
        p.management_cluster_id = Value::Value(format!("{U1}/tenants").into());
        assert!(
            plan_update(&prior, p.clone(), true).replacing,
            "another namespace of the id"
        );
        p.management_cluster_id = Value::Value("label/kmc-system".into());
        assert!(!plan_update(&prior, p, true).replacing);
        // Unknown (the management cluster is being replaced): a replacement.
        let mut p = prior.clone();
        p.management_cluster_id = Value::Unknown;
        let plan = plan_update(&prior, p, false);
        assert!(plan.replacing && plan.planned.namespace.is_unknown());
    }
}
