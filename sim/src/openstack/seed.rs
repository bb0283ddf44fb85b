//! What the simulated cloud holds before anyone calls it.
//!
//! Demos and tests should need no configuration, so [`Seed::default`] is a small but
//! complete cloud (user `demo`, flavors, images, a `private` network in 127.100.0.0/16).
//! It also holds every id and name the upstream api-ref request samples reference, so
//! those bodies are accepted verbatim. `k0stack-sim up --seed FILE` reads the same
//! structure from YAML or JSON; omitted sections keep their defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The default user's password (also written into clouds.yaml by `up`).
pub const DEMO_PASSWORD: &str = "k0stack-demo-password";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seed {
    pub region: String,
    pub projects: Vec<SeedProject>,
    pub users: Vec<SeedUser>,
    pub application_credentials: Vec<SeedAppCred>,
    pub flavors: Vec<SeedFlavor>,
    pub images: Vec<SeedImage>,
    pub networks: Vec<SeedNetwork>,
    pub security_groups: Vec<SeedSecurityGroup>,
    pub keypairs: Vec<SeedKeypair>,
    pub availability_zones: Vec<String>,
    /// Per-project quotas (every project gets these).
    pub quotas: Quotas,
    /// The network servers get when the create request names none (`networks` omitted or `auto`).
    pub default_network: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedProject {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedUser {
    pub id: String,
    pub name: String,
    pub password: String,
    /// Name of the user's default project (its role assignment).
    pub project: String,
    #[serde(default = "member_role")]
    pub roles: Vec<String>,
}

fn member_role() -> Vec<String> {
    vec!["member".into()]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedAppCred {
    pub id: String,
    pub name: String,
    pub secret: String,
    /// Owner's user name; the credential is scoped to the owner's project.
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedFlavor {
    pub id: String,
    pub name: String,
    pub vcpus: u64,
    pub ram_mb: u64,
    pub disk_gb: u64,
    #[serde(default)]
    pub extra_specs: BTreeMap<String, String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedImage {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub min_disk: u64,
    #[serde(default = "image_size")]
    pub size: u64,
    /// Glance's `os_distro` property (e.g. `ubuntu`, `rocky`).
    #[serde(default)]
    pub os_distro: Option<String>,
}

fn image_size() -> u64 {
    600 << 20
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedNetwork {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub external: bool,
    pub subnets: Vec<SeedSubnet>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedSubnet {
    pub id: String,
    pub name: String,
    /// IPv4 CIDR; fixed addresses are allocated from it (skipping its first /24).
    pub cidr: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedSecurityGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedKeypair {
    pub name: String,
    pub public_key: String,
    /// Owner's user name.
    pub user: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quotas {
    pub instances: u64,
    pub cores: u64,
    pub ram_mb: u64,
    pub key_pairs: u64,
    pub server_groups: u64,
    pub server_group_members: u64,
    pub metadata_items: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            instances: 1000,
            cores: 4000,
            ram_mb: 4 << 20,
            key_pairs: 100,
            server_groups: 100,
            server_group_members: 1000,
            metadata_items: 128,
        }
    }
}

fn flavor(id: &str, name: &str, vcpus: u64, ram_mb: u64, disk_gb: u64) -> SeedFlavor {
    SeedFlavor {
        id: id.into(),
        name: name.into(),
        vcpus,
        ram_mb,
        disk_gb,
        extra_specs: BTreeMap::new(),
        description: None,
    }
}

fn image(id: &str, name: &str) -> SeedImage {
    SeedImage {
        id: id.into(),
        name: name.into(),
        min_disk: 0,
        size: image_size(),
        os_distro: None,
    }
}

impl Default for Seed {
    fn default() -> Self {
        let mut tiny_specs = flavor("6", "m1.tiny.specs", 1, 512, 1);
        tiny_specs
            .extra_specs
            .insert("hw:numa_nodes".into(), "1".into());
        let mut small_desc = flavor("7", "m1.small.description", 1, 2048, 20);
        small_desc.description = Some("test description".into());
        small_desc
            .extra_specs
            .insert("hw:cpu_policy".into(), "shared".into());
        small_desc
            .extra_specs
            .insert("hw:numa_nodes".into(), "1".into());
        Self {
            region: "RegionOne".into(),
            projects: vec![
                SeedProject {
                    id: "231c62fb0fbd485b995e8b060c3f0d98".into(),
                    name: "demo".into(),
                },
                SeedProject {
                    id: "a6944d763bf64ee6a275f1263fae0352".into(),
                    name: "admin".into(),
                },
            ],
            users: vec![
                SeedUser {
                    id: "fd786d56402c4d1691372e7dee0d00b5".into(),
                    name: "demo".into(),
                    password: DEMO_PASSWORD.into(),
                    project: "demo".into(),
                    roles: vec!["member".into(), "reader".into()],
                },
                // The api-ref samples: `admin`/`devstacker`, and the owner of the
                // `monitoring` application credential (by user id).
                SeedUser {
                    id: "423f19a4ac1e4f48bbb4180756e6eb6c".into(),
                    name: "admin".into(),
                    password: "devstacker".into(),
                    project: "admin".into(),
                    roles: vec!["admin".into(), "member".into(), "reader".into()],
                },
            ],
            application_credentials: vec![
                SeedAppCred {
                    id: "6a1d0c4c0c9e4b0c9d2e7d1f3b5a7c90".into(),
                    name: "k0stack-demo".into(),
                    secret: "k0stack-demo-app-credential-secret".into(),
                    user: "demo".into(),
                },
                SeedAppCred {
                    id: "423f19a4ac1e4f48bbb4180756e6eb6c".into(),
                    name: "monitoring".into(),
                    secret: "rEaqvJka48mpv".into(),
                    user: "admin".into(),
                },
            ],
            // Ids 1..7 as in the Nova api-ref (samples reference flavor 1), then our own.
            flavors: vec![
                flavor("1", "m1.tiny", 1, 512, 1),
                flavor("2", "m1.small", 1, 2048, 20),
                flavor("3", "m1.medium", 2, 4096, 40),
                flavor("4", "m1.large", 4, 8192, 80),
                flavor("5", "m1.xlarge", 8, 16384, 160),
                tiny_specs,
                small_desc,
                flavor("8", "g1.gpu", 8, 32768, 160),
            ],
            images: vec![
                image("70a599e0-31e7-49b7-b260-868f441e862b", "cirros-0.6.2-x86_64-disk"),
                image("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "cirros-0.3.2-x86_64-disk"),
                image("781b3762-9469-4cec-b58d-3349e5de4e9c", "F17-x86_64-cfntools"),
                image("5d1d4f6e-0b47-4a3c-9f6b-2c1e8b6f0a01", "ubuntu-24.04"),
                image("5d1d4f6e-0b47-4a3c-9f6b-2c1e8b6f0a02", "ubuntu-22.04"),
                // A RHEL-family image: cloud-init names the host `<server>.novalocal`.
                SeedImage {
                    os_distro: Some("rocky".into()),
                    ..image("5d1d4f6e-0b47-4a3c-9f6b-2c1e8b6f0a03", "rocky-9")
                },
                image("d0f1e2a3-0000-4000-8000-000000000001", "duplicate-name"),
                image("d0f1e2a3-0000-4000-8000-000000000002", "duplicate-name"),
            ],
            networks: vec![
                SeedNetwork {
                    id: "db193ab3-96e3-4cb3-8fc5-05f4296d0324".into(),
                    name: "private".into(),
                    external: false,
                    subnets: vec![SeedSubnet {
                        id: "08eae331-0402-425a-923c-34f7cfe39c1b".into(),
                        name: "private-subnet".into(),
                        cidr: "127.100.0.0/16".into(),
                    }],
                },
                SeedNetwork {
                    id: "d32019d3-bc6e-4319-9c1d-6722fc136a22".into(),
                    name: "public".into(),
                    external: true,
                    subnets: vec![SeedSubnet {
                        id: "54d6f61d-db07-451c-9ab3-b9609b6b6f0b".into(),
                        name: "public-subnet".into(),
                        cidr: "127.101.0.0/16".into(),
                    }],
                },
            ],
            security_groups: vec![
                SeedSecurityGroup {
                    id: "85cc3048-abc3-43cc-89b3-377341426ac5".into(),
                    name: "default".into(),
                    description: "Default security group".into(),
                },
                SeedSecurityGroup {
                    id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".into(),
                    name: "k0s-worker".into(),
                    description: "k0s worker nodes".into(),
                },
            ],
            keypairs: vec![SeedKeypair {
                name: "demo".into(),
                public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsfFAKEk0stackSimDemoKeyNotARealOneXXXXXXXX demo@k0stack-sim".into(),
                user: "demo".into(),
            }],
            availability_zones: vec![
                "nova".into(),
                "az1".into(),
                "az2".into(),
                "az3".into(),
                // Referenced by the Nova create-server samples.
                "us-west".into(),
            ],
            quotas: Quotas::default(),
            default_network: "private".into(),
        }
    }
}

impl Seed {
    /// Reads a seed from YAML (JSON is YAML too); sections left out keep their defaults.
    pub fn from_yaml(text: &str) -> anyhow::Result<Self> {
        Ok(serde_yaml::from_str(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_yaml_keeps_the_other_defaults() {
        let s = Seed::from_yaml(
            "quotas:\n  instances: 10\nflavors:\n- {id: '42', name: tiny, vcpus: 1, ram_mb: 256, disk_gb: 1}\n",
        )
        .unwrap();
        assert_eq!(s.quotas.instances, 10);
        assert_eq!(s.quotas.cores, Quotas::default().cores);
        assert_eq!(s.flavors.len(), 1);
        assert_eq!(s.networks, Seed::default().networks);
        assert!(Seed::from_yaml("quotas: [").is_err());
    }
}
