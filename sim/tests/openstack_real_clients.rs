//! Real OpenStack clients against the simulated cloud: python-openstackclient (`openstack
//! ... -f json`) and openstacksdk, pinned by tools/openstack/constraints.txt and installed
//! by `make openstack-clients` into .tools/openstack/clients. What they print is what a
//! user of a real cloud would see; where the sim answered differently from Nova, Glance
//! or Neutron these commands failed or printed wrong data (missing image names, one server
//! for `--min 2`, `quota show` failing on Neutron).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k0stack_sim::openstack::{OpenStackOptions, OpenStackSim, Seed};
use serde_json::Value;

fn clients_bin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.tools/openstack/clients/bin")
        .join(name);
    assert!(
        p.exists(),
        "{} not found: run `make openstack-clients`",
        p.display()
    );
    p
}

/// One simulated cloud and a clouds.yaml for it.
struct Cli {
    sim: OpenStackSim,
    dir: tempfile::TempDir,
}

impl Cli {
    async fn start(seed: Seed) -> Self {
        let sim = OpenStackSim::start(OpenStackOptions {
            boot_latency: Duration::from_millis(100),
            seed,
            ..Default::default()
        })
        .await
        .expect("sim starts");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("clouds.yaml"), sim.clouds_yaml()).unwrap();
        Self { sim, dir }
    }

    fn command(&self, bin: &Path) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env("OS_CLIENT_CONFIG_FILE", self.dir.path().join("clouds.yaml"))
            .env("OS_CLOUD", "k0stack-sim")
            .env("HOME", self.dir.path())
            .env("NO_PROXY", "127.0.0.1")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy");
        for (k, _) in std::env::vars() {
            if k.starts_with("OS_") && k != "OS_CLOUD" && k != "OS_CLIENT_CONFIG_FILE" {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    /// `openstack <args>`; returns (success, stdout, stderr).
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = self
            .command(&clients_bin("openstack"))
            .args(args)
            .output()
            .expect("running openstack");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `openstack <args> -f json`, which must succeed.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        let (ok, out, err) = self.run(&all);
        assert!(ok, "openstack {args:?} failed: {err}{out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("openstack {args:?}: {e}: {out}"))
    }

    fn ok(&self, args: &[&str]) {
        let (ok, out, err) = self.run(args);
        assert!(ok, "openstack {args:?} failed: {err}{out}");
    }
}

/// A `-f json` table (list of rows) as `column -> value` lookups by a key column.
fn row<'a>(rows: &'a Value, key: &str, want: &str) -> &'a Value {
    rows.as_array()
        .and_then(|r| r.iter().find(|x| x[key] == want))
        .unwrap_or_else(|| panic!("no row with {key} = {want} in {rows}"))
}

fn names(rows: &Value) -> Vec<String> {
    let mut n: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["Name"].as_str().map(String::from))
        .collect();
    n.sort();
    n
}

fn small_quota() -> Seed {
    let mut seed = Seed::default();
    seed.quotas.instances = 5;
    seed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_create_min_max_names_quota_and_image_names() {
    let c = Cli::start(small_quota()).await;
    let boot = |name: &str, min: &str, max: &str| {
        let args = [
            "server",
            "create",
            "--image",
            "ubuntu-24.04",
            "--flavor",
            "m1.tiny",
            "--network",
            "private",
            "--min",
            min,
            "--max",
            max,
            "--wait",
            name,
        ];
        c.json(&args)
    };
    // Three fit in a quota of 5: all three are made, named like Nova names them.
    let first = boot("web", "2", "3");
    assert_eq!(first["name"], "web-1", "{first}");
    let list = c.json(&["server", "list", "--name", "^web"]);
    assert_eq!(names(&list), ["web-1", "web-2", "web-3"], "{list}");
    // OSC finds image names with `GET /v2/images?id=in:...`.
    for r in list.as_array().unwrap() {
        assert_eq!(r["Image"], "ubuntu-24.04", "{list}");
        assert_eq!(r["Status"], "ACTIVE", "{list}");
    }
    // Two more fit of 2..5: Nova makes what the quota allows.
    boot("db", "2", "5");
    let all = c.json(&["server", "list"]);
    assert_eq!(all.as_array().unwrap().len(), 5, "{all}");
    assert_eq!(
        names(&c.json(&["server", "list", "--name", "^db"])),
        ["db-1", "db-2"]
    );
    // None left: the min is checked, and the message is Nova's TooManyInstances.
    let (ok, out, err) = c.run(&[
        "server",
        "create",
        "--image",
        "ubuntu-24.04",
        "--flavor",
        "m1.tiny",
        "--network",
        "private",
        "over",
    ]);
    assert!(!ok, "{out}");
    assert!(
        err.contains(
            "Quota exceeded for instances: Requested 1, but already used 5 of 5 instances"
        ),
        "{err}"
    );
    // --long shows the image name too; hostnames carry the index.
    let long = c.json(&["server", "list", "--long"]);
    assert_eq!(
        row(&long, "Name", "web-2")["Image Name"],
        "ubuntu-24.04",
        "{long}"
    );
    let show = c.json(&["server", "show", "web-2"]);
    assert_eq!(show["OS-EXT-SRV-ATTR:hostname"], "web-2", "{show}");
    assert!(show["addresses"]["private"].is_array(), "{show}");
    assert!(
        show["image"]["name"] == "ubuntu-24.04"
            || show["image"].to_string().contains("ubuntu-24.04"),
        "{show}"
    );
    // No zone asked for: not pinned (2.96 shows the key).
    assert!(show.get("pinned_availability_zone").is_some(), "{show}");
    assert!(show["pinned_availability_zone"].is_null(), "{show}");
    // Renaming through PUT /servers/{id} (2.96: the full view comes back).
    c.ok(&["server", "set", "--name", "web-two", "web-2"]);
    let renamed = c.json(&["server", "show", "web-two"]);
    assert_eq!(renamed["id"], show["id"], "{renamed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_limits_and_the_small_resources() {
    let c = Cli::start(Seed::default()).await;
    // quota show: Nova's quota set, then Neutron's (failed before: no /v2.0/quotas).
    let q = c.json(&["quota", "show"]);
    assert_eq!(row(&q, "Resource", "instances")["Limit"], 1000, "{q}");
    assert_eq!(row(&q, "Resource", "networks")["Limit"], 100, "{q}");
    assert_eq!(row(&q, "Resource", "ports")["Limit"], 500, "{q}");
    let usage = c.json(&["quota", "show", "--usage"]);
    let ports = row(&usage, "Resource", "ports");
    assert_eq!(ports["Limit"], 500, "{usage}");
    assert_eq!(ports["In Use"], 0, "{usage}");
    // limits at 2.1 (OSC sends no microversion): maxImageMeta and the proxy limits exist.
    let l = c.json(&["limits", "show", "--absolute"]);
    // (OSC prints openstacksdk's names: max_image_meta is maxImageMeta, null when absent.)
    assert_eq!(row(&l, "Name", "max_image_meta")["Value"], 128, "{l}");
    assert_eq!(
        row(&l, "Name", "max_total_floating_ips")["Value"],
        -1,
        "{l}"
    );
    assert_eq!(row(&l, "Name", "personality")["Value"], 5, "{l}");
    // At 2.57 (openstacksdk's highest for limits) those keys are gone.
    let l57 = c.json(&[
        "--os-compute-api-version",
        "2.57",
        "limits",
        "show",
        "--absolute",
    ]);
    assert!(
        row(&l57, "Name", "max_image_meta")["Value"].is_null(),
        "{l57}"
    );
    assert!(row(&l57, "Name", "personality")["Value"].is_null(), "{l57}");
    assert_eq!(row(&l57, "Name", "max_server_meta")["Value"], 128, "{l57}");
    let images = c.json(&["image", "list", "--name", "ubuntu-22.04"]);
    assert_eq!(names(&images), ["ubuntu-22.04"], "{images}");
    let nets = c.json(&["network", "list"]);
    assert_eq!(names(&nets), ["private", "public"], "{nets}");
    c.json(&[
        "server",
        "create",
        "--image",
        "cirros-0.6.2-x86_64-disk",
        "--flavor",
        "m1.tiny",
        "--network",
        "private",
        "--availability-zone",
        "az1",
        "--wait",
        "pinned",
    ]);
    let ports = c.json(&["port", "list", "--long"]);
    assert_eq!(ports.as_array().unwrap().len(), 1, "{ports}");
    let show = c.json(&["server", "show", "pinned"]);
    assert_eq!(show["pinned_availability_zone"], "az1", "{show}");
    let pubkey = c.dir.path().join("kp.pub");
    std::fs::write(
        &pubkey,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOsc k0stack@test\n",
    )
    .unwrap();
    let kp = c.json(&[
        "keypair",
        "create",
        "--public-key",
        pubkey.to_str().unwrap(),
        "kp-osc",
    ]);
    assert_eq!(kp["name"], "kp-osc", "{kp}");
    assert!(
        kp["fingerprint"].as_str().is_some_and(|f| f.contains(':')),
        "{kp}"
    );
    assert!(names(&c.json(&["keypair", "list"])).contains(&"kp-osc".to_string()));
    let g = c.json(&[
        "server",
        "group",
        "create",
        "--policy",
        "anti-affinity",
        "spread",
    ]);
    assert_eq!(g["policy"], "anti-affinity", "{g}");
    assert_eq!(names(&c.json(&["server", "group", "list"])), ["spread"]);
}

/// openstacksdk calls OSC has no command for: a server's addresses (`/ips`, `/ips/{net}`),
/// plus what a raw client sees of version discovery and a failed authentication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstacksdk_server_ips_versions_and_401() {
    let c = Cli::start(Seed::default()).await;
    let script = r#"
import json, sys, requests, openstack
conn = openstack.connect(cloud="k0stack-sim")
img = conn.image.find_image("ubuntu-24.04")
flv = conn.compute.find_flavor("m1.tiny")
net = conn.network.find_network("private")
s = conn.compute.create_server(name="ips", image_id=img.id, flavor_id=flv.id, networks=[{"uuid": net.id}])
s = conn.compute.wait_for_server(s, wait=30, interval=0.2)
ips = [{"network": i.network_label, "address": i.address, "version": i.version} for i in conn.compute.server_ips(s)]
one = [i.address for i in conn.compute.server_ips(s, network_label="private")]
base = sys.argv[1]
root = requests.get(base + "/compute/")
v21 = requests.get(base + "/compute/v2.1/")
bad = requests.post(base + "/identity/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "domain": {"name": "Default"}, "password": "wrong"}}}}})
print(json.dumps({"ips": ips, "one": one, "server_addr": s.addresses,
  "root": [root.status_code, root.json()], "v21": [v21.status_code, v21.json()],
  "bad": [bad.status_code, bad.headers.get("WWW-Authenticate")]}))
"#;
    let out = c
        .command(&clients_bin("python"))
        .arg("-c")
        .arg(script)
        .arg(c.sim.base_url())
        .output()
        .expect("python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).expect("script output");
    let addr = v["server_addr"]["private"][0]["addr"].clone();
    assert!(addr.is_string(), "{v}");
    assert_eq!(v["ips"][0]["network"], "private", "{v}");
    assert_eq!(v["ips"][0]["address"], addr, "{v}");
    assert_eq!(v["ips"][0]["version"], 4, "{v}");
    assert_eq!(v["one"][0], addr, "{v}");
    // GET /compute/ is Nova's versions index (200), /compute/v2.1/ the v2.1 document.
    assert_eq!(v["root"][0], 200, "{v}");
    let ids: Vec<&str> = v["root"][1]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["id"].as_str())
        .collect();
    assert_eq!(ids, ["v2.0", "v2.1"], "{v}");
    assert_eq!(v["v21"][0], 200, "{v}");
    assert_eq!(v["v21"][1]["version"]["id"], "v2.1", "{v}");
    // Keystone's own 401 names where to authenticate.
    assert_eq!(v["bad"][0], 401, "{v}");
    assert_eq!(
        v["bad"][1],
        format!("Keystone uri=\"{}\"", c.sim.auth_url()),
        "{v}"
    );
}
