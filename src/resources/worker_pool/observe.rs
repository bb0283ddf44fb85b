//! From what the cloud and the hosted cluster say to the pool's members: their health (what
//! the rollout decides on) and the `members` attribute. Pure: the I/O layer gathers one Nova
//! list and one node list and hands them over as [`ServerFacts`] and [`NodeFacts`].

use std::collections::{BTreeMap, BTreeSet};

use tf_provider::value::Value;

use super::model::{Member, StoppedPolicy};
use super::rollout::{Health, MemberView};

/// Tag every server the provider creates carries.
pub const TAG_OWNED: &str = "k0stack";
/// Metadata key holding the hash of the template a member was built from.
pub const META_TEMPLATE: &str = "k0stack-template";
/// Metadata key holding the pool id `<ns>/<hcp>/<pool>` (for humans and for import).
pub const META_POOL: &str = "k0stack-pool";
/// Node label every member registers with (kubelet `--node-labels`; `k0stack.io/` is not a
/// prefix the NodeRestriction admission reserves): the pool instance's uid, so the pool
/// finds its nodes, and only its own, even after their servers are gone.
pub const NODE_LABEL_POOL: &str = "k0stack.io/pool-uid";

/// The tag that marks a server as a member of the pool `uid`.
pub fn pool_tag(uid: &str) -> String {
    format!("k0stack-pool={uid}")
}

/// The tag that names the hosted control plane (by its Kubernetes uid) a server joins.
pub fn cluster_tag(hcp_uid: &str) -> String {
    format!("k0stack-cluster={hcp_uid}")
}

/// The uid of the control plane a server joined, from its `k0stack-cluster=` tag.
pub fn cluster_of(tags: &[String]) -> Option<String> {
    tags.iter()
        .find_map(|t| t.strip_prefix("k0stack-cluster=").map(String::from))
}

/// One server of the pool, as Nova lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerFacts {
    pub id: String,
    pub name: String,
    /// Nova status: BUILD, ACTIVE, ERROR, DELETED, SHUTOFF, ...
    pub status: String,
    /// From the `k0stack-template` metadata (None: not built by us, or by an old version).
    pub template_hash: Option<String>,
    pub ip: Option<String>,
    pub zone: Option<String>,
    /// RFC 3339 creation time; orders members (newest removed first on scale-down).
    pub created: String,
    /// The `fault.message` of a server in ERROR.
    pub fault: Option<String>,
    pub flavor: Option<String>,
    /// Nova metadata (the user's keys and ours).
    pub metadata: BTreeMap<String, String>,
}

/// A node of the hosted cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeFacts {
    pub name: String,
    pub ready: bool,
    /// Its [`NODE_LABEL_POOL`] label (None: not a member of any pool of this version).
    pub pool_uid: Option<String>,
    /// `reason: message` of its Ready condition while that is not True (what the kubelet
    /// says, for the error of an apply that timed out).
    pub not_ready: Option<String>,
}

/// Nodes that belong to pool `uid` but whose servers are gone: labelled with its uid, or
/// (members of an earlier version, unlabelled) named in the recorded members. A node
/// labelled with another uid is never this pool's.
pub fn orphan_nodes(
    nodes: &[NodeFacts],
    uid: &str,
    recorded_node_names: &BTreeSet<String>,
    server_names: &BTreeSet<String>,
) -> Vec<String> {
    nodes
        .iter()
        .filter(|n| match &n.pool_uid {
            Some(u) => u == uid,
            None => recorded_node_names.contains(&n.name),
        })
        .filter(|n| !server_names.iter().any(|s| is_node_of(s, &n.name)))
        .map(|n| n.name.clone())
        .collect()
}

/// The Nova metadata writes that bring a member's `current` metadata to `desired` (the
/// user's keys): items to set, and keys to delete (`removed`: keys the user had set and no
/// longer does; the provider's own `k0stack-*` keys are never touched).
pub fn metadata_changes(
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
    removed: &BTreeSet<String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let delete = removed
        .iter()
        .filter(|k| !k.starts_with("k0stack-") && !desired.contains_key(*k))
        .filter(|k| current.contains_key(*k))
        .cloned()
        .collect();
    (set, delete)
}

/// Whether `node` is the Node of the server named `server`. k0s names a Node after the
/// guest's hostname: the server name on Debian-family images, `<server>.<dhcp_domain>`
/// (`.novalocal` by default) on RHEL-family ones, whose cloud-init keeps Nova's FQDN.
pub fn is_node_of(server: &str, node: &str) -> bool {
    node == server
        || node
            .strip_prefix(server)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The facts of the hosted cluster's nodes.
pub fn node_facts(nodes: &[k8s_openapi::api::core::v1::Node]) -> Vec<NodeFacts> {
    nodes
        .iter()
        .map(|n| {
            let (name, ready, pool_uid) = crate::kube::workload::node_facts(n, NODE_LABEL_POOL);
            NodeFacts {
                name,
                ready,
                pool_uid,
                not_ready: crate::kube::workload::not_ready_reason(n),
            }
        })
        .collect()
}

/// When the hosted cluster cannot be read, what the last refresh saw of each node still
/// holds for the servers that still exist (a blind refresh must not turn Ready members
/// into missing ones, which would plan a repair of a healthy pool).
pub fn carry_recorded_nodes(observed: &mut [Observed], recorded: &[Member], wait_for_nodes: bool) {
    for o in observed.iter_mut().filter(|o| o.node.is_none()) {
        let Some(m) = recorded
            .iter()
            .find(|m| m.id.as_ref_option().map(|s| s.as_ref()) == Some(o.server.id.as_str()))
        else {
            continue;
        };
        let Some(name) = m.node_name.as_ref_option() else {
            continue;
        };
        let ready = m.ready.as_ref_option().copied().unwrap_or(false);
        o.node = Some(NodeFacts {
            name: name.to_string(),
            ready,
            pool_uid: None,
            not_ready: None,
        });
        o.health = health(&o.server.status, o.node.as_ref(), true, wait_for_nodes);
    }
}

/// A server with its node and health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub server: ServerFacts,
    pub node: Option<NodeFacts>,
    pub health: Health,
}

/// What is known about the nodes: a list, or nothing (hosted cluster unreachable).
#[derive(Debug, Clone, Copy)]
pub enum Nodes<'a> {
    Known(&'a [NodeFacts]),
    Unknown,
}

/// Nova statuses of a server that exists but does not run (its disk is intact).
pub const STOPPED_STATUSES: &[&str] = &[
    "SHUTOFF",
    "SHELVED",
    "SHELVED_OFFLOADED",
    "SUSPENDED",
    "PAUSED",
];

/// The Nova action that makes a server of `status` run again.
pub fn restart_action(status: &str) -> Option<&'static str> {
    match status {
        "SHUTOFF" => Some("os-start"),
        "SHELVED" | "SHELVED_OFFLOADED" => Some("unshelve"),
        "SUSPENDED" => Some("resume"),
        "PAUSED" => Some("unpause"),
        _ => None,
    }
}

/// Classifies a member.
///
/// - ERROR / DELETED / SOFT_DELETED servers are `Failed` (replaced).
/// - SHUTOFF / SHELVED / SUSPENDED / PAUSED servers are `Stopped`: not broken (see
///   [`StoppedPolicy`]); a stopped controller or worker keeps its disk.
/// - An ACTIVE server whose node is Ready is `Ready`; with `wait_for_nodes = false`, ACTIVE is enough.
/// - An ACTIVE server whose node vanished after it had joined (`had_node`) is `Failed`: the node
///   was deleted out of band and a k0s worker does not re-register on its own.
/// - Otherwise it is on its way: `Building` (not ACTIVE yet) or `Joining`.
pub fn health(
    status: &str,
    node: Option<&NodeFacts>,
    had_node: bool,
    wait_for_nodes: bool,
) -> Health {
    match status {
        "ERROR" | "DELETED" | "SOFT_DELETED" => Health::Failed,
        s if STOPPED_STATUSES.contains(&s) => Health::Stopped,
        "ACTIVE" if !wait_for_nodes => Health::Ready,
        "ACTIVE" => match node {
            Some(n) if n.ready => Health::Ready,
            Some(_) => Health::Joining,
            None if had_node => Health::Failed,
            None => Health::Joining,
        },
        _ => Health::Building,
    }
}

/// Joins servers with nodes (a worker's node is named after its server) and classifies them.
/// `had_node`: ids of servers seen with a node before (state or earlier in this apply). When
/// the nodes are unknown, nobody is declared failed for lack of a node.
pub fn observe(
    servers: Vec<ServerFacts>,
    nodes: Nodes<'_>,
    had_node: &BTreeSet<String>,
    wait_for_nodes: bool,
) -> Vec<Observed> {
    let known: &[NodeFacts] = match nodes {
        Nodes::Known(ns) => ns,
        Nodes::Unknown => &[],
    };
    let mut out: Vec<Observed> = servers
        .into_iter()
        .map(|s| {
            // The exact name first: a pool whose names are prefixes of another's (never with
            // random suffixes, but cheap to be sure) keeps its own nodes.
            let node = known
                .iter()
                .find(|n| n.name == s.name)
                .or_else(|| known.iter().find(|n| is_node_of(&s.name, &n.name)))
                .cloned();
            let health = match nodes {
                Nodes::Known(_) => health(
                    &s.status,
                    node.as_ref(),
                    had_node.contains(&s.id),
                    wait_for_nodes,
                ),
                // Unknown nodes: judge the server alone, never fail a member for it.
                Nodes::Unknown => match health(&s.status, None, false, wait_for_nodes) {
                    Health::Joining => Health::Joining,
                    h => h,
                },
            };
            Observed {
                server: s,
                node,
                health,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.server.created.as_str(), a.server.name.as_str())
            .cmp(&(b.server.created.as_str(), b.server.name.as_str()))
    });
    out
}

/// How the rollout sees a member's health under the pool's stopped-members policy: a
/// stopped member is on its way back (`start`), failed (`replace`), or done (`keep`: it
/// stays as the user left it, so it must not hold the apply up).
pub fn rollout_health(health: Health, policy: StoppedPolicy) -> Health {
    match (health, policy) {
        (Health::Stopped, StoppedPolicy::Replace) => Health::Failed,
        (Health::Stopped, StoppedPolicy::Keep) => Health::Ready,
        (h, _) => h,
    }
}

/// The rollout's view (creation order as `seq`).
pub fn views(observed: &[Observed], policy: StoppedPolicy) -> Vec<MemberView> {
    observed
        .iter()
        .enumerate()
        .map(|(i, o)| MemberView {
            id: o.server.id.clone(),
            template_hash: o.server.template_hash.clone().unwrap_or_default(),
            health: rollout_health(o.health, policy),
            seq: i as u64,
        })
        .collect()
}

/// What each member says about its join token (for [`super::token_plan::to_revoke`]).
pub fn member_tokens(observed: &[Observed]) -> Vec<super::token_plan::MemberToken> {
    observed
        .iter()
        .map(|o| super::token_plan::MemberToken {
            request: o
                .server
                .metadata
                .get(super::token_plan::META_REQUEST)
                .cloned(),
            joined: o.node.as_ref().is_some_and(|n| n.ready),
            failed: o.health == Health::Failed,
        })
        .collect()
}

/// The `members` attribute, in creation order.
pub fn members(observed: &[Observed]) -> Vec<Member> {
    let s = |v: &str| Value::Value(v.to_string().into());
    let opt = |v: &Option<String>| match v {
        Some(v) => Value::Value(v.clone().into()),
        None => Value::Null,
    };
    observed
        .iter()
        .map(|o| Member {
            id: s(&o.server.id),
            name: s(&o.server.name),
            ip: opt(&o.server.ip),
            status: s(&o.server.status),
            node_name: opt(&o.node.as_ref().map(|n| n.name.clone())),
            ready: Value::Value(
                o.health == Health::Ready && o.node.as_ref().is_some_and(|n| n.ready),
            ),
            template_hash: opt(&o.server.template_hash),
            zone: opt(&o.server.zone),
        })
        .collect()
}

/// Ids of members recorded with a node (so a vanished node means a failed member).
pub fn ids_with_nodes(members: &[Member]) -> BTreeSet<String> {
    members
        .iter()
        .filter(|m| m.node_name.is_value())
        .filter_map(|m| m.id.as_ref_option().map(|s| s.to_string()))
        .collect()
}

/// The progress line of a pool: how many members are Ready on the template being applied,
/// whether a roll is under way, and what each member that is not done yet is doing
/// (`rolling: 1 of 2 Ready on the new template, 1 on the old one; general-x2k booting, not
/// joined yet (ACTIVE), general-a9f ready (old template, to be replaced)`).
pub fn progress(observed: &[Observed], size: u32, hash: &str) -> String {
    let on_template = |o: &&Observed| o.server.template_hash.as_deref() == Some(hash);
    let current = observed.iter().filter(on_template).count();
    let ready = observed
        .iter()
        .filter(on_template)
        .filter(|o| o.health == Health::Ready)
        .count();
    let old = observed.len() - current;
    let head = if old > 0 {
        format!("rolling: {ready} of {size} Ready on the new template, {old} on the old one")
    } else {
        format!("{ready}/{size} Ready")
    };
    let pending: Vec<String> = observed
        .iter()
        .filter(|o| !(o.health == Health::Ready && on_template(o)))
        .map(|o| format!("{} {}", o.server.name, member_state(o, on_template(&o))))
        .collect();
    match pending.len() {
        0 => head,
        n if n > MAX_NAMED => format!(
            "{head}; {} and {} more",
            pending[..MAX_NAMED].join(", "),
            n - MAX_NAMED
        ),
        _ => format!("{head}; {}", pending.join(", ")),
    }
}

/// Members named one by one in a progress line (a pool of 200 says the rest as a count).
const MAX_NAMED: usize = 8;

/// What one member is doing, in words.
fn member_state(o: &Observed, on_template: bool) -> String {
    let what = match o.health {
        Health::Ready => "ready",
        Health::Building => "building",
        Health::Joining if o.node.is_some() => "joined, node not Ready yet",
        Health::Joining => "booting, not joined yet",
        Health::Stopped => "stopped",
        Health::Failed => "failed",
    };
    let status = &o.server.status;
    match (on_template, o.health) {
        (false, Health::Ready) => "ready (old template, to be replaced)".into(),
        (false, _) => format!("{what} ({status}, old template)"),
        (true, Health::Ready) => what.into(),
        (true, _) => format!("{what} ({status})"),
    }
}

/// `3/5 Ready` from the rollout's view.
pub fn progress_of(views: &[MemberView], size: u32) -> String {
    let ready = views.iter().filter(|v| v.health == Health::Ready).count();
    format!("{ready}/{size} Ready, {} members", views.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(id: &str, status: &str, created: &str) -> ServerFacts {
        ServerFacts {
            id: id.into(),
            name: format!("pool-{id}"),
            status: status.into(),
            template_hash: Some("h".into()),
            created: created.into(),
            ..Default::default()
        }
    }

    fn node(id: &str, ready: bool) -> NodeFacts {
        NodeFacts {
            name: format!("pool-{id}"),
            ready,
            pool_uid: None,
            not_ready: None,
        }
    }

    #[test]
    fn members_name_their_token_and_whether_they_still_need_it() {
        let with = |id: &str, node: Option<bool>, health: Health| Observed {
            server: ServerFacts {
                metadata: [(
                    super::super::token_plan::META_REQUEST.to_string(),
                    "r1".to_string(),
                )]
                .into(),
                ..server(id, "ACTIVE", "2026-01-01T00:00:00Z")
            },
            node: node.map(|r| self::node(id, r)),
            health,
        };
        // wait_for_nodes = false counts an ACTIVE member Ready: the node decides, not health.
        let t = member_tokens(&[
            with("a", None, Health::Ready),
            with("b", Some(true), Health::Ready),
            with("c", Some(false), Health::Joining),
            with("d", None, Health::Failed),
        ]);
        assert_eq!(t[0].request.as_deref(), Some("r1"));
        assert_eq!(
            t.iter().map(|m| (m.joined, m.failed)).collect::<Vec<_>>(),
            [(false, false), (true, false), (false, false), (false, true)]
        );
        let old = member_tokens(&[Observed {
            server: server("e", "ACTIVE", "2026-01-01T00:00:00Z"),
            node: None,
            health: Health::Joining,
        }]);
        assert_eq!(old[0].request, None);
    }

    #[test]
    fn progress_names_what_each_member_does() {
        let member =
            |id: &str, status: &str, hash: &str, node: Option<bool>, health: Health| Observed {
                server: ServerFacts {
                    template_hash: Some(hash.into()),
                    ..server(id, status, "2026-01-01T00:00:00Z")
                },
                node: node.map(|r| super::NodeFacts {
                    ready: r,
                    ..self::node(id, r)
                }),
                health,
            };
        let roll = [
            member("a", "ACTIVE", "old", Some(true), Health::Ready),
            member("b", "ACTIVE", "new", Some(true), Health::Ready),
            member("c", "ACTIVE", "new", None, Health::Joining),
            member("d", "BUILD", "new", None, Health::Building),
        ];
        assert_eq!(
            progress(&roll, 3, "new"),
            "rolling: 1 of 3 Ready on the new template, 1 on the old one; pool-a ready (old template, to be replaced), \
             pool-c booting, not joined yet (ACTIVE), pool-d building (BUILD)"
        );
        // Never more members counted than exist ("3/2 ACTIVE" during a roll).
        assert_eq!(progress(&roll[1..2], 1, "new"), "1/1 Ready");
        let many: Vec<Observed> = (0..12)
            .map(|i| member(&format!("m{i}"), "BUILD", "new", None, Health::Building))
            .collect();
        assert!(progress(&many, 12, "new").ends_with("and 4 more"));
    }

    #[test]
    fn health_of_each_situation() {
        let ready = node("a", true);
        let not_ready = node("a", false);
        assert_eq!(health("BUILD", None, false, true), Health::Building);
        assert_eq!(health("ERROR", Some(&ready), true, true), Health::Failed);
        for stopped in STOPPED_STATUSES {
            assert_eq!(health(stopped, Some(&ready), true, true), Health::Stopped);
            assert!(restart_action(stopped).is_some());
        }
        assert_eq!(restart_action("ACTIVE"), None);
        assert_eq!(health("ACTIVE", Some(&ready), false, true), Health::Ready);
        assert_eq!(
            health("ACTIVE", Some(&not_ready), true, true),
            Health::Joining
        );
        assert_eq!(health("ACTIVE", None, false, true), Health::Joining);
        assert_eq!(health("ACTIVE", None, true, true), Health::Failed);
        assert_eq!(health("ACTIVE", None, false, false), Health::Ready);
    }

    #[test]
    fn observe_joins_nodes_and_orders_by_creation() {
        let servers = vec![
            server("b", "ACTIVE", "2026-01-02T00:00:00Z"),
            server("a", "ACTIVE", "2026-01-01T00:00:00Z"),
            server("c", "BUILD", "2026-01-03T00:00:00Z"),
        ];
        let nodes = [node("a", true), node("b", false)];
        let had: BTreeSet<String> = BTreeSet::new();
        let o = observe(servers, Nodes::Known(&nodes), &had, true);
        let ids: Vec<&str> = o.iter().map(|x| x.server.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        let hs: Vec<Health> = o.iter().map(|x| x.health).collect();
        assert_eq!(hs, [Health::Ready, Health::Joining, Health::Building]);
        let v = views(&o, StoppedPolicy::Start);
        assert_eq!((v[0].seq, v[2].seq), (0, 2));
        assert_eq!(
            progress(&o, 5, "h"),
            "1/5 Ready; pool-b joined, node not Ready yet (ACTIVE), pool-c building (BUILD)"
        );
        let m = members(&o);
        assert_eq!(m[0].ready, Value::Value(true));
        assert_eq!(m[1].ready, Value::Value(false));
        assert_eq!(m[2].node_name, Value::Null);
        assert_eq!(
            ids_with_nodes(&m),
            BTreeSet::from(["a".to_string(), "b".to_string()])
        );
    }

    #[test]
    fn a_vanished_node_fails_its_member_only_when_nodes_are_known() {
        let had = BTreeSet::from(["a".to_string()]);
        let o = observe(
            vec![server("a", "ACTIVE", "1")],
            Nodes::Known(&[]),
            &had,
            true,
        );
        assert_eq!(o[0].health, Health::Failed);
        let o = observe(vec![server("a", "ACTIVE", "1")], Nodes::Unknown, &had, true);
        assert_eq!(o[0].health, Health::Joining);
    }

    #[test]
    fn stopped_members_follow_the_policy() {
        let o = observe(
            vec![server("a", "SHUTOFF", "1")],
            Nodes::Known(&[node("a", false)]),
            &BTreeSet::from(["a".to_string()]),
            true,
        );
        assert_eq!(o[0].health, Health::Stopped);
        let h = |p| views(&o, p)[0].health;
        assert_eq!(h(StoppedPolicy::Start), Health::Stopped);
        assert_eq!(h(StoppedPolicy::Replace), Health::Failed);
        assert_eq!(h(StoppedPolicy::Keep), Health::Ready);
        assert_eq!(members(&o)[0].ready, Value::Value(false));
    }

    #[test]
    fn tags_name_the_pool_and_the_cluster() {
        assert_eq!(pool_tag("abc"), "k0stack-pool=abc");
        let tags = vec!["k0stack".to_string(), cluster_tag("cp-1"), pool_tag("abc")];
        assert_eq!(cluster_of(&tags).as_deref(), Some("cp-1"));
    }

    #[test]
    fn metadata_is_brought_to_what_is_asked() {
        let m = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let current = m(&[
            ("team", "a"),
            ("old", "x"),
            (META_TEMPLATE, "h"),
            ("theirs", "y"),
        ]);
        let desired = m(&[("team", "b"), ("new", "z")]);
        let removed = BTreeSet::from(["old".to_string(), META_TEMPLATE.to_string()]);
        let (set, delete) = metadata_changes(&current, &desired, &removed);
        assert_eq!(set, m(&[("team", "b"), ("new", "z")]));
        assert_eq!(
            delete,
            vec!["old"],
            "only keys the user removed; never ours"
        );
        assert_eq!(
            metadata_changes(&desired, &desired, &BTreeSet::new()),
            (BTreeMap::new(), vec![])
        );
    }

    #[test]
    fn orphan_nodes_are_this_pools_only() {
        let n = |name: &str, uid: Option<&str>| NodeFacts {
            name: name.into(),
            ready: false,
            pool_uid: uid.map(String::from),
            not_ready: None,
        };
        let nodes = [
            n("g-live", Some("u1")),
            n("g-gone", Some("u1")),
            n("g-sibling", Some("u2")),
            n("g-legacy", None),
            n("other", None),
        ];
        let recorded = BTreeSet::from(["g-legacy".to_string(), "g-sibling".to_string()]);
        let servers = BTreeSet::from(["g-live".to_string()]);
        assert_eq!(
            orphan_nodes(&nodes, "u1", &recorded, &servers),
            vec!["g-gone", "g-legacy"]
        );
        // An FQDN node name is its server's node, not an orphan.
        let nodes = [n("g-live.novalocal", Some("u1")), n("g-live2", Some("u1"))];
        assert_eq!(
            orphan_nodes(&nodes, "u1", &recorded, &servers),
            vec!["g-live2"]
        );
    }

    #[test]
    fn nodes_are_found_under_short_and_fqdn_hostnames() {
        assert!(is_node_of("general-ab12c", "general-ab12c"));
        assert!(is_node_of("general-ab12c", "general-ab12c.novalocal"));
        assert!(!is_node_of("general-ab12c", "general-ab12cd"));
        assert!(!is_node_of("general-ab12c", "general-ab12"));
        let mut fqdn = node("a", true);
        fqdn.name = "pool-a.novalocal".into();
        let o = observe(
            vec![server("a", "ACTIVE", "1")],
            Nodes::Known(&[fqdn]),
            &BTreeSet::new(),
            true,
        );
        assert_eq!(o[0].health, Health::Ready);
        assert_eq!(o[0].node.as_ref().unwrap().name, "pool-a.novalocal");
    }

    #[test]
    fn a_blind_refresh_keeps_what_was_seen_of_nodes() {
        let mut o = observe(
            vec![server("a", "ACTIVE", "1")],
            Nodes::Unknown,
            &BTreeSet::new(),
            true,
        );
        assert_eq!(o[0].health, Health::Joining);
        let recorded = members(&observe(
            vec![server("a", "ACTIVE", "1")],
            Nodes::Known(&[node("a", true)]),
            &BTreeSet::new(),
            true,
        ));
        carry_recorded_nodes(&mut o, &recorded, true);
        assert_eq!(o[0].health, Health::Ready);
        assert_eq!(members(&o), recorded);
    }
}
