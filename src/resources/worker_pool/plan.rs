//! Plan semantics of `k0stack_worker_pool`, as pure functions over states.
//!
//! - Replace the whole pool: `name`, `hosted_control_plane_id` (members would move cluster),
//!   and a control plane replaced since the pool was created (`hosted_control_plane_uid`:
//!   servers joined to the old cluster cannot join the new one). The paths are returned
//!   unconditionally: Terraform replaces only when their value changes or is unknown (a
//!   control plane replaced in the same apply has an unknown `id`).
//! - In place, shown as `template_hash` changing: anything in the member template
//!   (rolled in batches by apply).
//! - In place, shown as `members`/`ready_count` becoming unknown: `size`, and any drift the
//!   last refresh found (a member missing, broken, unready, or on another template).
//! - Refused: a worker `k0s_version` newer than the control plane's.

use tf_provider::value::Value;

use crate::framework::version::K0sVersion;
use crate::framework::Problems;

use super::model::*;
use super::observe::{rollout_health, STOPPED_STATUSES};
use super::rollout::{self, Health, MemberView};
use super::validate::parse_hcp_id;

/// What planning learned from the clouds; `None` where it cannot be known yet (e.g. the
/// hosted control plane is created in the same apply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    pub template_hash: Option<String>,
    /// The control plane's k0s version (the default of `k0s_version`).
    pub hcp_version: Option<String>,
    /// The control plane's Kubernetes uid as it is now.
    pub hcp_uid: Option<String>,
    /// Other hashes of the same template (as earlier versions computed them).
    pub equivalent_hashes: Vec<String>,
    /// The Glance image `image` resolves to.
    pub image_id: Option<String>,
}

/// The `template_hash` to plan: the recorded one when it names the same template (an
/// earlier version's hash), so a provider upgrade rolls nothing; else the new one.
fn planned_hash(prior: &State, r: &Resolved) -> Str {
    match (&r.template_hash, known(&prior.template_hash)) {
        (Some(_), Some(p)) if r.equivalent_hashes.contains(&p) => Value::Value(p.into()),
        (h, _) => opt(h.clone()),
    }
}

fn set_default<T>(v: &mut Value<T>, d: T) {
    if v.is_null() {
        *v = Value::Value(d);
    }
}

fn opt(v: Option<String>) -> Str {
    match v {
        Some(s) => Value::Value(s.into()),
        None => Value::Unknown,
    }
}

/// Defaults of optional+computed arguments.
fn fill_defaults(s: &mut State, r: &Resolved) {
    set_default(&mut s.wait_for_nodes, true);
    set_default(&mut s.max_parallel, DEFAULT_MAX_PARALLEL as i64);
    set_default(
        &mut s.stopped_members,
        DEFAULT_STOPPED_POLICY.to_string().into(),
    );
    if s.k0s_version.is_null() {
        s.k0s_version = opt(r.hcp_version.clone());
    }
    if let Some(b) = s.rolling_update.as_mut_option() {
        set_default(&mut b.max_surge, 1);
        set_default(&mut b.max_unavailable, 0);
    }
    if let Some(b) = s.drain.as_mut_option() {
        set_default(&mut b.enabled, true);
        set_default(&mut b.timeout, "5m".to_string().into());
    }
}

fn has_group(s: &State) -> Option<bool> {
    match &s.server_group_policy {
        Value::Unknown => None,
        Value::Null => Some(false),
        Value::Value(p) => Some(p.as_ref() != "none"),
    }
}

/// The planned state of a new pool.
pub fn plan_create(mut s: State, r: &Resolved) -> State {
    fill_defaults(&mut s, r);
    s.id = match (known(&s.hosted_control_plane_id), known(&s.name)) {
        (Some(h), Some(n)) if parse_hcp_id(&h).is_some() => Value::Value(format!("{h}/{n}").into()),
        _ => Value::Unknown,
    };
    // Drawn (or adopted from an interrupted create) by create; the control plane may be
    // replaced in this same apply, so its uid is not known yet either.
    s.uid = Value::Unknown;
    s.hosted_control_plane_uid = Value::Unknown;
    s.members = Value::Unknown;
    s.ready_count = Value::Unknown;
    s.template_hash = opt(r.template_hash.clone());
    s.image_id = opt(r.image_id.clone());
    s.server_group_id = match has_group(&s) {
        Some(false) => Value::Null,
        _ => Value::Unknown,
    };
    s
}

/// Health of a member as recorded in state (what the last refresh saw).
fn recorded_health(m: &Member) -> Health {
    let status = known(&m.status).unwrap_or_default();
    let ready = m.ready.as_ref_option().copied().unwrap_or(false);
    match status.as_str() {
        "ERROR" | "DELETED" | "SOFT_DELETED" => Health::Failed,
        s if STOPPED_STATUSES.contains(&s) => Health::Stopped,
        "ACTIVE" if ready => Health::Ready,
        "ACTIVE" => Health::Joining,
        _ => Health::Building,
    }
}

/// The recorded members as the rollout sees them, under the pool's stopped-members policy.
pub fn recorded_views(s: &State, policy: StoppedPolicy) -> Vec<MemberView> {
    s.members
        .as_ref_option()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m.as_ref_option())
                .enumerate()
                .map(|(i, m)| MemberView {
                    id: known(&m.id).unwrap_or_default(),
                    template_hash: known(&m.template_hash).unwrap_or_default(),
                    health: rollout_health(recorded_health(m), policy),
                    seq: i as u64,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// True when the recorded pool is what `s` asks for (so apply would do nothing).
pub fn satisfied(
    recorded: &State,
    size: Option<i64>,
    hash: Option<&str>,
    wait_for_nodes: bool,
    policy: StoppedPolicy,
) -> bool {
    let (Some(size), Some(hash)) = (size, hash) else {
        return false;
    };
    let mut views = recorded_views(recorded, policy);
    if !wait_for_nodes {
        for v in &mut views {
            if v.health == Health::Joining {
                v.health = Health::Ready;
            }
        }
    }
    rollout::converged(&views, size.max(0) as u32, hash)
}

/// Attributes whose change replaces the pool (returned to Terraform unconditionally).
pub const REPLACE_PATHS: &[&str] = &[
    "name",
    "hosted_control_plane_id",
    "hosted_control_plane_uid",
];

/// True when the control plane the pool's servers joined is not the one that exists now.
fn control_plane_replaced(prior: &State, r: &Resolved) -> bool {
    matches!((known(&prior.hosted_control_plane_uid), &r.hcp_uid), (Some(had), Some(now)) if &had != now)
}

/// Optional arguments the configuration leaves out plan their defaults: Terraform proposes
/// the prior value for an optional+computed attribute missing from the configuration, so
/// removing `max_parallel = 5` would otherwise keep 5 forever.
fn unset_from_config(proposed: &mut State, config: &State) {
    fn clear<T>(planned: &mut Value<T>, configured: &Value<T>) {
        if configured.is_null() {
            *planned = Value::Null;
        }
    }
    clear(&mut proposed.k0s_version, &config.k0s_version);
    clear(&mut proposed.wait_for_nodes, &config.wait_for_nodes);
    clear(&mut proposed.max_parallel, &config.max_parallel);
    clear(&mut proposed.stopped_members, &config.stopped_members);
    if let (Some(p), Some(c)) = (
        proposed.rolling_update.as_mut_option(),
        config.rolling_update.as_ref_option(),
    ) {
        clear(&mut p.max_surge, &c.max_surge);
        clear(&mut p.max_unavailable, &c.max_unavailable);
    }
    if let (Some(p), Some(c)) = (proposed.drain.as_mut_option(), config.drain.as_ref_option()) {
        clear(&mut p.enabled, &c.enabled);
        clear(&mut p.timeout, &c.timeout);
    }
}

/// True when `planned` differs from `prior` in anything but what apply observes.
fn changes_anything(prior: &State, planned: &State) -> bool {
    let strip = |s: &State| State {
        members: Value::Null,
        ready_count: Value::Null,
        ..s.clone()
    };
    strip(prior) != strip(planned)
}

/// The planned state for an update, and the attribute paths that force replacement.
pub fn plan_update(
    prior: &State,
    mut proposed: State,
    config: &State,
    r: &Resolved,
) -> (State, Vec<Vec<&'static str>>, Problems) {
    unset_from_config(&mut proposed, config);
    let replace: Vec<Vec<&'static str>> = REPLACE_PATHS.iter().map(|p| vec![*p]).collect();
    let problems = Problems::default();
    let moved = [
        (&prior.name, &proposed.name),
        (
            &prior.hosted_control_plane_id,
            &proposed.hosted_control_plane_id,
        ),
    ]
    .iter()
    .any(|(a, b)| b.is_unknown() || a != b);
    if moved || control_plane_replaced(prior, r) {
        return (plan_create(proposed, r), replace, problems);
    }
    fill_defaults(&mut proposed, r);
    proposed.id = prior.id.clone();
    proposed.uid = prior.uid.clone();
    proposed.hosted_control_plane_uid = prior.hosted_control_plane_uid.clone();
    proposed.template_hash = planned_hash(prior, r);
    // Unknown when the names cannot be resolved now: what apply resolves.
    proposed.image_id = opt(r.image_id.clone());
    proposed.server_group_id = if has_group(&proposed) == has_group(prior)
        && proposed.server_group_policy == prior.server_group_policy
    {
        prior.server_group_id.clone()
    } else if has_group(&proposed) == Some(false) {
        Value::Null
    } else {
        Value::Unknown
    };
    let wait = proposed
        .wait_for_nodes
        .as_ref_option()
        .copied()
        .unwrap_or(true);
    let size = proposed.size.as_ref_option().copied();
    let policy = known(&proposed.stopped_members)
        .and_then(|p| StoppedPolicy::parse(&p))
        .unwrap_or_default();
    // What apply re-reads is unknown whenever apply runs: it may find another truth than
    // the last refresh (a saved plan applied later, -refresh=false).
    let hash = known(&proposed.template_hash);
    if satisfied(prior, size, hash.as_deref(), wait, policy) && !changes_anything(prior, &proposed)
    {
        proposed.members = prior.members.clone();
        proposed.ready_count = prior.ready_count;
    } else {
        proposed.members = Value::Unknown;
        proposed.ready_count = Value::Unknown;
    }
    (proposed, replace, problems)
}

/// The plan's note about members whose servers were stopped out of band (None: none).
pub fn stopped_note(prior: &State, policy: StoppedPolicy) -> Option<String> {
    let stopped: Vec<String> = known_objects(&prior.members)
        .iter()
        .filter(|m| known(&m.status).is_some_and(|s| STOPPED_STATUSES.contains(&s.as_str())))
        .map(|m| {
            format!(
                "{} ({}, {})",
                known(&m.name).unwrap_or_default(),
                known(&m.id).unwrap_or_default(),
                known(&m.status).unwrap_or_default()
            )
        })
        .collect();
    if stopped.is_empty() {
        return None;
    }
    let what = match policy {
        StoppedPolicy::Start => "apply starts them again (stopped_members = \"start\")",
        StoppedPolicy::Replace => {
            "apply replaces them with new servers (stopped_members = \"replace\")"
        }
        StoppedPolicy::Keep => {
            "they stay stopped (stopped_members = \"keep\"); start one with `openstack server start <id>`"
        }
    };
    Some(format!(
        "{} member(s) stopped out of band: {}; {what}.",
        stopped.len(),
        stopped.join(", ")
    ))
}

/// `name (id)` of recorded members matching `pick`.
fn member_names(prior: &State, pick: impl Fn(&Member) -> bool) -> Vec<String> {
    known_objects(&prior.members)
        .iter()
        .filter(|m| pick(m))
        .map(|m| {
            format!(
                "{} ({})",
                known(&m.name).unwrap_or_default(),
                known(&m.id).unwrap_or_default()
            )
        })
        .collect()
}

/// The plan's note about members whose servers were deleted out of band (None: none).
pub fn gone_note(prior: &State) -> Option<String> {
    let gone = member_names(prior, |m| known(&m.status).as_deref() == Some("DELETED"));
    (!gone.is_empty()).then(|| {
        format!(
            "{} member(s) deleted out of band since the last apply: {}; apply creates replacements and removes their nodes from the hosted cluster.",
            gone.len(),
            gone.join(", ")
        )
    })
}

/// The plan's note about which members a scale-down removes, chosen as apply chooses them
/// (unhealthy first, then the newest).
pub fn scale_down_note(prior: &State, planned: &State, policy: StoppedPolicy) -> Option<String> {
    let size = planned.size.as_ref_option().copied()?.max(0) as u32;
    let hash = known(&planned.template_hash)?;
    let views = recorded_views(prior, policy);
    let live = views.iter().filter(|v| v.health != Health::Failed).count();
    if size as usize >= live {
        return None;
    }
    let step = rollout::next_step(
        &views,
        size,
        &hash,
        rollout::Policy {
            max_surge: 0,
            max_unavailable: u32::MAX,
        },
    );
    let going = member_names(prior, |m| {
        known(&m.id).is_some_and(|id| step.remove.contains(&id))
            && known(&m.status).as_deref() != Some("DELETED")
    });
    (!going.is_empty()).then(|| {
        format!(
            "scaling from {live} to {size} removes {} (drained first): {}.",
            going.len(),
            going.join(", ")
        )
    })
}

/// A worker may run the control plane's version or an older one, never a newer one.
pub fn check_worker_version(worker: &str, control_plane: &str) -> Result<(), String> {
    match (K0sVersion::parse(worker), K0sVersion::parse(control_plane)) {
        (Some(w), Some(cp)) if w > cp => Err(format!(
            "k0s_version {worker} is newer than the hosted control plane's {control_plane}: \
             Kubernetes does not support kubelets newer than their API server. Upgrade the \
             control plane first, or leave k0s_version unset to follow it."
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::worker_pool::validate::tests::minimal;

    fn member(id: &str, hash: &str, status: &str, ready: bool) -> Value<Member> {
        let s = |v: &str| Value::Value(v.to_string().into());
        Value::Value(Member {
            id: s(id),
            name: s(id),
            status: s(status),
            ready: Value::Value(ready),
            template_hash: s(hash),
            ..Default::default()
        })
    }

    /// An update whose configuration is `config` (Terraform proposes it as is here).
    fn update(
        prior: &State,
        config: State,
        r: &Resolved,
    ) -> (State, Vec<Vec<&'static str>>, Problems) {
        plan_update(prior, config.clone(), &config, r)
    }

    fn resolved(hash: &str) -> Resolved {
        Resolved {
            template_hash: Some(hash.into()),
            hcp_version: Some("v1.32.6+k0s.0".into()),
            hcp_uid: Some("cp-1".into()),
            equivalent_hashes: vec![],
            image_id: Some("img-1".into()),
        }
    }

    fn applied(hash: &str, n: usize) -> State {
        let mut s = plan_create(minimal(), &resolved(hash));
        s.uid = Value::Value("pool-1".into());
        s.hosted_control_plane_uid = Value::Value("cp-1".into());
        s.members = Value::Value(
            (0..n)
                .map(|i| member(&format!("m{i}"), hash, "ACTIVE", true))
                .collect(),
        );
        s.ready_count = Value::Value(n as i64);
        s
    }

    #[test]
    fn create_fills_defaults_and_unknowns() {
        let s = plan_create(minimal(), &resolved("h"));
        assert_eq!(
            s.id,
            Value::Value("kmc-system/dev/general".to_string().into())
        );
        assert_eq!(
            s.k0s_version,
            Value::Value("v1.32.6+k0s.0".to_string().into())
        );
        assert_eq!(
            (s.wait_for_nodes, s.max_parallel),
            (Value::Value(true), Value::Value(20))
        );
        assert!(s.members.is_unknown() && s.ready_count.is_unknown());
        assert_eq!(s.server_group_id, Value::Null);
        let s = plan_create(minimal(), &Resolved::default());
        assert!(s.k0s_version.is_unknown() && s.template_hash.is_unknown() && s.uid.is_unknown());
    }

    #[test]
    fn converged_pool_plans_nothing() {
        let prior = applied("h", 3);
        let (planned, replace, _) = update(&prior, minimal(), &resolved("h"));
        assert_eq!(
            replace.len(),
            REPLACE_PATHS.len(),
            "returned unconditionally"
        );
        assert_eq!(planned, prior);
    }

    #[test]
    fn a_replaced_control_plane_replaces_the_pool() {
        let prior = applied("h", 3);
        // Replaced in this apply: its id is unknown.
        let unknown_id = State {
            hosted_control_plane_id: Value::Unknown,
            ..minimal()
        };
        let (planned, _, _) = update(&prior, unknown_id, &resolved("h"));
        assert!(planned.uid.is_unknown() && planned.hosted_control_plane_uid.is_unknown());
        assert!(planned.members.is_unknown());
        // Replaced earlier (or out of band): another uid now.
        let r = Resolved {
            hcp_uid: Some("cp-2".into()),
            ..resolved("h")
        };
        let (planned, _, _) = update(&prior, minimal(), &r);
        assert!(
            planned.hosted_control_plane_uid.is_unknown(),
            "forces the replacement"
        );
        // A state of an earlier version records no control plane uid: no replacement.
        let mut legacy = applied("h", 3);
        legacy.hosted_control_plane_uid = Value::Null;
        let (planned, _, _) = update(&legacy, minimal(), &r);
        assert_eq!(planned.hosted_control_plane_uid, Value::Null);
        assert_eq!(planned.uid, legacy.uid);
    }

    #[test]
    fn size_change_and_drift_make_members_unknown() {
        let prior = applied("h", 3);
        let bigger = State {
            size: Value::Value(5),
            ..minimal()
        };
        let (planned, _, _) = update(&prior, bigger, &resolved("h"));
        assert!(planned.members.is_unknown() && planned.ready_count.is_unknown());

        let mut drifted = applied("h", 3);
        if let Some(ms) = drifted.members.as_mut_option() {
            ms.pop();
        }
        let (planned, _, _) = update(&drifted, minimal(), &resolved("h"));
        assert!(planned.members.is_unknown());

        let mut broken = applied("h", 3);
        broken.members.as_mut_option().unwrap()[1] = member("m1", "h", "ERROR", false);
        let (planned, _, _) = update(&broken, minimal(), &resolved("h"));
        assert!(planned.members.is_unknown());
    }

    #[test]
    fn a_stopped_member_is_started_replaced_or_kept() {
        let mut stopped = applied("h", 3);
        stopped.members.as_mut_option().unwrap()[1] = member("m1", "h", "SHUTOFF", false);
        for (policy, changes) in [("start", true), ("replace", true), ("keep", false)] {
            let config = State {
                stopped_members: Value::Value(policy.into()),
                ..minimal()
            };
            let mut prior = stopped.clone();
            prior.stopped_members = Value::Value(policy.into());
            let (planned, _, _) = update(&prior, config, &resolved("h"));
            assert_eq!(planned.members.is_unknown(), changes, "{policy}");
        }
    }

    #[test]
    fn a_template_named_by_an_earlier_versions_hash_is_not_rolled() {
        let prior = applied("legacy", 3);
        let r = Resolved {
            equivalent_hashes: vec!["legacy".into()],
            ..resolved("new")
        };
        let (planned, _, _) = update(&prior, minimal(), &r);
        assert_eq!(planned, prior, "nothing to do after a provider upgrade");
    }

    #[test]
    fn removing_an_optional_argument_plans_its_default() {
        let mut prior = applied("h", 3);
        prior.max_parallel = Value::Value(5);
        prior.stopped_members = Value::Value("keep".into());
        // Terraform proposes the prior values of optional+computed attributes.
        let proposed = State {
            max_parallel: Value::Value(5),
            stopped_members: Value::Value("keep".into()),
            ..minimal()
        };
        let (planned, _, _) = plan_update(&prior, proposed, &minimal(), &resolved("h"));
        assert_eq!(
            planned.max_parallel,
            Value::Value(DEFAULT_MAX_PARALLEL as i64)
        );
        assert_eq!(planned.stopped_members, Value::Value("start".into()));
        assert!(
            planned.members.is_unknown(),
            "apply runs, so what it re-reads is unknown"
        );
    }

    #[test]
    fn template_change_is_an_in_place_update() {
        let prior = applied("h", 3);
        let (planned, _, _) = update(&prior, minimal(), &resolved("h2"));
        assert_eq!(planned.uid, prior.uid, "the same instance");
        assert_eq!(planned.template_hash, Value::Value("h2".to_string().into()));
        assert!(planned.members.is_unknown());
    }

    #[test]
    fn identity_changes_replace_the_pool() {
        let prior = applied("h", 3);
        let moved = State {
            hosted_control_plane_id: Value::Value("kmc-system/prod".into()),
            ..minimal()
        };
        let (planned, _, _) = update(&prior, moved, &resolved("h"));
        assert!(planned.uid.is_unknown(), "a new instance");
        assert!(
            planned.id.is_value(),
            "the id is known from the new control plane id"
        );
    }

    #[test]
    fn worker_newer_than_control_plane_is_refused() {
        assert!(check_worker_version("v1.32.6+k0s.0", "v1.32.6+k0s.0").is_ok());
        assert!(check_worker_version("v1.31.2+k0s.0", "v1.32.6+k0s.0").is_ok());
        let e = check_worker_version("v1.33.1+k0s.0", "v1.32.6+k0s.0").unwrap_err();
        assert!(e.contains("newer than the hosted control plane"), "{e}");
    }
}
