//! `POST /servers`: Nova's validation, quotas, scheduling onto simulated hosts (server
//! group policies), fixed addresses from the network's subnet, and multiple create
//! (`min_count`/`max_count`, `return_reservation_id`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine;
use serde_json::{json, Value};

use super::http::{self, Resp, Service};
use super::nova::{bad_request, usage, Call};
use super::server_count::{self, NicKind};
use super::server_place::{allocate_nics, schedule, NicReq};
use super::servers::{finish_boot, parse_metadata, parse_tags, release_nics};
use super::store::{new_uuid, Server, State, Status};
use super::Ctx;

/// Nova's limit on user_data (base64-encoded size).
const MAX_USER_DATA: usize = 65535;

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

/// `POST /servers`: 202 with the short server body and a `Location` header.
pub fn create(c: &Call) -> Resp {
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
    let (min_count, max_count) = match server_count::parse(s) {
        Ok(n) => n,
        Err(r) => return r,
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
    let user_data_b64 = s["user_data"].as_str().map(String::from);
    let user_data = match decode_user_data(&s["user_data"]) {
        Ok(u) => u,
        Err(r) => return r,
    };
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
    let requested_az = s["availability_zone"].as_str().map(|_| az.clone());
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
    let shareable: Vec<NicKind> = nic_reqs
        .iter()
        .map(|n| match n {
            NicReq::Net { fixed_ip, .. } => NicKind::Network {
                fixed_ip: fixed_ip.is_some(),
            },
            NicReq::Port(_) => NicKind::Port,
        })
        .collect();
    if let Err(r) =
        server_count::check_shareable(max_count, &shareable, s.get("hostname").is_some())
    {
        return r;
    }
    // Quotas, in Nova's order: instances/cores/ram for the count, then metadata, then
    // the group's members.
    let u = usage(&st, c.project_id());
    let q = st.quotas;
    let count = match server_count::allowed(&q, &u, &flavor, min_count, max_count) {
        Ok(n) => n,
        Err(r) => return r,
    };
    if metadata.len() as u64 > q.metadata_items {
        return http::error(
            Service::Compute,
            403,
            &format!("Quota exceeded for metadata_items: Requested {}, but already used 0 of {} metadata_items", metadata.len(), q.metadata_items),
        );
    }
    if let Some(g) = group_id.as_ref().and_then(|g| st.server_groups.get(g)) {
        if g.members.len() as u64 + count > q.server_group_members {
            return http::error(
                Service::Compute,
                403,
                "Quota exceeded, too many servers in group",
            );
        }
    }
    let now = SystemTime::now();
    let template = Server {
        id: String::new(),
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
        no_valid_host: false,
        host: None,
        hostname,
        security_groups,
        nics: vec![],
        fault: None,
        created: now,
        updated: now,
        launched_at: None,
        order: 0,
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
        admin_pass: String::new(),
        was_active: false,
        reservation_id: server_count::reservation_id(),
        requested_az,
    };
    let ids = match provision(c, &mut st, &template, &nic_reqs, count) {
        Ok(ids) => ids,
        Err(r) => return r,
    };
    let first = st.servers.get(&ids[0]).cloned().expect("just created");
    drop(st);
    let latency = ctx.faults.get().boot_latency();
    for id in ids {
        let ctx2 = ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(latency).await;
            finish_boot(&ctx2, &id);
        });
    }
    if s["return_reservation_id"].as_bool() == Some(true) {
        return http::json(202, &json!({"reservation_id": first.reservation_id}));
    }
    let id = &first.id;
    let short = json!({"server": {
        "id": id,
        "links": c.links("servers", id),
        "adminPass": first.admin_pass,
        "OS-DCF:diskConfig": first.disk_config,
        "security_groups": first.security_groups.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
    }});
    let r = http::json(202, &short);
    http::with_header(r, "location", &format!("{}/servers/{id}", c.compute_url()))
}

/// Creates `count` servers from `template` (all or none: an address that runs out takes
/// back the ones made before). The scheduler places a request's servers together: when
/// one of them has no valid host, none has (all go to ERROR at boot).
fn provision(
    c: &Call,
    st: &mut State,
    template: &Server,
    nic_reqs: &[NicReq],
    count: u64,
) -> Result<Vec<String>, Resp> {
    let group = template.server_groups.first().cloned();
    let mut made: Vec<String> = Vec::new();
    let mut unplaced = false;
    for index in 0..count {
        let id = new_uuid();
        let (name, hostname) =
            server_count::names(&template.name, &template.hostname, count, index);
        let host = schedule(st, group.as_deref());
        let mut nics = Vec::new();
        if host.is_some() {
            match allocate_nics(st, &id, c.project_id(), nic_reqs, &template.security_groups) {
                Ok(n) => nics = n,
                Err(r) => {
                    undo(st, &made);
                    return Err(r);
                }
            }
        }
        unplaced |= host.is_none();
        st.next_order += 1;
        let server = Server {
            id: id.clone(),
            name,
            hostname,
            no_valid_host: host.is_none(),
            host,
            nics,
            order: st.next_order,
            admin_pass: new_uuid().replace('-', "")[..12].to_string(),
            ..template.clone()
        };
        if let Some(g) = group.as_ref().and_then(|g| st.server_groups.get_mut(g)) {
            g.members.push(id.clone());
        }
        st.record("server.create", &id, &server.name);
        st.servers.insert(id.clone(), server);
        made.push(id);
    }
    if unplaced {
        for id in &made {
            let nics = st.servers.get_mut(id).map(|s| {
                s.no_valid_host = true;
                s.host = None;
                std::mem::take(&mut s.nics)
            });
            release_nics(st, &nics.unwrap_or_default());
        }
    }
    Ok(made)
}

/// Takes back servers `provision` made before it failed.
fn undo(st: &mut State, ids: &[String]) {
    for id in ids {
        if let Some(s) = st.servers.remove(id) {
            release_nics(st, &s.nics);
        }
        for g in st.server_groups.values_mut() {
            g.members.retain(|m| m != id);
        }
    }
}
