//! `make bench`: fleet benchmarks with the real Terraform CLI and the release provider
//! against k0stack-sim, plus micro-benchmarks of the pure planning functions. Results are
//! written into `docs/benchmarks.md` (between the `fleet` markers) and printed.
//!
//! Each figure is measured beside its reference in the same run and reported as a ratio:
//! - Nova requests per `terraform plan` for P pools × W members (simulator counters), against
//!   the per-VM-resource model (openstack_compute_instance_v2 refreshes each VM with ≈5 GETs);
//! - `apply` 0 → 100 members with boot latency L, against 100 one-member pools (the
//!   one-resource-per-VM shape at Terraform's default parallelism of 10) in the same cloud;
//! - `terraform plan` of 20 control planes × 50 members with 20 ms added API latency;
//! - the provider's peak RSS during that plan (1,000 members in state).
//!
//! `K0STACK_BENCH_QUICK=1` runs small sizes only (a smoke run of the harness).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use support::{CloudSim, TfDir};

fn quick() -> bool {
    std::env::var("K0STACK_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn pools_config(cloud: &CloudSim, pools: usize, members: usize) -> String {
    let mut s = cloud.provider_config();
    s.push_str(
        "resource \"k0stack_management_cluster\" \"this\" {\n  namespace = \"kmc-system\"\n}\n",
    );
    for p in 0..pools {
        write!(
            s,
            r#"
resource "k0stack_hosted_control_plane" "cp{p}" {{
  name                  = "cp{p}"
  management_cluster_id = k0stack_management_cluster.this.id
  k0s_version           = "v1.32.6+k0s.0"
  service {{
    type = "NodePort"
  }}
}}

resource "k0stack_worker_pool" "pool{p}" {{
  name                    = "pool{p}"
  hosted_control_plane_id = k0stack_hosted_control_plane.cp{p}.id
  size                    = {members}
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  max_parallel            = 50
}}
"#
        )
        .unwrap();
    }
    s
}

/// `n` one-member pools on one control plane: the one-resource-per-VM shape.
fn per_vm_config(cloud: &CloudSim, n: usize) -> String {
    let mut s = cloud.provider_config();
    s.push_str(
        "resource \"k0stack_management_cluster\" \"this\" {\n  namespace = \"kmc-system\"\n}\n\
         resource \"k0stack_hosted_control_plane\" \"cp\" {\n  name = \"cp\"\n  management_cluster_id = k0stack_management_cluster.this.id\n  k0s_version = \"v1.32.6+k0s.0\"\n  service {\n    type = \"NodePort\"\n  }\n}\n",
    );
    for i in 0..n {
        write!(
            s,
            "resource \"k0stack_worker_pool\" \"vm{i}\" {{\n  name = \"vm{i}\"\n  hosted_control_plane_id = k0stack_hosted_control_plane.cp.id\n  size = 1\n  flavor = \"m1.small\"\n  image = \"ubuntu-24.04\"\n  networks = [\"private\"]\n}}\n"
        )
        .unwrap();
    }
    s
}

fn one_pool_config(cloud: &CloudSim, n: usize) -> String {
    let mut s = cloud.provider_config();
    s.push_str(
        "resource \"k0stack_management_cluster\" \"this\" {\n  namespace = \"kmc-system\"\n}\n\
         resource \"k0stack_hosted_control_plane\" \"cp\" {\n  name = \"cp\"\n  management_cluster_id = k0stack_management_cluster.this.id\n  k0s_version = \"v1.32.6+k0s.0\"\n  service {\n    type = \"NodePort\"\n  }\n}\n",
    );
    write!(
        s,
        "resource \"k0stack_worker_pool\" \"big\" {{\n  name = \"big\"\n  hosted_control_plane_id = k0stack_hosted_control_plane.cp.id\n  size = {n}\n  flavor = \"m1.small\"\n  image = \"ubuntu-24.04\"\n  networks = [\"private\"]\n  max_parallel = 100\n}}\n"
    )
    .unwrap();
    s
}

fn setup(cloud: &CloudSim, config: &str) -> TfDir {
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write("main.tf", config);
    tf.init();
    tf
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

fn nova_requests(counters: &BTreeMap<String, u64>) -> u64 {
    counters
        .iter()
        .filter(|(k, _)| k.contains(" /compute/"))
        .map(|(_, v)| v)
        .sum()
}

/// Peak RSS (VmHWM, KiB) of the provider plugin while `f` runs, polled from /proc, with
/// the anonymous and file-backed parts and the thread count seen at that peak.
fn provider_peak_rss(f: impl FnOnce()) -> (u64, u64, u64, u64) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let poller = std::thread::spawn(move || {
        let mut peak = (0u64, 0u64, 0u64, 0u64);
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let p = entry.path();
                let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
                if !comm.starts_with("terraform-provi") {
                    continue;
                }
                let status = std::fs::read_to_string(p.join("status")).unwrap_or_default();
                let field = |name: &str| -> u64 {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                        .unwrap_or(0)
                };
                let hwm = field("VmHWM:");
                if hwm > peak.0 {
                    peak = (hwm, field("RssAnon:"), field("RssFile:"), field("Threads:"));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    });
    f();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    poller.join().unwrap()
}

struct Report {
    md: String,
}

impl Report {
    fn row(&mut self, cells: &[String]) {
        let line = format!("| {} |", cells.join(" | "));
        println!("{line}");
        self.md.push_str(&line);
        self.md.push('\n');
    }

    fn text(&mut self, s: &str) {
        println!("{s}");
        self.md.push_str(s);
        self.md.push('\n');
    }
}

/// 1 + 3 + 5: requests per plan for P × W, then (on the largest fleet) plan time with
/// 20 ms API latency and the provider's peak RSS.
fn fleet_plans(r: &mut Report) {
    let sizes: &[(usize, usize)] = if quick() {
        &[(1, 10), (2, 10)]
    } else {
        &[(1, 10), (1, 50), (10, 10), (10, 50), (20, 10), (20, 50)]
    };
    r.text("\n### Nova requests per `terraform plan` (refresh of every pool)\n");
    r.row(&[
        "pools × members".into(),
        "Nova requests (k0stack)".into(),
        "per-VM model (≈5 GETs/VM)".into(),
        "ratio".into(),
        "plan wall time".into(),
    ]);
    r.row(&[
        "---".into(),
        "---".into(),
        "---".into(),
        "---".into(),
        "---".into(),
    ]);
    let mut largest: Option<(CloudSim, TfDir, usize, usize)> = None;
    for &(p, w) in sizes {
        let cloud = CloudSim::start();
        let tf = setup(&cloud, &pools_config(&cloud, p, w));
        let (out, took) = timed(|| tf.apply());
        out.assert_ok();
        eprintln!("applied {p}×{w} in {took:?}");
        cloud.os.counters().reset();
        let (plan, took) = timed(|| tf.plan_exit_code());
        assert_eq!(plan.code, Some(0), "{}", plan.all());
        let ours = nova_requests(&cloud.os.counters().snapshot());
        let model = (p * w * 5) as u64;
        r.row(&[
            format!("{p} × {w}"),
            ours.to_string(),
            model.to_string(),
            format!("{:.0}x fewer", model as f64 / ours.max(1) as f64),
            format!("{} ms", took.as_millis()),
        ]);
        largest = Some((cloud, tf, p, w));
    }
    let (cloud, tf, p, w) = largest.expect("one size");
    r.text(&format!(
        "\n### `terraform plan` of {p} control planes × {w} members with 20 ms added API latency\n"
    ));
    r.row(&["what".into(), "median of 3".into(), "runs".into()]);
    r.row(&["---".into(), "---".into(), "---".into()]);
    let mut plain = Vec::new();
    let mut slow = Vec::new();
    let mut rss = (0, 0, 0, 0);
    for _ in 0..3 {
        let (_, t) = timed(|| assert_eq!(tf.plan_exit_code().code, Some(0)));
        plain.push(t);
        cloud.set_faults(serde_json::json!({"latency_ms": 20}));
        set_kube_latency(&cloud, Duration::from_millis(20));
        let mut t = Duration::ZERO;
        rss = rss.max(provider_peak_rss(|| {
            let (_, took) = timed(|| assert_eq!(tf.plan_exit_code().code, Some(0)));
            t = took;
        }));
        slow.push(t);
        cloud.set_faults(serde_json::json!({"latency_ms": 0}));
        set_kube_latency(&cloud, Duration::ZERO);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let fmt = |v: &[Duration]| {
        v.iter()
            .map(|d| d.as_millis().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (m0, m20) = (median(&mut plain.clone()), median(&mut slow.clone()));
    r.row(&[
        "plan, no added latency (reference)".into(),
        format!("{} ms", m0.as_millis()),
        fmt(&plain),
    ]);
    r.row(&[
        "plan, 20 ms per API request (goal < 3 s)".into(),
        format!("{} ms", m20.as_millis()),
        fmt(&slow),
    ]);
    r.row(&[
        "ratio".into(),
        format!("{:.2}", m20.as_secs_f64() / m0.as_secs_f64()),
        String::new(),
    ]);
    r.text(&format!(
        "\n### Provider peak RSS with {} members in state\n\n| what | value |\n|---|---|\n| peak RSS (VmHWM) of the provider during the 20 ms plan (goal < 50 MB) | {:.1} MB |\n| of which anonymous (heap, stacks) / file-backed (the binary's pages) when last at its peak | {:.1} MB / {:.1} MB |\n| threads at that moment | {} |",
        p * w,
        rss.0 as f64 / 1024.0,
        rss.1 as f64 / 1024.0,
        rss.2 as f64 / 1024.0,
        rss.3
    ));
    let (out, took) = timed(|| tf.destroy());
    out.assert_ok();
    eprintln!("destroyed in {took:?}");
}

fn set_kube_latency(cloud: &CloudSim, d: Duration) {
    cloud.k8s.api.faults.lock().unwrap().latency = d;
    for h in cloud.k8s.operator.hosted.lock().unwrap().values() {
        h.api.faults.lock().unwrap().latency = d;
    }
}

/// 2: apply 0 → N members with boot latency L, against N one-member pools.
fn apply_wall_time(r: &mut Report) {
    let (n, l) = if quick() {
        (10, Duration::from_secs(1))
    } else {
        (100, Duration::from_secs(5))
    };
    let start = |config: &dyn Fn(&CloudSim) -> String| {
        let cloud = CloudSim::start();
        cloud.set_faults(serde_json::json!({"boot_latency_ms": l.as_millis() as u64}));
        let tf = setup(&cloud, &config(&cloud));
        // The control plane first, so only the members are timed.
        tf.run(&[
            "apply",
            "-no-color",
            "-input=false",
            "-auto-approve",
            "-target=k0stack_hosted_control_plane.cp",
        ])
        .assert_ok();
        let (out, took) = timed(|| tf.apply());
        out.assert_ok();
        let servers = cloud
            .servers()
            .into_iter()
            .filter(|s| s.status == "ACTIVE")
            .count();
        assert_eq!(servers, n);
        tf.destroy().assert_ok();
        took
    };
    let ours = start(&|c| one_pool_config(c, n));
    let per_vm = start(&|c| per_vm_config(c, n));
    let goal = l.mul_f64(1.5) + Duration::from_secs(2);
    r.text(&format!(
        "\n### `terraform apply` 0 → {n} members, boot latency {} s\n",
        l.as_secs()
    ));
    r.row(&["what".into(), "wall time".into(), "notes".into()]);
    r.row(&["---".into(), "---".into(), "---".into()]);
    r.row(&[
        format!("one pool of {n} (k0stack)"),
        format!("{:.1} s", ours.as_secs_f64()),
        format!("goal ≤ 1.5·L + 2 s = {:.1} s", goal.as_secs_f64()),
    ]);
    r.row(&[
        format!("{n} one-member pools (one resource per VM, parallelism 10)"),
        format!("{:.1} s", per_vm.as_secs_f64()),
        format!(
            "model ⌈{n}/10⌉·L = {} s",
            n.div_ceil(10) as u64 * l.as_secs()
        ),
    ]);
    r.row(&[
        "ratio".into(),
        format!("{:.1}x faster", per_vm.as_secs_f64() / ours.as_secs_f64()),
        String::new(),
    ]);
}

/// Median time per call of `f`, over `rounds` batches of `iters` calls.
fn micro(name: &str, iters: u32, r: &mut Report, mut f: impl FnMut()) {
    let mut batches = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        batches.push(t.elapsed() / iters);
    }
    batches.sort();
    let m = batches[batches.len() / 2];
    r.row(&[name.into(), format!("{:.1} µs", m.as_secs_f64() * 1e6)]);
}

fn micro_benches(r: &mut Report) {
    use k0stack::resources::worker_pool::{model, observe, plan, rollout, validate};
    use tf_provider::value::Value;
    r.text("\n### Hot pure functions (release build)\n");
    r.row(&["function".into(), "median per call".into()]);
    r.row(&["---".into(), "---".into()]);
    let n = 1000;
    let views: Vec<rollout::MemberView> = (0..n)
        .map(|i| rollout::MemberView {
            id: format!("id-{i}"),
            template_hash: if i % 2 == 0 {
                "old".into()
            } else {
                "new".into()
            },
            health: rollout::Health::Ready,
            seq: i as u64,
        })
        .collect();
    let policy = rollout::Policy {
        max_surge: 10,
        max_unavailable: 0,
    };
    micro("rollout::next_step, 1,000 members mid-roll", 200, r, || {
        std::hint::black_box(rollout::next_step(&views, n as u32, "new", policy));
    });
    let servers: Vec<observe::ServerFacts> = (0..n)
        .map(|i| observe::ServerFacts {
            id: format!("id-{i}"),
            name: format!("pool-{i:05}"),
            status: "ACTIVE".into(),
            template_hash: Some("h".into()),
            created: format!("2026-01-01T00:{:02}:{:02}Z", i / 60 % 60, i % 60),
            ..Default::default()
        })
        .collect();
    let nodes: Vec<observe::NodeFacts> = (0..n)
        .map(|i| observe::NodeFacts {
            name: format!("pool-{i:05}"),
            ready: true,
            pool_uid: None,
            not_ready: None,
        })
        .collect();
    let none = Default::default();
    micro(
        "observe::observe, 1,000 servers + 1,000 nodes",
        50,
        r,
        || {
            std::hint::black_box(observe::observe(
                servers.clone(),
                observe::Nodes::Known(&nodes),
                &none,
                true,
            ));
        },
    );
    let observed = observe::observe(servers.clone(), observe::Nodes::Known(&nodes), &none, true);
    let members = observe::members(&observed);
    let mut prior = model::State {
        name: Value::Value("general".into()),
        hosted_control_plane_id: Value::Value("kmc-system/dev".into()),
        size: Value::Value(n as i64),
        flavor: Value::Value("m1.small".into()),
        image: Value::Value("ubuntu-24.04".into()),
        networks: Value::Value(vec![Value::Value("private".into())]),
        ..Default::default()
    };
    let resolved = plan::Resolved {
        template_hash: Some("h".into()),
        hcp_version: Some("v1.32.6+k0s.0".into()),
        hcp_uid: Some("cp".into()),
        equivalent_hashes: vec![],
        image_id: Some("img".into()),
    };
    prior = plan::plan_create(prior, &resolved);
    prior.uid = Value::Value("u".into());
    prior.hosted_control_plane_uid = Value::Value("cp".into());
    prior.members = Value::Value(members.into_iter().map(Value::Value).collect());
    prior.ready_count = Value::Value(n as i64);
    let proposed = model::State {
        size: Value::Value(n as i64 + 1),
        ..prior.clone()
    };
    micro(
        "plan::plan_update, 1,000-member pool scaled by one",
        50,
        r,
        || {
            std::hint::black_box(plan::plan_update(
                &prior,
                proposed.clone(),
                &proposed,
                &resolved,
            ));
        },
    );
    micro("validate::spec_from_state", 2000, r, || {
        std::hint::black_box(validate::spec_from_state(&prior));
    });
    let template = k0stack::cloudinit::WorkerTemplate {
        k0s_version: "v1.32.6+k0s.0".into(),
        labels: [("node.k0stack.io/pool".to_string(), "general".to_string())].into(),
        taints: vec!["dedicated=general:NoSchedule".into()],
        extra_user_data: Some("#cloud-config\npackages: [jq]\nruncmd: [echo done]\n".into()),
        ..Default::default()
    };
    let token = k0stack::framework::Secret::new("H4sIAAAAAAAA/0q0MjAwMDAwMDAwMDAwMDAw".repeat(20));
    micro(
        "cloudinit::render (labels, taints, extra cloud-config)",
        2000,
        r,
        || {
            std::hint::black_box(k0stack::cloudinit::render(&template, &token).unwrap());
        },
    );
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cores} cores ({cpu}), Terraform 1.0.3, release build")
}

fn main() {
    // `cargo test --all-targets` (make test) also runs bench targets, without `--bench`:
    // benchmarks never run as tests.
    if !std::env::args().any(|a| a == "--bench") || std::env::args().any(|a| a == "--list") {
        println!("fleet benchmarks run with `make bench` (cargo bench --bench fleet)");
        return;
    }
    let mut r = Report { md: String::new() };
    r.text(&format!(
        "Measured {} on {}{}.",
        time_stamp(),
        machine(),
        if quick() {
            " (QUICK mode: small sizes)"
        } else {
            ""
        }
    ));
    micro_benches(&mut r);
    fleet_plans(&mut r);
    apply_wall_time(&mut r);
    if !quick() {
        write_docs(&r.md);
    }
}

fn time_stamp() -> String {
    let out = std::process::Command::new("date").arg("+%Y-%m-%d").output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Replaces the text between the fleet markers of docs/benchmarks.md.
fn write_docs(section: &str) {
    let path = support::repo_root().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = (
        "<!-- fleet:begin (written by `make bench`) -->",
        "<!-- fleet:end -->",
    );
    let (Some(a), Some(b)) = (doc.find(begin), doc.find(end)) else {
        eprintln!("docs/benchmarks.md has no fleet markers; not updated");
        return;
    };
    let new = format!("{}{begin}\n{section}\n{}", &doc[..a], &doc[b..]);
    std::fs::write(&path, new).unwrap();
    eprintln!("updated {}", path.display());
}
