//! Neutron v2.0: networks, subnets and security groups by name or id.

use serde_json::Value;

use super::client::{seg, with_query, OpenStack, Service};
use super::error::OsError;
use super::glance::looks_like_id;
use super::nova::{bad_body, hint_names};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    pub id: String,
    pub name: String,
    /// Subnet ids.
    pub subnets: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub cidr: String,
    pub ip_version: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
}

fn str_of(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn id_of(v: &Value, what: &str) -> Result<String, String> {
    v.get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("{what} without \"id\""))
}

impl Network {
    pub fn from_json(v: &Value) -> Result<Self, String> {
        Ok(Self {
            id: id_of(v, "network")?,
            name: str_of(v, "name"),
            subnets: v
                .get("subnets")
                .and_then(Value::as_array)
                .map(|s| {
                    s.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

impl Subnet {
    pub fn from_json(v: &Value) -> Result<Self, String> {
        Ok(Self {
            id: id_of(v, "subnet")?,
            name: str_of(v, "name"),
            network_id: str_of(v, "network_id"),
            cidr: str_of(v, "cidr"),
            ip_version: v.get("ip_version").and_then(Value::as_u64).unwrap_or(4) as u8,
        })
    }
}

impl SecurityGroup {
    pub fn from_json(v: &Value) -> Result<Self, String> {
        Ok(Self {
            id: id_of(v, "security group")?,
            name: str_of(v, "name"),
        })
    }
}

/// One Neutron resource type: its collection path and JSON keys.
struct Kind<T> {
    kind: &'static str,
    /// `networks`, `subnets`, `security-groups`.
    path: &'static str,
    /// `networks` / `network`, ...
    plural: &'static str,
    singular: &'static str,
    parse: fn(&Value) -> Result<T, String>,
}

impl OpenStack {
    /// By id (when `name_or_id` looks like one and exists), else by exact name among
    /// those `extra` filters select. No match lists the names that exist; several list ids.
    async fn neutron_find<T: Clone>(
        &self,
        k: Kind<T>,
        name_or_id: &str,
        extra: &[(&str, &str)],
        name_of: fn(&T) -> String,
        id_of: fn(&T) -> String,
    ) -> Result<T, OsError> {
        let base = format!("/{}", k.path);
        if looks_like_id(name_or_id) {
            let path = format!("{base}/{}", seg(name_or_id));
            if let Some(v) = self.get_json_opt(Service::Network, &path).await? {
                let item = v
                    .get(k.singular)
                    .ok_or_else(|| bad_body("GET", &path, format!("no {:?}", k.singular)))?;
                return (k.parse)(item).map_err(|m| bad_body("GET", &path, m));
            }
        }
        let parse_all = |items: Vec<Value>, path: &str| -> Result<Vec<T>, OsError> {
            items
                .iter()
                .map(|i| (k.parse)(i).map_err(|m| bad_body("GET", path, m)))
                .collect()
        };
        let mut filters = vec![("name", name_or_id)];
        filters.extend_from_slice(extra);
        let rel = with_query(&base, &filters);
        let links = format!("{}_links", k.plural);
        let items = self
            .list_paginated(Service::Network, &rel, k.plural, &links)
            .await?;
        let found: Vec<T> = parse_all(items, &base)?
            .into_iter()
            .filter(|t| name_of(t) == name_or_id)
            .collect();
        match found.len() {
            1 => Ok(found[0].clone()),
            0 => {
                let rel = with_query(&base, extra);
                let all = self
                    .list_paginated(Service::Network, &rel, k.plural, &links)
                    .await
                    .ok()
                    .and_then(|items| parse_all(items, &base).ok())
                    .unwrap_or_default();
                Err(OsError::NotFound {
                    kind: k.kind,
                    name: name_or_id.to_string(),
                    available: hint_names(all.iter().map(name_of).collect()),
                })
            }
            _ => Err(OsError::Ambiguous {
                kind: k.kind,
                name: name_or_id.to_string(),
                matches: found.iter().map(id_of).collect(),
            }),
        }
    }

    pub async fn find_network(&self, name_or_id: &str) -> Result<Network, OsError> {
        let k = Kind {
            kind: "network",
            path: "networks",
            plural: "networks",
            singular: "network",
            parse: Network::from_json,
        };
        self.neutron_find(k, name_or_id, &[], |n| n.name.clone(), |n| n.id.clone())
            .await
    }

    pub async fn find_subnet(&self, name_or_id: &str) -> Result<Subnet, OsError> {
        let k = Kind {
            kind: "subnet",
            path: "subnets",
            plural: "subnets",
            singular: "subnet",
            parse: Subnet::from_json,
        };
        self.neutron_find(k, name_or_id, &[], |n| n.name.clone(), |n| n.id.clone())
            .await
    }

    /// A security group of the token's project (an admin token sees every project's
    /// `default` group; only the own project's can be attached to its servers).
    pub async fn find_security_group(&self, name_or_id: &str) -> Result<SecurityGroup, OsError> {
        let k = Kind {
            kind: "security group",
            path: "security-groups",
            plural: "security_groups",
            singular: "security_group",
            parse: SecurityGroup::from_json,
        };
        let project = self.project_id().await?;
        let extra: Vec<(&str, &str)> = project
            .as_deref()
            .map(|p| vec![("project_id", p)])
            .unwrap_or_default();
        self.neutron_find(k, name_or_id, &extra, |n| n.name.clone(), |n| n.id.clone())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Value {
        let path =
            crate::openstack::sample_path(&format!("neutron/{name}")).expect("samples present");
        let text = std::fs::read_to_string(path).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn network_and_subnet_samples_parse() {
        if crate::openstack::sample_path("neutron").is_none() {
            return;
        }
        let v = sample("networks-list-response.json");
        let nets: Vec<Network> = v["networks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| Network::from_json(n).unwrap())
            .collect();
        assert_eq!(
            nets[1],
            Network {
                id: "db193ab3-96e3-4cb3-8fc5-05f4296d0324".into(),
                name: "private".into(),
                subnets: vec!["08eae331-0402-425a-923c-34f7cfe39c1b".into()]
            }
        );
        let v = sample("subnets-list-response.json");
        let s = Subnet::from_json(&v["subnets"][0]).unwrap();
        assert_eq!(
            s,
            Subnet {
                id: "08eae331-0402-425a-923c-34f7cfe39c1b".into(),
                name: "private-subnet".into(),
                network_id: "db193ab3-96e3-4cb3-8fc5-05f4296d0324".into(),
                cidr: "10.0.0.0/24".into(),
                ip_version: 4
            }
        );
        // The subnet of the `private` network is the one the network lists.
        assert_eq!(nets[1].subnets[0], s.id);
    }

    #[test]
    fn security_group_parses() {
        let g = SecurityGroup::from_json(&serde_json::json!({"id": "85cc3048-abc3-43cc-89b3-377341426ac5", "name": "default", "security_group_rules": []})).unwrap();
        assert_eq!(g.name, "default");
        assert!(SecurityGroup::from_json(&serde_json::json!({"name": "x"})).is_err());
    }
}
