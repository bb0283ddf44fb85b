//! Plan semantics, as pure functions over states: defaults, computed values, what forces
//! a replacement, and which version changes are refused.
//!
//! - Replace: `name`, `namespace`, `management_cluster_id` (the object would move), and the
//!   storage type (etcd ↔ kine: the datastore cannot be migrated in place).
//! - In place: everything else — a `k0s_version` increase is an upgrade (the control plane
//!   StatefulSet rolls), `replicas` scales, ports/config/flags/manifests reconfigure.
//! - Refused: a version downgrade, and skipping a Kubernetes minor (1.30 → 1.32): Kubernetes
//!   supports upgrading the control plane one minor at a time.

use tf_provider::value::Value;

use crate::framework::version::K0sVersion;
use crate::framework::Problems;

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
    s.id = match (known(&s.namespace), known(&s.name)) {
        (Some(ns), Some(n)) => Value::Value(format!("{ns}/{n}").into()),
        _ => Value::Unknown,
    };
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

/// The planned state for an update, the attribute paths that force replacement, and
/// problems (refused version changes).
pub fn plan_update(
    prior: &State,
    mut proposed: State,
) -> (State, Vec<Vec<&'static str>>, Problems) {
    let mut replace = Vec::new();
    let mut problems = Problems::default();
    service_defaults(&mut proposed);
    if proposed.replicas.is_null() {
        proposed.replicas = Value::Value(1);
    }
    if proposed.wait_for_ready.is_null() {
        proposed.wait_for_ready = Value::Value(true);
    }
    if proposed.namespace.is_null() {
        proposed.namespace = prior.namespace.clone();
    }
    for (path, a, b) in [
        (vec!["name"], &prior.name, &proposed.name),
        (vec!["namespace"], &prior.namespace, &proposed.namespace),
        (
            vec!["management_cluster_id"],
            &prior.management_cluster_id,
            &proposed.management_cluster_id,
        ),
    ] {
        if !b.is_unknown() && a != b {
            replace.push(path);
        }
    }
    let (old_storage, new_storage) = (storage_type(prior), storage_type(&proposed));
    if new_storage.is_some() && old_storage != new_storage {
        replace.push(vec!["storage", "type"]);
    }
    if let (Some(old), Some(new)) = (known(&prior.k0s_version), known(&proposed.k0s_version)) {
        if let Err(e) = check_version_change(&old, &new) {
            problems.push(&["k0s_version"], "Unsupported version change", e);
        }
    }
    let replacing = !replace.is_empty();
    if replacing {
        proposed = plan_create(proposed);
    } else {
        // Computed values stay, but what reflects the control plane's spec is re-read after apply.
        let spec_changed = spec_fields_differ(prior, &proposed);
        proposed.id = prior.id.clone();
        proposed.uid = prior.uid.clone();
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
    (proposed, replace, problems)
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
        s
    }

    #[test]
    fn create_fills_defaults_and_id() {
        let s = plan_create(minimal());
        assert_eq!(s.replicas, Value::Value(1));
        assert_eq!(s.namespace, Value::Value("kmc-system".into()));
        assert_eq!(s.id, Value::Value("kmc-system/dev".into()));
        assert!(s.kubeconfig.is_unknown() && s.external_address.is_unknown());
    }

    #[test]
    fn version_upgrade_is_in_place_and_refreshes_status() {
        let prior = applied();
        let mut proposed = prior.clone();
        proposed.k0s_version = Value::Value("v1.33.1+k0s.0".into());
        let (planned, replace, problems) = plan_update(&prior, proposed);
        assert!(replace.is_empty() && problems.is_empty());
        assert!(planned.status.is_unknown());
        assert_eq!(planned.endpoint, prior.endpoint);
    }

    #[test]
    fn no_change_plans_nothing() {
        let prior = applied();
        let (planned, replace, problems) = plan_update(&prior, prior.clone());
        assert!(replace.is_empty() && problems.is_empty());
        assert_eq!(planned, prior);
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
            let (_, _, problems) = plan_update(&prior, proposed);
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
        assert_eq!(plan_update(&prior, p).1, vec![vec!["name"]]);
        let mut p = prior.clone();
        p.storage = Value::Value(StorageBlock {
            kind: Value::Value("kine".into()),
            kine_data_source_url: Value::Value("x".into()),
            etcd: Value::Null,
        });
        let (planned, replace, _) = plan_update(&prior, p);
        assert_eq!(replace, vec![vec!["storage", "type"]]);
        assert!(planned.uid.is_unknown());
        // Adding an explicit etcd block keeps the default type: no replacement.
        let mut p = prior.clone();
        p.storage = Value::Value(StorageBlock {
            kind: Value::Value("etcd".into()),
            ..Default::default()
        });
        assert!(plan_update(&prior, p).1.is_empty());
    }
}
