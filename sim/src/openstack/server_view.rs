//! The server body Nova shows, per microversion: `GET /servers/{id}`, `/servers/detail`,
//! the smaller answer of `PUT /servers/{id}` below 2.75, and `GET /servers/{id}/ips`.
//! Upstream: nova/api/openstack/compute/views/servers.py (`show`), servers.py (`update`),
//! ips.py and views/ips.py; nova 34.0.0.

use std::time::SystemTime;

use serde_json::{json, Value};

use super::http::{self, Resp};
use super::nova::{not_found, Call};
use super::servers::{find, instance_not_found};
use super::store::{host_id, iso, Server, Status};

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
        "security_groups": s.security_groups.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
        "status": s.status.as_str(),
        "tenant_id": s.project_id,
        "updated": iso(s.updated),
        "user_id": s.user_id,
    });
    // views/servers.py `_progress_statuses`.
    if matches!(s.status, Status::Active | Status::Build) {
        v["progress"] = json!(0);
    }
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
    // The request spec's zone: only what the create asked for (views/servers.py
    // `_get_pinned_az`).
    if mv.at_least(96) {
        v["pinned_availability_zone"] = json!(s.requested_az);
    }
    if let Some(f) = &s.fault {
        v["fault"] = f.clone();
    }
    super::admin_view::extend(c, s, &mut v);
    v
}

/// `PUT /servers/{id}`'s answer. From 2.75 it is the full GET view; before, Nova's
/// `update` leaves out the addresses' type and MAC, the zone, config drive, key name,
/// launch times, security groups, the OS-EXT-STS states and attached volumes
/// (nova/api/openstack/compute/servers.py `update`, `show_all_attributes`).
pub fn update_json(c: &Call, s: &Server) -> Value {
    let mut v = server_json(c, s, true);
    if c.mv.at_least(75) {
        return v;
    }
    super::admin_view::strip_before_2_75(c, &mut v);
    if let Some(obj) = v.as_object_mut() {
        for k in [
            "OS-EXT-AZ:availability_zone",
            "config_drive",
            "key_name",
            "OS-SRV-USG:launched_at",
            "OS-SRV-USG:terminated_at",
            "security_groups",
            "OS-EXT-STS:task_state",
            "OS-EXT-STS:vm_state",
            "OS-EXT-STS:power_state",
            "os-extended-volumes:volumes_attached",
        ] {
            obj.remove(k);
        }
    }
    if let Some(nets) = v["addresses"].as_object_mut() {
        for list in nets.values_mut().filter_map(Value::as_array_mut) {
            for a in list.iter_mut().filter_map(Value::as_object_mut) {
                a.remove("OS-EXT-IPS:type");
                a.remove("OS-EXT-IPS-MAC:mac_addr");
            }
        }
    }
    v
}

/// `GET /servers/{id}/ips` and `/ips/{network_label}`: the server's addresses by network
/// name, `addr` and `version` only (views/ips.py, without `extend_address`).
pub fn ips(c: &Call, id: &str, label: Option<&str>) -> Resp {
    let st = c.ctx.state.lock().expect("state");
    let Some(s) = find(c, &st, id) else {
        return instance_not_found(id);
    };
    let mut nets = serde_json::Map::new();
    for n in &s.nics {
        if let Some(list) = nets
            .entry(n.network_name.clone())
            .or_insert_with(|| json!([]))
            .as_array_mut()
        {
            list.push(json!({"version": 4, "addr": n.ip.to_string()}));
        }
    }
    match label {
        None => http::json(200, &json!({ "addresses": nets })),
        Some(l) => {
            let l = http::pct_decode(l);
            match nets.remove(&l) {
                Some(list) => http::json(200, &json!({ l: list })),
                None => not_found("Instance is not a member of specified network"),
            }
        }
    }
}
