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
use super::service_plan::plan_service;
use super::validate::namespace_of_management_cluster;

pub use super::service_plan::DEFAULT_SERVICE_TYPE;

/// Optional arguments the configuration leaves out plan their defaults: Terraform proposes
/// the prior value for an optional+computed attribute missing from the configuration, so
/// removing `replicas = 3` would otherwise keep 3 forever.
fn defaults_from_config(planned: &mut State, config: &State) {
    if config.replicas.is_null() {
        planned.replicas = Value::Value(1);
    }
    if config.wait_for_ready.is_null() {
        planned.wait_for_ready = Value::Value(true);
    }
    if config.image.is_null() {
        planned.image = Value::Value(DEFAULT_IMAGE.into());
    }
}

/// Fills defaults and marks computed values unknown for a create.
pub fn plan_create(mut s: State, config: &State) -> State {
    defaults_from_config(&mut s, config);
    plan_service(None, config, &mut s);
    if s.namespace.is_null() {
        s.namespace = match known(&s.management_cluster_id) {
            Some(id) => namespace_of_management_cluster(&id)
                .map(|ns| Value::Value(ns.to_string().into()))
                .unwrap_or(Value::Unknown),
            None => Value::Unknown,
        };
    }
    if config.external_address.is_null() {
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

/// Effective storage type (no block = k0smotron's default, etcd); None while unknown.
fn storage_type(s: &State) -> Option<String> {
    match &s.storage {
        Value::Null => Some("etcd".into()),
        Value::Unknown => None,
        Value::Value(b) => known(&b.kind),
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

/// The planned state for an update (`config`: the configuration, to tell what it sets
/// from what Terraform's proposal carried over from the prior state).
pub fn plan_update(prior: &State, mut proposed: State, config: &State) -> UpdatePlan {
    let mut replace = Vec::new();
    let mut problems = Problems::default();
    defaults_from_config(&mut proposed, config);
    if config.namespace.is_null() {
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
    // The storage type path is returned when the type changes or is unknown (a whole
    // unknown block included: Terraform then sees `storage.type` unknown and replaces), not
    // always: adding `storage { type = "etcd" }` to a control plane without a block changes
    // the attribute from null but not the datastore.
    let new_storage = storage_type(&proposed);
    if new_storage.is_none() || storage_type(prior) != new_storage {
        replace.push(vec!["storage", "type"]);
        replacing = true;
    }
    if let (Some(old), Some(new)) = (known(&prior.k0s_version), known(&proposed.k0s_version)) {
        if let Err(e) = check_version_change(&old, &new) {
            problems.push(&["k0s_version"], "Unsupported version change", e);
        }
    }
    if replacing {
        proposed = plan_create(proposed, config);
    } else {
        plan_service(Some(prior), config, &mut proposed);
        keep_or_refresh_computed(prior, &mut proposed, config);
    }
    UpdatePlan {
        planned: proposed,
        replace,
        replacing,
        problems,
    }
}

/// In place: the computed values stay as recorded, except what the apply re-reads because
/// it changes: `status` whenever the spec sent to k0smotron changes, the address and what
/// depends on it (`endpoint`, `kubeconfig`) when the exposure changes or is unknown.
fn keep_or_refresh_computed(prior: &State, proposed: &mut State, config: &State) {
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
    if config.external_address.is_null() {
        // Computed: k0smotron's value, never sent back as the user's.
        proposed.external_address = prior.external_address.clone();
    }
    let exposure_changed = [
        (&prior.service_type, &proposed.service_type),
        (&prior.external_address, &proposed.external_address),
    ]
    .iter()
    .any(|(a, b)| b.is_unknown() || a != b)
        || [
            (prior.api_port, proposed.api_port),
            (prior.konnectivity_port, proposed.konnectivity_port),
        ]
        .iter()
        .any(|(a, b)| b.is_unknown() || a != b);
    if exposure_changed {
        proposed.endpoint = Value::Unknown;
        proposed.kubeconfig = Value::Unknown;
        if config.external_address.is_null() {
            proposed.external_address = Value::Unknown;
        }
    }
    proposed.status = if exposure_changed || spec_fields_differ(prior, proposed) {
        Value::Unknown
    } else {
        prior.status.clone()
    };
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

    /// The configuration matching a state: what the user sets (no computed values).
    fn config_of(s: &State) -> State {
        let mut c = s.clone();
        c.namespace = Value::Null;
        c.replicas = Value::Null;
        c.wait_for_ready = Value::Null;
        c.external_address = Value::Null;
        c
    }

    fn with_namespace(s: &State) -> State {
        let mut c = config_of(s);
        c.namespace = s.namespace.clone();
        c
    }

    fn applied() -> State {
        let mut s = plan_create(minimal(), &minimal());
        s.api_port = Value::Value(31001);
        s.konnectivity_port = Value::Value(31002);
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
        let s = plan_create(minimal(), &minimal());
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
        let p = plan_update(&prior, proposed, &config_of(&prior));
        assert!(!p.replacing && p.problems.is_empty());
        let planned = p.planned;
        assert!(planned.status.is_unknown());
        assert_eq!(planned.endpoint, prior.endpoint);
    }

    #[test]
    fn no_change_plans_nothing() {
        let prior = applied();
        let p = plan_update(&prior, prior.clone(), &config_of(&prior));
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
            let problems = plan_update(&prior, proposed, &config_of(&prior)).problems;
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
        let plan = plan_update(&prior, p, &config_of(&prior));
        assert!(plan.replacing && plan.planned.id.is_unknown());
        assert!(plan.planned.instance_id.is_unknown(), "a new instance");
        let mut p = prior.clone();
        p.storage = Value::Value(StorageBlock {
            kind: Value::Value("kine".into()),
            kine_data_source_url: Value::Value("x".into()),
            etcd: Value::Null,
        });
        let plan = plan_update(&prior, p, &config_of(&prior));
        assert!(plan.replace.contains(&vec!["storage", "type"]) && plan.replacing);
        assert!(plan.planned.uid.is_unknown());
        // Adding an explicit etcd block keeps the default type: no replacement.
        let mut p = prior.clone();
        p.storage = Value::Value(StorageBlock {
            kind: Value::Value("etcd".into()),
            ..Default::default()
        });
        let plan = plan_update(&prior, p, &config_of(&prior));
        assert!(!plan.replacing && !plan.replace.contains(&vec!["storage", "type"]));
        // An unknown name (from an expression) is a replacement for Terraform: for us too.
        let mut p = prior.clone();
        p.name = Value::Unknown;
        assert!(plan_update(&prior, p, &config_of(&prior)).replacing);
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
        let plan = plan_update(&prior, p, &config_of(&prior));
        assert!(!plan.replacing);
        assert!(!plan.replace.contains(&vec!["management_cluster_id"]));
        assert_eq!(plan.planned.instance_id, prior.instance_id);
        assert_eq!(plan.planned.id, prior.id);
        assert_eq!(plan.planned.namespace, prior.namespace);
        // Another namespace: the derived namespace follows, and it is a replacement.
        let mut p = prior.clone();
        p.management_cluster_id = Value::Value(format!("{U1}/tenants").into());
        let plan = plan_update(&prior, p, &config_of(&prior));
        assert!(plan.replacing && plan.replace.contains(&vec!["management_cluster_id"]));
        assert_eq!(plan.planned.namespace, Value::Value("tenants".into()));
        // With namespace configured, only the cluster matters.
        let mut p = prior.clone();
        p.management_cluster_id = Value::Value(format!("{U1}/tenants").into());
        assert!(
            plan_update(&prior, p.clone(), &with_namespace(&prior)).replacing,
            "another namespace of the id"
        );
        p.management_cluster_id = Value::Value("label/kmc-system".into());
        assert!(!plan_update(&prior, p, &with_namespace(&prior)).replacing);
        // Unknown (the management cluster is being replaced): a replacement.
        let mut p = prior.clone();
        p.management_cluster_id = Value::Unknown;
        let plan = plan_update(&prior, p, &config_of(&prior));
        assert!(plan.replacing && plan.planned.namespace.is_unknown());
    }

    #[test]
    fn bookkeeping_changes_keep_every_computed_value() {
        // 14.2: only wait_for_ready/timeouts/management_kubeconfig change: the apply does not
        // touch k0smotron, so the plan keeps what it writes (the prior values).
        let prior = applied();
        for change in 0..2 {
            let mut config = config_of(&prior);
            match change {
                0 => config.wait_for_ready = Value::Value(false),
                _ => config.management_kubeconfig = Value::Value("apiVersion: v1".into()),
            }
            let mut proposed = prior.clone();
            proposed.wait_for_ready = config.wait_for_ready;
            proposed.management_kubeconfig = config.management_kubeconfig.clone();
            let p = plan_update(&prior, proposed, &config).planned;
            for (a, b) in [
                (&p.status, &prior.status),
                (&p.endpoint, &prior.endpoint),
                (&p.kubeconfig, &prior.kubeconfig),
                (&p.external_address, &prior.external_address),
            ] {
                assert_eq!(a, b, "change {change}");
            }
            assert_eq!(
                (p.api_port, p.konnectivity_port),
                (prior.api_port, prior.konnectivity_port)
            );
        }
    }

    #[test]
    fn unknown_storage_type_or_block_is_a_replacement() {
        // 14.3: Terraform replaces for an unknown replace path; so do we.
        let prior = applied();
        for storage in [
            Value::Unknown,
            Value::Value(StorageBlock {
                kind: Value::Unknown,
                ..Default::default()
            }),
        ] {
            let mut p = prior.clone();
            p.storage = storage;
            let config = config_of(&p);
            let plan = plan_update(&prior, p, &config);
            assert!(plan.replacing && plan.replace.contains(&vec!["storage", "type"]));
            assert!(plan.planned.id.is_unknown());
        }
    }

    #[test]
    fn unknown_exposure_plans_endpoint_and_kubeconfig_unknown() {
        // 14.3: an unknown external_address, or an unknown service block.
        let prior = applied();
        let mut p = prior.clone();
        p.external_address = Value::Unknown;
        let mut config = config_of(&p);
        config.external_address = Value::Unknown;
        let plan = plan_update(&prior, p, &config).planned;
        assert!(
            plan.endpoint.is_unknown() && plan.kubeconfig.is_unknown() && plan.status.is_unknown()
        );
        let mut p = prior.clone();
        p.service = Value::Unknown;
        let config = config_of(&p);
        let plan = plan_update(&prior, p, &config).planned;
        assert!(plan.endpoint.is_unknown() && plan.external_address.is_unknown());
        assert!(plan.service_type.is_unknown() && plan.api_port.is_unknown());
    }

    #[test]
    fn removed_arguments_plan_their_defaults() {
        // 14.7: Terraform proposes the prior value of a removed optional+computed argument.
        let mut prior = applied();
        prior.replicas = Value::Value(3);
        prior.wait_for_ready = Value::Value(false);
        prior.image = Value::Value("mirror.local/k0s".into());
        prior.service = Value::Value(ServiceBlock {
            kind: Value::Value("NodePort".into()),
            api_port: Value::Value(31443),
            konnectivity_port: Value::Value(31132),
        });
        prior.service_type = Value::Value("NodePort".into());
        prior.api_port = Value::Value(31443);
        prior.konnectivity_port = Value::Value(31132);
        let mut config = config_of(&prior);
        config.image = Value::Null;
        config.service = Value::Value(ServiceBlock::default());
        let plan = plan_update(&prior, prior.clone(), &config).planned;
        assert_eq!(plan.replicas, Value::Value(1));
        assert_eq!(plan.wait_for_ready, Value::Value(true));
        assert_eq!(plan.image, Value::Value(DEFAULT_IMAGE.into()));
        let b = plan.service.as_ref_option().unwrap();
        assert_eq!(b.kind, Value::Value("NodePort".into()), "the default type");
        assert!(b.api_port.is_null() && b.konnectivity_port.is_null());
        // The configured node ports removed: new ones are allocated at apply.
        assert!(plan.api_port.is_unknown() && plan.konnectivity_port.is_unknown());
        assert!(plan.endpoint.is_unknown());
        // The block removed and the type back to the default: same.
        let config = State {
            service: Value::Null,
            ..config_of(&prior)
        };
        let plan = plan_update(
            &prior,
            State {
                service: Value::Null,
                ..prior.clone()
            },
            &config,
        )
        .planned;
        assert!(plan.api_port.is_unknown());
    }

    #[test]
    fn allocated_ports_stay_and_other_types_use_fixed_ports() {
        // Without a service block: NodePort, ports allocated at create, then kept.
        let created = plan_create(minimal(), &minimal());
        assert_eq!(created.service_type, Value::Value("NodePort".into()));
        assert!(created.api_port.is_unknown() && created.konnectivity_port.is_unknown());
        let prior = applied();
        let p = plan_update(&prior, prior.clone(), &config_of(&prior)).planned;
        assert_eq!(
            (p.api_port, p.konnectivity_port),
            (Value::Value(31001), Value::Value(31002))
        );
        // NodePort → LoadBalancer: fixed ports, the address and endpoint known after apply.
        let mut lb = prior.clone();
        lb.service = Value::Value(ServiceBlock {
            kind: Value::Value("LoadBalancer".into()),
            ..Default::default()
        });
        let config = config_of(&lb);
        let p = plan_update(&prior, lb, &config).planned;
        assert_eq!(
            (p.api_port, p.konnectivity_port),
            (Value::Value(30443), Value::Value(30132))
        );
        assert!(p.external_address.is_unknown() && p.endpoint.is_unknown());
        // A state of an earlier version: the ports its block recorded stay.
        let mut legacy = prior.clone();
        legacy.service = Value::Value(ServiceBlock {
            kind: Value::Value("NodePort".into()),
            api_port: Value::Value(30443),
            konnectivity_port: Value::Value(30132),
        });
        legacy.service_type = Value::Null;
        legacy.api_port = Value::Null;
        legacy.konnectivity_port = Value::Null;
        let mut config = config_of(&legacy);
        config.service = Value::Value(ServiceBlock {
            kind: Value::Value("NodePort".into()),
            ..Default::default()
        });
        let p = plan_update(&legacy, legacy.clone(), &config).planned;
        assert_eq!(
            (p.api_port, p.konnectivity_port),
            (Value::Value(30443), Value::Value(30132))
        );
    }

    #[test]
    fn an_unconfigured_external_address_is_computed() {
        // 14.7: k0smotron's address is carried as computed (kept), not as configuration.
        let prior = applied();
        let p = plan_update(&prior, prior.clone(), &config_of(&prior)).planned;
        assert_eq!(p.external_address, prior.external_address);
        assert_eq!(p, prior);
    }
}
