//! Nova's quota sets (`GET /os-quota-sets/{project_id}[/detail|/defaults]`) and absolute
//! limits (`GET /limits`), with the fields each microversion shows.
//!
//! The network-proxy quotas (`fixed_ips`, `floating_ips`, `security_groups`,
//! `security_group_rules`) are shown only below 2.36, the personality ones
//! (`injected_file*`) only below 2.57 (nova/api/openstack/compute/quota_sets.py
//! `FILTERED_QUOTAS_v236`/`_v257`); limits filter alike and show `maxImageMeta` only below
//! 2.39 (nova/api/openstack/compute/limits.py, views/limits.py); nova 34.0.0. Clients that
//! validate against Nova's response schemas (tempest, openstacksdk's resources) see exactly
//! these keys.

use serde_json::{json, Map, Value};

use super::http::{self, Resp};
use super::nova::{bad_request, usage, Call};

/// Quotas the sim does not model, at Nova's defaults (nova/conf/quota.py; a resource
/// without a config option is -1, unlimited) and never in use.
const PERSONALITY: &[(&str, i64)] = &[
    ("injected_files", 5),
    ("injected_file_content_bytes", 10240),
    ("injected_file_path_bytes", 255),
];
const NETWORK_PROXY: &[(&str, i64)] = &[
    ("fixed_ips", -1),
    ("floating_ips", -1),
    ("security_groups", -1),
    ("security_group_rules", -1),
];

/// Every quota the call's microversion shows: (resource, limit, in use).
fn quotas(c: &Call, project_id: &str) -> Vec<(&'static str, i64, i64)> {
    let st = c.ctx.state.lock().expect("state");
    let q = st.quotas;
    let u = usage(&st, project_id);
    let n = |v: u64| v as i64;
    let mut out = vec![
        ("instances", n(q.instances), n(u.instances)),
        ("cores", n(q.cores), n(u.cores)),
        ("ram", n(q.ram_mb), n(u.ram_mb)),
        ("key_pairs", n(q.key_pairs), 0),
        ("metadata_items", n(q.metadata_items), 0),
        ("server_groups", n(q.server_groups), n(u.groups)),
        ("server_group_members", n(q.server_group_members), 0),
    ];
    if !c.mv.at_least(57) {
        out.extend(PERSONALITY.iter().map(|(k, v)| (*k, *v, 0)));
    }
    if !c.mv.at_least(36) {
        out.extend(NETWORK_PROXY.iter().map(|(k, v)| (*k, *v, 0)));
    }
    out
}

/// `GET /os-quota-sets/{project_id}`, `.../detail` (limit, in_use, reserved) and
/// `.../defaults` (the defaults: the sim's quotas are the same for every project).
pub fn quota_set(c: &Call, project_id: &str, rest: &[&str]) -> Resp {
    let detail = match rest {
        [] | ["defaults"] => false,
        ["detail"] => true,
        _ => return super::nova::not_found("The resource could not be found."),
    };
    // nova/api/openstack/identity.py `verify_project_id`: Keystone's 404 for the
    // project is a 400 here.
    if c.ctx
        .state
        .lock()
        .expect("state")
        .project(project_id)
        .is_none()
    {
        return bad_request(&format!("Project ID {project_id} is not a valid project."));
    }
    let mut set = Map::new();
    set.insert("id".into(), json!(project_id));
    for (k, limit, in_use) in quotas(c, project_id) {
        let v = if detail {
            json!({"limit": limit, "in_use": in_use, "reserved": 0})
        } else {
            json!(limit)
        };
        set.insert(k.into(), v);
    }
    http::json(200, &json!({ "quota_set": Value::Object(set) }))
}

/// `GET /limits`: the project's absolute limits and usage (`rate` is always empty).
pub fn limits(c: &Call) -> Resp {
    let mut abs = Map::new();
    for (k, limit, in_use) in quotas(c, c.project_id()) {
        let names: &[&str] = match k {
            "ram" => &["maxTotalRAMSize"],
            "instances" => &["maxTotalInstances"],
            "cores" => &["maxTotalCores"],
            "key_pairs" => &["maxTotalKeypairs"],
            "floating_ips" => &["maxTotalFloatingIps"],
            "metadata_items" if c.mv.at_least(39) => &["maxServerMeta"],
            "metadata_items" => &["maxServerMeta", "maxImageMeta"],
            "injected_files" => &["maxPersonality"],
            "injected_file_content_bytes" => &["maxPersonalitySize"],
            "security_groups" => &["maxSecurityGroups"],
            "security_group_rules" => &["maxSecurityGroupRules"],
            "server_groups" => &["maxServerGroups"],
            "server_group_members" => &["maxServerGroupMembers"],
            _ => &[],
        };
        for name in names {
            abs.insert(name.to_string(), json!(limit));
        }
        let used = match k {
            "ram" => "totalRAMUsed",
            "cores" => "totalCoresUsed",
            "instances" => "totalInstancesUsed",
            "floating_ips" => "totalFloatingIpsUsed",
            "security_groups" => "totalSecurityGroupsUsed",
            "server_groups" => "totalServerGroupsUsed",
            _ => continue,
        };
        abs.insert(used.into(), json!(in_use));
    }
    http::json(
        200,
        &json!({"limits": {"absolute": Value::Object(abs), "rate": []}}),
    )
}
