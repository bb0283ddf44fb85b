//! Fault injection (issue 8): the real Terraform CLI and provider against a misbehaving
//! k0stack-sim, each scenario ending with exact convergence and nothing leaked.
//!
//! `make test` runs the small scale; `make test-faults` sets `K0STACK_FAULT_SCALE=full`
//! (pool of 100, 20 kills, 30 s tokens). `K0STACK_FAULT_SEED` replays the kill moments of
//! a run (each run prints its seed). Figures go to stdout as `FIGURES ...` lines (run with
//! `--nocapture`); docs/reliability.md records them.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::{CloudSim, TfDir};

const NS: &str = "kmc-system";

/// Small (make test) or full (make test-faults) scale.
struct Scale {
    full: bool,
    pool_size: u32,
    kills: usize,
    kill_pool: u32,
    token_ttl_s: f64,
}

fn scale() -> Scale {
    let full = std::env::var("K0STACK_FAULT_SCALE").is_ok_and(|s| s == "full");
    if full {
        Scale {
            full,
            pool_size: 100,
            kills: 20,
            kill_pool: 10,
            token_ttl_s: 30.0,
        }
    } else {
        Scale {
            full,
            pool_size: 12,
            kills: 4,
            kill_pool: 4,
            token_ttl_s: 3.0,
        }
    }
}

/// splitmix64: a seeded, dependency-free RNG (the seed is printed so a run can be replayed).
struct Rng(u64);

impl Rng {
    fn from_env() -> (Self, u64) {
        let seed = std::env::var("K0STACK_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(42)
            });
        (Self(seed), seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

fn config(cloud: &CloudSim, pool: Option<(u32, &str)>) -> String {
    let pool = match pool {
        Some((size, flavor)) => format!(
            r#"
resource "k0stack_worker_pool" "general" {{
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = {size}
  flavor                  = "{flavor}"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
  security_groups         = ["k0s-worker"]
  rolling_update {{
    max_surge       = 2
    max_unavailable = 0
  }}
  timeouts {{
    create = "10m"
    update = "10m"
    delete = "10m"
  }}
}}
"#
        ),
        None => String::new(),
    };
    format!("{}{pool}", cloud.dev_control_plane_config())
}

fn setup(cloud: CloudSim, pool: Option<(u32, &str)>) -> (CloudSim, TfDir) {
    let tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write("main.tf", &config(&cloud, pool));
    tf.init();
    (cloud, tf)
}

/// Servers that exist (not deleted, not being deleted) carrying the provider's tag.
fn owned_servers(cloud: &CloudSim) -> Vec<k0stack_sim::openstack::ServerView> {
    cloud
        .servers()
        .into_iter()
        .filter(|s| s.tags.iter().any(|t| t == "k0stack"))
        .filter(|s| s.status != "DELETED" && !s.deleting)
        .collect()
}

/// Member ids of the pool in the Terraform state (`terraform show -json`); None when the
/// pool is not in the state.
fn state_members(tf: &TfDir) -> Option<Vec<String>> {
    let out = tf.run(&["show", "-json", "-no-color"]);
    out.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("show -json");
    let resources = v["values"]["root_module"]["resources"].as_array()?.clone();
    let pool = resources
        .iter()
        .find(|r| r["address"] == "k0stack_worker_pool.general")?;
    Some(
        pool["values"]["members"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| m["id"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// The pool is exactly `size` ACTIVE servers of `flavor`, each in the state once, no
/// server the provider owns is missing from the state, and the next plan is empty.
#[track_caller]
fn assert_converged(cloud: &CloudSim, tf: &TfDir, size: u32, flavor: &str, what: &str) {
    let servers = owned_servers(cloud);
    let ids: Vec<String> = servers.iter().map(|s| s.id.clone()).collect();
    let recorded = state_members(tf).unwrap_or_default();
    let recorded_set: BTreeSet<&String> = recorded.iter().collect();
    assert_eq!(
        recorded_set.len(),
        recorded.len(),
        "{what}: duplicate members in the state: {recorded:?}"
    );
    let orphans: Vec<&String> = ids.iter().filter(|i| !recorded_set.contains(i)).collect();
    assert!(
        orphans.is_empty(),
        "{what}: servers without a state entry: {orphans:?}"
    );
    let ghosts: Vec<&String> = recorded.iter().filter(|i| !ids.contains(i)).collect();
    assert!(
        ghosts.is_empty(),
        "{what}: state entries without a server: {ghosts:?}"
    );
    assert_eq!(servers.len(), size as usize, "{what}: {servers:#?}");
    let names: BTreeSet<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), servers.len(), "{what}: duplicate names");
    for s in &servers {
        assert_eq!(s.status, "ACTIVE", "{what}: {s:#?}");
        assert_eq!(s.flavor, flavor, "{what}: {s:#?}");
    }
    cloud.wait_for(&format!("{what}: {size} nodes"), || {
        cloud.hosted_nodes(NS, "dev").len() == size as usize
    });
    let plan = tf.plan_exit_code();
    assert_eq!(
        plan.code,
        Some(0),
        "{what}: plan after convergence not empty:\n{}",
        plan.all()
    );
}

fn injected(counters: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    counters
        .iter()
        .filter(|(k, _)| k.starts_with("injected "))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

fn requests(counters: &BTreeMap<String, u64>) -> u64 {
    counters
        .iter()
        .filter(|(k, _)| !k.starts_with("injected "))
        .map(|(_, v)| v)
        .sum()
}

/// (a) 10 % 500/503, 429 bursts with Retry-After, short Keystone tokens, 5 % of VMs to
/// ERROR: apply converges to exactly `size` servers, all in the state; destroy (still under
/// faults) leaves none.
#[test]
fn pool_converges_under_api_errors_rate_limits_short_tokens_and_vm_errors() {
    let sc = scale();
    let (cloud, tf) = setup(CloudSim::start(), Some((sc.pool_size, "m1.small")));
    let faults = serde_json::json!({
        "error_rates": {"500": 0.05, "503": 0.05},
        "rate_limit": {"rate": 0.02, "retry_after_s": 1},
        "token_ttl_s": sc.token_ttl_s,
        "vm_error_rate": 0.05,
    });
    cloud.set_faults(faults.clone());
    // 429 bursts: 300 ms in which 90 % of the requests are rate limited, every 1.3 s.
    let handle = cloud.os.faults();
    let stop = AtomicBool::new(false);
    let bursts = std::sync::atomic::AtomicU64::new(0);
    let burst_patch = |rate: f64| -> k0stack_sim::openstack::FaultsPatch {
        serde_json::from_value(
            serde_json::json!({"rate_limit": {"rate": rate, "retry_after_s": 1}}),
        )
        .unwrap()
    };
    cloud.os.counters().reset();
    let started = Instant::now();
    let apply = std::thread::scope(|s| {
        s.spawn(|| {
            // The first burst when the pool starts creating servers (so it always meets
            // traffic), then one every 1.3 s.
            let counters = cloud.os.counters();
            while !stop.load(Ordering::SeqCst) && counters.get("POST /compute/v2.1/servers") == 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
            while !stop.load(Ordering::SeqCst) {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                handle.update(burst_patch(0.9)).unwrap();
                bursts.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(300));
                handle.update(burst_patch(0.02)).unwrap();
                std::thread::sleep(Duration::from_millis(1000));
            }
        });
        let out = tf.apply();
        stop.store(true, Ordering::SeqCst);
        out
    });
    let took = started.elapsed();
    apply.assert_ok().assert_no_crash();
    let counters = cloud.os.counters().snapshot();
    let errored_boots = cloud
        .os
        .history()
        .iter()
        .filter(|e| e.kind == "server.error")
        .count();
    let tokens = counters
        .get("POST /identity/v3/auth/tokens")
        .copied()
        .unwrap_or(0);
    println!(
        "FIGURES faults(a) scale={} size={} apply={:.1}s requests={} injected={:?} 429_bursts={} tokens_issued={} vm_errors_replaced={}",
        if sc.full { "full" } else { "small" },
        sc.pool_size,
        took.as_secs_f64(),
        requests(&counters),
        injected(&counters),
        bursts.load(Ordering::SeqCst),
        tokens,
        errored_boots,
    );
    assert!(
        !injected(&counters).is_empty(),
        "no fault was injected: {counters:?}"
    );
    // Faults off for the checks (the plan inside must see the truth quickly).
    cloud.set_faults(serde_json::json!({
        "error_rates": {"500": 0, "503": 0}, "rate_limit": null, "vm_error_rate": 0.0, "token_ttl_s": 3600.0
    }));
    assert_converged(&cloud, &tf, sc.pool_size, "m1.small", "faults(a)");

    // Destroy under the same API faults (no VM errors: nothing boots).
    cloud.set_faults(serde_json::json!({
        "error_rates": {"500": 0.05, "503": 0.05},
        "rate_limit": {"rate": 0.05, "retry_after_s": 1},
        "token_ttl_s": sc.token_ttl_s,
    }));
    let started = Instant::now();
    tf.destroy().assert_ok().assert_no_crash();
    println!(
        "FIGURES faults(a) destroy={:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        owned_servers(&cloud).is_empty(),
        "{:#?}",
        owned_servers(&cloud)
    );
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Create,
    Scale,
    Roll,
    Destroy,
}

/// (b) SIGKILL of terraform (and the provider with it) at random moments of create, scale,
/// rolling update and destroy; after each, a re-run of the same command converges: no
/// orphan, no duplicate, the state is what the simulator has.
#[test]
fn sigkill_at_random_moments_leaves_no_orphans_and_no_duplicates() {
    let sc = scale();
    let (mut rng, seed) = Rng::from_env();
    println!("FIGURES faults(b) seed={seed} (K0STACK_FAULT_SEED={seed} replays the kill moments)");
    let (cloud, tf) = setup(CloudSim::start(), None);
    tf.apply().assert_ok();
    // Slow boots and deletes so that the kills land mid-operation.
    cloud.set_faults(serde_json::json!({"boot_latency_ms": 800, "delete_latency_ms": 300}));
    let phases = [Phase::Create, Phase::Scale, Phase::Roll, Phase::Destroy];
    let (mut size, mut flavor) = (sc.kill_pool, "m1.small");
    let mut exists = false;
    let mut moments = Vec::new();
    for k in 0..sc.kills {
        let phase = phases[k % phases.len()];
        let args: &[&str] = match phase {
            Phase::Destroy => &[
                "destroy",
                "-no-color",
                "-input=false",
                "-auto-approve",
                "-target=k0stack_worker_pool.general",
            ],
            _ => &["apply", "-no-color", "-input=false", "-auto-approve"],
        };
        match phase {
            Phase::Create => {
                size = sc.kill_pool;
                flavor = "m1.small";
            }
            Phase::Scale => {
                size = if rng.next() % 2 == 0 {
                    size + 3
                } else {
                    size.saturating_sub(2).max(1)
                }
            }
            Phase::Roll => {
                flavor = if flavor == "m1.small" {
                    "m1.medium"
                } else {
                    "m1.small"
                }
            }
            Phase::Destroy => {}
        }
        tf.write("main.tf", &config(&cloud, Some((size, flavor))));
        let delay = Duration::from_millis(rng.range(300, 4000));
        moments.push(format!("{phase:?}@{}ms", delay.as_millis()));
        let mut child = tf.spawn(args);
        std::thread::sleep(delay);
        let finished = child.try_wait().ok().flatten().is_some();
        support::sigkill(&mut child);
        let what = format!("kill {k} ({phase:?} after {delay:?}, finished first: {finished})");
        // Re-run the interrupted command.
        let rerun = tf.run(args);
        rerun.assert_ok().assert_no_crash();
        match phase {
            Phase::Destroy => {
                exists = false;
                assert!(
                    owned_servers(&cloud).is_empty(),
                    "{what}: {:#?}",
                    owned_servers(&cloud)
                );
                assert_eq!(state_members(&tf), None, "{what}: pool still in the state");
            }
            _ => {
                exists = true;
                assert_converged(&cloud, &tf, size, flavor, &what);
            }
        }
    }
    println!("FIGURES faults(b) kills={} moments={moments:?}", sc.kills);
    if exists {
        tf.destroy().assert_ok();
    }
    assert!(owned_servers(&cloud).is_empty());
}

/// (c) The management API goes down while an apply waits for the control plane: a clear
/// error within seconds; when it is back, the next apply converges.
#[test]
fn management_api_down_mid_apply_is_a_clear_error_and_the_next_apply_converges() {
    let cloud = CloudSim::start_with(
        k0stack_sim::openstack::OpenStackOptions {
            boot_latency: Duration::from_millis(200),
            ..Default::default()
        },
        k0stack_sim::k8s::K8sOptions {
            ready_delay: Duration::from_millis(3000),
            join_latency: Duration::from_millis(100),
            ..Default::default()
        },
    );
    let (cloud, tf) = setup(cloud, Some((3, "m1.small")));
    let clusters = |cloud: &CloudSim| {
        let store = cloud.k8s.api.store.lock().unwrap();
        store
            .find("k0smotron.io", "v1beta2", "clusters")
            .map(|rt| store.list(&rt, None, None).len())
            .unwrap_or(0)
    };
    let started = Instant::now();
    let mut down_at = None;
    let out = std::thread::scope(|s| {
        let apply = s.spawn(|| tf.apply());
        // Down as soon as the control plane object exists (the apply then waits for it).
        while clusters(&cloud) == 0 && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        {
            let mut f = cloud.k8s.api.faults.lock().unwrap();
            f.unreachable = true; // new connections are dropped
            f.error_503 = 1.0; // and kept-alive ones answer 503
        }
        down_at = Some(Instant::now());
        apply.join().unwrap()
    });
    let failed_after = down_at.map(|d| d.elapsed()).unwrap_or_default();
    out.assert_failed().assert_no_crash();
    let all = out.all();
    // One error, naming what failed and why; no "invalid result object" (a state with
    // unknown values after the failed create).
    assert_eq!(all.matches("Error: ").count(), 1, "{all}");
    out.assert_contains("Error: Hosted control plane not ready")
        .assert_contains("503");
    assert!(owned_servers(&cloud).is_empty(), "a pool was created");
    println!(
        "FIGURES faults(c) error_after_down={:.1}s error={:?}",
        failed_after.as_secs_f64(),
        all.lines()
            .find(|l| l.contains("Error:"))
            .unwrap_or_default()
            .trim()
    );
    assert!(
        failed_after < Duration::from_secs(60),
        "the error took {failed_after:?}"
    );
    {
        let mut f = cloud.k8s.api.faults.lock().unwrap();
        f.unreachable = false;
        f.error_503 = 0.0;
    }
    let started = Instant::now();
    tf.apply().assert_ok().assert_no_crash();
    println!(
        "FIGURES faults(c) recovery_apply={:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_converged(&cloud, &tf, 3, "m1.small", "faults(c)");
    assert_eq!(clusters(&cloud), 1);
    tf.destroy().assert_ok();
    assert!(owned_servers(&cloud).is_empty());
}
