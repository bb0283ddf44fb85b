//! What one listing of a real Nova means for the Kubernetes half: the pure diff between
//! the servers seen so far and the current `GET /servers/detail`, as the [`VmEvent`]s the
//! simulated Nova publishes for the same changes (`sim/src/openstack/servers.rs`
//! `finish_boot`/`fail`/`remove`, `actions.rs` `finish`).
//!
//! | before → now | event (as the simulated Nova) |
//! |---|---|
//! | unseen or not running → ACTIVE | `Active` the first time, `Resumed` after a stop |
//! | ACTIVE → SHUTOFF, PAUSED, SUSPENDED, SHELVED(_OFFLOADED) | `Stopped` |
//! | ACTIVE → ERROR | `Gone` (its disk and services are lost) |
//! | seen → absent from a complete listing (deleted) | `Gone` |
//!
//! Other statuses (BUILD, REBOOT, MIGRATING, RESIZE, ...) change nothing, like the
//! simulated Nova, which has no such transitions.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::events::{VmEvent, VmInfo};
use crate::openstack::store::guest_hostname_for;

/// A server of `GET /servers/detail` (microversion ≥ 2.47, admin: `OS-EXT-SRV-ATTR:*`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ServerRow {
    pub id: String,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub addresses: Addresses,
    #[serde(default)]
    pub flavor: Value,
    /// `""` (boot from volume) or `{"id": ...}`.
    #[serde(default)]
    pub image: Value,
    #[serde(rename = "OS-EXT-SRV-ATTR:hostname", default)]
    pub hostname: Option<String>,
    /// Outer None: the attribute is not shown (not an admin, or microversion < 2.3);
    /// inner None: the server has no user_data.
    #[serde(
        rename = "OS-EXT-SRV-ATTR:user_data",
        default,
        deserialize_with = "present"
    )]
    pub user_data: Option<Option<String>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `addresses` in Nova's order (network by network, as the ports were attached): the
/// first fixed address is the guest's primary one. A plain JSON map would sort the names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Addresses(pub Vec<(String, Vec<Address>)>);

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Address {
    pub addr: String,
    #[serde(default)]
    pub version: u8,
    #[serde(rename = "OS-EXT-IPS:type", default)]
    pub kind: Option<String>,
}

impl<'de> Deserialize<'de> for Addresses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Addresses;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of network name to addresses")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Addresses, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Vec<Address>>()? {
                    out.push((k, v));
                }
                Ok(Addresses(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl ServerRow {
    /// The image id, None for a server booted from a volume.
    pub fn image_id(&self) -> Option<&str> {
        self.image["id"].as_str().filter(|i| !i.is_empty())
    }

    /// The first fixed IPv4 address (any address when none is marked fixed).
    pub fn primary_ip(&self) -> String {
        let all = || self.addresses.0.iter().flat_map(|(_, a)| a.iter());
        all()
            .find(|a| a.version == 4 && a.kind.as_deref().is_none_or(|k| k == "fixed"))
            .or_else(|| all().next())
            .map(|a| a.addr.clone())
            .unwrap_or_default()
    }

    /// The event's view of the server, named as the simulated Nova names its guests:
    /// the Nova hostname, then `guest_hostname` by the image's `os_distro`.
    pub fn vm_info(&self, os_distro: Option<&str>) -> VmInfo {
        let host = self.hostname.as_deref().unwrap_or(&self.name);
        let flavor = self.flavor["original_name"]
            .as_str()
            .or_else(|| self.flavor["id"].as_str())
            .unwrap_or_default();
        VmInfo {
            server_id: self.id.clone(),
            name: self.name.clone(),
            hostname: guest_hostname_for(host, os_distro),
            user_data: self.user_data.clone().flatten().map(|u| decode(&u)),
            ip: self.primary_ip(),
            flavor: flavor.to_string(),
        }
    }
}

/// Nova's user_data is base64 as sent; decoded as the simulated Nova decodes it (lossy
/// UTF-8, whitespace ignored). Undecodable text is passed on as is: the join refuses it.
fn decode(b64: &str) -> String {
    let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(compact) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => b64.to_string(),
    }
}

/// Where a server we announced stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Announced `Active` (or `Resumed`) and still ACTIVE.
    Running,
    /// Announced, then stopped (`Stopped` published).
    Stopped,
    /// Announced, then ERROR (`Gone` published); it may still run again.
    Failed,
}

/// The servers announced so far, by id.
pub type SeenSet = BTreeMap<String, Seen>;

const STOPPED: &[&str] = &[
    "SHUTOFF",
    "PAUSED",
    "SUSPENDED",
    "SHELVED",
    "SHELVED_OFFLOADED",
];

/// The events that bring `seen` up to `list` (a complete listing), updating `seen`.
/// `distros`: the `os_distro` of images, by id (missing: not known, short hostname).
pub fn diff(
    seen: &mut SeenSet,
    list: &[ServerRow],
    distros: &HashMap<String, Option<String>>,
) -> Vec<VmEvent> {
    let mut out = Vec::new();
    for s in list {
        let before = seen.get(&s.id).copied();
        let id = || s.id.clone();
        let status = s.status.as_str();
        let next = match (before, status) {
            (None, "ACTIVE") => {
                let distro = s.image_id().and_then(|i| distros.get(i)).cloned().flatten();
                out.push(VmEvent::Active(s.vm_info(distro.as_deref())));
                Some(Seen::Running)
            }
            (Some(Seen::Stopped | Seen::Failed), "ACTIVE") => {
                out.push(VmEvent::Resumed { server_id: id() });
                Some(Seen::Running)
            }
            (Some(Seen::Running), st) if STOPPED.contains(&st) => {
                out.push(VmEvent::Stopped { server_id: id() });
                Some(Seen::Stopped)
            }
            (Some(Seen::Running), "ERROR") => {
                out.push(VmEvent::Gone { server_id: id() });
                Some(Seen::Failed)
            }
            (b, _) => b,
        };
        if let Some(n) = next {
            seen.insert(s.id.clone(), n);
        }
    }
    let now: std::collections::BTreeSet<&str> = list.iter().map(|s| s.id.as_str()).collect();
    let vanished: Vec<String> = seen
        .keys()
        .filter(|id| !now.contains(id.as_str()))
        .cloned()
        .collect();
    for id in vanished {
        seen.remove(&id);
        out.push(VmEvent::Gone { server_id: id });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A row parsed from text, as the client parses Nova's answer (a `json!` value would
    /// already have sorted the networks).
    fn row(id: &str, status: &str) -> ServerRow {
        let text = format!(
            r#"{{"id": "{id}", "name": "n-{id}", "status": "{status}",
            "addresses": {{"zeta": [{{"addr": "127.100.0.7", "version": 4, "OS-EXT-IPS:type": "fixed"}}],
                          "alpha": [{{"addr": "10.0.0.1", "version": 4, "OS-EXT-IPS:type": "fixed"}}]}},
            "flavor": {{"original_name": "m1.small", "vcpus": 1}},
            "image": {{"id": "img-rocky"}},
            "OS-EXT-SRV-ATTR:hostname": "h-{id}",
            "OS-EXT-SRV-ATTR:user_data": "I2Nsb3VkLWNvbmZpZwo="}}"#
        );
        serde_json::from_str(&text).unwrap()
    }

    fn ids(evs: &[VmEvent]) -> Vec<String> {
        evs.iter()
            .map(|e| match e {
                VmEvent::Active(v) => format!("active {}", v.server_id),
                VmEvent::Gone { server_id } => format!("gone {server_id}"),
                VmEvent::Stopped { server_id } => format!("stopped {server_id}"),
                VmEvent::Resumed { server_id } => format!("resumed {server_id}"),
            })
            .collect()
    }

    #[test]
    fn a_booted_server_is_announced_once_with_what_the_simulated_nova_gives() {
        let mut seen = SeenSet::new();
        let distros = HashMap::from([("img-rocky".to_string(), Some("rocky".to_string()))]);
        let list = vec![row("a", "BUILD"), row("b", "ACTIVE")];
        let evs = diff(&mut seen, &list, &distros);
        assert_eq!(ids(&evs), ["active b"]);
        let VmEvent::Active(info) = &evs[0] else {
            unreachable!()
        };
        assert_eq!(info.hostname, "h-b.novalocal", "RHEL-family image: FQDN");
        assert_eq!(
            info.ip, "127.100.0.7",
            "Nova's address order, not the names'"
        );
        assert_eq!(info.user_data.as_deref(), Some("#cloud-config\n"));
        assert_eq!(info.flavor, "m1.small");
        assert!(diff(&mut seen, &list, &distros).is_empty(), "nothing new");
        let evs = diff(
            &mut seen,
            &[row("a", "ACTIVE"), row("b", "ACTIVE")],
            &HashMap::new(),
        );
        let VmEvent::Active(info) = &evs[0] else {
            panic!("{evs:?}")
        };
        assert_eq!(info.hostname, "h-a", "unknown distro: the short name");
    }

    #[test]
    fn stops_failures_and_deletions_become_the_simulated_events() {
        let mut seen = SeenSet::new();
        let none = HashMap::new();
        diff(
            &mut seen,
            &[row("a", "ACTIVE"), row("b", "ACTIVE"), row("c", "ACTIVE")],
            &none,
        );
        let evs = diff(
            &mut seen,
            &[row("a", "SHUTOFF"), row("b", "ERROR"), row("c", "REBOOT")],
            &none,
        );
        assert_eq!(ids(&evs), ["stopped a", "gone b"]);
        assert_eq!(seen.get("a"), Some(&Seen::Stopped));
        let evs = diff(&mut seen, &[row("a", "ACTIVE"), row("b", "ERROR")], &none);
        assert_eq!(
            ids(&evs),
            ["resumed a", "gone c"],
            "c vanished from the list"
        );
        let evs = diff(&mut seen, &[row("a", "SHELVED_OFFLOADED")], &none);
        assert_eq!(ids(&evs), ["stopped a", "gone b"]);
        assert!(
            diff(&mut seen, &[], &none)
                == vec![VmEvent::Gone {
                    server_id: "a".into()
                }]
        );
        assert!(seen.is_empty());
        // Never ACTIVE while watched: a stop or error announces nothing.
        assert!(diff(&mut seen, &[row("d", "SHUTOFF"), row("e", "ERROR")], &none).is_empty());
        assert!(seen.is_empty());
    }

    #[test]
    fn user_data_hidden_from_non_admins_is_told_apart_from_none() {
        let mut v = json!({"id": "x", "name": "x", "status": "ACTIVE"});
        let hidden: ServerRow = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(hidden.user_data, None);
        v["OS-EXT-SRV-ATTR:user_data"] = Value::Null;
        let empty: ServerRow = serde_json::from_value(v).unwrap();
        assert_eq!(empty.user_data, Some(None));
        assert_eq!(empty.vm_info(None).user_data, None);
        assert_eq!(empty.primary_ip(), "");
    }
}
