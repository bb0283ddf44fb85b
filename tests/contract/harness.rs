//! The contract suite's harness: one fleet (a management cluster, a NodePort control plane,
//! a pool) on both halves of k0stack-sim, driven by the real Terraform CLI, and the
//! invariant every scenario ends with:
//!
//! - every object in the management cluster that carries a `k0stack.io/owner` annotation
//!   belongs to an instance the state records (`instance_id`, or a pool's `uid`): nothing
//!   orphaned;
//! - every server tagged `k0stack-pool=<uid>` belongs to a pool instance in the state and is
//!   one of its recorded `members`, and every recorded member exists: nothing untracked,
//!   nothing forgotten;
//! - the hosted cluster's nodes are the pool's servers (no node left behind);
//! - every instance the state records still has its main object (a control plane's
//!   `Cluster`, a pool's record).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::{CloudSim, TfDir};

pub const NS: &str = "kmc-system";
pub const MGMT: &str = "k0stack_management_cluster.this";
pub const HCP: &str = "k0stack_hosted_control_plane.dev";
pub const POOL: &str = "k0stack_worker_pool.general";

/// Which resource a scenario is about, and the lifecycle block it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Mgmt,
    Hcp,
    Pool,
}

impl Subject {
    pub fn address(self) -> &'static str {
        match self {
            Subject::Mgmt => MGMT,
            Subject::Hcp => HCP,
            Subject::Pool => POOL,
        }
    }
}

/// The fleet's configuration; `lifecycle` goes into `subject`'s block.
pub fn fleet(cloud: &CloudSim, subject: Subject, lifecycle: &str) -> String {
    let at = |s: Subject| if s == subject { lifecycle } else { "" };
    format!(
        r#"{provider}
resource "k0stack_management_cluster" "this" {{
  namespace = "{NS}"
  {mgmt}
}}

resource "k0stack_hosted_control_plane" "dev" {{
  name                  = "dev"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  service {{
    type = "NodePort"
  }}
  {hcp}
}}

resource "k0stack_worker_pool" "general" {{
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 2
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  {pool}
}}
"#,
        provider = cloud.provider_config(),
        mgmt = at(Subject::Mgmt),
        hcp = at(Subject::Hcp),
        pool = at(Subject::Pool),
    )
}

pub const CBD: &str = "lifecycle {\n    create_before_destroy = true\n  }";

/// A fresh simulated cloud and working directory with the fleet configured (not applied).
pub fn start(subject: Subject, lifecycle: &str) -> (CloudSim, TfDir) {
    let cloud = CloudSim::start();
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write("main.tf", &fleet(&cloud, subject, lifecycle));
    tf.init();
    (cloud, tf)
}

/// The k0stack resources of the state (`terraform show -json`): address → values.
pub fn resources(tf: &TfDir) -> BTreeMap<String, Value> {
    let out = tf.run(&["show", "-json"]);
    out.assert_ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    v["values"]["root_module"]["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter(|r| r["mode"] == "managed")
                .filter_map(|r| Some((r["address"].as_str()?.to_string(), r["values"].clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// Instance ids the state records: `instance_id` of management clusters and control
/// planes, `uid` of pools.
pub fn recorded_instances(state: &BTreeMap<String, Value>) -> BTreeSet<String> {
    state
        .iter()
        .filter_map(|(addr, v)| {
            let key = if addr.starts_with("k0stack_worker_pool.") {
                "uid"
            } else {
                "instance_id"
            };
            v[key].as_str().map(String::from)
        })
        .collect()
}

/// Every object of the management cluster with an owner annotation: owner → objects.
/// A k0smotron `Cluster`'s owner is what its companion ConfigMap says when that is bound
/// to it (an import takes a Cluster over there, never on the Cluster).
pub fn owned_objects(cloud: &CloudSim) -> BTreeMap<String, Vec<String>> {
    let all: Vec<(String, Value)> = {
        let store = cloud.k8s.api.store.lock().unwrap();
        let types = store.types().to_vec();
        types
            .iter()
            .flat_map(|rt| {
                store
                    .list(rt, None, None)
                    .into_iter()
                    .map(|o| (rt.kind.clone(), o))
            })
            .collect()
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (kind, o) in all {
        let owner = match kind.as_str() {
            "Cluster" => crate::support::identity::cluster_owner(&cloud.k8s, &o).0,
            _ => o["metadata"]["annotations"]["k0stack.io/owner"]
                .as_str()
                .map(String::from),
        };
        if let Some(owner) = owner {
            let ns = o["metadata"]["namespace"].as_str().unwrap_or("");
            let name = o["metadata"]["name"].as_str().unwrap_or("");
            out.entry(owner)
                .or_default()
                .push(format!("{kind} {ns}/{name}"));
        }
    }
    out
}

/// Live servers of any pool instance: uid → server ids.
pub fn pool_servers(cloud: &CloudSim) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in cloud.servers() {
        if s.deleting || s.status == "DELETED" {
            continue;
        }
        if let Some(uid) = s.tags.iter().find_map(|t| t.strip_prefix("k0stack-pool=")) {
            out.entry(uid.to_string()).or_default().insert(s.id.clone());
        }
    }
    out
}

/// The invariant of the module doc, with the reason when it does not hold.
#[track_caller]
pub fn assert_consistent(cloud: &CloudSim, tf: &TfDir) {
    // Deletions finish asynchronously in the simulator (as in Nova): give them a moment.
    let start = std::time::Instant::now();
    loop {
        match consistency(cloud, tf) {
            Ok(()) => return,
            Err(e) if start.elapsed() > std::time::Duration::from_secs(5) => {
                panic!("the simulator does not match the state: {e}")
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(200)),
        }
    }
}

fn consistency(cloud: &CloudSim, tf: &TfDir) -> Result<(), String> {
    let state = resources(tf);
    let instances = recorded_instances(&state);
    for (owner, objects) in owned_objects(cloud) {
        if !instances.contains(&owner) {
            return Err(format!("objects of instance {owner}, which no state records: {objects:?} (state records {instances:?})"));
        }
    }
    let servers = pool_servers(cloud);
    let mut recorded_servers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (addr, v) in state
        .iter()
        .filter(|(a, _)| a.starts_with("k0stack_worker_pool."))
    {
        let uid = v["uid"].as_str().unwrap_or_default().to_string();
        let members: BTreeSet<String> = v["members"]
            .as_array()
            .map(|ms| {
                // Members found gone by the last refresh show as DELETED until an apply.
                ms.iter()
                    .filter(|m| m["status"] != "DELETED")
                    .filter_map(|m| m["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let live = servers.get(&uid).cloned().unwrap_or_default();
        if live != members {
            return Err(format!(
                "{addr} (uid {uid}) records {members:?}, the cloud has {live:?}"
            ));
        }
        recorded_servers.insert(uid, members);
    }
    for (uid, ids) in &servers {
        if !recorded_servers.contains_key(uid) {
            return Err(format!(
                "servers of pool instance {uid}, which no state records: {ids:?}"
            ));
        }
    }
    if state.contains_key(HCP) {
        let names: BTreeSet<String> = cloud
            .servers()
            .into_iter()
            .filter(|s| !s.deleting && servers.values().any(|ids| ids.contains(&s.id)))
            .map(|s| s.name)
            .collect();
        let nodes: BTreeSet<String> = cloud
            .hosted_nodes(NS, "dev")
            .iter()
            .filter_map(|n| n["metadata"]["name"].as_str().map(String::from))
            .collect();
        if nodes != names {
            return Err(format!(
                "hosted nodes {nodes:?} are not the pool's servers {names:?}"
            ));
        }
        if cloud.k8s.operator.cluster_uid(NS, "dev").is_none() {
            return Err(format!(
                "{HCP} is in the state but its Cluster does not exist"
            ));
        }
    }
    Ok(())
}

/// Polls until `f` holds (30 s at most).
pub fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(
            start.elapsed().as_secs() < 30,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
