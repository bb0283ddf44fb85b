//! e2e (issue 20 item 4): progress you can follow. `K0STACK_LOG` alone (no `TF_LOG`, so
//! Terraform drops the plugin's stderr) writes `k0stack.log` in the working directory;
//! during a long create there is an INFO line at least every 15 s naming what is awaited;
//! Kubernetes requests show at DEBUG with method, path, status and duration; library
//! internals (hyper, h2, tower, rustls) do not show below TRACE; no secret is in the log.

mod support;

use support::{CloudSim, TfDir};

const POOL: &str = r#"
resource "k0stack_worker_pool" "general" {
  name                    = "general"
  hosted_control_plane_id = k0stack_hosted_control_plane.dev.id
  size                    = 2
  flavor                  = "m1.small"
  image                   = "ubuntu-24.04"
  networks                = ["private"]
}
"#;

/// Seconds since midnight of a line's leading RFC 3339 timestamp (`2026-12-01T23:40:01.5Z`).
fn seconds_of(line: &str) -> Option<f64> {
    let t = line.split_whitespace().next()?;
    let time = t.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

#[test]
fn a_long_create_logs_what_it_waits_for_at_least_every_15_seconds() {
    let cloud = CloudSim::start();
    let mut tf = TfDir::new("");
    cloud.write_files(&tf);
    tf.write(
        "main.tf",
        &format!("{}{POOL}", cloud.dev_control_plane_config()),
    );
    tf.init();
    tf.set_env("K0STACK_LOG", "debug");
    // Servers stay in BUILD for 35 s: nothing changes for longer than the heartbeat.
    cloud.set_faults(serde_json::json!({"boot_latency_ms": 35_000}));
    tf.apply().assert_ok();

    let log = std::fs::read_to_string(tf.path().join("k0stack.log"))
        .expect("K0STACK_LOG alone writes k0stack.log in the working directory");
    let pool_lines: Vec<(f64, &str)> = log
        .lines()
        .filter(|l| l.contains(" INFO ") && l.contains("pool kmc-system/dev/general"))
        .filter_map(|l| Some((seconds_of(l)?, l)))
        .collect();
    assert!(pool_lines.len() >= 3, "progress lines:\n{log}");
    let gaps: Vec<f64> = pool_lines.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let span = pool_lines.last().unwrap().0 - pool_lines[0].0;
    assert!(span >= 30.0, "the create lasted {span} s: {pool_lines:?}");
    assert!(
        gaps.iter().all(|g| *g <= 15.0),
        "a gap of more than 15 s between progress lines: {gaps:?}\n{pool_lines:#?}"
    );
    // Each names what is awaited, member by member.
    assert!(
        pool_lines.iter().all(|(_, l)| l.contains("Ready")),
        "{pool_lines:#?}"
    );
    assert!(
        pool_lines
            .iter()
            .filter(|(_, l)| l.contains("general-") && l.contains("building (BUILD)"))
            .count()
            >= 2,
        "{pool_lines:#?}"
    );
    assert!(
        pool_lines.last().unwrap().1.ends_with("2/2 Ready"),
        "{pool_lines:#?}"
    );

    let requests: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" DEBUG ") && l.contains("Kubernetes request"))
        .collect();
    assert!(
        requests.iter().any(|l| l.contains("cluster=management")
            && l.contains("method=GET")
            && l.contains("status=200")
            && l.contains("duration_ms=")),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains("cluster=hosted") && l.contains("/api/v1/nodes")),
        "the hosted cluster's requests show too"
    );
    // `<timestamp> <LEVEL> <target>: <message>`: only our own targets below TRACE.
    let foreign: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(2)
                .is_some_and(|target| !target.starts_with("k0stack"))
        })
        .collect();
    assert!(
        foreign.is_empty(),
        "library lines below TRACE: {foreign:#?}"
    );
    let password = cloud.os.credentials().password;
    for secret in [
        "PRIVATE KEY",
        "client-key-data",
        "token-file",
        password.as_str(),
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}
