//! An air-gapped site (the sim knob `air_gapped`): the VMs reach the site's own hosts only.
//! A worker then joins only when its k0s binary comes from a site mirror, and it becomes
//! Ready only when the images its node needs are there without a public registry:
//!
//! - k0s imports every file of `/var/lib/k0s/images/` into containerd before it starts the
//!   kubelet (k0s `pkg/component/worker/ocibundle.go`, `OCIBundleDir` in
//!   `pkg/config/cfgvars.go`, docs/airgap-install.md; v1.32.6+k0s.0): an image bundle put
//!   there by the user data provides the images;
//! - `spec.images.repository` in the ClusterConfig rewrites the registry host of every
//!   worker-side image (kube-proxy, coredns, konnectivity-agent, metrics-server, calico,
//!   kube-router, pause; `overrideImageRepositories` in `pkg/apis/k0s/v1beta1/images.go`),
//!   and k0smotron passes the Cluster's `k0sConfig` through to the control plane
//!   (`generateConfig`, `reconcileDynamicConfig` in k0smotron `k0smotroncluster_configmap.go`,
//!   v2.0.0): a mirror registry provides them;
//! - with `default_pull_policy: Always` the kubelet pulls even what a bundle imported.
//!
//! Without images the CNI pods (kube-router) never start: the kubelet registers its Node but
//! reports it NotReady with the runtime's network error (kubelet `updateRuntimeUp`).
//!
//! Simplifications, said where they matter: the sim cannot know which hosts belong to the
//! site, so every host outside [`PUBLIC_HOSTS`] counts as a site mirror that holds what is
//! asked of it (the provider renders only public defaults itself, so this hides none of its
//! URLs); a bundle's content is trusted unless its file name is an upstream bundle asset
//! (`k0s-airgap-bundle-<version>-<arch>`) of another version than the binary's.

use serde_json::Value;

/// Hosts of the public internet a worker's defaults use: get.k0s.sh, GitHub release
/// downloads, and the registries of k0s's default images (`pkg/constant/constant.go`:
/// quay.io/k0sproject/..., registry.k8s.io/pause and metrics-server) plus Docker Hub.
pub const PUBLIC_HOSTS: &[&str] = &[
    "get.k0s.sh",
    "github.com",
    "githubusercontent.com",
    "quay.io",
    "registry.k8s.io",
    "docker.io",
    "registry-1.docker.io",
    "ghcr.io",
];

/// Where k0s imports image bundles from.
pub const IMAGES_DIR: &str = "/var/lib/k0s/images/";

/// Whether `host` (no scheme, no port) is on the public internet.
pub fn is_public_host(host: &str) -> bool {
    let host = host.split(':').next().unwrap_or_default();
    PUBLIC_HOSTS
        .iter()
        .any(|p| host == *p || host.ends_with(&format!(".{p}")))
}

/// The host of an `http(s)://` URL.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())
}

/// The URLs a shell line fetches (tokens starting with http(s)://, quotes removed).
pub fn urls_in(line: &str) -> Vec<String> {
    line.split_whitespace()
        .map(|t| t.trim_matches(|c| c == '\'' || c == '"'))
        .filter(|t| t.starts_with("https://") || t.starts_with("http://"))
        .map(String::from)
        .collect()
}

/// Where the worker's k0s comes from: the line that runs get.k0s.sh or writes the binary.
pub fn binary_url(runcmd: &[String]) -> Option<String> {
    runcmd
        .iter()
        .filter(|c| c.contains("K0S_VERSION=") || c.contains("/bin/k0s"))
        .find_map(|c| urls_in(c).into_iter().next())
}

/// Image bundles the user data downloads into k0s's images directory: a line that names
/// the directory and fetches a URL.
pub fn bundle_urls(runcmd: &[String]) -> Vec<String> {
    runcmd
        .iter()
        .filter(|c| c.contains(IMAGES_DIR))
        .flat_map(|c| urls_in(c))
        .collect()
}

/// The k0s version in an upstream asset name: `k0s-<v>-<arch>` (the binary) or
/// `k0s-airgap-bundle-<v>-<arch>` (the image bundle); `%2B` read as `+`.
pub fn asset_version(url: &str, prefix: &str) -> Option<String> {
    let name = url
        .rsplit('/')
        .next()?
        .replace("%2B", "+")
        .replace("%2b", "+");
    let rest = name.strip_prefix(prefix)?;
    let (version, arch) = rest.rsplit_once('-')?;
    (version.starts_with('v') && !arch.is_empty()).then(|| version.to_string())
}

/// `spec.images` of the Cluster's `k0sConfig`, as far as the worker's images depend on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagesConfig {
    pub repository: Option<String>,
    pub default_pull_policy: Option<String>,
}

impl ImagesConfig {
    /// From a k0smotron Cluster's `spec`.
    pub fn from_cluster_spec(spec: &Value) -> Self {
        let images = &spec["k0sConfig"]["spec"]["images"];
        let s = |k: &str| {
            images[k]
                .as_str()
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        Self {
            repository: s("repository"),
            default_pull_policy: s("default_pull_policy"),
        }
    }

    /// The registry host images are pulled from: the repository's (k0s `getHostName`: a
    /// first segment with `.` or `:`, or `localhost`; otherwise Docker Hub), else the
    /// defaults' (quay.io).
    pub fn registry(&self) -> String {
        match &self.repository {
            None => "quay.io".into(),
            Some(r) => {
                let first = r.split('/').next().unwrap_or_default();
                if first.contains(['.', ':']) || first == "localhost" {
                    first.to_string()
                } else {
                    "docker.io".into()
                }
            }
        }
    }
}

/// Why an air-gapped worker does not become a Ready node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// k0s is never installed: no Node at all.
    NoBinary(String),
    /// k0s runs and the kubelet registers, but the CNI and system pods cannot start.
    NoImages(String),
}

/// What the kubelet reports on its Ready condition while the CNI cannot start (kubelet
/// `updateRuntimeUp`: `container runtime network not ready: %v` of containerd's
/// NetworkReady condition).
pub const NETWORK_NOT_READY: &str = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";

/// Checks a worker's user data against an air-gapped site; `Ok` when it would become Ready.
pub fn check(runcmd: &[String], images: &ImagesConfig) -> Result<(), Gap> {
    let binary = binary_url(runcmd);
    if let Some(host) = binary.as_deref().and_then(url_host) {
        if is_public_host(host) {
            return Err(Gap::NoBinary(format!(
                "curl: (28) Failed to connect to {host} port 443 after 20000 ms: Timeout was reached (air-gapped site: set k0s_download_url to a mirror); k0s is not installed"
            )));
        }
    }
    let registry = images.registry();
    if !is_public_host(&registry) {
        return Ok(());
    }
    let pull_always = images.default_pull_policy.as_deref() == Some("Always");
    let binary_version = binary.as_deref().and_then(|u| asset_version(u, "k0s-"));
    let mut why = if pull_always {
        "default_pull_policy Always pulls even what a bundle imported".to_string()
    } else {
        "no image bundle in /var/lib/k0s/images and no mirror registry (spec.images.repository)"
            .to_string()
    };
    for b in bundle_urls(runcmd) {
        let host = url_host(&b).unwrap_or_default();
        if is_public_host(host) {
            why = format!("the image bundle {b} is not reachable (air-gapped site)");
            continue;
        }
        let bundle_version = asset_version(&b, "k0s-airgap-bundle-");
        if let (Some(bv), Some(kv)) = (&bundle_version, &binary_version) {
            if bv != kv {
                why = format!("the image bundle holds the images of k0s {bv}, the worker runs {kv}: kube-proxy and the others of {kv} are missing");
                continue;
            }
        }
        if !pull_always {
            return Ok(());
        }
    }
    Err(Gap::NoImages(format!(
        "images cannot be pulled from {registry} (air-gapped site; {why}): kube-router and kube-proxy never start; {NETWORK_NOT_READY}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    const MIRROR_BIN: &str = "curl -sSfL 'https://mirror.site/k0s/k0s-v1.32.6+k0s.0-amd64' -o /usr/local/bin/k0s && chmod 0755 /usr/local/bin/k0s";
    const GET_K0S: &str =
        "curl -sSfL https://get.k0s.sh | K0S_VERSION='v1.32.6+k0s.0' K0S_INSTALL_PATH=/usr/local/bin sh";

    fn bundle(url: &str) -> String {
        format!("mkdir -p /var/lib/k0s/images && curl -sSfL '{url}' -o /var/lib/k0s/b.part && mv /var/lib/k0s/b.part /var/lib/k0s/images/bundle.tar")
    }

    #[test]
    fn public_downloads_are_refused() {
        let got = check(&cmds(&[GET_K0S]), &ImagesConfig::default());
        assert!(
            matches!(&got, Err(Gap::NoBinary(m)) if m.contains("get.k0s.sh port 443")),
            "{got:?}"
        );
        let gh = "curl -sSfL 'https://github.com/k0sproject/k0s/releases/download/v1.32.6%2Bk0s.0/k0s-v1.32.6+k0s.0-amd64' -o /usr/local/bin/k0s";
        assert!(matches!(
            check(&cmds(&[gh]), &ImagesConfig::default()),
            Err(Gap::NoBinary(_))
        ));
    }

    #[test]
    fn a_mirror_binary_without_images_stays_not_ready() {
        let got = check(&cmds(&[MIRROR_BIN]), &ImagesConfig::default());
        let Err(Gap::NoImages(m)) = got else {
            panic!("{got:?}")
        };
        assert!(
            m.contains("quay.io") && m.contains(NETWORK_NOT_READY),
            "{m}"
        );
    }

    #[test]
    fn a_site_bundle_or_a_mirror_registry_provides_the_images() {
        let b = bundle("https://mirror.site/k0s/k0s-airgap-bundle-v1.32.6+k0s.0-amd64");
        assert_eq!(
            check(&cmds(&[MIRROR_BIN, &b]), &ImagesConfig::default()),
            Ok(())
        );
        let custom = bundle("http://10.0.0.5/images.tar");
        assert_eq!(
            check(&cmds(&[MIRROR_BIN, &custom]), &ImagesConfig::default()),
            Ok(())
        );
        let mirror = ImagesConfig {
            repository: Some("registry.site:5000/k0s".into()),
            ..Default::default()
        };
        assert_eq!(check(&cmds(&[MIRROR_BIN]), &mirror), Ok(()));
    }

    #[test]
    fn what_does_not_provide_them() {
        let public_bundle = bundle("https://github.com/k0sproject/k0s/releases/download/v1.32.6+k0s.0/k0s-airgap-bundle-v1.32.6+k0s.0-amd64");
        let other_version = bundle("https://mirror.site/k0s-airgap-bundle-v1.31.2+k0s.0-amd64");
        let site = bundle("https://mirror.site/k0s-airgap-bundle-v1.32.6+k0s.0-amd64");
        let always = ImagesConfig {
            default_pull_policy: Some("Always".into()),
            ..Default::default()
        };
        let docker_hub = ImagesConfig {
            repository: Some("myorg".into()),
            ..Default::default()
        };
        for (lines, images, needle) in [
            (
                vec![MIRROR_BIN, &public_bundle],
                ImagesConfig::default(),
                "not reachable",
            ),
            (
                vec![MIRROR_BIN, &other_version],
                ImagesConfig::default(),
                "images of k0s v1.31.2+k0s.0",
            ),
            (vec![MIRROR_BIN, &site], always, "Always"),
            (vec![MIRROR_BIN], docker_hub, "docker.io"),
        ] {
            let got = check(&cmds(&lines), &images);
            assert!(
                matches!(&got, Err(Gap::NoImages(m)) if m.contains(needle)),
                "{needle}: {got:?}"
            );
        }
    }

    #[test]
    fn registry_hosts_follow_k0s() {
        let r = |s: &str| {
            ImagesConfig {
                repository: Some(s.into()),
                ..Default::default()
            }
            .registry()
        };
        assert_eq!(r("registry.site:5000/k0s"), "registry.site:5000");
        assert_eq!(r("localhost/k0s"), "localhost");
        assert_eq!(r("harbor.site"), "harbor.site");
        assert_eq!(r("myorg"), "docker.io");
        assert_eq!(ImagesConfig::default().registry(), "quay.io");
        let spec = serde_json::json!({"k0sConfig": {"spec": {"images": {"repository": "r.site/x", "default_pull_policy": "Never"}}}});
        assert_eq!(
            ImagesConfig::from_cluster_spec(&spec),
            ImagesConfig {
                repository: Some("r.site/x".into()),
                default_pull_policy: Some("Never".into())
            }
        );
        assert_eq!(
            asset_version(
                "https://m/k0s-airgap-bundle-v1.32.6%2Bk0s.0-arm64",
                "k0s-airgap-bundle-"
            ),
            Some("v1.32.6+k0s.0".into())
        );
        assert_eq!(
            asset_version("https://m/images.tar", "k0s-airgap-bundle-"),
            None
        );
    }
}
