//! Nova servers: create with Nova's validation, the BUILD -> ACTIVE/ERROR lifecycle on a
//! timer, scheduling onto simulated hosts (server-group policies), fixed addresses from
//! the network's subnet, listing with Nova's filters and pagination, tags and metadata.
//!
//! Servers reaching ACTIVE are announced on the [`EventBus`](crate::events::EventBus)
//! with their decoded user_data: that is how the Kubernetes half "boots" k0s workers.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::http::{self, Resp, Service};
use super::nova::{bad_request, next_link, not_found, parse_limit, Call};
use super::store::{iso, Nic, Server, State, Status};
use super::{Ctx, ServerView};
use crate::events::{VmEvent, VmInfo};

const MAX_TAGS: usize = 50;
const NO_VALID_HOST: &str = "No valid host was found. There are not enough hosts available.";

pub fn route(c: &Call, segs: &[&str]) -> Resp {
    let m = c.req.method.as_str();
    match (m, segs) {
        ("GET", []) => list(c, false),
        ("POST", []) => super::server_create::create(c),
        ("GET", ["detail"]) => list(c, true),
        ("GET", [id]) => {
            let st = c.ctx.state.lock().expect("state");
            match find(c, &st, id) {
                Some(s) => http::json(
                    200,
                    &json!({"server": super::server_view::server_json(c, s, true)}),
                ),
                None => instance_not_found(id),
            }
        }
        ("PUT", [id]) => update(c, id),
        ("DELETE", [id]) => delete(c, id),
        ("POST", [id, "action"]) => super::actions::route(c, id),
        (_, [id, "tags", rest @ ..]) if c.mv.at_least(26) => tags(c, id, rest),
        (_, [id, "metadata", rest @ ..]) => metadata(c, id, rest),
        ("GET", [id, "ips"]) => super::server_view::ips(c, id, None),
        ("GET", [id, "ips", label]) => super::server_view::ips(c, id, Some(label)),
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

pub(super) fn instance_not_found(id: &str) -> Resp {
    not_found(&format!("Instance {id} could not be found."))
}

pub(super) fn find<'a>(c: &Call, st: &'a State, id: &str) -> Option<&'a Server> {
    st.servers
        .get(id)
        .filter(|s| s.project_id == c.project_id())
}

pub(super) fn find_mut<'a>(c: &Call, st: &'a mut State, id: &str) -> Option<&'a mut Server> {
    let pid = c.project_id().to_string();
    st.servers.get_mut(id).filter(|s| s.project_id == pid)
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
    if let Some(r) = http::query_get(q, "reservation_id") {
        if s.reservation_id != r {
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
                super::server_view::server_json(c, s, false)
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

pub(super) fn valid_tag(t: &Value) -> Option<String> {
    let t = t.as_str()?;
    (!t.is_empty() && t.chars().count() <= 60 && !t.contains('/') && !t.contains(','))
        .then(|| t.to_string())
}

pub(super) fn parse_tags(v: &Value) -> Result<Vec<String>, Resp> {
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

pub(super) fn parse_metadata(v: &Value) -> Result<BTreeMap<String, String>, Resp> {
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

/// Frees the ports and addresses of `nics`.
pub(super) fn release_nics(st: &mut State, nics: &[Nic]) {
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
    let v = super::server_view::update_json(c, s);
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
