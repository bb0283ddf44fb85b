//! Worker user-data: a `#cloud-config` that installs k0s and joins a hosted control plane.
//!
//! The join token is written to `/etc/k0s.token` (0600) and left there: `k0s start` returns
//! once systemd started the unit, and the worker reads the file later (after its preflight;
//! k0s `cmd/worker/worker.go`), so removing it after `k0s start` would leave k0s restarting
//! forever without a token (k0smotron's own worker bootstrap keeps it too). What keeps the
//! token harmless is its short life: the provider mints it with an expiry of about the
//! apply's timeout and revokes it once no booting member needs it.
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
    /// An image bundle put where k0s imports it before the kubelet starts (air-gapped sites).
    pub image_bundle: Option<ImageBundle>,
}

/// An OCI image bundle (what `k0s airgap list-images` names, e.g. the release asset
/// `k0s-airgap-bundle-<version>-<arch>`) for a worker that cannot pull from public registries.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ImageBundle {
    pub url: String,
    /// Hex SHA-256 the download must match before k0s sees it.
    pub sha256: Option<String>,
}

/// k0s imports every file of this directory into containerd when the worker starts, before
/// the kubelet (k0s `pkg/component/worker/ocibundle.go`; `OCIBundleDir` = `<data dir>/images`).
pub const K0S_IMAGES_DIR: &str = "/var/lib/k0s/images";
/// The bundle's file there (one per worker: the provider puts one bundle).
pub const BUNDLE_FILE: &str = "/var/lib/k0s/images/k0stack-airgap-bundle.tar";
/// Where it is downloaded first, outside the images directory: k0s never sees a partial
/// or unverified file (a rename within `/var/lib/k0s` is atomic).
const BUNDLE_PART: &str = "/var/lib/k0s/k0stack-airgap-bundle.part";

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
    let mut cmd = format!("{K0S_BIN} install worker --token-file /etc/k0s.token");
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

/// Where k0s is installed, and called from: cloud-init's PATH on RHEL-family images lacks
/// `/usr/local/bin`, so every command names the binary by its path.
pub const K0S_BIN: &str = "/usr/local/bin/k0s";

/// curl with retries (transient DNS, TLS and 5xx failures while a VM's network comes up);
/// `--retry` alone, as `--retry-all-errors` needs curl ≥ 7.71 (not on RHEL 8).
const CURL: &str = "curl -sSfL --retry 5 --retry-delay 3 --connect-timeout 20";

/// The release name get.k0s.sh downloads: `v1.32.6+k0s.0`, also when the configuration
/// used k0smotron's image-tag spelling `v1.32.6-k0s.0` (no release has that name).
fn release_name(version: &str) -> String {
    crate::framework::version::K0sVersion::parse(version)
        .map(|v| v.canonical())
        .unwrap_or_else(|| version.to_string())
}

/// The download step: get.k0s.sh pinned to the version, or a plain binary from a mirror.
fn download_command(t: &WorkerTemplate) -> String {
    match &t.download_url {
        None => format!(
            "{CURL} {DEFAULT_DOWNLOAD_URL} | K0S_VERSION={} K0S_INSTALL_PATH=/usr/local/bin sh",
            shq(&release_name(&t.k0s_version))
        ),
        Some(url) => format!("{CURL} {} -o {K0S_BIN} && chmod 0755 {K0S_BIN}", shq(url)),
    }
}

/// The bundle step: download with retries beside the images directory, check the digest
/// when given, then move it in. One `&&` chain: cloud-init runs runcmd without `set -e`.
fn bundle_command(b: &ImageBundle) -> String {
    let mut cmd = format!(
        "mkdir -p {K0S_IMAGES_DIR} && {CURL} {} -o {BUNDLE_PART}",
        shq(&b.url)
    );
    if let Some(sum) = &b.sha256 {
        cmd.push_str(&format!(
            " && echo {} | sha256sum -c -",
            shq(&format!("{}  {BUNDLE_PART}", sum.to_ascii_lowercase()))
        ));
    }
    cmd.push_str(&format!(" && mv {BUNDLE_PART} {BUNDLE_FILE}"));
    cmd
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
    let mut runcmd = vec![Value::String(download_command(t))];
    // Before `k0s start`: k0s imports the directory before it starts the kubelet.
    if let Some(b) = &t.image_bundle {
        runcmd.push(Value::String(bundle_command(b)));
    }
    runcmd.push(Value::String(install_command(t)));
    runcmd.push(Value::String(format!("{K0S_BIN} start")));
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

/// Where k0s looks for a CA before its first start (it generates one only when absent).
pub const K0S_CA_CERT: &str = "/var/lib/k0s/pki/ca.crt";
pub const K0S_CA_KEY: &str = "/var/lib/k0s/pki/ca.key";
/// Where a joining controller's token is written (kept: k0s reads it after `k0s start`).
pub const CONTROLLER_TOKEN: &str = "/etc/k0s/controller.token";

/// How a controller of a bootstrapped management cluster starts.
pub enum ControllerRole<'a> {
    /// The first controller: starts a new cluster with the provider's CA.
    Init { ca_cert: &'a str, ca_key: &'a str },
    /// A further controller: joins through a running controller's join API.
    Join { token: &'a Secret },
}

/// What shapes a management cluster controller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControllerTemplate {
    pub k0s_version: String,
    pub download_url: Option<String>,
    /// k0smotron release the controller installs itself from its manifests directory
    /// (`None`: the provider applies `k0smotron_manifest` through the API instead).
    pub k0smotron_version: Option<String>,
}

/// The `k0s install controller` command line. Controllers run workloads too
/// (`--enable-worker --no-taints`): k0smotron's control plane pods need nodes, and the
/// bootstrapped cluster has no other.
pub fn controller_install_command(joining: bool) -> String {
    let mut cmd = format!("{K0S_BIN} install controller --enable-worker --no-taints");
    if joining {
        cmd.push_str(&format!(" --token-file {CONTROLLER_TOKEN}"));
    }
    cmd
}

/// k0smotron's release manifest, fetched by the controller into k0s's manifest directory
/// (k0s applies what it finds there).
pub fn k0smotron_manifest_url(version: &str) -> String {
    let v = if version.starts_with('v') {
        version.to_string()
    } else {
        format!("v{version}")
    };
    format!("https://github.com/k0sproject/k0smotron/releases/download/{v}/install.yaml")
}

fn file(path: &str, permissions: &str, content: &str) -> Value {
    let mut m = Mapping::new();
    for (k, v) in [
        ("path", path),
        ("permissions", permissions),
        ("owner", "root:root"),
        ("content", content),
    ] {
        m.insert(k.into(), Value::String(v.to_string()));
    }
    Value::Mapping(m)
}

/// Renders a controller's user-data. The CA key (init) or the join token (join) is in it:
/// the only channel a secret takes from the machine running Terraform to the VM.
pub fn render_controller(t: &ControllerTemplate, role: &ControllerRole<'_>) -> String {
    let mut doc = Mapping::new();
    let (files, joining) = match role {
        ControllerRole::Init { ca_cert, ca_key } => (
            vec![
                file(K0S_CA_CERT, "0644", ca_cert),
                file(K0S_CA_KEY, "0600", ca_key),
            ],
            false,
        ),
        ControllerRole::Join { token } => {
            (vec![file(CONTROLLER_TOKEN, "0600", token.expose())], true)
        }
    };
    doc.insert("write_files".into(), Value::Sequence(files));
    let download = download_command(&WorkerTemplate {
        k0s_version: t.k0s_version.clone(),
        download_url: t.download_url.clone(),
        ..Default::default()
    });
    let mut runcmd = vec![Value::String(download)];
    if let Some(v) = &t.k0smotron_version {
        runcmd.push(Value::String(format!(
            "mkdir -p /var/lib/k0s/manifests/k0smotron && {CURL} {} -o /var/lib/k0s/manifests/k0smotron/k0smotron.yaml",
            shq(&k0smotron_manifest_url(v))
        )));
    }
    runcmd.push(Value::String(controller_install_command(joining)));
    // A joining controller's token stays, as a worker's does: k0s reads it after start.
    runcmd.push(Value::String(format!("{K0S_BIN} start")));
    doc.insert("runcmd".into(), Value::Sequence(runcmd));
    let body = serde_yaml::to_string(&Value::Mapping(doc)).expect("serializable");
    format!("#cloud-config\n{body}")
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
            "curl -sSfL --retry 5 --retry-delay 3 --connect-timeout 20 https://get.k0s.sh | K0S_VERSION='v1.32.6+k0s.0' K0S_INSTALL_PATH=/usr/local/bin sh"
        );
        assert_eq!(
            run[1],
            "/usr/local/bin/k0s install worker --token-file /etc/k0s.token --labels='pool=gpu,tier=a' --taints='nvidia.com/gpu=true:NoSchedule' --kubelet-extra-args='--max-pods=50 --v=2'"
        );
        // The token stays: k0s reads it after `k0s start` returned.
        assert_eq!(run[2..], ["/usr/local/bin/k0s start"]);
    }

    #[test]
    fn mirror_download_for_air_gapped_sites() {
        let t = WorkerTemplate {
            download_url: Some("https://mirror.local/k0s-v1.32.6".into()),
            ..template()
        };
        let v = parse(&render(&t, &Secret::new("t")).unwrap());
        assert_eq!(v["runcmd"][0], "curl -sSfL --retry 5 --retry-delay 3 --connect-timeout 20 'https://mirror.local/k0s-v1.32.6' -o /usr/local/bin/k0s && chmod 0755 /usr/local/bin/k0s");
    }

    #[test]
    fn an_image_bundle_is_in_place_before_k0s_starts() {
        let t = WorkerTemplate {
            download_url: Some("https://mirror.local/k0s-v1.32.6+k0s.0-amd64".into()),
            image_bundle: Some(ImageBundle {
                url: "https://mirror.local/k0s-airgap-bundle-v1.32.6+k0s.0-amd64".into(),
                sha256: Some("AB12".repeat(16)),
            }),
            ..template()
        };
        let v = parse(&render(&t, &Secret::new("t")).unwrap());
        let run: Vec<&str> = v["runcmd"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(run.len(), 4);
        assert_eq!(
            run[1],
            format!(
                "mkdir -p /var/lib/k0s/images && curl -sSfL --retry 5 --retry-delay 3 --connect-timeout 20 'https://mirror.local/k0s-airgap-bundle-v1.32.6+k0s.0-amd64' -o /var/lib/k0s/k0stack-airgap-bundle.part && echo '{}  /var/lib/k0s/k0stack-airgap-bundle.part' | sha256sum -c - && mv /var/lib/k0s/k0stack-airgap-bundle.part /var/lib/k0s/images/k0stack-airgap-bundle.tar",
                "ab12".repeat(16)
            )
        );
        assert!(run[2].contains("k0s install worker"));
        assert_eq!(run[3], "/usr/local/bin/k0s start");
        // Without a digest, the download goes straight to the move.
        let t = WorkerTemplate {
            image_bundle: Some(ImageBundle {
                url: "http://10.0.0.5/b.tar".into(),
                sha256: None,
            }),
            ..template()
        };
        let v = parse(&render(&t, &Secret::new("t")).unwrap());
        assert!(v["runcmd"][1]
            .as_str()
            .unwrap()
            .ends_with("'http://10.0.0.5/b.tar' -o /var/lib/k0s/k0stack-airgap-bundle.part && mv /var/lib/k0s/k0stack-airgap-bundle.part /var/lib/k0s/images/k0stack-airgap-bundle.tar"));
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
        assert_eq!(v["runcmd"][3], "echo done");
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

    #[test]
    fn first_controller_gets_the_ca_before_k0s_starts() {
        let t = ControllerTemplate {
            k0s_version: "v1.32.6+k0s.0".into(),
            k0smotron_version: Some("1.5.0".into()),
            ..Default::default()
        };
        let ud = render_controller(
            &t,
            &ControllerRole::Init {
                ca_cert: "CERT\n",
                ca_key: "KEY\n",
            },
        );
        let v = parse(&ud);
        assert_eq!(v["write_files"][0]["path"], K0S_CA_CERT);
        assert_eq!(v["write_files"][0]["content"], "CERT\n");
        assert_eq!(v["write_files"][1]["path"], K0S_CA_KEY);
        assert_eq!(v["write_files"][1]["permissions"], "0600");
        let run: Vec<&str> = v["runcmd"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(
            run[1].contains("releases/download/v1.5.0/install.yaml"),
            "{}",
            run[1]
        );
        assert_eq!(
            run[2..],
            [
                "/usr/local/bin/k0s install controller --enable-worker --no-taints",
                "/usr/local/bin/k0s start"
            ]
        );
    }

    #[test]
    fn further_controllers_join_with_a_token_file() {
        let t = ControllerTemplate {
            k0s_version: "v1.32.6+k0s.0".into(),
            ..Default::default()
        };
        let v = parse(&render_controller(
            &t,
            &ControllerRole::Join {
                token: &Secret::new("H4sI-token"),
            },
        ));
        assert_eq!(v["write_files"][0]["path"], CONTROLLER_TOKEN);
        assert_eq!(v["write_files"][0]["content"], "H4sI-token");
        assert_eq!(v["write_files"].as_sequence().unwrap().len(), 1);
        assert_eq!(
            v["runcmd"][1],
            "/usr/local/bin/k0s install controller --enable-worker --no-taints --token-file /etc/k0s/controller.token"
        );
        // The token stays for k0s to read after start.
        assert_eq!(v["runcmd"].as_sequence().unwrap().len(), 3);
    }
}
