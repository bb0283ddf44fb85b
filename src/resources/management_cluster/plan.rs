//! Planning (pure): defaults, what stays unknown until apply, what forces a replacement,
//! and what the controllers of a bootstrapped cluster need.
//!
//! - `id` (`<kube-system uid>/<namespace>`) and `instance_id` are unknown at create, so
//!   what references them (hosted control planes) plans its own replacement when this
//!   resource is replaced; an update keeps them (a state without `instance_id`, from an
//!   earlier version, gets one: the update claims what that state provably owns).
//! - Replace: `namespace` and `bootstrap`, returned unconditionally ([`REPLACE_PATHS`]):
//!   Terraform keeps a path only when its value changed or is unknown, so an argument
//!   unknown at plan (a whole `bootstrap` block from a `dynamic` over an unknown value)
//!   plans a replacement that the final plan cannot contradict. Our own logic agrees: a
//!   replacement is planned as a create.
//! - What apply re-reads from the live cluster (`kubernetes_version`, `node_count`,
//!   `k0smotron_api_version`, a bootstrapped cluster's `members`) is unknown whenever apply
//!   runs, so a saved plan applied after an out-of-band change, or `apply -refresh=false`,
//!   never meets another value than planned; a plan with nothing to do stays empty.
//! - An optional argument removed from the configuration plans its documented default
//!   ([`unset_from_config`]): Terraform would otherwise propose the prior value forever.
//! - A bootstrapped cluster whose controllers failed (ERROR, gone) plans their repair;
//!   stopped ones are only warned about ([`super::bootstrap::Condition`]).
//! - Objects of `k0smotron_manifest` found missing by the refresh plan their re-install.

use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::framework::diag;

use super::bootstrap::{self, Condition};
use super::credentials;
use super::model::*;

/// What the plan takes from the configured provider.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The provider's management connection: where it comes from (for messages) and the
    /// API server URL. None: no kubernetes block (or not configured yet).
    pub connection: Option<(String, String)>,
    /// The clouds.yaml the credentials Secret would hold: `None` not known yet,
    /// `Some(Err)` no credentials to store.
    pub credentials: Option<Result<Option<String>, String>>,
}

fn unknown_if_null(v: &mut Str) {
    if v.is_null() {
        *v = Value::Unknown;
    }
}

/// Planned values both plans share.
fn common(inputs: &Inputs, s: &mut State, diags: &mut Diagnostics) {
    if s.namespace.is_null() {
        s.namespace = Value::Value(DEFAULT_NAMESPACE.into());
    }
    if s.force_destroy.is_null() {
        s.force_destroy = Value::Value(false);
    }
    if let Some(b) = s.bootstrap.as_mut_option() {
        if let Some((origin, _)) = &inputs.connection {
            diags.add_error(diag::error(
                "bootstrap and a management cluster connection are mutually exclusive",
                format!(
                    "this resource creates its management cluster (bootstrap), but the provider is also connected to one ({origin}). \
                     Remove the provider's kubernetes block (and KUBECONFIG) from this configuration, or remove bootstrap to manage the connected cluster."
                ),
                AttributePath::new("bootstrap").index(0),
            ));
        }
        if b.name.is_null() {
            b.name = Value::Value(DEFAULT_BOOTSTRAP_NAME.into());
        }
        if b.controllers.is_null() {
            b.controllers = Value::Value(1);
        }
        b.server_group_policy = match bootstrap::policy(b) {
            Value::Value(p) => Value::Value(p.into()),
            _ => Value::Unknown,
        };
        if known(&b.server_group_policy).as_deref() == Some("none") {
            b.server_group_id = Value::Null;
        } else {
            unknown_if_null(&mut b.server_group_id);
        }
        for v in [&mut b.ca_key, &mut b.admin_certificate, &mut b.admin_key] {
            unknown_if_null(v);
        }
        for v in [&mut s.endpoint, &mut s.ca_certificate, &mut s.kubeconfig] {
            unknown_if_null(v);
        }
        if s.members.is_null() {
            s.members = Value::Unknown;
        }
    } else if s.bootstrap.is_unknown() {
        // A `dynamic "bootstrap"` over a value unknown until apply: either mode.
        for v in [&mut s.endpoint, &mut s.ca_certificate, &mut s.kubeconfig] {
            *v = Value::Unknown;
        }
        s.members = Value::Unknown;
    } else {
        s.endpoint = match &inputs.connection {
            Some((_, server)) => Value::Value(server.clone().into()),
            None => Value::Unknown,
        };
        s.ca_certificate = Value::Null;
        s.kubeconfig = Value::Null;
        s.members = Value::Null;
    }
    if let Some(block) = s.openstack_credentials.as_mut_option() {
        if block.secret_name.is_null() {
            block.secret_name = Value::Value(DEFAULT_SECRET_NAME.into());
        }
        match &inputs.credentials {
            Some(Ok(Some(content))) => credentials::plan(block, Some(content)),
            Some(Err(e)) => {
                diags.add_error(diag::error(
                    "No OpenStack credentials to store",
                    e.clone(),
                    AttributePath::new("openstack_credentials").index(0),
                ));
                credentials::plan(block, None);
            }
            _ => credentials::plan(block, None),
        }
    }
}

/// The planned state of a create.
pub fn create(inputs: &Inputs, mut s: State, diags: &mut Diagnostics) -> State {
    common(inputs, &mut s, diags);
    for v in [
        &mut s.id,
        &mut s.instance_id,
        &mut s.namespace_uid,
        &mut s.k0smotron_api_version,
        &mut s.kubernetes_version,
    ] {
        *v = Value::Unknown;
    }
    s.node_count = Value::Unknown;
    s.namespace_created = Value::Unknown;
    s.k0smotron_drift = if s.k0smotron_manifest.is_null() {
        Value::Null
    } else {
        Value::Unknown
    };
    s
}

/// The arguments of a bootstrap block (its computed attributes left out): changing any
/// of them replaces the cluster.
pub fn bootstrap_args(b: &BootstrapBlock) -> BootstrapBlock {
    BootstrapBlock {
        server_group_id: Value::Null,
        ca_key: Value::Null,
        admin_certificate: Value::Null,
        admin_key: Value::Null,
        ..b.clone()
    }
}

/// Attributes whose change replaces the resource (returned to Terraform unconditionally).
pub const REPLACE_PATHS: &[&str] = &["namespace", "bootstrap"];

/// Optional arguments the configuration leaves out plan their defaults: Terraform proposes
/// the prior value for an optional+computed attribute missing from the configuration, so
/// removing `controllers = 3` would otherwise keep 3 forever.
pub fn unset_from_config(proposed: &mut State, config: &State) {
    fn clear<T>(planned: &mut Value<T>, configured: &Value<T>) {
        if configured.is_null() {
            *planned = Value::Null;
        }
    }
    clear(&mut proposed.namespace, &config.namespace);
    clear(&mut proposed.force_destroy, &config.force_destroy);
    if let (Some(p), Some(c)) = (
        proposed.openstack_credentials.as_mut_option(),
        config.openstack_credentials.as_ref_option(),
    ) {
        clear(&mut p.secret_name, &c.secret_name);
    }
    if let (Some(p), Some(c)) = (
        proposed.bootstrap.as_mut_option(),
        config.bootstrap.as_ref_option(),
    ) {
        clear(&mut p.name, &c.name);
        clear(&mut p.controllers, &c.controllers);
        clear(&mut p.server_group_policy, &c.server_group_policy);
    }
}

/// True when the planned state (defaults applied) replaces the prior one: a namespace or
/// bootstrap argument changed, bootstrap added or removed, or one of them unknown.
fn replaced(prior: &State, s: &State) -> bool {
    if s.namespace.is_unknown() || namespace_of(prior) != namespace_of(s) {
        return true;
    }
    match (&prior.bootstrap, &s.bootstrap) {
        (_, Value::Unknown) => true,
        (Value::Value(p), Value::Value(b)) => bootstrap_args(p) != bootstrap_args(b),
        (p, b) => p.is_null() != b.is_null(),
    }
}

/// A replacement: what the old instance computed is not the new one's.
fn fresh(s: State) -> State {
    State {
        bootstrap: match s.bootstrap {
            Value::Value(b) => Value::Value(BootstrapBlock {
                server_group_id: Value::Null,
                ..bootstrap_args(&b)
            }),
            other => other,
        },
        endpoint: Value::Null,
        ca_certificate: Value::Null,
        kubeconfig: Value::Null,
        members: Value::Null,
        namespace_uid: Value::Null,
        ..s
    }
}

/// What apply reads back from the live cluster: unknown whenever apply runs.
fn observed_unknown(s: &mut State) {
    s.kubernetes_version = Value::Unknown;
    s.node_count = Value::Unknown;
    s.k0smotron_api_version = Value::Unknown;
    if s.bootstrap.is_value() {
        s.members = Value::Unknown;
    }
}

/// True when `planned` differs from `prior` in anything but what apply observes.
fn changes_anything(prior: &State, planned: &State) -> bool {
    let strip = |s: &State| State {
        kubernetes_version: Value::Null,
        node_count: Value::Null,
        k0smotron_api_version: Value::Null,
        members: Value::Null,
        ..s.clone()
    };
    strip(prior) != strip(planned)
}

/// `k0smotron_drift`: objects the refresh found missing are installed again.
fn plan_missing(prior: &State, s: &mut State) {
    s.k0smotron_drift = if s.k0smotron_manifest.is_null() {
        Value::Null
    } else if s.k0smotron_manifest.is_unknown() || prior.k0smotron_manifest != s.k0smotron_manifest
    {
        Value::Unknown
    } else if !known_list(&prior.k0smotron_drift).is_empty() {
        Value::Value(vec![])
    } else {
        prior.k0smotron_drift.clone()
    };
}

/// The planned state of an update and the paths that force a replacement.
pub fn update(
    prior: &State,
    inputs: &Inputs,
    mut s: State,
    config: &State,
    diags: &mut Diagnostics,
) -> (State, Vec<Vec<&'static str>>) {
    let replace: Vec<Vec<&'static str>> = REPLACE_PATHS.iter().map(|p| vec![*p]).collect();
    unset_from_config(&mut s, config);
    // Defaults first: `bootstrap.name` removed is the default name, not a change.
    let mut found = Diagnostics::default();
    common(inputs, &mut s, &mut found);
    if replaced(prior, &s) {
        return (create(inputs, fresh(s), diags), replace);
    }
    diags.errors.extend(found.errors);
    diags.warnings.extend(found.warnings);
    unknown_if_null(&mut s.instance_id);
    if s.namespace_uid.is_null() {
        // Missing (deleted out of band) or not seen yet: apply creates or finds it.
        s.namespace_uid = Value::Unknown;
        s.namespace_created = Value::Unknown;
    }
    plan_missing(prior, &mut s);
    if s.bootstrap.is_value() {
        plan_drift(&mut s, diags);
    }
    if changes_anything(prior, &s) {
        observed_unknown(&mut s);
    }
    (s, replace)
}

/// What the last refresh found of a bootstrapped cluster's controllers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drift {
    /// Failed controllers to replace, or fewer than wanted: apply creates servers.
    pub changes: bool,
    /// The kubeconfig's controller is not running, and apply will pick another.
    pub endpoint_moves: bool,
    /// No controller is left at all: apply starts a new cluster (same CA, no data).
    pub new_cluster: bool,
}

pub fn drift(members: &[Member], wanted: usize, endpoint: Option<&str>) -> Drift {
    let failed = members.iter().filter(|m| bootstrap::is_failed(m)).count();
    let changes = failed > 0 || members.len() != wanted;
    let new_cluster = changes && members.iter().all(bootstrap::is_failed);
    let endpoint_live = members.iter().any(|m| {
        bootstrap::is_live(m)
            && known(&m.ip).map(|ip| crate::pki::api_url(&ip)).as_deref() == endpoint
    });
    let any_live = members.iter().any(bootstrap::is_live);
    Drift {
        changes,
        endpoint_moves: !endpoint_live && (any_live || new_cluster),
        new_cluster,
    }
}

/// Marks unknown what apply's repair of the controllers will change, and warns about
/// stopped controllers (never repaired automatically).
fn plan_drift(s: &mut State, diags: &mut Diagnostics) {
    let members: Vec<Member> = known_objects(&s.members);
    let wanted = s
        .bootstrap
        .as_ref_option()
        .and_then(|b| b.controllers.as_ref_option().copied())
        .unwrap_or(1) as usize;
    for m in members
        .iter()
        .filter(|m| bootstrap::condition_of(m) == Condition::Stopped)
    {
        diags.add_warning(diag::error(
            "Controller stopped",
            bootstrap::stopped_advice(m),
            AttributePath::new("members"),
        ));
    }
    let d = drift(&members, wanted, known(&s.endpoint).as_deref());
    if d.changes {
        s.members = Value::Unknown;
        s.kubernetes_version = Value::Unknown;
        s.node_count = Value::Unknown;
    }
    if d.endpoint_moves {
        s.endpoint = Value::Unknown;
        s.kubeconfig = Value::Unknown;
    }
    if d.new_cluster {
        // Another cluster (another kube-system uid) under the same CA: what lives in it
        // is created again, and what references this id plans its replacement.
        s.id = Value::Unknown;
        s.namespace_uid = Value::Unknown;
        s.namespace_created = Value::Unknown;
        s.k0smotron_api_version = Value::Unknown;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(i: usize, status: &str) -> Member {
        Member {
            id: Value::Value(format!("id-{i}").into()),
            name: Value::Value(format!("m-controller-{i}").into()),
            ip: Value::Value(format!("10.0.0.{i}").into()),
            status: Value::Value(status.to_string().into()),
        }
    }

    fn at(i: usize) -> String {
        crate::pki::api_url(&format!("10.0.0.{i}"))
    }

    #[test]
    fn stopped_controllers_plan_no_repair() {
        let one = [member(0, "SHUTOFF")];
        assert_eq!(drift(&one, 1, Some(&at(0))), Drift::default());
        let three = [
            member(0, "ACTIVE"),
            member(1, "SHELVED_OFFLOADED"),
            member(2, "PAUSED"),
        ];
        assert_eq!(drift(&three, 3, Some(&at(0))), Drift::default());
    }

    #[test]
    fn failed_controllers_are_repaired_and_the_endpoint_moves_to_a_running_one() {
        let ms = [
            member(0, "ERROR"),
            member(1, "ACTIVE"),
            member(2, "SHUTOFF"),
        ];
        let d = drift(&ms, 3, Some(&at(0)));
        assert_eq!(
            d,
            Drift {
                changes: true,
                endpoint_moves: true,
                new_cluster: false
            }
        );
        // The kubeconfig's controller stopped while another runs: only the endpoint moves.
        let ms = [
            member(0, "SHUTOFF"),
            member(1, "ACTIVE"),
            member(2, "ACTIVE"),
        ];
        let d = drift(&ms, 3, Some(&at(0)));
        assert!(d.endpoint_moves && !d.changes && !d.new_cluster);
    }

    #[test]
    fn no_controller_left_is_a_new_cluster() {
        let d = drift(&[member(0, "DELETED")], 1, Some(&at(0)));
        assert!(d.changes && d.new_cluster && d.endpoint_moves);
        assert!(drift(&[], 1, None).new_cluster);
    }

    fn bootstrapped(members: Vec<Member>) -> State {
        State {
            namespace: Value::Value("kmc-system".into()),
            id: Value::Value("u/kmc-system".into()),
            instance_id: Value::Value("i".into()),
            namespace_uid: Value::Value("n".into()),
            endpoint: Value::Value(at(0).into()),
            bootstrap: Value::Value(BootstrapBlock {
                name: Value::Value(DEFAULT_BOOTSTRAP_NAME.into()),
                controllers: Value::Value(members.len() as i64),
                server_group_policy: Value::Value("none".into()),
                ca_key: Value::Value("k".into()),
                admin_certificate: Value::Value("c".into()),
                admin_key: Value::Value("a".into()),
                ..Default::default()
            }),
            force_destroy: Value::Value(false),
            ca_certificate: Value::Value("ca".into()),
            kubeconfig: Value::Value("kc".into()),
            namespace_created: Value::Value(true),
            members: Value::Value(members.into_iter().map(Value::Value).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn an_update_keeps_the_id_and_warns_about_a_stopped_controller() {
        let prior = bootstrapped(vec![member(0, "SHUTOFF")]);
        let mut diags = Diagnostics::default();
        let (s, replace) = update(
            &prior,
            &Inputs::default(),
            prior.clone(),
            &prior,
            &mut diags,
        );
        assert_eq!(replace, vec![vec!["namespace"], vec!["bootstrap"]]);
        assert_eq!(
            (s.id.clone(), s.endpoint.clone()),
            (prior.id.clone(), prior.endpoint.clone())
        );
        assert_eq!(diags.warnings.len(), 1);
        assert!(diags.warnings[0]
            .detail
            .contains("openstack server start id-0"));
        assert!(diags.errors.is_empty());
    }

    #[test]
    fn a_lost_single_controller_plans_a_new_id() {
        let prior = bootstrapped(vec![member(0, "DELETED")]);
        let (s, _) = update(
            &prior,
            &Inputs::default(),
            prior.clone(),
            &prior,
            &mut Diagnostics::default(),
        );
        assert!(s.id.is_unknown() && s.namespace_uid.is_unknown() && s.members.is_unknown());
        assert_eq!(s.instance_id, prior.instance_id);
    }

    #[test]
    fn create_leaves_the_identity_to_apply_and_update_keeps_it() {
        let inputs = Inputs {
            connection: Some(("kubeconfig".into(), "https://k:6443".into())),
            credentials: None,
        };
        let mut diags = Diagnostics::default();
        let planned = create(&inputs, State::default(), &mut diags);
        assert!(planned.id.is_unknown() && planned.instance_id.is_unknown());
        assert_eq!(known(&planned.endpoint).as_deref(), Some("https://k:6443"));
        assert_eq!(
            known(&planned.namespace).as_deref(),
            Some(DEFAULT_NAMESPACE)
        );
        let prior = State {
            id: Value::Value("u/kmc-system".into()),
            instance_id: Value::Value("i".into()),
            namespace_uid: Value::Value("n".into()),
            namespace_created: Value::Value(true),
            ..planned.clone()
        };
        let (s, _) = update(&prior, &inputs, prior.clone(), &prior, &mut diags);
        assert_eq!(
            (s.id, s.instance_id),
            (prior.id.clone(), prior.instance_id.clone())
        );
        // A state of an earlier version: an instance id is recorded by the next apply,
        // and a namespace not seen (gone) is created.
        let legacy = State {
            instance_id: Value::Null,
            namespace_uid: Value::Null,
            ..prior
        };
        let (s, _) = update(&legacy, &inputs, legacy.clone(), &legacy, &mut diags);
        assert!(s.instance_id.is_unknown() && s.namespace_uid.is_unknown());
        assert!(s.namespace_created.is_unknown());
        assert!(diags.errors.is_empty());
    }

    #[test]
    fn the_plan_shows_who_the_credentials_are() {
        let inputs = Inputs {
            connection: None,
            credentials: Some(Ok(Some(
                "clouds:\n  openstack:\n    auth: {auth_url: https://k/v3, username: ci-bot, password: x, project_name: k8s}\n".into(),
            ))),
        };
        let s = State {
            openstack_credentials: Value::Value(CredentialsBlock::default()),
            ..Default::default()
        };
        let planned = create(&inputs, s, &mut Diagnostics::default());
        let b = planned.openstack_credentials.as_ref_option().unwrap();
        assert_eq!(known(&b.user_name).as_deref(), Some("ci-bot"));
        assert_eq!(known(&b.project_name).as_deref(), Some("k8s"));
        assert_eq!(b.application_credential_id, Value::Null);
        let missing = Inputs {
            connection: None,
            credentials: Some(Err("no OpenStack credentials".into())),
        };
        let mut diags = Diagnostics::default();
        let s = State {
            openstack_credentials: Value::Value(CredentialsBlock::default()),
            ..Default::default()
        };
        create(&missing, s, &mut diags);
        assert_eq!(diags.errors[0].summary, "No OpenStack credentials to store");
    }

    fn connected_prior() -> State {
        State {
            id: Value::Value("u/kmc-system".into()),
            namespace: Value::Value("kmc-system".into()),
            force_destroy: Value::Value(false),
            instance_id: Value::Value("i".into()),
            namespace_uid: Value::Value("n".into()),
            namespace_created: Value::Value(true),
            endpoint: Value::Value("https://k:6443".into()),
            k0smotron_api_version: Value::Value("v1beta2".into()),
            kubernetes_version: Value::Value("v1.32.6".into()),
            node_count: Value::Value(1),
            ..Default::default()
        }
    }

    fn connected() -> Inputs {
        Inputs {
            connection: Some(("kubeconfig".into(), "https://k:6443".into())),
            credentials: None,
        }
    }

    #[test]
    fn a_plan_with_nothing_to_do_is_empty_and_any_change_leaves_what_apply_reads_unknown() {
        let prior = connected_prior();
        let mut diags = Diagnostics::default();
        let (same, _) = update(&prior, &connected(), prior.clone(), &prior, &mut diags);
        assert_eq!(same, prior, "no-op");
        let config = State {
            force_destroy: Value::Value(true),
            ..prior.clone()
        };
        let (s, _) = update(&prior, &connected(), config.clone(), &config, &mut diags);
        assert!(s.node_count.is_unknown() && s.kubernetes_version.is_unknown());
        assert!(s.k0smotron_api_version.is_unknown());
        assert_eq!(
            (s.id.clone(), s.endpoint.clone()),
            (prior.id, prior.endpoint)
        );
        assert!(diags.errors.is_empty());
    }

    #[test]
    fn removed_optional_arguments_plan_their_defaults() {
        let prior = State {
            namespace: Value::Value("kmc-system".into()),
            force_destroy: Value::Value(true),
            openstack_credentials: Value::Value(CredentialsBlock {
                secret_name: Value::Value("other".into()),
                clouds_yaml: Value::Value("clouds: {}\n".into()),
                ..Default::default()
            }),
            ..connected_prior()
        };
        // Terraform proposes the prior values of optional+computed arguments.
        let config = State {
            namespace: Value::Null,
            force_destroy: Value::Null,
            openstack_credentials: Value::Value(CredentialsBlock {
                clouds_yaml: Value::Value("clouds: {}\n".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let inputs = Inputs {
            credentials: Some(Ok(Some("clouds: {}\n".into()))),
            ..connected()
        };
        let (s, replace) = update(
            &prior,
            &inputs,
            prior.clone(),
            &config,
            &mut Diagnostics::default(),
        );
        assert_eq!(s.force_destroy, Value::Value(false));
        assert_eq!(known(&s.namespace).as_deref(), Some(DEFAULT_NAMESPACE));
        let b = s.openstack_credentials.as_ref_option().unwrap();
        assert_eq!(known(&b.secret_name).as_deref(), Some(DEFAULT_SECRET_NAME));
        assert_eq!(replace.len(), REPLACE_PATHS.len());
        // Bootstrap sizes: removing controllers = 3 plans 1 (and its policy), a replacement.
        let mut prior = bootstrapped(vec![
            member(0, "ACTIVE"),
            member(1, "ACTIVE"),
            member(2, "ACTIVE"),
        ]);
        if let Some(b) = prior.bootstrap.as_mut_option() {
            b.name = Value::Value("custom".into());
            b.server_group_policy = Value::Value("anti-affinity".into());
        }
        let config = State {
            bootstrap: Value::Value(BootstrapBlock::default()),
            ..Default::default()
        };
        let (s, _) = update(
            &prior,
            &Inputs::default(),
            prior.clone(),
            &config,
            &mut Diagnostics::default(),
        );
        let b = s.bootstrap.as_ref_option().unwrap();
        assert_eq!(b.controllers, Value::Value(1));
        assert_eq!(known(&b.name).as_deref(), Some(DEFAULT_BOOTSTRAP_NAME));
        assert_eq!(known(&b.server_group_policy).as_deref(), Some("none"));
        assert!(
            s.id.is_unknown() && s.instance_id.is_unknown(),
            "planned as a create"
        );
    }

    #[test]
    fn an_unknown_bootstrap_plans_a_replacement_with_nothing_known_that_apply_decides() {
        let prior = connected_prior();
        let config = State {
            bootstrap: Value::Unknown,
            ..prior.clone()
        };
        let (s, replace) = update(
            &prior,
            &connected(),
            config.clone(),
            &config,
            &mut Diagnostics::default(),
        );
        assert!(replace.contains(&vec!["bootstrap"]));
        assert!(s.id.is_unknown() && s.instance_id.is_unknown());
        for v in [&s.endpoint, &s.kubeconfig, &s.ca_certificate] {
            assert!(v.is_unknown());
        }
        assert!(s.members.is_unknown());
        // A known block with one unknown argument: a create too.
        let prior = bootstrapped(vec![member(0, "ACTIVE")]);
        let mut config = prior.clone();
        if let Some(b) = config.bootstrap.as_mut_option() {
            b.flavor = Value::Unknown;
        }
        let (s, _) = update(
            &prior,
            &Inputs::default(),
            config.clone(),
            &config,
            &mut Diagnostics::default(),
        );
        assert!(s.id.is_unknown() && s.endpoint.is_unknown() && s.kubeconfig.is_unknown());
        let b = s.bootstrap.as_ref_option().unwrap();
        assert!(b.ca_key.is_unknown() && b.admin_key.is_unknown());
    }

    #[test]
    fn a_bootstrapped_update_leaves_members_unknown_and_a_no_op_keeps_them() {
        let prior = bootstrapped(vec![member(0, "ACTIVE")]);
        let (same, _) = update(
            &prior,
            &Inputs::default(),
            prior.clone(),
            &prior,
            &mut Diagnostics::default(),
        );
        assert_eq!(same.members, prior.members);
        let config = State {
            force_destroy: Value::Value(true),
            ..prior.clone()
        };
        let (s, _) = update(
            &prior,
            &Inputs::default(),
            config.clone(),
            &config,
            &mut Diagnostics::default(),
        );
        assert!(s.members.is_unknown() && s.node_count.is_unknown());
        assert_eq!(
            (s.endpoint, s.kubeconfig),
            (prior.endpoint, prior.kubeconfig)
        );
    }

    #[test]
    fn k0smotron_objects_found_missing_are_installed_again() {
        let prior = State {
            k0smotron_manifest: Value::Value("m".into()),
            k0smotron_drift: Value::Value(vec![Value::Value("Deployment k0smotron/op".into())]),
            ..connected_prior()
        };
        let (s, _) = update(
            &prior,
            &connected(),
            prior.clone(),
            &prior,
            &mut Diagnostics::default(),
        );
        assert_eq!(s.k0smotron_drift, Value::Value(vec![]));
        assert!(s.k0smotron_api_version.is_unknown());
        let all_there = State {
            k0smotron_drift: Value::Value(vec![]),
            ..prior
        };
        let (s, _) = update(
            &all_there,
            &connected(),
            all_there.clone(),
            &all_there,
            &mut Diagnostics::default(),
        );
        assert_eq!(s, all_there);
    }
}
