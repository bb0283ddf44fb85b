//! Where a new server goes: a host chosen with its server group's policy, and NICs with
//! fixed addresses from the network's subnet (or an existing port).

use std::net::Ipv4Addr;
use std::time::SystemTime;

use super::http::{self, Resp, Service};
use super::nova::bad_request;
use super::servers::release_nics;
use super::store::{mac, new_uuid, Nic, Port, State};

/// A NIC to create: a network (optionally with a fixed IP) or an existing port.
pub enum NicReq {
    Net {
        id: String,
        fixed_ip: Option<Ipv4Addr>,
    },
    Port(String),
}

/// Picks a host for a new server, honouring its group's policy; None: no valid host.
pub fn schedule(st: &State, group: Option<&str>) -> Option<String> {
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

pub fn allocate_nics(
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
