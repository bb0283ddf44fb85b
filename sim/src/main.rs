//! `k0stack-sim up --dir DIR [options]`: serves the simulated clouds until SIGINT/SIGTERM
//! (`k0stack-sim up --help` lists the options).
//!
//! Both halves run in one process and share one EventBus: servers booted through the
//! simulated Nova join the hosted clusters of the simulated k0smotron as workers.
//!
//! Usage errors exit 2 with clap's usage line; runtime errors print `error: ...` and exit 1.

mod cli;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use k0stack_sim::k8s::{K8sOptions, K8sSim};
use k0stack_sim::openstack::{OpenStackOptions, OpenStackSim, Seed};
use k0stack_sim::{EventBus, UpOptions};

fn main() -> ExitCode {
    let cli::Command::Up(up) = cli::Cli::parse().command;
    let run = tokio::runtime::Runtime::new()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(serve(up)));
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The options of both halves from the command line (the seed file is read here: a
/// missing or invalid seed is a runtime error, not a usage error).
fn options(up: cli::Up) -> Result<(UpOptions, K8sOptions, OpenStackOptions)> {
    let seed = match &up.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading seed {}", path.display()))?;
            Seed::from_yaml(&text).with_context(|| format!("seed {}", path.display()))?
        }
        None => Seed::default(),
    };
    let k8s = K8sOptions {
        ready_delay: up.ready_delay,
        k0smotron_versions: up.k0smotron_versions.0,
        join_latency: up.join_latency,
        air_gapped: up.air_gapped,
        ..Default::default()
    };
    let os = OpenStackOptions {
        boot_latency: up.boot_latency,
        token_ttl: up.token_ttl,
        vm_error_rate: up.vm_error_rate,
        hosts: up.hosts,
        seed,
        ..Default::default()
    };
    Ok((UpOptions { dir: up.dir }, k8s, os))
}

async fn serve(up: cli::Up) -> Result<()> {
    let (opts, mut k8s_opts, mut os_opts) = options(up)?;
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("creating {}", opts.dir.display()))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bus = EventBus::default();
    k8s_opts.bus = bus.clone();
    os_opts.bus = bus;
    let k8s = K8sSim::start(k8s_opts)
        .await
        .context("starting the management cluster")?;
    let cloud = OpenStackSim::start(os_opts)
        .await
        .context("starting the OpenStack half")?;
    let write = |name: &str, text: String| {
        let path = opts.dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("clouds.yaml", cloud.clouds_yaml())?;
    write("env.sh", cloud.env_sh())?;
    eprintln!(
        "k0stack-sim: OpenStack at {} (clouds.yaml cloud k0stack-sim, admin {})",
        cloud.auth_url(),
        cloud.admin_url()
    );
    write("admin.kubeconfig", k8s.kubeconfig())?;
    eprintln!(
        "k0stack-sim: management cluster at {} (kubeconfig {})",
        k8s.url,
        opts.dir.join("admin.kubeconfig").display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("k0stack-sim: stopped");
    Ok(())
}
