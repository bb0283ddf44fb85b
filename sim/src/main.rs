//! `k0stack-sim up --dir DIR [options]`: serves the simulated clouds until SIGINT/SIGTERM.
//!
//! Both halves run in one process and share one EventBus: servers booted through the
//! simulated Nova join the hosted clusters of the simulated k0smotron as workers.
//!
//! Options:
//!   --ready-delay DURATION          time for a hosted control plane to become ready (default 2s)
//!   --k0smotron-versions LIST       served k0smotron.io versions, storage first
//!                                   (default v1beta2,v1beta1; `none`: k0smotron not installed)
//!   --boot-latency DURATION         server BUILD -> ACTIVE (default 2s)
//!   --token-ttl DURATION            Keystone token lifetime (default 1h)
//!   --vm-error-rate FRACTION        boots ending in ERROR (default 0)
//!   --hosts N                       simulated compute hosts (default 16)
//!   --seed FILE                     cloud seed (YAML/JSON, see openstack::seed::Seed)
//!
//! Writes DIR/clouds.yaml (cloud `k0stack-sim`), DIR/env.sh (OS_* exports and
//! K0STACK_SIM_ADMIN), then DIR/admin.kubeconfig last: once it exists, all three do.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use k0stack_sim::k8s::{K8sOptions, K8sSim};
use k0stack_sim::openstack::{OpenStackOptions, OpenStackSim, Seed};
use k0stack_sim::{EventBus, UpOptions};

fn usage() -> &'static str {
    "usage: k0stack-sim up --dir DIR [--ready-delay 2s] [--k0smotron-versions v1beta2,v1beta1|none]\n\
     \x20      [--boot-latency 2s] [--token-ttl 1h] [--vm-error-rate 0.05] [--hosts 16] [--seed FILE]"
}

fn parse_duration(s: &str) -> Result<Duration> {
    let (num, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = num.parse().with_context(|| format!("bad duration {s:?}"))?;
    Ok(Duration::from_secs_f64(match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => bail!("bad duration {s:?} (use ms, s, m or h)"),
    }))
}

fn parse_args(args: &[String]) -> Result<(UpOptions, K8sOptions, OpenStackOptions)> {
    let mut it = args.iter();
    if it.next().map(String::as_str) != Some("up") {
        bail!("{}", usage());
    }
    let mut dir = None;
    let mut k8s = K8sOptions {
        ready_delay: Duration::from_secs(2),
        ..Default::default()
    };
    let mut os = OpenStackOptions {
        boot_latency: Duration::from_secs(2),
        ..Default::default()
    };
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\n{}", usage()))
        };
        match arg.as_str() {
            "--dir" => dir = Some(value()?.into()),
            "--ready-delay" => k8s.ready_delay = parse_duration(value()?)?,
            "--k0smotron-versions" => {
                let v = value()?;
                k8s.k0smotron_versions = if v == "none" {
                    vec![]
                } else {
                    v.split(',').map(String::from).collect()
                };
            }
            "--boot-latency" => os.boot_latency = parse_duration(value()?)?,
            "--token-ttl" => os.token_ttl = parse_duration(value()?)?,
            "--vm-error-rate" => {
                let v = value()?;
                os.vm_error_rate = v
                    .parse()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .with_context(|| format!("--vm-error-rate {v:?}: a fraction within 0..1"))?;
            }
            "--hosts" => {
                let v = value()?;
                os.hosts = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .with_context(|| format!("--hosts {v:?}: a positive number"))?;
            }
            "--seed" => {
                let path = value()?;
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading seed {path}"))?;
                os.seed = Seed::from_yaml(&text).with_context(|| format!("seed {path}"))?;
            }
            other => bail!("unknown argument {other:?}\n{}", usage()),
        }
    }
    Ok((
        UpOptions {
            dir: dir.context("--dir is required")?,
        },
        k8s,
        os,
    ))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (opts, mut k8s_opts, mut os_opts) = parse_args(&args)?;
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("creating {}", opts.dir.display()))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bus = EventBus::default();
    k8s_opts.bus = bus.clone();
    os_opts.bus = bus;
    let k8s = K8sSim::start(k8s_opts).await?;
    let cloud = OpenStackSim::start(os_opts).await?;
    std::fs::write(opts.dir.join("clouds.yaml"), cloud.clouds_yaml())?;
    std::fs::write(opts.dir.join("env.sh"), cloud.env_sh())?;
    eprintln!(
        "k0stack-sim: OpenStack at {} (clouds.yaml cloud k0stack-sim, admin {})",
        cloud.auth_url(),
        cloud.admin_url()
    );
    let kubeconfig = opts.dir.join("admin.kubeconfig");
    std::fs::write(&kubeconfig, k8s.kubeconfig())?;
    eprintln!(
        "k0stack-sim: management cluster at {} (kubeconfig {})",
        k8s.url,
        kubeconfig.display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("k0stack-sim: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options() {
        let args: Vec<String> = [
            "up",
            "--dir",
            "/tmp/x",
            "--ready-delay",
            "500ms",
            "--k0smotron-versions",
            "v1beta1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (o, k, os) = parse_args(&args).unwrap();
        assert_eq!(os.boot_latency, Duration::from_secs(2));
        assert_eq!(o.dir.display().to_string(), "/tmp/x");
        assert_eq!(k.ready_delay, Duration::from_millis(500));
        assert_eq!(k.k0smotron_versions, vec!["v1beta1"]);
        assert!(parse_args(&["up".to_string()]).is_err());
        assert!(parse_args(&["down".to_string()]).is_err());
        let args: Vec<String> =
            "up --dir /tmp/x --boot-latency 250ms --token-ttl 1h --vm-error-rate 0.05 --hosts 2"
                .split(' ')
                .map(String::from)
                .collect();
        let (_, _, os) = parse_args(&args).unwrap();
        assert_eq!(os.boot_latency, Duration::from_millis(250));
        assert_eq!(os.token_ttl, Duration::from_secs(3600));
        assert_eq!(os.vm_error_rate, 0.05);
        assert_eq!(os.hosts, 2);
        let bad: Vec<String> = "up --dir /tmp/x --vm-error-rate 2"
            .split(' ')
            .map(String::from)
            .collect();
        assert!(parse_args(&bad).is_err());
    }
}
