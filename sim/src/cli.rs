//! The command line of `k0stack-sim` (clap): what `up` takes, and how its values parse.
//!
//! Parsing is separate from running so that usage errors (exit 2, clap's usage line)
//! never start a server, and runtime errors (exit 1, `error: ...`) never print usage.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Simulated OpenStack + k0s management cluster with k0smotron, for the provider's tests
/// and `make demo`.
#[derive(Debug, Parser)]
#[command(name = "k0stack-sim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve both simulated clouds until SIGINT/SIGTERM.
    ///
    /// Writes DIR/clouds.yaml (cloud `k0stack-sim`), DIR/env.sh (OS_* exports and
    /// K0STACK_SIM_ADMIN), then DIR/admin.kubeconfig last: once it exists, all three do.
    /// With --openstack-from, OpenStack is real: no clouds.yaml, and env.sh points at the
    /// given one (K0STACK_SIM_OPENSTACK=external).
    Up(Up),
}

/// The options of `k0stack-sim up`.
#[derive(Debug, Args)]
pub struct Up {
    /// Directory for clouds.yaml, env.sh and admin.kubeconfig (created if missing)
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Time for a hosted control plane to become ready
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub ready_delay: Duration,
    /// Served k0smotron.io versions, storage version first; `none`: k0smotron not installed
    #[arg(long, value_name = "LIST", default_value = "v1beta2,v1beta1", value_parser = parse_versions)]
    pub k0smotron_versions: Versions,
    /// Server BUILD -> ACTIVE
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub boot_latency: Duration,
    /// ACTIVE server -> Ready node, when its user data joins
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = parse_duration)]
    pub join_latency: Duration,
    /// Keystone token lifetime
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub token_ttl: Duration,
    /// Fraction of boots ending in ERROR, within 0..1
    #[arg(long, value_name = "FRACTION", default_value = "0", value_parser = parse_fraction)]
    pub vm_error_rate: f64,
    /// Simulated compute hosts
    #[arg(long, value_name = "N", default_value = "16", value_parser = parse_hosts)]
    pub hosts: usize,
    /// Cloud seed (YAML or JSON, see the simulator guide)
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Workers boot in an air-gapped site: get.k0s.sh, GitHub and public registries
    /// (quay.io, registry.k8s.io, docker.io, ghcr.io) are unreachable; any other host is the
    /// site's mirror
    #[arg(long)]
    pub air_gapped: bool,
    /// OpenStack is real: serve only the Kubernetes half, and join the servers of this
    /// clouds.yaml's cloud (admin credentials: user_data of every project is needed)
    #[arg(long, value_name = "CLOUDS_YAML",
        conflicts_with_all = ["boot_latency", "token_ttl", "vm_error_rate", "hosts", "seed"])]
    pub openstack_from: Option<PathBuf>,
    /// The cloud of --openstack-from (default: $OS_CLOUD, else the file's first)
    #[arg(long, value_name = "NAME", requires = "openstack_from")]
    pub openstack_cloud: Option<String>,
    /// How often the real Nova is listed
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, requires = "openstack_from")]
    pub poll_interval: Duration,
}

/// The served k0smotron versions (a newtype: clap would read a bare `Vec` as a repeatable flag).
#[derive(Debug, Clone, PartialEq)]
pub struct Versions(pub Vec<String>);

/// `500ms`, `2s`, `1.5m`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 500ms, 2s, 1m, 1h)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

fn parse_versions(s: &str) -> Result<Versions, String> {
    if s == "none" {
        return Ok(Versions(vec![]));
    }
    let vs: Vec<String> = s.split(',').map(|v| v.trim().to_string()).collect();
    if vs.iter().any(|v| v.is_empty()) {
        return Err(format!(
            "{s:?}: a comma-separated list such as v1beta2,v1beta1, or none"
        ));
    }
    Ok(Versions(vs))
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("{s:?}: a fraction within 0..1"))
}

fn parse_hosts(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{s:?}: a positive number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(args: &str) -> Result<Up, clap::Error> {
        let argv = std::iter::once("k0stack-sim").chain(args.split(' '));
        Cli::try_parse_from(argv).map(|c| match c.command {
            Command::Up(u) => u,
        })
    }

    #[test]
    fn parses_every_option_with_the_documented_defaults() {
        let u = up("up --dir /tmp/x --ready-delay 500ms --k0smotron-versions v1beta1").unwrap();
        assert_eq!(u.dir, PathBuf::from("/tmp/x"));
        assert_eq!(u.ready_delay, Duration::from_millis(500));
        assert_eq!(u.k0smotron_versions, Versions(vec!["v1beta1".into()]));
        assert_eq!(u.boot_latency, Duration::from_secs(2));
        assert_eq!(u.join_latency, Duration::from_millis(200));
        assert_eq!(u.token_ttl, Duration::from_secs(3600));
        assert_eq!((u.vm_error_rate, u.hosts, u.seed), (0.0, 16, None));
        assert!(!u.air_gapped);
        assert!(up("up --dir /tmp/x --air-gapped").unwrap().air_gapped);
        assert_eq!((u.openstack_from, u.openstack_cloud), (None, None));
        assert_eq!(u.poll_interval, Duration::from_secs(1));
        let u =
            up("up --dir /tmp/x --openstack-from c.yaml --openstack-cloud a --poll-interval 250ms")
                .unwrap();
        assert_eq!(u.openstack_from, Some(PathBuf::from("c.yaml")));
        assert_eq!(u.openstack_cloud.as_deref(), Some("a"));
        assert_eq!(u.poll_interval, Duration::from_millis(250));
        let u = up("up --dir /tmp/x --boot-latency 250ms --token-ttl 1h --vm-error-rate 0.05 --hosts 2 --k0smotron-versions none --seed s.yaml").unwrap();
        assert_eq!(u.boot_latency, Duration::from_millis(250));
        assert_eq!(u.token_ttl, Duration::from_secs(3600));
        assert_eq!((u.vm_error_rate, u.hosts), (0.05, 2));
        assert_eq!(u.k0smotron_versions, Versions(vec![]));
        assert_eq!(u.seed, Some(PathBuf::from("s.yaml")));
    }

    #[test]
    fn refuses_bad_values_as_usage_errors() {
        for bad in [
            "up",
            "down --dir /tmp/x",
            "up --dir /tmp/x --vm-error-rate 2",
            "up --dir /tmp/x --hosts 0",
            "up --dir /tmp/x --boot-latency 2d",
            "up --dir /tmp/x --k0smotron-versions v1beta2,",
            "up --dir /tmp/x --bogus",
            "up --dir /tmp/x --openstack-cloud a",
            "up --dir /tmp/x --openstack-from c.yaml --seed s.yaml",
            "up --dir /tmp/x --openstack-from c.yaml --boot-latency 1s",
        ] {
            let e = up(bad).expect_err(bad);
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
    }

    #[test]
    fn durations_take_ms_s_m_h() {
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").is_err());
    }
}
