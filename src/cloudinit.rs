//! Worker user-data: a `#cloud-config` that installs k0s and joins a hosted control plane.
//!
//! The join token is written to `/etc/k0s.token` (0600) and removed once k0s is installed.
//! The token is deliberately *not* part of [`WorkerTemplate`] (whose hash decides when
//! members are replaced): a fresh token for new members never makes existing members look
//! out of date (terraform-provider-openstack#1190).

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use crate::framework::Secret;

/// Default k0s download: the official install script.
pub const DEFAULT_DOWNLOAD_URL: &str = "https://get.k0s.sh";

/// Everything that shapes a worker's software, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkerTemplate {
    pub k0s_version: String,
    /// `None`: get.k0s.sh. Otherwise the URL of a k0s binary (air-gapped mirror).
    pub download_url: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// `key=value:Effect` (or `key:Effect`), validated by the caller.
    pub taints: Vec<String>,
    pub kubelet_extra_args: Option<String>,
    /// User cloud-config merged in (must be a `#cloud-config` mapping).
    pub extra_user_data: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CloudInitError {
    #[error("extra_user_data is not valid cloud-config YAML: {0}")]
    InvalidYaml(String),
    #[error(
        "extra_user_data must be a #cloud-config mapping (e.g. `packages: [jq]`), not a script"
    )]
    NotAMapping,
    #[error("extra_user_data key `{0}` must be a list to be merged with the provider's")]
    NotAList(String),
}

/// Single-quotes `s` for sh.
fn shq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The `k0s install worker` command line.
pub fn install_command(t: &WorkerTemplate) -> String {
    let mut cmd = String::from("k0s install worker --token-file /etc/k0s.token");
    if !t.labels.is_empty() {
        let labels: Vec<String> = t.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        cmd.push_str(&format!(" --labels={}", shq(&labels.join(","))));
    }
    if !t.taints.is_empty() {
        cmd.push_str(&format!(" --taints={}", shq(&t.taints.join(","))));
    }
    if let Some(args) = t.kubelet_extra_args.as_deref().filter(|a| !a.is_empty()) {
        cmd.push_str(&format!(" --kubelet-extra-args={}", shq(args)));
    }
    cmd
}

/// The download step: get.k0s.sh pinned to the version, or a plain binary from a mirror.
fn download_command(t: &WorkerTemplate) -> String {
    match &t.download_url {
        None => format!(
            "curl -sSfL {DEFAULT_DOWNLOAD_URL} | K0S_VERSION={} sh",
            shq(&t.k0s_version)
        ),
        Some(url) => format!(
            "curl -sSfL {} -o /usr/local/bin/k0s && chmod 0755 /usr/local/bin/k0s",
            shq(url)
        ),
    }
}

/// Renders the user-data for one member.
pub fn render(t: &WorkerTemplate, token: &Secret) -> Result<String, CloudInitError> {
    let mut doc = Mapping::new();
    // Built as values, not text: whatever the token holds is serialized (quoted, escaped) by
    // the YAML writer, never parsed.
    let mut token_file = Mapping::new();
    for (k, v) in [
        ("path", "/etc/k0s.token"),
        ("permissions", "0600"),
        ("owner", "root:root"),
        ("content", token.expose()),
    ] {
        token_file.insert(k.into(), Value::String(v.to_string()));
    }
    let token_file = Value::Mapping(token_file);
    doc.insert("write_files".into(), Value::Sequence(vec![token_file]));
    let runcmd = vec![
        Value::String(download_command(t)),
        Value::String(install_command(t)),
        Value::String("k0s start".into()),
        Value::String("rm -f /etc/k0s.token".into()),
    ];
    doc.insert("runcmd".into(), Value::Sequence(runcmd));
    if let Some(extra) = t
        .extra_user_data
        .as_deref()
        .filter(|e| !e.trim().is_empty())
    {
        merge_extra(&mut doc, extra)?;
    }
    let body = serde_yaml::to_string(&Value::Mapping(doc)).expect("serializable");
    Ok(format!("#cloud-config\n{body}"))
}

/// Merges user cloud-config: list keys are concatenated (`write_files` and `bootcmd` of the
/// user first, so their files exist before k0s starts; the user's `runcmd` after the join),
/// other keys are taken from the user unless they are ours.
fn merge_extra(doc: &mut Mapping, extra: &str) -> Result<(), CloudInitError> {
    let parsed: Value =
        serde_yaml::from_str(extra).map_err(|e| CloudInitError::InvalidYaml(e.to_string()))?;
    let Value::Mapping(user) = parsed else {
        return Err(CloudInitError::NotAMapping);
    };
    for (k, v) in user {
        let key = k.as_str().unwrap_or_default().to_string();
        match (doc.get_mut(&k), v) {
            (Some(Value::Sequence(ours)), Value::Sequence(theirs)) => {
                if key == "runcmd" {
                    ours.extend(theirs);
                } else {
                    let mut merged = theirs;
                    merged.append(ours);
                    *ours = merged;
                }
            }
            (Some(_), _) => return Err(CloudInitError::NotAList(key)),
            (None, v) => {
                doc.insert(k, v);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> WorkerTemplate {
        WorkerTemplate {
            k0s_version: "v1.32.6+k0s.0".into(),
            labels: [
                ("pool".to_string(), "gpu".to_string()),
                ("tier".to_string(), "a".to_string()),
            ]
            .into(),
            taints: vec!["nvidia.com/gpu=true:NoSchedule".into()],
            kubelet_extra_args: Some("--max-pods=50 --v=2".into()),
            ..Default::default()
        }
    }

    fn parse(ud: &str) -> Value {
        assert!(ud.starts_with("#cloud-config\n"));
        serde_yaml::from_str(ud).unwrap()
    }

    #[test]
    fn writes_the_token_and_joins_with_labels_and_taints() {
        let ud = render(&template(), &Secret::new("H4sIAAAA-token")).unwrap();
        let v = parse(&ud);
        assert_eq!(v["write_files"][0]["path"], "/etc/k0s.token");
        assert_eq!(v["write_files"][0]["permissions"], "0600");
        assert_eq!(v["write_files"][0]["content"], "H4sIAAAA-token");
        let run: Vec<&str> = v["runcmd"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(
            run[0],
            "curl -sSfL https://get.k0s.sh | K0S_VERSION='v1.32.6+k0s.0' sh"
        );
        assert_eq!(
            run[1],
            "k0s install worker --token-file /etc/k0s.token --labels='pool=gpu,tier=a' --taints='nvidia.com/gpu=true:NoSchedule' --kubelet-extra-args='--max-pods=50 --v=2'"
        );
        assert_eq!(run[2..], ["k0s start", "rm -f /etc/k0s.token"]);
    }

    #[test]
    fn mirror_download_for_air_gapped_sites() {
        let t = WorkerTemplate {
            download_url: Some("https://mirror.local/k0s-v1.32.6".into()),
            ..template()
        };
        let v = parse(&render(&t, &Secret::new("t")).unwrap());
        assert_eq!(v["runcmd"][0], "curl -sSfL 'https://mirror.local/k0s-v1.32.6' -o /usr/local/bin/k0s && chmod 0755 /usr/local/bin/k0s");
    }

    #[test]
    fn extra_user_data_is_merged() {
        let t = WorkerTemplate {
            extra_user_data: Some("#cloud-config\npackages: [jq]\nruncmd: [echo done]\nwrite_files:\n- path: /etc/motd\n  content: hi\n".into()),
            ..template()
        };
        let v = parse(&render(&t, &Secret::new("t")).unwrap());
        assert_eq!(v["packages"][0], "jq");
        assert_eq!(v["write_files"][0]["path"], "/etc/motd");
        assert_eq!(v["write_files"][1]["path"], "/etc/k0s.token");
        assert_eq!(v["runcmd"][4], "echo done");
    }

    #[test]
    fn bad_extra_user_data_is_reported() {
        let t = |s: &str| WorkerTemplate {
            extra_user_data: Some(s.into()),
            ..template()
        };
        assert_eq!(
            render(&t("#!/bin/sh\necho hi"), &Secret::new("t")).unwrap_err(),
            CloudInitError::NotAMapping
        );
        assert!(matches!(
            render(&t("runcmd: [unclosed"), &Secret::new("t")).unwrap_err(),
            CloudInitError::InvalidYaml(_)
        ));
        assert_eq!(
            render(&t("runcmd: echo"), &Secret::new("t")).unwrap_err(),
            CloudInitError::NotAList("runcmd".into())
        );
    }

    #[test]
    fn quoting_survives_hostile_values() {
        let t = WorkerTemplate {
            kubelet_extra_args: Some("--x='a b'; rm -rf /".into()),
            ..template()
        };
        let cmd = install_command(&t);
        assert!(
            cmd.ends_with(r"--kubelet-extra-args='--x='\''a b'\''; rm -rf /'"),
            "{cmd}"
        );
    }
}
