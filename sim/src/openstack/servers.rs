//! Nova servers: create with Nova's validation, the BUILD -> ACTIVE/ERROR lifecycle on a
//! timer, scheduling onto simulated hosts (server-group policies), fixed addresses from
//! the network's subnet, listing with Nova's filters and pagination, tags and metadata.
//!
//! Servers reaching ACTIVE are announced on the [`EventBus`](crate::events::EventBus)
//! with their decoded user_data: that is how the Kubernetes half "boots" k0s workers.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use serde_json::{json, Value};

use super::http::{self, Resp, Service};
use super::nova::{bad_request, next_link, not_found, parse_limit, usage, Call};
use super::store::{host_id, iso, mac, new_uuid, Nic, Port, Server, State, Status};
use super::{Ctx, ServerView};
use crate::events::{VmEvent, VmInfo};

/// Nova's limit on user_data (base64-encoded size).
const MAX_USER_DATA: usize = 65535;
const MAX_TAGS: usize = 50;
const NO_VALID_HOST: &str = "No valid host was found. There are not enough hosts available.";

pub fn route(c: &Call, segs: &[&str]) -> Resp {
    let m = c.req.method.as_str();
    match (m, segs) {
        ("GET", []) => list(c, false),
        ("POST", []) => create(c),
        ("GET", ["detail"]) => list(c, true),
        ("GET", [id]) => {
            let st = c.ctx.state.lock().expect("state");
            match find(c, &st, id) {
                Some(s) => http::json(200, &json!({"server": server_json(c, s, true)})),
                None => instance_not_found(id),
            }
        }
        ("PUT", [id]) => update(c, id),
        ("DELETE", [id]) => delete(c, id),
        ("POST", [id, "action"]) => super::actions::route(c, id),
        (_, [id, "tags", rest @ ..]) if c.mv.at_least(26) => tags(c, id, rest),
        (_, [id, "metadata", rest @ ..]) => metadata(c, id, rest),
        ("GET", [id, "os-interface"]) => {
            let st = c.ctx.state.lock().expect("state");
            let Some(s) = find(c, &st, id) else {
                return instance_not_found(id);
            };
            let ifaces: Vec<Value> = s
                .nics
                .iter()
                .filter_map(|n| st.ports.get(&n.port_id))
                .map(|p| json!({"port_id": p.id, "net_id": p.network_id, "mac_addr": p.mac,
                    "port_state": p.status, "fixed_ips": [{"subnet_id": p.subnet_id, "ip_address": p.ip.to_string()}]}))
                .collect();
            http::json(200, &json!({ "interfaceAttachments": ifaces }))
        }
        _ => not_found("The resource could not be found."),
    }
}

fn instance_not_found(id: &str) -> Resp {
    not_found(&format!("Instance {id} could not be found."))
}

fn find<'a>(c: &Call, st: &'a State, id: &str) -> Option<&'a Server> {
    st.servers
        .get(id)
        .filter(|s| s.project_id == c.project_id())
}

fn find_mut<'a>(c: &Call, st: &'a mut State, id: &str) -> Option<&'a mut Server> {
    let pid = c.project_id().to_string();
    st.servers.get_mut(id).filter(|s| s.project_id == pid)
}

/// `2013-09-23T13:37:00.880302` (Nova's launched_at has micros and no zone).
fn usg_time(t: SystemTime) -> String {
    let d = time::OffsetDateTime::from(t);
    format!("{}.{:06}", iso(t).trim_end_matches('Z'), d.microsecond())
}

/// A server body as Nova shows it at the call's microversion (`show`: GET /servers/{id}).
pub fn server_json(c: &Call, s: &Server, show: bool) -> Value {
    let mv = c.mv;
    let mut addresses = serde_json::Map::new();
    for n in &s.nics {
        if let Some(list) = addresses
            .entry(n.network_name.clone())
            .or_insert_with(|| json!([]))
            .as_array_mut()
        {
            list.push(
                json!({"addr": n.ip.to_string(), "OS-EXT-IPS-MAC:mac_addr": n.mac,
                "OS-EXT-IPS:type": "fixed", "version": 4}),
            );
        }
    }
    let vm_state = s.status.vm_state();
    let power = s.status.power_state();
    let mut task_state = match s.status {
        Status::Build => json!(if s.host.is_some() {
            "spawning"
        } else {
            "scheduling"
        }),
        _ => super::actions::task_state(s.task),
    };
    if s.deleting {
        task_state = json!("deleting");
    }
    let flavor = if mv.at_least(47) {
        json!({"disk": s.flavor.disk_gb, "ephemeral": 0, "extra_specs": s.flavor.extra_specs,
            "original_name": s.flavor.name, "ram": s.flavor.ram_mb, "swap": 0, "vcpus": s.flavor.vcpus})
    } else {
        json!({"id": s.flavor.id, "links": [{"href": format!("{}/compute/flavors/{}", c.ctx.base, s.flavor.id), "rel": "bookmark"}]})
    };
    let image = if s.image_id.is_empty() {
        json!("")
    } else {
        json!({"id": s.image_id, "links": [{"href": format!("{}/compute/images/{}", c.ctx.base, s.image_id), "rel": "bookmark"}]})
    };
    let volumes: Vec<Value> = s
        .volumes
        .iter()
        .map(|id| {
            if mv.at_least(3) {
                json!({"id": id, "delete_on_termination": true})
            } else {
                json!({ "id": id })
            }
        })
        .collect();
    let mut v = json!({
        "accessIPv4": s.access_ipv4,
        "accessIPv6": s.access_ipv6,
        "addresses": addresses,
        "created": iso(s.created),
        "flavor": flavor,
        "hostId": s.host.as_deref().map(|h| host_id(&s.project_id, h)).unwrap_or_default(),
        "id": s.id,
        "image": image,
        "key_name": s.key_name,
        "links": c.links("servers", &s.id),
        "metadata": s.metadata,
        "name": s.name,
        "config_drive": s.config_drive,
        "OS-DCF:diskConfig": s.disk_config,
        "OS-EXT-AZ:availability_zone": s.availability_zone,
        "OS-EXT-STS:power_state": power,
        "OS-EXT-STS:task_state": task_state,
        "OS-EXT-STS:vm_state": vm_state,
        "os-extended-volumes:volumes_attached": volumes,
        "OS-SRV-USG:launched_at": s.launched_at.map(usg_time),
        "OS-SRV-USG:terminated_at": null,
        "progress": 0,
        "security_groups": s.security_groups.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
        "status": s.status.as_str(),
        "tenant_id": s.project_id,
        "updated": iso(s.updated),
        "user_id": s.user_id,
    });
    if mv.at_least(9) {
        v["locked"] = json!(false);
    }
    if mv.at_least(73) {
        v["locked_reason"] = Value::Null;
    }
    if mv.at_least(19) {
        v["description"] = json!(s.description);
    }
    if mv.at_least(26) {
        v["tags"] = json!(s.tags);
    }
    if mv.at_least(63) {
        v["trusted_image_certificates"] = Value::Null;
    }
    if mv.at_least(90) {
        v["OS-EXT-SRV-ATTR:hostname"] = json!(s.hostname);
    }
    if show && mv.at_least(71) {
        v["server_groups"] = json!(s.server_groups);
    }
    if let Some(f) = &s.fault {
        v["fault"] = f.clone();
    }
    super::admin_view::extend(c, s, &mut v);
    v
}

fn matches_filters(c: &Call, s: &Server, name_re: Option<&regex::Regex>) -> bool {
    let q = &c.req.query;
    let csv = |k: &str| -> Option<Vec<String>> {
        http::query_get(q, k).map(|v| {
            v.split(',')
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        })
    };
    if let Some(re) = name_re {
        if !re.is_match(&s.name) {
            return false;
        }
    }
    if let Some(st) = http::query_get(q, "status") {
        if !s.status.as_str().eq_ignore_ascii_case(st) {
            return false;
        }
    }
    if let Some(f) = http::query_get(q, "flavor") {
        if s.flavor.id != f {
            return false;
        }
    }
    if let Some(i) = http::query_get(q, "image") {
        if s.image_id != i {
            return false;
        }
    }
    if let Some(az) = http::query_get(q, "availability_zone") {
        if s.availability_zone != az {
            return false;
        }
    }
    let has = |t: &String| s.tags.contains(t);
    if let Some(t) = csv("tags") {
        if !t.iter().all(has) {
            return false;
        }
    }
    if let Some(t) = csv("tags-any") {
        if !t.iter().any(has) {
            return false;
        }
    }
    if let Some(t) = csv("not-tags") {
        if !t.is_empty() && t.iter().all(has) {
            return false;
        }
    }
    if let Some(t) = csv("not-tags-any") {
        if t.iter().any(has) {
            return false;
        }
    }
    true
}

/// `GET /servers` and `/servers/detail`: newest first, Nova's filters, limit/marker.
fn list(c: &Call, detail: bool) -> Resp {
    let q = &c.req.query;
    let name_re = match http::query_get(q, "name").map(regex::Regex::new) {
        None => None,
        Some(Ok(re)) => Some(re),
        Some(Err(_)) => return bad_request("Invalid regular expression in the name filter."),
    };
    let ip_re = match http::query_get(q, "ip").map(regex::Regex::new) {
        None => None,
        Some(Ok(re)) => Some(re),
        Some(Err(_)) => return bad_request("Invalid regular expression in the ip filter."),
    };
    let limit = match parse_limit(q) {
        Ok(l) => {
            let max_limit = c.ctx.faults.get().max_limit;
            l.unwrap_or(max_limit).min(max_limit)
        }
        Err(r) => return r,
    };
    let all_tenants = match super::admin_view::all_tenants(q) {
        Ok(true) if !c.admin => return super::admin_view::all_tenants_forbidden(detail),
        Ok(a) => a,
        Err(r) => return r,
    };
    // With all_tenants, `tenant_id`/`project_id` narrow the list; without, they are ignored.
    let project = match all_tenants {
        true => http::query_get(q, "project_id").or_else(|| http::query_get(q, "tenant_id")),
        false => Some(c.project_id()),
    };
    let st = c.ctx.state.lock().expect("state");
    let mut mine: Vec<&Server> = st
        .servers
        .values()
        .filter(|s| project.is_none_or(|p| s.project_id == p))
        .collect();
    mine.sort_by_key(|s| std::cmp::Reverse(s.order));
    let after = match http::query_get(q, "marker") {
        None => u64::MAX,
        Some(m) => match mine.iter().find(|s| s.id == m) {
            Some(s) => s.order,
            None => return bad_request(&format!("marker [{m}] not found")),
        },
    };
    let page: Vec<&Server> = mine
        .into_iter()
        .filter(|s| s.order < after)
        .filter(|s| matches_filters(c, s, name_re.as_ref()))
        .filter(|s| {
            ip_re
                .as_ref()
                .is_none_or(|re| s.nics.iter().any(|n| re.is_match(&n.ip.to_string())))
        })
        .take(limit)
        .collect();
    let items: Vec<Value> = page
        .iter()
        .map(|s| {
            if detail {
                server_json(c, s, false)
            } else {
                json!({"id": s.id, "links": c.links("servers", &s.id), "name": s.name})
            }
        })
        .collect();
    let mut body = json!({ "servers": items });
    if let Some(last) = page.last().filter(|_| page.len() == limit) {
        let path = if detail { "servers/detail" } else { "servers" };
        body["servers_links"] = next_link(c, path, limit, &last.id);
    }
    http::json(200, &body)
}

fn valid_tag(t: &Value) -> Option<String> {
    let t = t.as_str()?;
    (!t.is_empty() && t.chars().count() <= 60 && !t.contains('/') && !t.contains(','))
        .then(|| t.to_string())
}

fn parse_tags(v: &Value) -> Result<Vec<String>, Resp> {
    let bad = || {
        bad_request(&format!(
            "Invalid input for field/attribute tags. Value: {v}. Tags must be at most {MAX_TAGS} strings of 1-60 characters without '/' or ','."
        ))
    };
    let Some(list) = v.as_array() else {
        return Err(bad());
    };
    if list.len() > MAX_TAGS {
        return Err(bad());
    }
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let t = valid_tag(t).ok_or_else(bad)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn parse_metadata(v: &Value) -> Result<BTreeMap<String, String>, Resp> {
    let Some(obj) = v.as_object() else {
        return Err(bad_request("Invalid input for field/attribute metadata."));
    };
    let mut out = BTreeMap::new();
    for (k, val) in obj {
        let Some(s) = val.as_str() else {
            return Err(bad_request(&format!(
                "Invalid input for field/attribute metadata. Value of {k} is not a string."
            )));
        };
        if k.is_empty() || k.len() > 255 || s.len() > 255 {
            return Err(bad_request(
                "Invalid input for field/attribute metadata. Keys and values must be 1-255 characters.",
            ));
        }
        out.insert(k.clone(), s.to_string());
    }
    Ok(out)
}

fn decode_user_data(v: &Value) -> Result<Option<String>, Resp> {
    if v.is_null() {
        return Ok(None);
    }
    let Some(s) = v.as_str() else {
        return Err(bad_request("Invalid input for field/attribute user_data."));
    };
    if s.len() > MAX_USER_DATA {
        return Err(bad_request(&format!(
            "User data too large. User data must be no larger than {MAX_USER_DATA} bytes once base64 encoded. Your data is {} bytes",
            s.len()
        )));
    }
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(compact) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(_) => Err(bad_request("User data needs to be valid base 64.")),
    }
}

/// `flavorRef`/`imageRef` may be ids or URLs ending in the id.
fn ref_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.rsplit('/').next().unwrap_or(s).to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn hostname_of(name: &str) -> String {
    let h: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let h = h.trim_matches('-');
    if h.is_empty() {
        "server".into()
    } else {
        h.chars().take(63).collect()
    }
}

/// A NIC to create: a network (optionally with a fixed IP) or an existing port.
enum NicReq {
    Net {
        id: String,
        fixed_ip: Option<Ipv4Addr>,
    },
    Port(String),
}

fn parse_networks(c: &Call, st: &State, v: Option<&Value>) -> Result<Vec<NicReq>, Resp> {
    let default_net = || -> Result<Vec<NicReq>, Resp> {
        match st.networks.iter().find(|n| n.name == st.default_network) {
            Some(n) => Ok(vec![NicReq::Net {
                id: n.id.clone(),
                fixed_ip: None,
            }]),
            None => Err(bad_request(
                "Unable to automatically allocate a network for project",
            )),
        }
    };
    let bad = || bad_request("Invalid input for field/attribute networks.");
    match v {
        None | Some(Value::Null) => default_net(),
        Some(Value::String(s)) if c.mv.at_least(37) && s == "auto" => default_net(),
        Some(Value::String(s)) if c.mv.at_least(37) && s == "none" => Ok(vec![]),
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for n in list {
                if let Some(port) = n["port"].as_str() {
                    match st.ports.get(port) {
                        None => {
                            return Err(bad_request(&format!("Port {port} could not be found.")))
                        }
                        Some(p) if !p.device_id.is_empty() => {
                            return Err(http::error(
                                Service::Compute,
                                409,
                                &format!("Port {port} is still in use."),
                            ))
                        }
                        Some(_) => out.push(NicReq::Port(port.into())),
                    }
                    continue;
                }
                let Some(uuid) = n["uuid"].as_str() else {
                    return Err(bad());
                };
                if !st.networks.iter().any(|x| x.id == uuid) {
                    return Err(bad_request(&format!("Network {uuid} could not be found.")));
                }
                let fixed_ip =
                    match n["fixed_ip"].as_str() {
                        None => None,
                        Some(ip) => Some(ip.parse::<Ipv4Addr>().map_err(|_| {
                            bad_request(&format!("Invalid fixed IP address ({ip})"))
                        })?),
                    };
                out.push(NicReq::Net {
                    id: uuid.into(),
                    fixed_ip,
                });
            }
            Ok(out)
        }
        _ => Err(bad()),
    }
}

/// Picks a host for a new server, honouring its group's policy; None: no valid host.
fn schedule(st: &State, group: Option<&str>) -> Option<String> {
    let load = |h: &String| {
        st.servers
            .values()
            .filter(|s| s.host.as_ref() == Some(h))
            .count()
    };
    let least_loaded = |cands: Vec<&String>| -> Option<String> {
        cands.into_iter().min_by_key(|h| load(h)).cloned()
    };
    let Some(g) = group.and_then(|g| st.server_groups.get(g)) else {
        return least_loaded(st.hosts.iter().collect());
    };
    let member_hosts: Vec<&String> = g
        .members
        .iter()
        .filter_map(|m| st.servers.get(m))
        .filter_map(|s| s.host.as_ref())
        .collect();
    let on = |h: &String| member_hosts.iter().filter(|x| **x == h).count();
    match g.policy.as_str() {
        "anti-affinity" => {
            let max = g.rules["max_server_per_host"].as_u64().unwrap_or(1) as usize;
            least_loaded(st.hosts.iter().filter(|h| on(h) < max).collect())
        }
        "soft-anti-affinity" => {
            let fewest = st.hosts.iter().map(on).min().unwrap_or(0);
            least_loaded(st.hosts.iter().filter(|h| on(h) == fewest).collect())
        }
        // affinity / soft-affinity: with the group's first placed member.
        _ => match member_hosts.first() {
            Some(h) => Some((*h).clone()),
            None => least_loaded(st.hosts.iter().collect()),
        },
    }
}

fn quota_error(resource: &str, requested: u64, used: u64, allowed: u64) -> Resp {
    http::error(
        Service::Compute,
        403,
        &format!(
            "Quota exceeded for {resource}: Requested {requested}, but already used {used} of {allowed} {resource}"
        ),
    )
}

/// `POST /servers`: 202 with the short server body and a `Location` header.
fn create(c: &Call) -> Resp {
    let body = match c.body() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(s) = body.get("server").filter(|v| v.is_object()) else {
        return bad_request(
            "Invalid input for field/attribute server. 'server' is a required property",
        );
    };
    let Some(name) = s["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty() && n.len() <= 255)
    else {
        return bad_request("Invalid input for field/attribute name. Value: None. 'name' is a required property and must be 1-255 characters");
    };
    for (key, min) in [("tags", 52), ("hostname", 90), ("description", 19)] {
        if s.get(key).is_some() && !c.mv.at_least(min) {
            return bad_request(&format!(
                "Invalid input for field/attribute server. Additional properties are not allowed ('{key}' was unexpected)"
            ));
        }
    }
    let tags = match s.get("tags") {
        Some(t) => match parse_tags(t) {
            Ok(t) => t,
            Err(r) => return r,
        },
        None => vec![],
    };
    let metadata = match s.get("metadata") {
        Some(m) => match parse_metadata(m) {
            Ok(m) => m,
            Err(r) => return r,
        },
        None => BTreeMap::new(),
    };
    let user_data = match decode_user_data(&s["user_data"]) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let user_data_b64 = s["user_data"].as_str().map(String::from);
    let hostname = match s.get("hostname") {
        None => hostname_of(name),
        Some(h) => match h.as_str().filter(|h| !h.is_empty() && h.len() <= 255) {
            Some(h) => h.to_string(),
            None => return bad_request("Invalid input for field/attribute hostname."),
        },
    };
    let Some(flavor_id) = ref_id(&s["flavorRef"]) else {
        return bad_request(
            "Invalid input for field/attribute flavorRef. 'flavorRef' is a required property",
        );
    };
    let disk_config = match s["OS-DCF:diskConfig"].as_str() {
        None => "MANUAL",
        Some("AUTO") => "AUTO",
        Some("MANUAL") => "MANUAL",
        Some(_) => return bad_request("Invalid input for field/attribute OS-DCF:diskConfig."),
    };
    let bdms = match &s["block_device_mapping_v2"] {
        Value::Null => vec![],
        Value::Array(a) => a.clone(),
        _ => return bad_request("Invalid input for field/attribute block_device_mapping_v2."),
    };
    let hints = if body["OS-SCH-HNT:scheduler_hints"].is_object() {
        &body["OS-SCH-HNT:scheduler_hints"]
    } else {
        &body["os:scheduler_hints"]
    };
    let group_id = hints["group"].as_str().map(String::from);

    let ctx: &Arc<Ctx> = c.ctx;
    let mut st = ctx.state.lock().expect("state");
    let Some(flavor) = st.flavors.iter().find(|f| f.id == flavor_id).cloned() else {
        return bad_request(&format!("Flavor {flavor_id} could not be found."));
    };
    let image_id = ref_id(&s["imageRef"]).unwrap_or_default();
    match st.images.iter().find(|i| i.id == image_id) {
        None if !image_id.is_empty() => return bad_request("Can not find requested image"),
        // nova/compute/api.py _validate_flavor_image: ImageNotActive, answered 400.
        Some(i) if i.status != "active" => {
            return bad_request(&format!("Image {image_id} is not active."))
        }
        _ => {}
    }
    let mut volumes = Vec::new();
    let mut boots_from_volume = false;
    for b in &bdms {
        let source = b["source_type"].as_str().unwrap_or("");
        let dest = b["destination_type"].as_str().unwrap_or("volume");
        if !["image", "volume", "snapshot", "blank"].contains(&source)
            || !["volume", "local"].contains(&dest)
        {
            return bad_request(
                "Block Device Mapping is Invalid: source_type and destination_type are not valid.",
            );
        }
        if !b["volume_size"].is_null()
            && b["volume_size"].as_u64().is_none()
            && b["volume_size"]
                .as_str()
                .is_none_or(|v| v.parse::<u64>().is_err())
        {
            return bad_request("Invalid input for field/attribute volume_size.");
        }
        if source == "image" {
            let uuid = b["uuid"].as_str().unwrap_or("");
            match st.images.iter().find(|i| i.id == uuid) {
                None => return bad_request(&format!("Image {uuid} could not be found.")),
                Some(i) if i.status != "active" => {
                    return bad_request(&format!("Image {uuid} is not active."))
                }
                Some(_) => {}
            }
        }
        let boot_index = match &b["boot_index"] {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        if dest == "volume" {
            volumes.push(
                b["uuid"]
                    .as_str()
                    .filter(|_| source == "volume")
                    .map(String::from)
                    .unwrap_or_else(new_uuid),
            );
            if boot_index == Some(0) {
                boots_from_volume = true;
            }
        }
    }
    if image_id.is_empty() && !boots_from_volume {
        return bad_request("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.");
    }
    let az = match s["availability_zone"].as_str() {
        None => "nova".to_string(),
        Some(z) => {
            let z = z.split(':').next().unwrap_or(z).to_string();
            if !st.availability_zones.contains(&z) {
                return bad_request(&format!(
                    "The requested availability zone is not available: {z}"
                ));
            }
            z
        }
    };
    let key_name = match s["key_name"].as_str() {
        None => None,
        Some(k) => {
            if !st
                .keypairs
                .iter()
                .any(|kp| kp.name == k && kp.user_id == c.token.user_id)
            {
                return bad_request("Invalid key_name provided.");
            }
            Some(k.to_string())
        }
    };
    let mut security_groups = Vec::new();
    match &s["security_groups"] {
        Value::Null => security_groups.push("default".to_string()),
        Value::Array(list) => {
            for g in list {
                let Some(n) = g["name"].as_str() else {
                    return bad_request("Invalid input for field/attribute security_groups.");
                };
                match st
                    .security_groups
                    .iter()
                    .find(|sg| sg.name == n || sg.id == n)
                {
                    Some(sg) => security_groups.push(sg.name.clone()),
                    None => {
                        return bad_request(&format!(
                            "Unable to find security_group with name or id '{n}'"
                        ))
                    }
                }
            }
        }
        _ => return bad_request("Invalid input for field/attribute security_groups."),
    }
    if let Some(g) = &group_id {
        if st
            .server_groups
            .get(g)
            .is_none_or(|sg| sg.project_id != c.project_id())
        {
            return bad_request(&format!("Instance group {g} could not be found."));
        }
    }
    let nic_reqs = match parse_networks(c, &st, s.get("networks")) {
        Ok(n) => n,
        Err(r) => return r,
    };
    // Quotas, in Nova's order.
    let u = usage(&st, c.project_id());
    let q = st.quotas;
    if u.instances + 1 > q.instances {
        return quota_error("instances", 1, u.instances, q.instances);
    }
    if u.cores + flavor.vcpus > q.cores {
        return quota_error("cores", flavor.vcpus, u.cores, q.cores);
    }
    if u.ram_mb + flavor.ram_mb > q.ram_mb {
        return quota_error("ram", flavor.ram_mb, u.ram_mb, q.ram_mb);
    }
    if metadata.len() as u64 > q.metadata_items {
        return http::error(
            Service::Compute,
            403,
            &format!("Quota exceeded for metadata_items: Requested {}, but already used 0 of {} metadata_items", metadata.len(), q.metadata_items),
        );
    }
    if let Some(g) = group_id.as_ref().and_then(|g| st.server_groups.get(g)) {
        if g.members.len() as u64 + 1 > q.server_group_members {
            return http::error(
                Service::Compute,
                403,
                "Quota exceeded, too many servers in group",
            );
        }
    }
    let id = new_uuid();
    let host = schedule(&st, group_id.as_deref());
    let mut nics = Vec::new();
    if host.is_some() {
        match allocate_nics(&mut st, &id, c.project_id(), &nic_reqs, &security_groups) {
            Ok(n) => nics = n,
            Err(r) => return r,
        }
    }
    let now = SystemTime::now();
    st.next_order += 1;
    let server = Server {
        id: id.clone(),
        name: name.into(),
        project_id: c.project_id().into(),
        user_id: c.token.user_id.clone(),
        status: Status::Build,
        task: None,
        deleting: false,
        flavor,
        image_id,
        key_name,
        metadata,
        tags,
        user_data,
        user_data_b64,
        availability_zone: az,
        no_valid_host: host.is_none(),
        host,
        hostname,
        security_groups: security_groups.clone(),
        nics,
        fault: None,
        created: now,
        updated: now,
        launched_at: None,
        order: st.next_order,
        server_groups: group_id.iter().cloned().collect(),
        access_ipv4: s["accessIPv4"].as_str().unwrap_or("").into(),
        access_ipv6: s["accessIPv6"].as_str().unwrap_or("").into(),
        description: s["description"].as_str().map(String::from),
        disk_config: disk_config.into(),
        config_drive: if s["config_drive"].as_bool() == Some(true) {
            "True".into()
        } else {
            "".into()
        },
        volumes,
        admin_pass: new_uuid().replace('-', "")[..12].to_string(),
        was_active: false,
    };
    if let Some(g) = group_id.as_ref().and_then(|g| st.server_groups.get_mut(g)) {
        g.members.push(id.clone());
    }
    let short = json!({"server": {
        "id": id,
        "links": c.links("servers", &id),
        "adminPass": server.admin_pass,
        "OS-DCF:diskConfig": server.disk_config,
        "security_groups": security_groups.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
    }});
    st.record("server.create", &id, name);
    st.servers.insert(id.clone(), server);
    drop(st);
    let latency = ctx.faults.get().boot_latency();
    let (ctx2, id2) = (ctx.clone(), id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(latency).await;
        finish_boot(&ctx2, &id2);
    });
    let r = http::json(202, &short);
    http::with_header(r, "location", &format!("{}/servers/{id}", c.compute_url()))
}

fn allocate_nics(
    st: &mut State,
    server_id: &str,
    project_id: &str,
    reqs: &[NicReq],
    security_groups: &[String],
) -> Result<Vec<Nic>, Resp> {
    let sg_ids: Vec<String> = st
        .security_groups
        .iter()
        .filter(|g| security_groups.contains(&g.name))
        .map(|g| g.id.clone())
        .collect();
    let mut nics: Vec<Nic> = Vec::new();
    for r in reqs {
        let port_id = match r {
            NicReq::Port(p) => {
                if let Some(port) = st.ports.get_mut(p) {
                    port.device_id = server_id.into();
                }
                p.clone()
            }
            NicReq::Net { id, fixed_ip } => {
                let Some(subnet) = st.subnets.iter_mut().find(|s| &s.network_id == id) else {
                    release_nics(st, &nics);
                    return Err(bad_request(&format!("Network {id} has no subnet.")));
                };
                let ip = match fixed_ip {
                    Some(ip) => {
                        let off = u32::from(*ip).wrapping_sub(subnet.base);
                        let size = 1u64 << (32 - subnet.prefix as u32);
                        if (off as u64) >= size || subnet.used.contains(&off) {
                            release_nics(st, &nics);
                            return Err(bad_request(&format!(
                                "Fixed IP address {ip} is not available on network {id}."
                            )));
                        }
                        subnet.used.insert(off);
                        *ip
                    }
                    None => match subnet.allocate() {
                        Some(ip) => ip,
                        None => {
                            release_nics(st, &nics);
                            return Err(http::error(
                                Service::Compute,
                                409,
                                &format!("No more IP addresses available on network {id}."),
                            ));
                        }
                    },
                };
                let port = Port {
                    id: new_uuid(),
                    network_id: id.clone(),
                    subnet_id: subnet.id.clone(),
                    ip,
                    mac: mac(),
                    device_id: server_id.into(),
                    status: "DOWN",
                    project_id: project_id.into(),
                    security_groups: sg_ids.clone(),
                    created: SystemTime::now(),
                };
                let pid = port.id.clone();
                st.ports.insert(pid.clone(), port);
                pid
            }
        };
        let Some(port) = st.ports.get(&port_id) else {
            continue;
        };
        let network_name = st
            .networks
            .iter()
            .find(|n| n.id == port.network_id)
            .map(|n| n.name.clone())
            .unwrap_or_default();
        nics.push(Nic {
            network_name,
            port_id,
            ip: port.ip,
            mac: port.mac.clone(),
        });
    }
    Ok(nics)
}

/// Frees the ports and addresses of `nics`.
fn release_nics(st: &mut State, nics: &[Nic]) {
    for n in nics {
        if let Some(p) = st.ports.remove(&n.port_id) {
            if let Some(s) = st.subnets.iter_mut().find(|s| s.id == p.subnet_id) {
                s.release(p.ip);
            }
        }
    }
}

/// The end of BUILD: ACTIVE (announced on the bus) or ERROR with a fault.
pub fn finish_boot(ctx: &Ctx, id: &str) {
    let error_rate = ctx.faults.get().vm_error_rate;
    let mut st = ctx.state.lock().expect("state");
    let hostname = st.servers.get(id).map(|s| {
        let image = st.images.iter().find(|i| i.id == s.image_id);
        super::store::guest_hostname(&s.name, image)
    });
    let Some(s) = st.servers.get_mut(id) else {
        return;
    };
    if s.deleting || s.status != Status::Build {
        return;
    }
    let now = SystemTime::now();
    s.updated = now;
    let failure = if s.no_valid_host {
        Some(NO_VALID_HOST.to_string())
    } else if error_rate > 0.0 && rand::random::<f64>() < error_rate {
        Some(format!(
            "Build of instance {id} aborted: Failed to allocate the network(s), not rescheduling."
        ))
    } else {
        None
    };
    let name = s.name.clone();
    match failure {
        Some(msg) => {
            s.status = Status::Error;
            s.fault = Some(json!({"code": 500, "created": iso(now), "message": msg}));
            let nics = std::mem::take(&mut s.nics);
            release_nics(&mut st, &nics);
            st.record("server.error", id, &name);
        }
        None => {
            s.status = Status::Active;
            s.launched_at = Some(now);
            s.was_active = true;
            let info = VmInfo {
                server_id: id.into(),
                name: name.clone(),
                hostname: hostname.unwrap_or_else(|| name.clone()),
                user_data: s.user_data.clone(),
                ip: s.nics.first().map(|n| n.ip.to_string()).unwrap_or_default(),
                flavor: s.flavor.name.clone(),
            };
            let ports: Vec<String> = s.nics.iter().map(|n| n.port_id.clone()).collect();
            for p in ports {
                if let Some(p) = st.ports.get_mut(&p) {
                    p.status = "ACTIVE";
                }
            }
            st.record("server.active", id, &name);
            drop(st);
            ctx.bus.publish(VmEvent::Active(info));
        }
    }
}

/// Puts a server into ERROR as a failed hypervisor would (admin endpoint); an ACTIVE
/// server is announced as gone. False when there is no such server.
pub fn fail(ctx: &Ctx, id: &str, message: &str) -> bool {
    let mut st = ctx.state.lock().expect("state");
    let Some(s) = st.servers.get_mut(id) else {
        return false;
    };
    let was_active = s.status == Status::Active;
    let now = SystemTime::now();
    s.status = Status::Error;
    s.updated = now;
    s.fault = Some(json!({"code": 500, "created": iso(now), "message": message}));
    let name = s.name.clone();
    st.record("server.error", id, &name);
    drop(st);
    if was_active {
        ctx.bus.publish(VmEvent::Gone {
            server_id: id.into(),
        });
    }
    true
}

fn delete(c: &Call, id: &str) -> Resp {
    let mut st = c.ctx.state.lock().expect("state");
    let Some(s) = find_mut(c, &mut st, id) else {
        return instance_not_found(id);
    };
    if !s.deleting {
        s.deleting = true;
        s.updated = SystemTime::now();
        let name = s.name.clone();
        st.record("server.delete", id, &name);
        let latency = Duration::from_millis(c.ctx.faults.get().delete_latency_ms);
        let (ctx, id) = (c.ctx.clone(), id.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(latency).await;
            remove(&ctx, &id);
        });
    }
    http::empty(204)
}

/// The end of a deletion: the server, its ports and group memberships are gone.
pub fn remove(ctx: &Ctx, id: &str) {
    let mut st = ctx.state.lock().expect("state");
    let Some(s) = st.servers.remove(id) else {
        return;
    };
    release_nics(&mut st, &s.nics);
    for g in st.server_groups.values_mut() {
        g.members.retain(|m| m != id);
    }
    drop(st);
    ctx.bus.publish(VmEvent::Gone {
        server_id: id.into(),
    });
}

fn update(c: &Call, id: &str) -> Resp {
    let body = match c.body() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let u = &body["server"];
    if !u.is_object() {
        return bad_request("Invalid input for field/attribute server.");
    }
    let mut st = c.ctx.state.lock().expect("state");
    let Some(s) = find_mut(c, &mut st, id) else {
        return instance_not_found(id);
    };
    if let Some(n) = u.get("name") {
        match n
            .as_str()
            .filter(|n| !n.trim().is_empty() && n.len() <= 255)
        {
            Some(n) => s.name = n.into(),
            None => return bad_request("Invalid input for field/attribute name."),
        }
    }
    if let Some(d) = u.get("description").filter(|_| c.mv.at_least(19)) {
        s.description = d.as_str().map(String::from);
    }
    s.updated = SystemTime::now();
    let mut v = server_json(c, s, true);
    super::admin_view::strip_before_2_75(c, &mut v);
    http::json(200, &json!({ "server": v }))
}

fn tags(c: &Call, id: &str, rest: &[&str]) -> Resp {
    let m = c.req.method.as_str();
    let body = if m == "PUT" && rest.is_empty() {
        match c.body() {
            Ok(b) => Some(b),
            Err(r) => return r,
        }
    } else {
        None
    };
    let mut st = c.ctx.state.lock().expect("state");
    let Some(s) = find_mut(c, &mut st, id) else {
        return instance_not_found(id);
    };
    match (m, rest) {
        ("GET", []) => http::json(200, &json!({"tags": s.tags})),
        ("PUT", []) => {
            let b = body.unwrap_or_default();
            match parse_tags(&b["tags"]) {
                Ok(t) => {
                    s.tags = t;
                    s.updated = SystemTime::now();
                    http::json(200, &json!({"tags": s.tags}))
                }
                Err(r) => r,
            }
        }
        ("DELETE", []) => {
            s.tags.clear();
            http::empty(204)
        }
        ("GET", [tag]) => {
            let tag = http::pct_decode(tag);
            if s.tags.contains(&tag) {
                http::empty(204)
            } else {
                not_found(&format!("Tag '{tag}' could not be found."))
            }
        }
        ("PUT", [tag]) => {
            let tag = http::pct_decode(tag);
            if s.tags.contains(&tag) {
                return http::empty(204);
            }
            if valid_tag(&json!(tag)).is_none() {
                return bad_request(&format!("Tag '{tag}' is invalid."));
            }
            if s.tags.len() >= MAX_TAGS {
                return bad_request(&format!(
                    "The number of tags exceeded the per-server limit {MAX_TAGS}"
                ));
            }
            s.tags.push(tag.clone());
            let loc = format!(
                "{}/servers/{id}/tags/{}",
                c.compute_url(),
                http::pct_encode(&tag)
            );
            http::with_header(http::empty(201), "location", &loc)
        }
        ("DELETE", [tag]) => {
            let tag = http::pct_decode(tag);
            let before = s.tags.len();
            s.tags.retain(|t| t != &tag);
            if s.tags.len() == before {
                not_found(&format!("Tag '{tag}' could not be found."))
            } else {
                http::empty(204)
            }
        }
        _ => not_found("The resource could not be found."),
    }
}

fn metadata(c: &Call, id: &str, rest: &[&str]) -> Resp {
    let m = c.req.method.as_str();
    let body = if m == "PUT" || m == "POST" {
        match c.body() {
            Ok(b) => Some(b),
            Err(r) => return r,
        }
    } else {
        None
    };
    let limit = c.ctx.state.lock().expect("state").quotas.metadata_items;
    let mut st = c.ctx.state.lock().expect("state");
    let Some(s) = find_mut(c, &mut st, id) else {
        return instance_not_found(id);
    };
    let too_many = |n: usize| {
        http::error(
            Service::Compute,
            403,
            &format!("Quota exceeded for metadata_items: Requested {n}, but already used 0 of {limit} metadata_items"),
        )
    };
    match (m, rest) {
        ("GET", []) => http::json(200, &json!({"metadata": s.metadata})),
        ("PUT" | "POST", []) => {
            let md = match parse_metadata(&body.unwrap_or_default()["metadata"]) {
                Ok(md) => md,
                Err(r) => return r,
            };
            let mut next = if m == "PUT" {
                BTreeMap::new()
            } else {
                s.metadata.clone()
            };
            next.extend(md);
            if next.len() as u64 > limit {
                return too_many(next.len());
            }
            s.metadata = next;
            http::json(200, &json!({"metadata": s.metadata}))
        }
        ("GET", [key]) => match s.metadata.get(*key) {
            Some(v) => http::json(200, &json!({"meta": {*key: v}})),
            None => not_found("Metadata item was not found"),
        },
        ("PUT", [key]) => {
            let md = match parse_metadata(&body.unwrap_or_default()["meta"]) {
                Ok(md) => md,
                Err(r) => return r,
            };
            match md.get(*key) {
                Some(v) if md.len() == 1 => {
                    s.metadata.insert(key.to_string(), v.clone());
                    if s.metadata.len() as u64 > limit {
                        s.metadata.remove(*key);
                        return too_many(limit as usize + 1);
                    }
                    http::json(200, &json!({"meta": {*key: v}}))
                }
                _ => bad_request("Request body and URI mismatch"),
            }
        }
        ("DELETE", [key]) => match s.metadata.remove(*key) {
            Some(_) => http::empty(204),
            None => not_found("Metadata item was not found"),
        },
        _ => not_found("The resource could not be found."),
    }
}

/// Every server of every project, for tests and `GET /admin/servers`.
pub fn views(st: &State) -> Vec<ServerView> {
    let mut all: Vec<&Server> = st.servers.values().collect();
    all.sort_by_key(|s| s.order);
    all.iter()
        .map(|s| ServerView {
            id: s.id.clone(),
            name: s.name.clone(),
            status: s.status.as_str().into(),
            deleting: s.deleting,
            tags: s.tags.clone(),
            metadata: s.metadata.clone(),
            flavor: s.flavor.name.clone(),
            host: s.host.clone(),
            ip: s.nics.first().map(|n| n.ip.to_string()),
            user_data: s.user_data.clone(),
            project_id: s.project_id.clone(),
            server_groups: s.server_groups.clone(),
            fault: s
                .fault
                .as_ref()
                .and_then(|f| f["message"].as_str().map(String::from)),
        })
        .collect()
}
