//! Neutron quotas: `GET /v2.0/quotas/{project_id}` (limits), `.../details` (limit, used,
//! reserved) and `.../default`. `openstack quota show` asks for them after Nova's and
//! fails when they are missing.
//!
//! The resources are those an ML2 Neutron registers without the L3 router plugin (the sim
//! serves no routers or floating IPs): the core ones (`network`, `subnet`, `subnetpool`,
//! `port`: neutron/pecan_wsgi/startup.py `RESOURCES`), `security_group` and
//! `security_group_rule` (neutron/extensions/securitygroup.py) and `rbac_policy`
//! (neutron/extensions/rbac.py), with the defaults of neutron/conf/quota.py; neutron 29.0.0.
//! The sim's Neutron does not enforce them (ports are made by Nova, within Nova's quotas).

use serde_json::{json, Map, Value};

use super::http::{self, Resp, Service};
use super::store::{State, Token};

/// (resource, default limit); -1 is unlimited (`default_quota`).
const LIMITS: &[(&str, i64)] = &[
    ("network", 100),
    ("subnet", 100),
    ("subnetpool", -1),
    ("port", 500),
    ("security_group", 10),
    ("security_group_rule", 100),
    ("rbac_policy", 10),
];

/// What `project_id` uses of each resource.
fn used(st: &State, project_id: &str, resource: &str) -> usize {
    let mine = |p: &str| p == project_id;
    match resource {
        "network" => st.networks.iter().filter(|n| mine(&n.project_id)).count(),
        "subnet" => st.subnets.iter().filter(|s| mine(&s.project_id)).count(),
        "port" => st.ports.values().filter(|p| mine(&p.project_id)).count(),
        "security_group" => st
            .security_groups
            .iter()
            .filter(|g| mine(&g.project_id))
            .count(),
        // Every group of the sim has its two default egress rules (IPv4, IPv6).
        "security_group_rule" => {
            2 * st
                .security_groups
                .iter()
                .filter(|g| mine(&g.project_id))
                .count()
        }
        _ => 0,
    }
}

/// Routes `quotas/...` below `/v2.0`; None: not a quota path.
pub fn route(st: &State, token: &Token, segs: &[&str]) -> Option<Resp> {
    let (pid, view) = match segs {
        ["quotas", pid] => (pid.trim_end_matches(".json"), "limits"),
        ["quotas", pid, v] => (*pid, v.trim_end_matches(".json")),
        _ => return None,
    };
    // neutron/extensions/quotasv2.py `show`: another project's quotas need the
    // `get_quota` policy (admin).
    let admin = st
        .user(&token.user_id)
        .is_some_and(|u| u.roles.iter().any(|r| r == "admin"));
    if token.project_id.as_deref() != Some(pid) && !admin {
        return Some(http::error(
            Service::Network,
            403,
            "(rule:get_quota) is disallowed by policy",
        ));
    }
    let mut quota = Map::new();
    for (resource, limit) in LIMITS {
        let v = match view {
            "limits" | "default" => json!(limit),
            "details" => json!({"limit": limit, "used": used(st, pid, resource), "reserved": 0}),
            _ => {
                return Some(http::error(
                    Service::Network,
                    404,
                    "The resource could not be found.",
                ))
            }
        };
        quota.insert(resource.to_string(), v);
    }
    Some(http::json(200, &json!({ "quota": Value::Object(quota) })))
}
