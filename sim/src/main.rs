//! `k0stack-sim up --dir DIR [options]`: serves the simulated clouds until SIGINT/SIGTERM
//! (`k0stack-sim up --help` lists the options).
//!
//! Both halves run in one process and share one EventBus: servers booted through the
//! simulated Nova join the hosted clusters of the simulated k0smotron as workers. With
//! `--openstack-from <clouds.yaml>` the OpenStack half is not started: a poller of the real
//! Nova feeds the bus instead (`k0stack_sim::external_openstack`).
//!
//! Usage errors exit 2 with clap's usage line; runtime errors print `error: ...` and exit 1.

mod cli;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use k0stack_sim::external_openstack::{self as external, PollOptions};
use k0stack_sim::k8s::{K8sOptions, K8sSim};
use k0stack_sim::openstack::{OpenStackOptions, OpenStackSim, Seed};
use k0stack_sim::{EventBus, UpOptions};

/// Where OpenStack comes from: simulated here, or a real cloud polled for its servers.
enum OpenStackSource {
    Simulated(Box<OpenStackOptions>),
    External {
        clouds: std::path::PathBuf,
        cloud: Option<String>,
        interval: std::time::Duration,
    },
}

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
fn options(up: cli::Up) -> Result<(UpOptions, K8sOptions, OpenStackSource)> {
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
    let os = match up.openstack_from {
        Some(clouds) => OpenStackSource::External {
            clouds,
            cloud: up.openstack_cloud,
            interval: up.poll_interval,
        },
        None => OpenStackSource::Simulated(Box::new(OpenStackOptions {
            boot_latency: up.boot_latency,
            token_ttl: up.token_ttl,
            vm_error_rate: up.vm_error_rate,
            hosts: up.hosts,
            seed,
            ..Default::default()
        })),
    };
    Ok((UpOptions { dir: up.dir }, k8s, os))
}

async fn serve(up: cli::Up) -> Result<()> {
    let (opts, mut k8s_opts, source) = options(up)?;
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("creating {}", opts.dir.display()))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bus = EventBus::default();
    k8s_opts.bus = bus.clone();
    let k8s = K8sSim::start(k8s_opts)
        .await
        .context("starting the management cluster")?;
    let write = |name: &str, text: String| {
        let path = opts.dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    // Kept alive until the process stops.
    let _openstack = match source {
        OpenStackSource::Simulated(mut os_opts) => {
            os_opts.bus = bus;
            let cloud = OpenStackSim::start(*os_opts)
                .await
                .context("starting the OpenStack half")?;
            write("clouds.yaml", cloud.clouds_yaml())?;
            write("env.sh", cloud.env_sh())?;
            eprintln!(
                "k0stack-sim: OpenStack at {} (clouds.yaml cloud k0stack-sim, admin {})",
                cloud.auth_url(),
                cloud.admin_url()
            );
            Box::new(cloud) as Box<dyn std::any::Any>
        }
        OpenStackSource::External {
            clouds,
            cloud,
            interval,
        } => {
            let clouds = std::path::absolute(&clouds).unwrap_or(clouds);
            let c = external::clouds::load(&clouds, cloud.as_deref())?;
            let (name, auth_url) = (c.name.clone(), c.auth_url.clone());
            let poller = external::start(c, PollOptions { interval, bus })
                .await
                .with_context(|| format!("cloud {name:?} of {}", clouds.display()))?;
            // A clouds.yaml of an earlier simulated run would point at nothing now.
            let _ = std::fs::remove_file(opts.dir.join("clouds.yaml"));
            write("env.sh", external_env_sh(&clouds, &name))?;
            eprintln!(
                "k0stack-sim: OpenStack is external (no simulated OpenStack endpoints): cloud {name:?} at {auth_url}, Nova listed every {interval:?}"
            );
            Box::new(AbortOnDrop(poller)) as Box<dyn std::any::Any>
        }
    };
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

/// Stops the poller with the process's other tasks.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// env.sh of the external mode: the real cloud's clouds.yaml and name, and a marker that
/// there is no simulated OpenStack (no K0STACK_SIM_ADMIN: faults and counters are the
/// simulated cloud's only).
fn external_env_sh(clouds: &std::path::Path, cloud: &str) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    format!(
        "# k0stack-sim --openstack-from: OpenStack is external, not simulated (no simulated OpenStack endpoints)\nexport K0STACK_SIM_OPENSTACK='external'\nexport OS_CLIENT_CONFIG_FILE={}\nexport OS_CLOUD={}\n",
        q(&clouds.display().to_string()),
        q(cloud)
    )
}
