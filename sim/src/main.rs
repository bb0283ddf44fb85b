//! `k0stack-sim up --dir DIR [options]`: serves the simulated clouds until SIGINT/SIGTERM.
//!
//! Options:
//!   --ready-delay DURATION          time for a hosted control plane to become ready (default 2s)
//!   --k0smotron-versions LIST       served k0smotron.io versions, storage first
//!                                   (default v1beta2,v1beta1; `none`: k0smotron not installed)

use std::time::Duration;

use anyhow::{bail, Context, Result};
use k0stack_sim::k8s::{K8sOptions, K8sSim};
use k0stack_sim::UpOptions;

fn usage() -> &'static str {
    "usage: k0stack-sim up --dir DIR [--ready-delay 2s] [--k0smotron-versions v1beta2,v1beta1|none]"
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
        _ => bail!("bad duration {s:?} (use ms, s or m)"),
    }))
}

fn parse_args(args: &[String]) -> Result<(UpOptions, K8sOptions)> {
    let mut it = args.iter();
    if it.next().map(String::as_str) != Some("up") {
        bail!("{}", usage());
    }
    let mut dir = None;
    let mut k8s = K8sOptions {
        ready_delay: Duration::from_secs(2),
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
            other => bail!("unknown argument {other:?}\n{}", usage()),
        }
    }
    Ok((
        UpOptions {
            dir: dir.context("--dir is required")?,
        },
        k8s,
    ))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (opts, k8s_opts) = parse_args(&args)?;
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("creating {}", opts.dir.display()))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let k8s = K8sSim::start(k8s_opts).await?;
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
        let (o, k) = parse_args(&args).unwrap();
        assert_eq!(o.dir.display().to_string(), "/tmp/x");
        assert_eq!(k.ready_delay, Duration::from_millis(500));
        assert_eq!(k.k0smotron_versions, vec!["v1beta1"]);
        assert!(parse_args(&["up".to_string()]).is_err());
        assert!(parse_args(&["down".to_string()]).is_err());
    }
}
