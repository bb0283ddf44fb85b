//! Nova (compute) routing, microversions, and the small resources: flavors, keypairs,
//! server groups, limits, availability zones and quota sets. Servers are in `servers.rs`.
//!
//! Microversions matter because body shapes change with them (embedded flavor ≥ 2.47,
//! tags ≥ 2.26, `policy` ≥ 2.64, ...): a client pinned to 2.90 must see 2.90 bodies, and
//! a client that forgets the header must see 2.1 bodies, as with a real Nova.

use serde_json::{json, Value};
use std::sync::Arc;

use super::http::{self, Resp, Service};
use super::store::{iso, new_uuid, Flavor, ServerGroup, State, Token};
use super::{authorize, nova_keypairs, servers, Ctx, Req};

pub const MIN_MINOR: u32 = 1;
pub const MAX_MINOR: u32 = 96;

/// A request's microversion: `2.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mv(pub u32);

impl Mv {
    pub fn at_least(self, minor: u32) -> bool {
        self.0 >= minor
    }
}

/// Reads `OpenStack-API-Version: compute 2.N` (or the legacy header); default 2.1.
pub fn microversion(req: &Req) -> Result<Mv, Resp> {
    let raw = if let Some(h) = req.header("openstack-api-version") {
        h.split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("compute "))
            .map(|v| v.trim().to_string())
    } else {
        req.header("x-openstack-nova-api-version")
            .map(|v| v.trim().to_string())
    };
    let Some(v) = raw else {
        return Ok(Mv(MIN_MINOR));
    };
    if v.eq_ignore_ascii_case("latest") {
        return Ok(Mv(MAX_MINOR));
    }
    let parsed = v
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    let Some((major, minor)) = parsed else {
        return Err(http::error(
            Service::Compute,
            400,
            &format!(
                "API Version String {v} is of invalid format. Must be of format MajorNum.MinorNum."
            ),
        ));
    };
    if major != 2 || !(MIN_MINOR..=MAX_MINOR).contains(&minor) {
        return Err(http::error(
            Service::Compute,
            406,
            &format!("Version {v} is not supported by the API. Minimum is 2.{MIN_MINOR} and maximum is 2.{MAX_MINOR}."),
        ));
    }
    Ok(Mv(minor))
}

fn echo(mut r: Resp, mv: Mv) -> Resp {
    let h = r.headers_mut();
    if let Ok(v) = format!("compute 2.{}", mv.0).parse() {
        h.insert("openstack-api-version", v);
    }
    if let Ok(v) = format!("2.{}", mv.0).parse() {
        h.insert("x-openstack-nova-api-version", v);
    }
    h.insert(
        "vary",
        ::http::HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
    );
    r
}

pub fn bad_request(msg: &str) -> Resp {
    http::error(Service::Compute, 400, msg)
}

pub fn not_found(msg: &str) -> Resp {
    http::error(Service::Compute, 404, msg)
}

/// Everything a Nova handler needs besides the state.
pub struct Call<'a> {
    pub ctx: &'a Arc<Ctx>,
    pub req: &'a Req,
    pub mv: Mv,
    pub token: Token,
    /// The token's user is an admin (sees `OS-EXT-SRV-ATTR:*` and `all_tenants`).
    pub admin: bool,
}

impl Call<'_> {
    pub fn project_id(&self) -> &str {
        self.token.project_id.as_deref().unwrap_or_default()
    }

    pub fn compute_url(&self) -> String {
        format!("{}/compute/v2.1", self.ctx.base)
    }

    /// `self` and `bookmark` links of a resource, like Nova's.
    pub fn links(&self, collection: &str, id: &str) -> Value {
        json!([
            {"href": format!("{}/{collection}/{id}", self.compute_url()), "rel": "self"},
            {"href": format!("{}/compute/{collection}/{id}", self.ctx.base), "rel": "bookmark"},
        ])
    }

    pub fn body(&self) -> Result<Value, Resp> {
        http::parse_json(&self.req.body).map_err(|e| bad_request(&e))
    }
}

pub fn handle(ctx: &Arc<Ctx>, req: &Req) -> Resp {
    let segs = req.segs();
    // Version discovery is unauthenticated, like Nova's.
    match segs.as_slice() {
        // nova/api/openstack/compute/versions.py: `/` is `Versions.index`, a 200 listing
        // both API versions (v2.0 legacy, v2.1); `/v2.1` and `/v2.1/` are `VersionsV2`.
        [] if req.method == ::http::Method::GET => {
            return http::json(
                200,
                &json!({"versions": [legacy_version(ctx), root_version(ctx)]}),
            )
        }
        ["v2.1"] if req.method == ::http::Method::GET => {
            return http::json(200, &json!({"version": version(ctx)}))
        }
        ["v2.1", ..] => {}
        _ => return not_found("The resource could not be found."),
    }
    let mv = match microversion(req) {
        Ok(mv) => mv,
        Err(r) => return r,
    };
    let token = match authorize(ctx, req, Service::Compute) {
        Ok(t) => t,
        Err(r) => return echo(r, mv),
    };
    let admin = super::admin_view::is_admin(&ctx.state.lock().expect("state"), &token);
    let call = Call {
        ctx,
        req,
        mv,
        token,
        admin,
    };
    echo(route(&call, &segs[1..]), mv)
}

/// `GET /v2.1/`: `VersionsV2.index` (`build_version`: the self link, then `describedby`).
fn version(ctx: &Ctx) -> Value {
    json!({"id": "v2.1", "status": "CURRENT", "version": format!("2.{MAX_MINOR}"),
        "min_version": format!("2.{MIN_MINOR}"), "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{}/compute/v2.1/", ctx.base)},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}]})
}

/// v2.1 as the root document lists it (`build_versions`: no media types, one self link).
fn root_version(ctx: &Ctx) -> Value {
    json!({"id": "v2.1", "status": "CURRENT", "version": format!("2.{MAX_MINOR}"),
        "min_version": format!("2.{MIN_MINOR}"), "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{}/compute/v2.1/", ctx.base)}]})
}

/// The legacy v2.0 entry of the root document (`VERSIONS["v2.0"]`, DEPRECATED).
fn legacy_version(ctx: &Ctx) -> Value {
    json!({"id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "",
        "updated": "2025-07-04T12:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/compute/v2/", ctx.base)}]})
}

fn route(c: &Call, segs: &[&str]) -> Resp {
    let m = c.req.method.as_str();
    match (m, segs) {
        (_, ["servers", ..]) => servers::route(c, &segs[1..]),
        ("GET", ["flavors"]) => flavors_list(c, false),
        ("GET", ["flavors", "detail"]) => flavors_list(c, true),
        ("GET", ["flavors", id]) => {
            let st = c.ctx.state.lock().expect("state");
            match st.flavors.iter().find(|f| f.id == *id) {
                Some(f) => http::json(200, &json!({"flavor": flavor_json(c, f, true)})),
                None => not_found(&format!("Flavor {id} could not be found.")),
            }
        }
        ("GET", ["flavors", id, "os-extra_specs"]) => {
            let st = c.ctx.state.lock().expect("state");
            match st.flavors.iter().find(|f| f.id == *id) {
                Some(f) => http::json(200, &json!({"extra_specs": f.extra_specs})),
                None => not_found(&format!("Flavor {id} could not be found.")),
            }
        }
        ("GET", ["os-keypairs"]) => nova_keypairs::list(c),
        ("POST", ["os-keypairs"]) => nova_keypairs::create(c),
        ("GET", ["os-keypairs", name]) => {
            let st = c.ctx.state.lock().expect("state");
            match st
                .keypairs
                .iter()
                .find(|k| k.name == *name && k.user_id == c.token.user_id)
            {
                Some(k) => {
                    let mut v = nova_keypairs::keypair_json(c, k);
                    v["user_id"] = json!(k.user_id);
                    v["id"] = json!(k.id);
                    v["created_at"] = json!(iso(k.created).trim_end_matches('Z'));
                    v["deleted"] = json!(false);
                    v["deleted_at"] = Value::Null;
                    v["updated_at"] = Value::Null;
                    http::json(200, &json!({ "keypair": v }))
                }
                None => not_found(&format!(
                    "Keypair {name} not found for user {}",
                    c.token.user_id
                )),
            }
        }
        ("DELETE", ["os-keypairs", name]) => {
            let mut st = c.ctx.state.lock().expect("state");
            let before = st.keypairs.len();
            st.keypairs
                .retain(|k| !(k.name == *name && k.user_id == c.token.user_id));
            if st.keypairs.len() == before {
                return not_found(&format!(
                    "Keypair {name} not found for user {}",
                    c.token.user_id
                ));
            }
            http::empty(if c.mv.at_least(2) { 204 } else { 202 })
        }
        ("GET", ["os-server-groups"]) => {
            let st = c.ctx.state.lock().expect("state");
            let groups: Vec<Value> = st
                .server_groups
                .values()
                .filter(|g| g.project_id == c.project_id())
                .map(|g| group_json(c, g))
                .collect();
            http::json(200, &json!({ "server_groups": groups }))
        }
        ("POST", ["os-server-groups"]) => group_create(c),
        ("GET", ["os-server-groups", id]) => {
            let st = c.ctx.state.lock().expect("state");
            match st
                .server_groups
                .get(*id)
                .filter(|g| g.project_id == c.project_id())
            {
                Some(g) => http::json(200, &json!({"server_group": group_json(c, g)})),
                None => not_found(&format!("Instance group {id} could not be found.")),
            }
        }
        ("DELETE", ["os-server-groups", id]) => {
            let mut st = c.ctx.state.lock().expect("state");
            let mine = st
                .server_groups
                .get(*id)
                .is_some_and(|g| g.project_id == c.project_id());
            if !mine {
                return not_found(&format!("Instance group {id} could not be found."));
            }
            st.server_groups.remove(*id);
            for s in st.servers.values_mut() {
                s.server_groups.retain(|g| g != id);
            }
            http::empty(204)
        }
        ("GET", ["limits"]) => super::nova_quotas::limits(c),
        ("GET", ["os-availability-zone"]) => {
            let st = c.ctx.state.lock().expect("state");
            let zones: Vec<Value> = st
                .availability_zones
                .iter()
                .map(|z| json!({"zoneName": z, "zoneState": {"available": true}, "hosts": null}))
                .collect();
            http::json(200, &json!({ "availabilityZoneInfo": zones }))
        }
        ("GET", ["os-quota-sets", pid, rest @ ..]) => super::nova_quotas::quota_set(c, pid, rest),
        _ => not_found("The resource could not be found."),
    }
}

/// Resources a project uses (servers being deleted no longer count).
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    pub instances: u64,
    pub cores: u64,
    pub ram_mb: u64,
    pub groups: u64,
}

pub fn usage(st: &State, project_id: &str) -> Usage {
    let mut u = Usage::default();
    for s in st.servers.values() {
        if s.project_id == project_id && !s.deleting {
            u.instances += 1;
            u.cores += s.flavor.vcpus;
            u.ram_mb += s.flavor.ram_mb;
        }
    }
    u.groups = st
        .server_groups
        .values()
        .filter(|g| g.project_id == project_id)
        .count() as u64;
    u
}

pub fn flavor_json(c: &Call, f: &Flavor, detail: bool) -> Value {
    let mut v = json!({"id": f.id, "name": f.name, "links": c.links("flavors", &f.id)});
    if c.mv.at_least(55) {
        v["description"] = json!(f.description);
    }
    if detail {
        v["OS-FLV-DISABLED:disabled"] = json!(false);
        v["disk"] = json!(f.disk_gb);
        v["OS-FLV-EXT-DATA:ephemeral"] = json!(0);
        v["os-flavor-access:is_public"] = json!(true);
        v["ram"] = json!(f.ram_mb);
        v["swap"] = if c.mv.at_least(75) {
            json!(0)
        } else {
            json!("")
        };
        v["vcpus"] = json!(f.vcpus);
        v["rxtx_factor"] = json!(1.0);
        if c.mv.at_least(61) {
            v["extra_specs"] = json!(f.extra_specs);
        }
    }
    v
}

pub fn parse_limit(q: &[(String, String)]) -> Result<Option<usize>, Resp> {
    match http::query_get(q, "limit") {
        None => Ok(None),
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n as usize)),
            Ok(_) => Err(bad_request("limit param must be positive")),
            Err(_) => Err(bad_request("limit param must be an integer")),
        },
    }
}

/// Applies Nova's `limit`/`marker` to items already in order; returns the page and
/// the `*_links` value (a `next` link when the page is full).
pub fn paginate<T: Clone>(
    c: &Call,
    items: &[T],
    id_of: impl Fn(&T) -> String,
    path: &str,
) -> Result<(Vec<T>, Option<Value>), Resp> {
    let max_limit = c.ctx.faults.get().max_limit;
    let limit = parse_limit(&c.req.query)?
        .unwrap_or(max_limit)
        .min(max_limit);
    let start = match http::query_get(&c.req.query, "marker") {
        None => 0,
        Some(m) => match items.iter().position(|x| id_of(x) == m) {
            Some(i) => i + 1,
            None => return Err(bad_request(&format!("marker [{m}] not found"))),
        },
    };
    let page: Vec<T> = items.iter().skip(start).take(limit).cloned().collect();
    let links = (!page.is_empty() && page.len() == limit)
        .then(|| next_link(c, path, limit, &id_of(page.last().expect("non-empty"))));
    Ok((page, links))
}

/// A `*_links` value with the `next` page after `last`, keeping the request's filters.
pub fn next_link(c: &Call, path: &str, limit: usize, last: &str) -> Value {
    json!([{"href": format!("{}/{path}?{}", c.compute_url(), http::query_with_marker(&c.req.query, limit, last)), "rel": "next"}])
}

fn flavors_list(c: &Call, detail: bool) -> Resp {
    let st = c.ctx.state.lock().expect("state");
    let min_disk: u64 = http::query_get(&c.req.query, "minDisk")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let min_ram: u64 = http::query_get(&c.req.query, "minRam")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let flavors: Vec<Flavor> = st
        .flavors
        .iter()
        .filter(|f| f.disk_gb >= min_disk && f.ram_mb >= min_ram)
        .cloned()
        .collect();
    let path = if detail { "flavors/detail" } else { "flavors" };
    let (page, links) = match paginate(c, &flavors, |f| f.id.clone(), path) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut body =
        json!({"flavors": page.iter().map(|f| flavor_json(c, f, detail)).collect::<Vec<_>>()});
    if let Some(l) = links {
        body["flavors_links"] = l;
    }
    http::json(200, &body)
}

const POLICIES: &[&str] = &[
    "affinity",
    "anti-affinity",
    "soft-affinity",
    "soft-anti-affinity",
];

fn group_json(c: &Call, g: &ServerGroup) -> Value {
    let mut v = json!({"id": g.id, "name": g.name, "members": g.members});
    if c.mv.at_least(64) {
        v["policy"] = json!(g.policy);
        v["rules"] = g.rules.clone();
    } else {
        v["policies"] = json!([g.policy]);
        v["metadata"] = json!({});
    }
    if c.mv.at_least(13) {
        v["project_id"] = json!(g.project_id);
        v["user_id"] = json!(g.user_id);
    }
    v
}

fn group_create(c: &Call) -> Resp {
    let body = match c.body() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let g = &body["server_group"];
    let Some(name) = g["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty() && n.len() <= 255)
    else {
        return bad_request("Invalid input for field/attribute name.");
    };
    let policy = if c.mv.at_least(64) {
        if !g["policies"].is_null() {
            return bad_request(
                "Additional properties are not allowed ('policies' was unexpected)",
            );
        }
        g["policy"].as_str().map(String::from)
    } else {
        if !g["policy"].is_null() || !g["rules"].is_null() {
            return bad_request(
                "Additional properties are not allowed ('policy', 'rules' were unexpected)",
            );
        }
        match g["policies"].as_array().map(Vec::as_slice) {
            Some([p]) => p.as_str().map(String::from),
            _ => None,
        }
    };
    let Some(policy) = policy.filter(|p| {
        POLICIES.contains(&p.as_str()) && (c.mv.at_least(15) || !p.starts_with("soft-"))
    }) else {
        return bad_request("Invalid input for field/attribute policy.");
    };
    let rules = if g["rules"].is_null() {
        json!({})
    } else {
        g["rules"].clone()
    };
    if let Some(obj) = rules.as_object() {
        if !obj.is_empty() && policy != "anti-affinity" {
            return bad_request("Only anti-affinity policy supports rules.");
        }
        if obj
            .iter()
            .any(|(k, v)| k != "max_server_per_host" || v.as_u64().is_none_or(|n| n < 1))
        {
            return bad_request("Invalid input for field/attribute rules.");
        }
    } else {
        return bad_request("Invalid input for field/attribute rules.");
    }
    let mut st = c.ctx.state.lock().expect("state");
    if usage(&st, c.project_id()).groups >= st.quotas.server_groups {
        return http::error(
            Service::Compute,
            403,
            "Quota exceeded, too many server groups.",
        );
    }
    let sg = ServerGroup {
        id: new_uuid(),
        name: name.into(),
        policy,
        rules,
        members: vec![],
        project_id: c.project_id().into(),
        user_id: c.token.user_id.clone(),
    };
    st.server_groups.insert(sg.id.clone(), sg.clone());
    http::json(200, &json!({"server_group": group_json(c, &sg)}))
}
