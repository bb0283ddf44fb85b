//! Neutron v2.0: networks, subnets, security groups and ports (read-only; ports appear
//! and disappear with servers, one per NIC, `device_id` = server id).
//!
//! Filtering is Neutron's generic one: any top-level attribute as a query parameter,
//! repeated parameters OR-ed, plus `fields`, `limit`/`marker` and `*_links`.

use serde_json::{json, Value};

use super::http::{self, Resp, Service};
use super::store::{iso, State};
use super::{authorize, Ctx, Req};

const CREATED: &str = "2025-01-01T00:00:00Z";

fn networks(st: &State) -> Vec<Value> {
    st.networks
        .iter()
        .map(|n| {
            json!({"status": "ACTIVE", "subnets": n.subnets, "name": n.name,
                "provider:physical_network": null, "admin_state_up": true,
                "project_id": n.project_id, "tenant_id": n.project_id, "qos_policy_id": null,
                "provider:network_type": "local", "router:external": n.external, "mtu": 1500,
                "shared": true, "id": n.id, "provider:segmentation_id": null,
                "description": "", "availability_zones": ["nova"], "tags": [],
                "port_security_enabled": true, "revision_number": 1,
                "created_at": CREATED, "updated_at": CREATED})
        })
        .collect()
}

fn subnets(st: &State) -> Vec<Value> {
    st.subnets
        .iter()
        .map(|s| {
            let (start, end) = s.pool_bounds();
            json!({"name": s.name, "enable_dhcp": true, "network_id": s.network_id,
                "segment_id": null, "project_id": s.project_id, "tenant_id": s.project_id,
                "dns_nameservers": [], "allocation_pools": [{"start": start, "end": end}],
                "host_routes": [], "ip_version": 4, "gateway_ip": s.gateway(), "cidr": s.cidr(),
                "id": s.id, "created_at": CREATED, "description": "", "ipv6_address_mode": null,
                "ipv6_ra_mode": null, "revision_number": 1, "service_types": [],
                "subnetpool_id": null, "tags": [], "updated_at": CREATED})
        })
        .collect()
}

fn security_groups(st: &State) -> Vec<Value> {
    st.security_groups
        .iter()
        .map(|g| {
            let rules: Vec<Value> = ["IPv4", "IPv6"]
                .iter()
                .enumerate()
                .map(|(i, eth)| {
                    json!({"id": format!("{}-egress-{i}", g.id), "security_group_id": g.id,
                        "direction": "egress", "ethertype": eth, "protocol": null,
                        "port_range_min": null, "port_range_max": null, "remote_ip_prefix": null,
                        "remote_group_id": null, "description": "", "project_id": g.project_id,
                        "tenant_id": g.project_id, "revision_number": 0,
                        "created_at": CREATED, "updated_at": CREATED})
                })
                .collect();
            json!({"id": g.id, "name": g.name, "description": g.description,
                "project_id": g.project_id, "tenant_id": g.project_id, "security_group_rules": rules,
                "stateful": true, "shared": false, "tags": [], "revision_number": 1,
                "created_at": CREATED, "updated_at": CREATED})
        })
        .collect()
}

fn ports(st: &State) -> Vec<Value> {
    st.ports
        .values()
        .map(|p| {
            json!({"id": p.id, "name": "", "network_id": p.network_id, "project_id": p.project_id,
                "tenant_id": p.project_id, "mac_address": p.mac, "admin_state_up": true,
                "status": p.status, "device_id": p.device_id,
                "device_owner": if p.device_id.is_empty() { "" } else { "compute:nova" },
                "fixed_ips": [{"subnet_id": p.subnet_id, "ip_address": p.ip.to_string()}],
                "security_groups": p.security_groups, "allowed_address_pairs": [],
                "extra_dhcp_opts": [], "binding:vnic_type": "normal", "description": "",
                "port_security_enabled": true, "tags": [], "revision_number": 1,
                "created_at": iso(p.created), "updated_at": iso(p.created)})
        })
        .collect()
}

/// Neutron's equality filters: every non-paging query parameter must match an attribute
/// (repeated parameters: any of the values).
fn filter(items: Vec<Value>, q: &[(String, String)]) -> Vec<Value> {
    let mut by_key: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (k, v) in q {
        if ![
            "fields",
            "limit",
            "marker",
            "sort_key",
            "sort_dir",
            "page_reverse",
        ]
        .contains(&k.as_str())
        {
            by_key.entry(k).or_default().push(v);
        }
    }
    items
        .into_iter()
        .filter(|it| {
            by_key.iter().all(|(k, vals)| {
                let attr = &it[*k];
                let s = match attr {
                    Value::String(s) => s.clone(),
                    Value::Null => return false,
                    other => other.to_string(),
                };
                vals.iter().any(|v| *v == s)
            })
        })
        .collect()
}

pub fn handle(ctx: &Ctx, req: &Req) -> Resp {
    let segs = req.segs();
    if req.method == ::http::Method::GET && segs.is_empty() {
        return http::json(
            200,
            &json!({"versions": [{"id": "v2.0", "status": "CURRENT",
                "links": [{"rel": "self", "href": format!("{}/network/v2.0/", ctx.base)}]}]}),
        );
    }
    let token = match authorize(ctx, req, Service::Network) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if req.method != ::http::Method::GET {
        return http::error(
            Service::Network,
            405,
            "The simulator's Neutron is read-only.",
        );
    }
    if let ["v2.0", rest @ ..] = segs.as_slice() {
        let st = ctx.state.lock().expect("state");
        if let Some(r) = super::neutron_quotas::route(&st, &token, rest) {
            return r;
        }
    }
    let (collection, id) = match segs.as_slice() {
        ["v2.0", c] => (c.trim_end_matches(".json"), None),
        ["v2.0", c, id] => (*c, Some(id.trim_end_matches(".json"))),
        _ => return http::error(Service::Network, 404, "The resource could not be found."),
    };
    let st = ctx.state.lock().expect("state");
    let (items, singular, missing) = match collection {
        "networks" => (networks(&st), "network", "NetworkNotFound"),
        "subnets" => (subnets(&st), "subnet", "SubnetNotFound"),
        "security-groups" => (
            security_groups(&st),
            "security_group",
            "SecurityGroupNotFound",
        ),
        "ports" => (ports(&st), "port", "PortNotFound"),
        _ => return http::error(Service::Network, 404, "The resource could not be found."),
    };
    drop(st);
    let fields: Vec<&str> = req
        .query
        .iter()
        .filter(|(k, _)| k == "fields")
        .map(|(_, v)| v.as_str())
        .collect();
    let project = |v: Value| -> Value {
        if fields.is_empty() {
            return v;
        }
        let mut out = serde_json::Map::new();
        for f in &fields {
            if let Some(x) = v.get(*f) {
                out.insert(f.to_string(), x.clone());
            }
        }
        Value::Object(out)
    };
    if let Some(id) = id {
        return match items.into_iter().find(|i| i["id"] == id) {
            Some(i) => http::json(200, &json!({ singular: project(i) })),
            None => {
                let what = match singular {
                    "security_group" => format!("Security group {id} does not exist"),
                    s => {
                        let mut w = s.to_string();
                        w[..1].make_ascii_uppercase();
                        format!("{w} {id} could not be found.")
                    }
                };
                http::neutron_error(404, missing, &what)
            }
        };
    }
    let mut items = filter(items, &req.query);
    if let Some(m) = http::query_get(&req.query, "marker") {
        match items.iter().position(|i| i["id"] == m) {
            Some(p) => {
                items.drain(..=p);
            }
            None => items.clear(),
        }
    }
    let limit = http::query_get(&req.query, "limit").and_then(|l| l.parse::<usize>().ok());
    let collection_key = collection.replace('-', "_");
    let mut body = json!({});
    if let Some(l) = limit.filter(|l| *l > 0 && items.len() > *l) {
        items.truncate(l);
        let last = items
            .last()
            .and_then(|i| i["id"].as_str())
            .unwrap_or_default();
        body[format!("{collection_key}_links")] = json!([{"rel": "next", "href": format!(
            "{}/network/v2.0/{collection}?{}", ctx.base, http::query_with_marker(&req.query, l, last))}]);
    }
    body[collection_key] = Value::Array(items.into_iter().map(project).collect());
    http::json(200, &body)
}
