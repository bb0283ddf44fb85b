//! The simulated cloud's state: identities and tokens, the catalog of flavors/images/
//! networks, and the servers with their ports, groups and keypairs.
//!
//! One mutex guards it all: every request is short and in-memory, and a single lock makes
//! cross-resource rules (quotas, anti-affinity, address allocation) trivially consistent.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::SystemTime;

use serde_json::Value;

use super::seed::{Quotas, Seed};
use crate::history::HistoryEntry;

pub fn new_uuid() -> String {
    use rand::Rng;
    let mut b: [u8; 16] = rand::thread_rng().gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// 32 hex digits, like Keystone ids and tokens.
pub fn new_hex_id() -> String {
    new_uuid().replace('-', "")
}

/// `2013-09-03T04:01:32Z` (Nova, Neutron, Glance timestamps).
pub fn iso(t: SystemTime) -> String {
    let d = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// `2015-11-07T02:58:43.578887Z` (Keystone token times).
pub fn iso_micros(t: SystemTime) -> String {
    let d = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.microsecond()
    )
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub name: String,
    pub password: String,
    pub project_id: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AppCred {
    pub id: String,
    pub name: String,
    pub secret: String,
    pub user_id: String,
    pub project_id: String,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub user_id: String,
    pub project_id: Option<String>,
    pub methods: Vec<String>,
    pub app_cred: Option<String>,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
    pub audit_id: String,
}

#[derive(Debug, Clone)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u64,
    pub ram_mb: u64,
    pub disk_gb: u64,
    pub extra_specs: BTreeMap<String, String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub min_disk: u64,
    pub size: u64,
    /// `active`, `queued`, `saving`, `deactivated`, ... (Nova boots only `active`).
    pub status: String,
    /// Glance's `os_distro` property: which guest OS, and so how cloud-init names the host.
    pub os_distro: Option<String>,
}

/// The hostname cloud-init gives a server booted from `image`. Nova's metadata `hostname`
/// is `<name>.<dhcp_domain>` (`novalocal` by default); Debian-family images keep the short
/// name, RHEL-family ones the FQDN — and k0s names the Node after the hostname.
pub fn guest_hostname(server_name: &str, image: Option<&Image>) -> String {
    guest_hostname_for(server_name, image.and_then(|i| i.os_distro.as_deref()))
}

/// [`guest_hostname`] from the image's `os_distro` alone (what a Glance image shows).
pub fn guest_hostname_for(server_name: &str, os_distro: Option<&str>) -> String {
    const FQDN_DISTROS: &[&str] = &["rhel", "centos", "rocky", "almalinux", "fedora"];
    match os_distro {
        Some(d) if FQDN_DISTROS.contains(&d) => format!("{server_name}.novalocal"),
        _ => server_name.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub external: bool,
    pub subnets: Vec<String>,
    pub project_id: String,
}

#[derive(Debug, Clone)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    pub base: u32,
    pub prefix: u8,
    /// Next offset to try (allocation goes round the pool, like a DHCP lease cursor).
    pub cursor: u32,
    pub used: BTreeSet<u32>,
}

impl Subnet {
    pub fn cidr(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }

    fn size(&self) -> u32 {
        if self.prefix == 0 {
            u32::MAX
        } else {
            1u32 << (32 - self.prefix as u32)
        }
    }

    pub fn gateway(&self) -> String {
        Ipv4Addr::from(self.base.wrapping_add(1)).to_string()
    }

    /// First and last allocatable offsets: the first /24 (gateway, routers, DHCP) and
    /// the broadcast address stay free, so VMs start at x.y.1.1 in a /16.
    fn pool(&self) -> (u32, u32) {
        let size = self.size();
        let first = if size > 512 { 257 } else { 2 };
        (first, size.saturating_sub(2))
    }

    pub fn pool_bounds(&self) -> (String, String) {
        let (a, b) = self.pool();
        (
            Ipv4Addr::from(self.base + a).to_string(),
            Ipv4Addr::from(self.base + b).to_string(),
        )
    }

    /// A free address, skipping `.0` and `.255` host parts.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        let (first, last) = self.pool();
        if last < first {
            return None;
        }
        let span = last - first + 1;
        for _ in 0..span {
            let off = first + (self.cursor % span);
            self.cursor = self.cursor.wrapping_add(1);
            let low = (self.base + off) & 0xff;
            if low == 0 || low == 255 || self.used.contains(&off) {
                continue;
            }
            self.used.insert(off);
            return Some(Ipv4Addr::from(self.base + off));
        }
        None
    }

    pub fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&u32::from(ip).wrapping_sub(self.base));
    }
}

#[derive(Debug, Clone)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub project_id: String,
}

#[derive(Debug, Clone)]
pub struct Port {
    pub id: String,
    pub network_id: String,
    pub subnet_id: String,
    pub ip: Ipv4Addr,
    pub mac: String,
    pub device_id: String,
    pub status: &'static str,
    pub project_id: String,
    pub security_groups: Vec<String>,
    pub created: SystemTime,
}

#[derive(Debug, Clone)]
pub struct Keypair {
    pub name: String,
    pub user_id: String,
    pub public_key: String,
    pub fingerprint: String,
    pub kind: String,
    pub created: SystemTime,
    pub id: u64,
}

#[derive(Debug, Clone)]
pub struct ServerGroup {
    pub id: String,
    pub name: String,
    pub policy: String,
    pub rules: Value,
    pub members: Vec<String>,
    pub project_id: String,
    pub user_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Build,
    Active,
    Error,
    /// Stopped (`os-stop`): vm_state `stopped`.
    Shutoff,
    Paused,
    Suspended,
    Shelved,
    ShelvedOffloaded,
}

impl Status {
    /// The API's `status` (nova/api/openstack/common.py `_STATE_MAP`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Build => "BUILD",
            Status::Active => "ACTIVE",
            Status::Error => "ERROR",
            Status::Shutoff => "SHUTOFF",
            Status::Paused => "PAUSED",
            Status::Suspended => "SUSPENDED",
            Status::Shelved => "SHELVED",
            Status::ShelvedOffloaded => "SHELVED_OFFLOADED",
        }
    }

    /// `OS-EXT-STS:vm_state` (nova/compute/vm_states.py).
    pub fn vm_state(self) -> &'static str {
        match self {
            Status::Build => "building",
            Status::Active => "active",
            Status::Error => "error",
            Status::Shutoff => "stopped",
            Status::Paused => "paused",
            Status::Suspended => "suspended",
            Status::Shelved => "shelved",
            Status::ShelvedOffloaded => "shelved_offloaded",
        }
    }

    /// `OS-EXT-STS:power_state`: 1 running, 3 paused, 4 shutdown, 7 suspended, 0 none.
    pub fn power_state(self) -> u8 {
        match self {
            Status::Active => 1,
            Status::Paused => 3,
            Status::Shutoff | Status::Shelved => 4,
            Status::Suspended => 7,
            Status::Build | Status::Error | Status::ShelvedOffloaded => 0,
        }
    }
}

/// One NIC: the network it is on and its port.
#[derive(Debug, Clone)]
pub struct Nic {
    pub network_name: String,
    pub port_id: String,
    pub ip: Ipv4Addr,
    pub mac: String,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub status: Status,
    /// Set by DELETE: the server is shown with task_state `deleting` until it is gone.
    pub deleting: bool,
    /// The task of a running action (`powering-on`, ...; see `actions`).
    pub task: Option<&'static str>,
    pub flavor: Flavor,
    /// Empty for boot-from-volume (Nova shows `"image": ""`).
    pub image_id: String,
    pub key_name: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub user_data: Option<String>,
    /// user_data as it was sent (base64): what Nova stores and shows an admin.
    pub user_data_b64: Option<String>,
    pub availability_zone: String,
    pub host: Option<String>,
    pub hostname: String,
    pub security_groups: Vec<String>,
    pub nics: Vec<Nic>,
    pub fault: Option<Value>,
    /// Why scheduling failed (the server goes ERROR with this fault at boot time).
    pub no_valid_host: bool,
    pub created: SystemTime,
    pub updated: SystemTime,
    pub launched_at: Option<SystemTime>,
    /// Creation order (Nova lists newest first).
    pub order: u64,
    pub server_groups: Vec<String>,
    pub access_ipv4: String,
    pub access_ipv6: String,
    pub description: Option<String>,
    pub disk_config: String,
    pub config_drive: String,
    pub volumes: Vec<String>,
    pub admin_pass: String,
    pub was_active: bool,
    /// `r-xxxxxxxx`, shared by the servers of one create request (`?reservation_id=`).
    pub reservation_id: String,
    /// The zone the create asked for (the request spec's, `pinned_availability_zone`
    /// at 2.96+); None: the scheduler picked one.
    pub requested_az: Option<String>,
}

/// Everything, behind one lock.
#[derive(Debug)]
pub struct State {
    pub region: String,
    pub projects: Vec<Project>,
    pub users: Vec<User>,
    pub app_creds: Vec<AppCred>,
    pub tokens: HashMap<String, Token>,
    pub flavors: Vec<Flavor>,
    pub images: Vec<Image>,
    pub networks: Vec<Network>,
    pub subnets: Vec<Subnet>,
    pub security_groups: Vec<SecurityGroup>,
    pub ports: BTreeMap<String, Port>,
    pub keypairs: Vec<Keypair>,
    pub server_groups: BTreeMap<String, ServerGroup>,
    pub servers: HashMap<String, Server>,
    pub history: Vec<HistoryEntry>,
    pub availability_zones: Vec<String>,
    pub quotas: Quotas,
    pub default_network: String,
    pub hosts: Vec<String>,
    pub next_order: u64,
}

fn parse_cidr(cidr: &str) -> anyhow::Result<(u32, u8)> {
    let (ip, prefix) = cidr
        .split_once('/')
        .ok_or_else(|| anyhow::anyhow!("bad CIDR {cidr:?}"))?;
    let ip: Ipv4Addr = ip.parse()?;
    let prefix: u8 = prefix.parse()?;
    anyhow::ensure!(prefix <= 30, "CIDR {cidr:?} too small");
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix as u32)
    };
    Ok((u32::from(ip) & mask, prefix))
}

impl State {
    pub fn from_seed(seed: &Seed, hosts: usize) -> anyhow::Result<Self> {
        let projects: Vec<Project> = seed
            .projects
            .iter()
            .map(|p| Project {
                id: p.id.clone(),
                name: p.name.clone(),
            })
            .collect();
        let project_id = |name: &str| -> anyhow::Result<String> {
            projects
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.id.clone())
                .ok_or_else(|| anyhow::anyhow!("seed: unknown project {name:?}"))
        };
        let mut users = Vec::new();
        for u in &seed.users {
            users.push(User {
                id: u.id.clone(),
                name: u.name.clone(),
                password: u.password.clone(),
                project_id: project_id(&u.project)?,
                roles: u.roles.clone(),
            });
        }
        let user = |name: &str| -> anyhow::Result<User> {
            users
                .iter()
                .find(|u| u.name == name)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("seed: unknown user {name:?}"))
        };
        let mut app_creds = Vec::new();
        for a in &seed.application_credentials {
            let u = user(&a.user)?;
            app_creds.push(AppCred {
                id: a.id.clone(),
                name: a.name.clone(),
                secret: a.secret.clone(),
                user_id: u.id,
                project_id: u.project_id,
            });
        }
        let first_project = projects.first().map(|p| p.id.clone()).unwrap_or_default();
        let mut networks = Vec::new();
        let mut subnets = Vec::new();
        for n in &seed.networks {
            for s in &n.subnets {
                let (base, prefix) = parse_cidr(&s.cidr)?;
                subnets.push(Subnet {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    network_id: n.id.clone(),
                    project_id: first_project.clone(),
                    base,
                    prefix,
                    // Neutron's reference IPAM picks addresses at random among the free
                    // ones; starting the cursor at random also keeps two simulators on one
                    // machine (two test processes) from handing out the same 127.x address.
                    cursor: rand::random::<u16>() as u32,
                    used: BTreeSet::new(),
                });
            }
            networks.push(Network {
                id: n.id.clone(),
                name: n.name.clone(),
                external: n.external,
                subnets: n.subnets.iter().map(|s| s.id.clone()).collect(),
                project_id: first_project.clone(),
            });
        }
        let now = SystemTime::now();
        let mut keypairs = Vec::new();
        for (i, k) in seed.keypairs.iter().enumerate() {
            keypairs.push(Keypair {
                name: k.name.clone(),
                user_id: user(&k.user)?.id,
                public_key: k.public_key.clone(),
                fingerprint: fingerprint(&k.public_key),
                kind: "ssh".into(),
                created: now,
                id: i as u64 + 1,
            });
        }
        Ok(Self {
            region: seed.region.clone(),
            projects,
            users,
            app_creds,
            tokens: HashMap::new(),
            flavors: seed
                .flavors
                .iter()
                .map(|f| Flavor {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    vcpus: f.vcpus,
                    ram_mb: f.ram_mb,
                    disk_gb: f.disk_gb,
                    extra_specs: f.extra_specs.clone(),
                    description: f.description.clone(),
                })
                .collect(),
            images: seed
                .images
                .iter()
                .map(|i| Image {
                    id: i.id.clone(),
                    name: i.name.clone(),
                    min_disk: i.min_disk,
                    size: i.size,
                    status: "active".into(),
                    os_distro: i.os_distro.clone(),
                })
                .collect(),
            networks,
            subnets,
            security_groups: seed
                .security_groups
                .iter()
                .map(|g| SecurityGroup {
                    id: g.id.clone(),
                    name: g.name.clone(),
                    description: g.description.clone(),
                    project_id: first_project.clone(),
                })
                .collect(),
            ports: BTreeMap::new(),
            keypairs,
            server_groups: BTreeMap::new(),
            servers: HashMap::new(),
            history: Vec::new(),
            availability_zones: seed.availability_zones.clone(),
            quotas: seed.quotas,
            default_network: seed.default_network.clone(),
            hosts: (1..=hosts.max(1))
                .map(|i| format!("compute-{i:02}"))
                .collect(),
            next_order: 0,
        })
    }

    pub fn record(&mut self, kind: &str, id: &str, name: &str) {
        self.history.push(HistoryEntry::now(kind, id, name));
    }

    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }
}

/// A stable, colon-separated pseudo fingerprint (the simulator does not parse keys).
pub fn fingerprint(public_key: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(public_key.as_bytes());
    d.iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Nova's hostId: an opaque per-project hash of the host name.
pub fn host_id(project_id: &str, host: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha224::digest(format!("{project_id}{host}").as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn mac() -> String {
    use rand::Rng;
    let b: [u8; 3] = rand::thread_rng().gen();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_skips_first_slash24_and_reuses_released() {
        let (base, prefix) = parse_cidr("127.100.0.0/16").unwrap();
        let mut s = Subnet {
            id: "s".into(),
            name: "s".into(),
            network_id: "n".into(),
            project_id: "p".into(),
            base,
            prefix,
            cursor: 0,
            used: BTreeSet::new(),
        };
        let a = s.allocate().unwrap();
        assert_eq!(a.to_string(), "127.100.1.1");
        for _ in 0..300 {
            let ip = s.allocate().unwrap();
            assert_ne!(ip.octets()[3], 0);
            assert_ne!(ip.octets()[3], 255);
            assert_ne!(ip.octets()[2], 0);
        }
        s.release(a);
        assert!(!s.used.contains(&257));
        let (base, prefix) = parse_cidr("10.0.0.0/30").unwrap();
        let mut tiny = Subnet {
            base,
            prefix,
            used: BTreeSet::new(),
            ..s
        };
        assert_eq!(tiny.allocate().unwrap().to_string(), "10.0.0.2");
        assert!(tiny.allocate().is_none());
    }
}
