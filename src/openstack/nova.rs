//! Nova (compute v2.1 at microversion 2.90): servers, flavors, keypairs, server groups,
//! limits.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::client::{seg, with_query, OpenStack, Service};
use super::error::OsError;
use crate::framework::Secret;

/// Filters of `GET /servers/detail`. Everything given must match.
#[derive(Default, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerQuery {
    /// Servers carrying all of these tags (`tags=a,b`).
    pub tags: Vec<String>,
    /// A regular expression Nova matches against the name (unanchored: use
    /// [`exact_name`] for one name).
    pub name: Option<String>,
    /// `ACTIVE`, `BUILD`, `ERROR`, `SHUTOFF`, ...
    pub status: Option<String>,
}

/// A name regex matching exactly `name` (Nova's `name` filter is a regex).
pub fn exact_name(name: &str) -> String {
    let mut out = String::from("^");
    for c in name.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}

impl ServerQuery {
    /// The `/servers/detail` path with this query.
    pub fn path(&self) -> String {
        let tags = self.tags.join(",");
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if !self.tags.is_empty() {
            pairs.push(("tags", &tags));
        }
        if let Some(n) = &self.name {
            pairs.push(("name", n));
        }
        if let Some(s) = &self.status {
            pairs.push(("status", s));
        }
        with_query("/servers/detail", &pairs)
    }
}

/// An address of a server on one network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub addr: String,
    pub version: u8,
    /// `fixed` or `floating` (`OS-EXT-IPS:type`).
    pub kind: String,
}

/// Why a server is in ERROR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub code: u16,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub status: String,
    pub tags: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    /// Network name to addresses.
    pub addresses: BTreeMap<String, Vec<Address>>,
    /// `flavor.original_name` (embedded flavor, microversion >= 2.47).
    pub flavor_name: Option<String>,
    /// `None` for boot-from-volume servers (Nova answers `"image": ""`).
    pub image_id: Option<String>,
    pub fault: Option<Fault>,
    pub availability_zone: Option<String>,
    pub created: Option<String>,
    pub host_id: Option<String>,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn req_str(v: &Value, k: &str, what: &str) -> Result<String, String> {
    s(v, k).ok_or_else(|| format!("{what} without {k:?}"))
}

impl Server {
    /// Parses a server body (of `GET /servers/{id}` or an item of `/servers/detail`).
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let id = req_str(v, "id", "server")?;
        let addresses = v
            .get("addresses")
            .and_then(Value::as_object)
            .map(|nets| {
                nets.iter()
                    .map(|(net, addrs)| {
                        let list = addrs
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|x| {
                                        Some(Address {
                                            addr: s(x, "addr")?,
                                            version: x
                                                .get("version")
                                                .and_then(Value::as_u64)
                                                .unwrap_or(4)
                                                as u8,
                                            kind: s(x, "OS-EXT-IPS:type")
                                                .unwrap_or_else(|| "fixed".into()),
                                        })
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        (net.clone(), list)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let metadata = v
            .get("metadata")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let v = v
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string());
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let fault = v.get("fault").filter(|f| f.is_object()).map(|f| Fault {
            code: f.get("code").and_then(Value::as_u64).unwrap_or(0) as u16,
            message: s(f, "message").unwrap_or_default(),
        });
        Ok(Server {
            name: s(v, "name").unwrap_or_default(),
            status: s(v, "status").unwrap_or_else(|| "UNKNOWN".into()),
            tags: v
                .get("tags")
                .and_then(Value::as_array)
                .map(|t| {
                    t.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            metadata,
            addresses,
            flavor_name: v.get("flavor").and_then(|f| s(f, "original_name")),
            image_id: v.get("image").and_then(|i| s(i, "id")),
            fault,
            availability_zone: s(v, "OS-EXT-AZ:availability_zone"),
            created: s(v, "created"),
            host_id: s(v, "hostId"),
            id,
        })
    }

    /// The address to reach the server at: on `network_name` if given (else on any
    /// network, by name order), a fixed IPv4 first, then any IPv4, then anything.
    pub fn first_ip(&self, network_name: Option<&str>) -> Option<String> {
        let addrs: Vec<&Address> = self
            .addresses
            .iter()
            .filter(|(n, _)| network_name.is_none_or(|want| want == n.as_str()))
            .flat_map(|(_, a)| a.iter())
            .collect();
        addrs
            .iter()
            .find(|a| a.version == 4 && a.kind == "fixed")
            .or_else(|| addrs.iter().find(|a| a.version == 4))
            .or_else(|| addrs.first())
            .map(|a| a.addr.clone())
    }
}

/// Boot from a new volume created from an image (deleted with the server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootVolume {
    pub image_id: String,
    pub size_gb: u32,
    pub volume_type: Option<String>,
}

/// What to create. `boot_volume` wins over `image_id` when both are set (the image is
/// then only in the volume mapping, as Nova requires).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateServer {
    pub name: String,
    pub flavor_id: String,
    pub image_id: Option<String>,
    pub boot_volume: Option<BootVolume>,
    /// Network UUIDs; empty means `"auto"` (Nova picks or allocates the project's network,
    /// as the openstack CLI does).
    pub networks: Vec<String>,
    /// Security group names (or ids).
    pub security_groups: Vec<String>,
    pub key_name: Option<String>,
    /// Plain text; base64-encoded here, never logged.
    pub user_data: Option<Secret>,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub availability_zone: Option<String>,
    /// A server group id (`scheduler_hints.group`).
    pub server_group: Option<String>,
}

/// Nova rejects larger user_data (the limit applies to the base64 text).
pub const MAX_USER_DATA_BASE64: usize = 65_535;

impl CreateServer {
    /// The `POST /servers` body.
    pub fn body(&self) -> Result<Value, OsError> {
        let mut server = Map::new();
        server.insert("name".into(), json!(self.name));
        server.insert("flavorRef".into(), json!(self.flavor_id));
        match (&self.boot_volume, &self.image_id) {
            (Some(bv), _) => {
                let mut bdm = json!({
                    "boot_index": 0,
                    "uuid": bv.image_id,
                    "source_type": "image",
                    "destination_type": "volume",
                    "volume_size": bv.size_gb,
                    "delete_on_termination": true
                });
                if let Some(t) = &bv.volume_type {
                    bdm["volume_type"] = json!(t);
                }
                server.insert("block_device_mapping_v2".into(), json!([bdm]));
            }
            (None, Some(image)) => {
                server.insert("imageRef".into(), json!(image));
            }
            (None, None) => {
                return Err(OsError::Config(format!(
                    "server '{}': an image or a boot volume is required",
                    self.name
                )))
            }
        }
        let networks = if self.networks.is_empty() {
            json!("auto")
        } else {
            Value::Array(self.networks.iter().map(|n| json!({ "uuid": n })).collect())
        };
        server.insert("networks".into(), networks);
        if !self.security_groups.is_empty() {
            server.insert(
                "security_groups".into(),
                Value::Array(
                    self.security_groups
                        .iter()
                        .map(|n| json!({ "name": n }))
                        .collect(),
                ),
            );
        }
        if let Some(k) = &self.key_name {
            server.insert("key_name".into(), json!(k));
        }
        if let Some(ud) = &self.user_data {
            let encoded = base64::engine::general_purpose::STANDARD.encode(ud.expose());
            if encoded.len() > MAX_USER_DATA_BASE64 {
                return Err(OsError::Config(format!(
                    "server '{}': user_data is {} bytes once base64-encoded; Nova accepts at most {MAX_USER_DATA_BASE64}",
                    self.name,
                    encoded.len()
                )));
            }
            server.insert("user_data".into(), json!(encoded));
        }
        if !self.metadata.is_empty() {
            server.insert("metadata".into(), json!(self.metadata));
        }
        if !self.tags.is_empty() {
            server.insert("tags".into(), json!(self.tags));
        }
        if let Some(az) = &self.availability_zone {
            server.insert("availability_zone".into(), json!(az));
        }
        let mut body = json!({ "server": server });
        if let Some(g) = &self.server_group {
            body["OS-SCH-HNT:scheduler_hints"] = json!({ "group": g });
        }
        Ok(body)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram_mb: u64,
    pub disk_gb: u64,
}

impl Flavor {
    pub fn from_json(v: &Value) -> Result<Self, String> {
        Ok(Self {
            id: req_str(v, "id", "flavor")?,
            name: s(v, "name").unwrap_or_default(),
            vcpus: v.get("vcpus").and_then(Value::as_u64).unwrap_or(0) as u32,
            ram_mb: v.get("ram").and_then(Value::as_u64).unwrap_or(0),
            disk_gb: v.get("disk").and_then(Value::as_u64).unwrap_or(0),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keypair {
    pub name: String,
    pub fingerprint: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerGroup {
    pub id: String,
    pub name: String,
    pub policy: String,
    pub members: Vec<String>,
}

impl ServerGroup {
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let policy = s(v, "policy").or_else(|| {
            // Before 2.64 the answer has a `policies` list.
            v.get("policies")
                .and_then(Value::as_array)
                .and_then(|p| p.first())
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        Ok(Self {
            id: req_str(v, "id", "server group")?,
            name: s(v, "name").unwrap_or_default(),
            policy: policy.unwrap_or_default(),
            members: v
                .get("members")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// Server group policies Nova accepts (>= 2.15 for the soft ones).
pub const SERVER_GROUP_POLICIES: &[&str] = &[
    "anti-affinity",
    "soft-anti-affinity",
    "affinity",
    "soft-affinity",
];

/// Absolute compute limits of the project; -1 means unlimited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_instances: i64,
    pub used_instances: i64,
    pub max_cores: i64,
    pub used_cores: i64,
    pub max_ram_mb: i64,
    pub used_ram_mb: i64,
}

impl Limits {
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let a = v
            .get("limits")
            .and_then(|l| l.get("absolute"))
            .ok_or("limits without limits.absolute")?;
        let n = |k: &str| a.get(k).and_then(Value::as_i64).unwrap_or(-1);
        Ok(Self {
            max_instances: n("maxTotalInstances"),
            used_instances: n("totalInstancesUsed"),
            max_cores: n("maxTotalCores"),
            used_cores: n("totalCoresUsed"),
            max_ram_mb: n("maxTotalRAMSize"),
            used_ram_mb: n("totalRAMUsed"),
        })
    }
}

/// A body that does not have the expected shape.
pub(crate) fn bad_body(method: &str, path: &str, message: String) -> OsError {
    OsError::Transport {
        method: method.into(),
        path: path.into(),
        message: format!("unexpected answer: {message}"),
    }
}

/// Names for a `NotFound` hint: sorted, de-duplicated, at most 50.
pub(crate) fn hint_names(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names.dedup();
    let total = names.len();
    if total > 50 {
        names.truncate(50);
        names.push(format!("... ({} more)", total - 50));
    }
    names
}

impl OpenStack {
    /// All servers matching `q` (every page). Concurrent identical calls share one
    /// listing.
    pub async fn list_servers(&self, q: &ServerQuery) -> Result<Vec<Server>, OsError> {
        Ok(self.list_servers_shared(q).await?.as_ref().clone())
    }

    /// [`Self::list_servers`] without copying the listing for each caller: the pools of one
    /// plan share one listing of every server the provider owns and keep only their own
    /// (1,000 servers copied to 20 pools would be 20,000 copies in memory).
    pub async fn list_servers_shared(&self, q: &ServerQuery) -> Result<Arc<Vec<Server>>, OsError> {
        let path = q.path();
        let key = format!(
            "{} {path} (all pages)",
            self.endpoint(Service::Compute).await?
        );
        let this = self.clone();
        let list = self
            .server_lists()
            .run(key, move || async move {
                let items = this
                    .list_paginated(Service::Compute, &path, "servers", "servers_links")
                    .await?;
                let servers = items
                    .iter()
                    .map(Server::from_json)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|m| bad_body("GET", "/servers/detail", m))?;
                Ok(Arc::new(servers))
            })
            .await?;
        Ok(list)
    }

    /// The server, or `None` if it does not exist (any more).
    pub async fn get_server(&self, id: &str) -> Result<Option<Server>, OsError> {
        let path = format!("/servers/{}", seg(id));
        let Some(v) = self.get_json_opt(Service::Compute, &path).await? else {
            return Ok(None);
        };
        let server = v
            .get("server")
            .ok_or_else(|| bad_body("GET", &path, "no \"server\" object".into()))?;
        Server::from_json(server)
            .map(Some)
            .map_err(|m| bad_body("GET", &path, m))
    }

    /// Creates a server and returns its id (it is then BUILD; poll with `get_server`).
    /// Not retried after the request may have reached Nova (see `retry`).
    pub async fn create_server(&self, req: &CreateServer) -> Result<String, OsError> {
        let body = req.body()?;
        let resp = self
            .request(Service::Compute, Method::POST, "/servers", Some(&body))
            .await?;
        let v = resp.json().map_err(|m| bad_body("POST", "/servers", m))?;
        v.get("server")
            .and_then(|s| s.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad_body("POST", "/servers", "no server id in the answer".into()))
    }

    /// Runs a server action (`os-start`, `unshelve`, `resume`, `unpause`, ...): Nova answers
    /// 202 and changes the state asynchronously (poll the server), or 409 when the server
    /// is not in a state the action starts from.
    pub async fn server_action(&self, id: &str, action: &str) -> Result<(), OsError> {
        let path = format!("/servers/{}/action", seg(id));
        let body = serde_json::json!({ action: null });
        self.request(Service::Compute, Method::POST, &path, Some(&body))
            .await?;
        Ok(())
    }

    /// Sets metadata items of a server (Nova merges them into what it has).
    pub async fn set_server_metadata(
        &self,
        id: &str,
        items: &BTreeMap<String, String>,
    ) -> Result<(), OsError> {
        let path = format!("/servers/{}/metadata", seg(id));
        let body = serde_json::json!({ "metadata": items });
        self.request(Service::Compute, Method::POST, &path, Some(&body))
            .await?;
        Ok(())
    }

    /// Deletes one metadata item of a server; an item (or server) that is not there is fine.
    pub async fn delete_server_metadata(&self, id: &str, key: &str) -> Result<(), OsError> {
        self.delete_ignoring_404(&format!("/servers/{}/metadata/{}", seg(id), seg(key)))
            .await
    }

    /// Deletes a server; a server that does not exist is not an error.
    pub async fn delete_server(&self, id: &str) -> Result<(), OsError> {
        self.delete_ignoring_404(&format!("/servers/{}", seg(id)))
            .await
    }

    async fn delete_ignoring_404(&self, path: &str) -> Result<(), OsError> {
        match self
            .request(Service::Compute, Method::DELETE, path, None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// An availability zone by name; an error listing the available ones when it does not
    /// exist or is not available (Nova would put the servers in ERROR: "No valid host").
    pub async fn find_availability_zone(&self, name: &str) -> Result<String, OsError> {
        let v = self
            .get_json(Service::Compute, "/os-availability-zone")
            .await?;
        let zones: Vec<(String, bool)> = v["availabilityZoneInfo"]
            .as_array()
            .map(|zs| {
                zs.iter()
                    .filter_map(|z| {
                        let name = z["zoneName"].as_str()?.to_string();
                        Some((name, z["zoneState"]["available"].as_bool().unwrap_or(false)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        match zones.iter().find(|(z, _)| z == name) {
            Some((z, true)) => Ok(z.clone()),
            Some((_, false)) => Err(OsError::NotUsable {
                kind: "availability zone",
                name: name.to_string(),
                found: vec![format!("{name} (not available)")],
            }),
            None => Err(OsError::NotFound {
                kind: "availability zone",
                name: name.to_string(),
                available: hint_names(
                    zones
                        .into_iter()
                        .filter(|(_, ok)| *ok)
                        .map(|(z, _)| z)
                        .collect(),
                ),
            }),
        }
    }

    /// All flavors visible to the project.
    pub async fn list_flavors(&self) -> Result<Vec<Flavor>, OsError> {
        let items = self
            .list_paginated(
                Service::Compute,
                "/flavors/detail",
                "flavors",
                "flavors_links",
            )
            .await?;
        items
            .iter()
            .map(Flavor::from_json)
            .collect::<Result<_, _>>()
            .map_err(|m| bad_body("GET", "/flavors/detail", m))
    }

    /// A flavor by id, else by name (error listing the available names when none matches,
    /// or the ids when several have the name).
    /// The flavor list is reused for a few seconds (see `FLAVOR_LIST_TTL`), except when
    /// the flavor is not in it: a miss always asks Nova again.
    pub async fn find_flavor(&self, name_or_id: &str) -> Result<Flavor, OsError> {
        let hit = |fs: &[Flavor]| {
            fs.iter()
                .any(|f| f.id == name_or_id || f.name == name_or_id)
        };
        let flavors = match self.recent_flavors().filter(|fs| hit(fs)) {
            Some(fs) => fs,
            None => {
                let fs = Arc::new(self.list_flavors().await?);
                self.remember_flavors(fs.clone());
                fs
            }
        };
        if let Some(f) = flavors.iter().find(|f| f.id == name_or_id) {
            return Ok(f.clone());
        }
        let matches: Vec<&Flavor> = flavors.iter().filter(|f| f.name == name_or_id).collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(OsError::NotFound {
                kind: "flavor",
                name: name_or_id.to_string(),
                available: hint_names(flavors.iter().map(|f| f.name.clone()).collect()),
            }),
            many => Err(OsError::Ambiguous {
                kind: "flavor",
                name: name_or_id.to_string(),
                matches: many.iter().map(|f| f.id.clone()).collect(),
            }),
        }
    }

    /// The user's keypair `name` (error listing the available names).
    pub async fn find_keypair(&self, name: &str) -> Result<Keypair, OsError> {
        let items = self
            .list_paginated(
                Service::Compute,
                "/os-keypairs",
                "keypairs",
                "keypairs_links",
            )
            .await?;
        let keypairs: Vec<Keypair> = items
            .iter()
            .filter_map(|i| {
                let k = i.get("keypair").unwrap_or(i);
                Some(Keypair {
                    name: s(k, "name")?,
                    fingerprint: s(k, "fingerprint").unwrap_or_default(),
                })
            })
            .collect();
        keypairs
            .iter()
            .find(|k| k.name == name)
            .cloned()
            .ok_or_else(|| OsError::NotFound {
                kind: "keypair",
                name: name.to_string(),
                available: hint_names(keypairs.iter().map(|k| k.name.clone()).collect()),
            })
    }

    /// Creates a server group with `policy` (one of [`SERVER_GROUP_POLICIES`]).
    pub async fn create_server_group(
        &self,
        name: &str,
        policy: &str,
    ) -> Result<ServerGroup, OsError> {
        if !SERVER_GROUP_POLICIES.contains(&policy) {
            return Err(OsError::Config(format!(
                "server group policy {policy:?} is not one of {}",
                SERVER_GROUP_POLICIES.join(", ")
            )));
        }
        let body = server_group_body(name, policy);
        let resp = self
            .request(
                Service::Compute,
                Method::POST,
                "/os-server-groups",
                Some(&body),
            )
            .await?;
        let v = resp
            .json()
            .map_err(|m| bad_body("POST", "/os-server-groups", m))?;
        let g = v
            .get("server_group")
            .ok_or_else(|| bad_body("POST", "/os-server-groups", "no server_group".into()))?;
        ServerGroup::from_json(g).map_err(|m| bad_body("POST", "/os-server-groups", m))
    }

    pub async fn get_server_group(&self, id: &str) -> Result<Option<ServerGroup>, OsError> {
        let path = format!("/os-server-groups/{}", seg(id));
        let Some(v) = self.get_json_opt(Service::Compute, &path).await? else {
            return Ok(None);
        };
        let g = v
            .get("server_group")
            .ok_or_else(|| bad_body("GET", &path, "no server_group".into()))?;
        ServerGroup::from_json(g)
            .map(Some)
            .map_err(|m| bad_body("GET", &path, m))
    }

    /// Deletes a server group; one that does not exist is not an error.
    pub async fn delete_server_group(&self, id: &str) -> Result<(), OsError> {
        self.delete_ignoring_404(&format!("/os-server-groups/{}", seg(id)))
            .await
    }

    /// The project's absolute compute limits and usage.
    pub async fn limits(&self) -> Result<Limits, OsError> {
        let v = self.get_json(Service::Compute, "/limits").await?;
        Limits::from_json(&v).map_err(|m| bad_body("GET", "/limits", m))
    }
}

/// The `POST /os-server-groups` body (microversion >= 2.64: `policy`, not `policies`).
pub fn server_group_body(name: &str, policy: &str) -> Value {
    json!({ "server_group": { "name": name, "policy": policy } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Value {
        let path = crate::openstack::sample_path(&format!("nova/{name}")).expect("samples present");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn servers_detail_sample_parses() {
        if crate::openstack::sample_path("nova").is_none() {
            return;
        }
        let v = sample("servers_v2.90_servers-details-resp.json");
        let servers: Vec<Server> = v["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| Server::from_json(s).unwrap())
            .collect();
        let s = &servers[0];
        assert_eq!(s.id, "f5dc173b-6804-445a-a6d8-c705dad5b5eb");
        assert_eq!(s.name, "new-server-test");
        assert_eq!(s.status, "ACTIVE");
        assert_eq!(s.flavor_name.as_deref(), Some("m1.tiny"));
        assert_eq!(
            s.image_id.as_deref(),
            Some("70a599e0-31e7-49b7-b260-868f441e862b")
        );
        assert_eq!(s.availability_zone.as_deref(), Some("nova"));
        assert_eq!(s.created.as_deref(), Some("2013-09-03T04:01:32Z"));
        assert!(s.host_id.is_some());
        assert_eq!(s.metadata["My Server Name"], "Apache1");
        assert_eq!(
            s.addresses["private"],
            vec![Address {
                addr: "192.168.1.30".into(),
                version: 4,
                kind: "fixed".into()
            }]
        );
        assert_eq!(s.first_ip(None).as_deref(), Some("192.168.1.30"));
        assert_eq!(s.first_ip(Some("private")).as_deref(), Some("192.168.1.30"));
        assert_eq!(s.first_ip(Some("public")), None);
        assert!(s.fault.is_none());
        assert!(s.tags.is_empty());
        // The next link of the sample continues with its marker.
        let next = v["servers_links"][0]["href"].as_str().unwrap();
        assert_eq!(
            super::super::client::next_page("/servers/detail?tags=a", next, None).unwrap(),
            "/servers/detail?tags=a&limit=1&marker=f5dc173b-6804-445a-a6d8-c705dad5b5eb"
        );
    }

    #[test]
    fn server_get_and_tags_samples_parse() {
        if crate::openstack::sample_path("nova").is_none() {
            return;
        }
        let v = sample("servers_v2.90_server-get-resp.json");
        let s = Server::from_json(&v["server"]).unwrap();
        assert_eq!(s.id, "0e44cc9c-e052-415d-afbf-469b0d384170");
        let v = sample("os-server-tags_v2.26_servers-tags-details-resp.json");
        let s = Server::from_json(&v["servers"][0]).unwrap();
        assert!(!s.tags.is_empty());
        let v = sample("servers_v2.71_server-get-down-cell-resp.json");
        let s = Server::from_json(&v["server"]).unwrap();
        assert_eq!(s.status, "UNKNOWN");
    }

    #[test]
    fn error_server_and_boot_from_volume_shapes() {
        let v = json!({
            "id": "x", "name": "w-1", "status": "ERROR", "image": "",
            "fault": {"code": 500, "message": "No valid host was found. There are not enough hosts available.", "created": "2024-01-01T00:00:00Z"},
            "addresses": {
                "b-net": [{"addr": "fd00::5", "version": 6, "OS-EXT-IPS:type": "fixed"}],
                "a-net": [{"addr": "203.0.113.9", "version": 4, "OS-EXT-IPS:type": "floating"},
                          {"addr": "10.0.0.5", "version": 4, "OS-EXT-IPS:type": "fixed"}]
            }
        });
        let s = Server::from_json(&v).unwrap();
        assert_eq!(s.image_id, None);
        let f = s.fault.as_ref().unwrap();
        assert_eq!(f.code, 500);
        assert!(f.message.starts_with("No valid host"));
        assert_eq!(s.first_ip(None).as_deref(), Some("10.0.0.5"));
        assert_eq!(s.first_ip(Some("b-net")).as_deref(), Some("fd00::5"));
        assert!(Server::from_json(&json!({"name": "no id"})).is_err());
    }

    #[test]
    fn create_body_has_the_shape_of_the_2_90_sample() {
        if crate::openstack::sample_path("nova").is_none() {
            return;
        }
        let sample90 = sample("servers_v2.90_server-create-req.json");
        let mut metadata = BTreeMap::new();
        metadata.insert("My Server Name".to_string(), "Apache1".to_string());
        let req = CreateServer {
            name: "new-server-test".into(),
            flavor_id: "1".into(),
            image_id: Some("70a599e0-31e7-49b7-b260-868f441e862b".into()),
            security_groups: vec!["default".into()],
            user_data: Some(Secret::new("#!/bin/bash\n/bin/su\necho \"I am in you!\"\n")),
            metadata,
            availability_zone: Some("us-west".into()),
            ..Default::default()
        };
        let body = req.body().unwrap();
        for k in [
            "name",
            "imageRef",
            "flavorRef",
            "availability_zone",
            "metadata",
            "security_groups",
            "user_data",
        ] {
            assert_eq!(body["server"][k], sample90["server"][k], "{k}");
        }
        // At >= 2.37 networks is required; none given means "auto" (as in the 2.52 sample).
        assert_eq!(body["server"]["networks"], json!("auto"));
        assert!(body.get("OS-SCH-HNT:scheduler_hints").is_none());
        let s52 = sample("servers_v2.52_server-create-req.json");
        assert_eq!(body["server"]["networks"], s52["server"]["networks"]);
    }

    #[test]
    fn create_body_with_everything_and_boot_from_volume() {
        let req = CreateServer {
            name: "pool-a-1".into(),
            flavor_id: "3".into(),
            image_id: Some("ignored-when-booting-from-volume".into()),
            boot_volume: Some(BootVolume {
                image_id: "img".into(),
                size_gb: 40,
                volume_type: Some("ssd".into()),
            }),
            networks: vec!["net-1".into(), "net-2".into()],
            security_groups: vec!["default".into(), "k0s-worker".into()],
            key_name: Some("demo".into()),
            user_data: None,
            metadata: BTreeMap::new(),
            tags: vec!["k0stack".into(), "k0stack-pool=u1".into()],
            availability_zone: None,
            server_group: Some("sg-1".into()),
        };
        let body = req.body().unwrap();
        assert_eq!(
            body,
            json!({
                "server": {
                    "name": "pool-a-1",
                    "flavorRef": "3",
                    "block_device_mapping_v2": [{
                        "boot_index": 0, "uuid": "img", "source_type": "image",
                        "destination_type": "volume", "volume_size": 40,
                        "delete_on_termination": true, "volume_type": "ssd"
                    }],
                    "networks": [{"uuid": "net-1"}, {"uuid": "net-2"}],
                    "security_groups": [{"name": "default"}, {"name": "k0s-worker"}],
                    "key_name": "demo",
                    "tags": ["k0stack", "k0stack-pool=u1"]
                },
                "OS-SCH-HNT:scheduler_hints": {"group": "sg-1"}
            })
        );
        let no_image = CreateServer {
            name: "x".into(),
            ..Default::default()
        };
        assert!(matches!(no_image.body(), Err(OsError::Config(_))));
        let huge = CreateServer {
            name: "x".into(),
            image_id: Some("i".into()),
            user_data: Some(Secret::new("a".repeat(60_000))),
            ..Default::default()
        };
        let e = huge.body().unwrap_err().to_string();
        assert!(e.contains("user_data is 80000 bytes"), "{e}");
        assert!(!e.contains("aaaa"));
    }

    #[test]
    fn create_response_sample_has_the_id() {
        if crate::openstack::sample_path("nova").is_none() {
            return;
        }
        let v = sample("servers_v2.90_server-create-resp.json");
        assert_eq!(
            v["server"]["id"].as_str(),
            Some("f5dc173b-6804-445a-a6d8-c705dad5b5eb")
        );
    }

    #[test]
    fn flavors_keypairs_groups_limits_samples_parse() {
        if crate::openstack::sample_path("nova").is_none() {
            return;
        }
        let v = sample("flavors_v2.75_flavors-detail-resp.json");
        let flavors: Vec<Flavor> = v["flavors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| Flavor::from_json(f).unwrap())
            .collect();
        assert_eq!(
            flavors[1],
            Flavor {
                id: "2".into(),
                name: "m1.small".into(),
                vcpus: 1,
                ram_mb: 2048,
                disk_gb: 20
            }
        );
        let f = Flavor::from_json(&sample("flavors_v2.75_flavor-get-resp.json")["flavor"]).unwrap();
        assert!(!f.id.is_empty());

        let v = sample("os-keypairs_v2.10_keypairs-list-resp.json");
        let k = &v["keypairs"][0]["keypair"];
        assert_eq!(
            s(k, "fingerprint").as_deref(),
            Some("7e:eb:ab:24:ba:d1:e1:88:ae:9a:fb:66:53:df:d3:bd")
        );

        let req = sample("os-server-groups_v2.64_server-groups-post-req.json");
        let ours = server_group_body("test", "anti-affinity");
        assert_eq!(ours["server_group"]["name"], req["server_group"]["name"]);
        assert_eq!(
            ours["server_group"]["policy"],
            req["server_group"]["policy"]
        );
        for f in [
            "os-server-groups_v2.64_server-groups-post-resp.json",
            "os-server-groups_v2.64_server-groups-get-resp.json",
        ] {
            let g = ServerGroup::from_json(&sample(f)["server_group"]).unwrap();
            assert_eq!(
                g,
                ServerGroup {
                    id: "5bbcc3c4-1da2-4437-a48a-66f15b1b13f9".into(),
                    name: "test".into(),
                    policy: "anti-affinity".into(),
                    members: vec![]
                }
            );
        }
        let old = ServerGroup::from_json(
            &json!({"id": "i", "name": "n", "policies": ["affinity"], "members": ["a"]}),
        )
        .unwrap();
        assert_eq!((old.policy.as_str(), old.members.len()), ("affinity", 1));

        let l = Limits::from_json(&sample("limits_v2.57_limit-get-resp.json")).unwrap();
        assert_eq!(
            l,
            Limits {
                max_instances: 10,
                used_instances: 0,
                max_cores: 20,
                used_cores: 0,
                max_ram_mb: 51200,
                used_ram_mb: 0
            }
        );
    }

    #[test]
    fn query_paths() {
        assert_eq!(ServerQuery::default().path(), "/servers/detail");
        let q = ServerQuery {
            tags: vec!["k0stack".into(), "k0stack-pool=abc".into()],
            name: Some(exact_name("pool-a.1")),
            status: Some("ACTIVE".into()),
        };
        assert_eq!(
            q.path(),
            "/servers/detail?tags=k0stack%2Ck0stack-pool%3Dabc&name=%5Epool-a%5C.1%24&status=ACTIVE"
        );
        assert_eq!(exact_name("a.b(c)"), "^a\\.b\\(c\\)$");
    }

    #[test]
    fn hints_are_sorted_and_bounded() {
        let names: Vec<String> = (0..60).map(|i| format!("f{i:02}")).collect();
        let h = hint_names(names);
        assert_eq!(h.len(), 51);
        assert_eq!(h[0], "f00");
        assert_eq!(h[50], "... (10 more)");
    }
}
