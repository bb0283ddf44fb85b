//! Where the management cluster's connection comes from.
//!
//! Order: `kubernetes.config_raw`, `kubernetes.config_path`, `KUBECONFIG` (a `:`-separated
//! list, merged as kubectl does), `~/.kube/config`, then the in-cluster service account
//! (when the provider itself runs in a pod). Reading the files happens in configure, never
//! at validate time; building a client does not connect.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::framework::{AttrError, Problems, Secret};

/// What the user wrote in the provider's `kubernetes { ... }` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeSettings {
    pub config_path: Option<String>,
    pub config_context: Option<String>,
    pub config_raw: Option<Secret>,
    pub insecure: Option<bool>,
}

/// A resolved connection source.
#[derive(Clone)]
pub enum KubeSource {
    Kubeconfig {
        kubeconfig: Box<Kubeconfig>,
        context: Option<String>,
        /// e.g. `kubernetes.config_path (/home/me/.kube/config)`; never file content.
        origin: String,
    },
    InCluster,
}

impl std::fmt::Debug for KubeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kubeconfig {
                context, origin, ..
            } => f
                .debug_struct("Kubeconfig")
                .field("context", context)
                .field("origin", origin)
                .finish_non_exhaustive(),
            Self::InCluster => f.write_str("InCluster"),
        }
    }
}

impl KubeSource {
    pub fn origin(&self) -> String {
        match self {
            Self::Kubeconfig {
                origin, context, ..
            } => match context {
                Some(c) => format!("{origin}, context {c}"),
                None => origin.clone(),
            },
            Self::InCluster => "in-cluster service account".to_string(),
        }
    }
}

/// Checks the explicit attributes alone (validate time).
pub fn validate_settings(s: &KubeSettings) -> Problems {
    let mut p = Problems::default();
    if s.config_raw.is_some() && s.config_path.is_some() {
        p.push(
            &["kubernetes", "config_raw"],
            "Conflicting kubeconfig sources",
            "`config_raw` and `config_path` cannot both be set: give the kubeconfig either inline or as a file.",
        );
    }
    if let Some(path) = &s.config_path {
        if path.trim().is_empty() {
            p.push(
                &["kubernetes", "config_path"],
                "Empty kubeconfig path",
                "`config_path` must name a kubeconfig file.",
            );
        }
    }
    if let Some(ctx) = &s.config_context {
        if ctx.trim().is_empty() {
            p.push(
                &["kubernetes", "config_context"],
                "Empty context name",
                "`config_context` must name a context of the kubeconfig.",
            );
        }
    }
    p
}

/// Resolves the connection source. `Ok(None)` means nothing is configured anywhere.
pub fn resolve(
    s: &KubeSettings,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Option<KubeSource>, AttrError> {
    let (kubeconfig, origin, attr): (Kubeconfig, String, &[&str]) = if let Some(raw) = &s.config_raw
    {
        let kc = parse_raw(raw)?;
        (
            kc,
            "kubernetes.config_raw".to_string(),
            &["kubernetes", "config_raw"],
        )
    } else if let Some(path) = &s.config_path {
        let path = expand_home(path, home);
        let kc = read_file(&path, &["kubernetes", "config_path"])?;
        (
            kc,
            format!("kubernetes.config_path ({})", path.display()),
            &["kubernetes", "config_path"],
        )
    } else if let Some(list) = env("KUBECONFIG").filter(|v| !v.trim().is_empty()) {
        let mut merged: Option<Kubeconfig> = None;
        for part in list.split(':').filter(|p| !p.is_empty()) {
            let kc =
                read_file(Path::new(part), &["kubernetes", "config_path"]).map_err(|mut e| {
                    e.detail
                        .push_str(" (the path comes from the KUBECONFIG environment variable)");
                    e
                })?;
            merged = Some(match merged {
                None => kc,
                Some(m) => m.merge(kc).map_err(|e| {
                    AttrError::new(
                        &["kubernetes", "config_path"],
                        "Invalid kubeconfig",
                        format!("merging KUBECONFIG files: {e}"),
                    )
                })?,
            });
        }
        match merged {
            Some(kc) => (
                kc,
                format!("KUBECONFIG ({list})"),
                &["kubernetes", "config_path"],
            ),
            None => return Ok(None),
        }
    } else if let Some(default) = home.map(|h| h.join(".kube/config")).filter(|p| p.is_file()) {
        let kc = read_file(&default, &["kubernetes", "config_path"])?;
        (
            kc,
            default.display().to_string(),
            &["kubernetes", "config_path"],
        )
    } else if env("KUBERNETES_SERVICE_HOST").is_some() {
        if s.config_context.is_some() {
            return Err(AttrError::new(
                &["kubernetes", "config_context"],
                "No kubeconfig to take the context from",
                "`config_context` is set but no kubeconfig was found (config_path, config_raw, KUBECONFIG, ~/.kube/config); in-cluster configuration has no contexts.",
            ));
        }
        return Ok(Some(KubeSource::InCluster));
    } else {
        if s.config_context.is_some() {
            return Err(AttrError::new(
                &["kubernetes", "config_context"],
                "No kubeconfig to take the context from",
                "`config_context` is set but no kubeconfig was found: set kubernetes.config_path or config_raw, or KUBECONFIG.",
            ));
        }
        return Ok(None);
    };
    let context = s.config_context.clone();
    check_context(&kubeconfig, context.as_deref(), &origin, attr)?;
    Ok(Some(KubeSource::Kubeconfig {
        kubeconfig: Box::new(kubeconfig),
        context,
        origin,
    }))
}

fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => PathBuf::from(path),
    }
}

fn read_file(path: &Path, attr: &[&str]) -> Result<Kubeconfig, AttrError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        AttrError::new(
            attr,
            "Cannot read kubeconfig",
            format!("{}: {e}", path.display()),
        )
    })?;
    // Parse the text ourselves (not Kubeconfig::read_from) so the parse error can be
    // reduced to a location: serde messages may quote values, and a kubeconfig holds keys.
    let mut kc = parse_text(&text).map_err(|loc| {
        AttrError::new(
            attr,
            "Invalid kubeconfig",
            format!("{}: not a valid kubeconfig ({loc})", path.display()),
        )
    })?;
    // Relative certificate paths are relative to the kubeconfig's directory.
    if let Some(dir) = path.parent() {
        make_paths_absolute(&mut kc, dir);
    }
    Ok(kc)
}

fn parse_raw(raw: &Secret) -> Result<Kubeconfig, AttrError> {
    parse_text(raw.expose()).map_err(|loc| {
        AttrError::new(
            &["kubernetes", "config_raw"],
            "Invalid kubeconfig",
            format!("`config_raw` is not a valid kubeconfig ({loc})."),
        )
    })
}

/// Parses kubeconfig YAML; the error is only a location, never a quoted value.
fn parse_text(text: &str) -> Result<Kubeconfig, String> {
    serde_yaml::from_str::<Kubeconfig>(text).map_err(|e| match e.location() {
        Some(l) => format!("YAML error at line {} column {}", l.line(), l.column()),
        None => "YAML error".to_string(),
    })
}

fn make_paths_absolute(kc: &mut Kubeconfig, dir: &Path) {
    let fix = |p: &mut Option<String>| {
        if let Some(v) = p {
            if !v.is_empty() && Path::new(v.as_str()).is_relative() {
                *v = dir.join(&*v).display().to_string();
            }
        }
    };
    for c in &mut kc.clusters {
        if let Some(cluster) = &mut c.cluster {
            fix(&mut cluster.certificate_authority);
        }
    }
    for a in &mut kc.auth_infos {
        if let Some(auth) = &mut a.auth_info {
            fix(&mut auth.client_certificate);
            fix(&mut auth.client_key);
            fix(&mut auth.token_file);
        }
    }
}

fn check_context(
    kc: &Kubeconfig,
    context: Option<&str>,
    origin: &str,
    file_attr: &[&str],
) -> Result<(), AttrError> {
    let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
    let available = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    match context {
        Some(ctx) if !names.contains(&ctx) => Err(AttrError::new(
            &["kubernetes", "config_context"],
            "Unknown kubeconfig context",
            format!("context '{ctx}' not found in {origin}; available: {available}."),
        )),
        Some(_) => Ok(()),
        None => match &kc.current_context {
            Some(cur) if names.contains(&cur.as_str()) => Ok(()),
            Some(cur) => Err(AttrError::new(
                file_attr,
                "Current context not found",
                format!("the current-context '{cur}' of {origin} does not exist; available: {available}. Set kubernetes.config_context."),
            )),
            None => Err(AttrError::new(
                &["kubernetes", "config_context"],
                "No kubeconfig context selected",
                format!("{origin} has no current-context; set kubernetes.config_context to one of: {available}."),
            )),
        },
    }
}

/// Builds a `kube::Config` (no connection is made).
pub async fn client_config(source: &KubeSource, insecure: bool) -> Result<kube::Config, String> {
    let mut config = match source {
        KubeSource::InCluster => kube::Config::incluster().map_err(|e| e.to_string())?,
        KubeSource::Kubeconfig {
            kubeconfig,
            context,
            ..
        } => {
            let opts = KubeConfigOptions {
                context: context.clone(),
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig((**kubeconfig).clone(), &opts)
                .await
                .map_err(|e| e.to_string())?
        }
    };
    if insecure {
        config.accept_invalid_certs = true;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KC: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: mgmt
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
contexts:
- name: mgmt
  context: {cluster: mgmt, user: admin}
- name: other
  context: {cluster: mgmt, user: admin}
current-context: mgmt
users:
- name: admin
  user: {token: supersecrettoken}
"#;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn nothing_configured_is_none() {
        let home = tempfile::tempdir().unwrap();
        assert!(resolve(&KubeSettings::default(), &none, Some(home.path()))
            .unwrap()
            .is_none());
    }

    #[test]
    fn config_path_with_context_and_relative_ca() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kc");
        std::fs::write(&p, KC).unwrap();
        let s = KubeSettings {
            config_path: Some(p.display().to_string()),
            config_context: Some("other".into()),
            ..Default::default()
        };
        match resolve(&s, &none, None).unwrap().unwrap() {
            KubeSource::Kubeconfig {
                kubeconfig,
                context,
                origin,
            } => {
                assert_eq!(context.as_deref(), Some("other"));
                assert!(origin.contains("kubernetes.config_path"));
                let ca = kubeconfig.clusters[0]
                    .cluster
                    .as_ref()
                    .unwrap()
                    .certificate_authority
                    .clone()
                    .unwrap();
                assert_eq!(ca, dir.path().join("ca.crt").display().to_string());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unreadable_path_names_config_path() {
        let s = KubeSettings {
            config_path: Some("/nonexistent/kubeconfig".into()),
            ..Default::default()
        };
        let e = resolve(&s, &none, None).unwrap_err();
        assert_eq!(e.dotted_path(), "kubernetes.config_path");
        assert_eq!(e.summary, "Cannot read kubeconfig");
        assert!(e.detail.contains("/nonexistent/kubeconfig"));
    }

    #[test]
    fn unknown_context_lists_the_contexts() {
        let s = KubeSettings {
            config_raw: Some(Secret::new(KC)),
            config_context: Some("nope".into()),
            ..Default::default()
        };
        let e = resolve(&s, &none, None).unwrap_err();
        assert_eq!(e.dotted_path(), "kubernetes.config_context");
        assert!(e.detail.contains("available: mgmt, other"), "{}", e.detail);
    }

    #[test]
    fn invalid_raw_kubeconfig_does_not_echo_its_content() {
        let raw = "clusters: supersecretvalue\n";
        let s = KubeSettings {
            config_raw: Some(Secret::new(raw)),
            ..Default::default()
        };
        let e = resolve(&s, &none, None).unwrap_err();
        assert_eq!(e.dotted_path(), "kubernetes.config_raw");
        assert!(!e.to_string().contains("supersecretvalue"), "{e}");
        assert!(e.detail.contains("line 1"), "{}", e.detail);
    }

    #[test]
    fn kubeconfig_env_list_is_merged_and_home_is_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, KC).unwrap();
        let b = dir.path().join("b");
        std::fs::write(
            &b,
            "contexts:\n- name: third\n  context: {cluster: mgmt, user: admin}\n",
        )
        .unwrap();
        let list = format!("{}:{}", a.display(), b.display());
        let env = |k: &str| (k == "KUBECONFIG").then(|| list.clone());
        let s = KubeSettings {
            config_context: Some("third".into()),
            ..Default::default()
        };
        assert!(resolve(&s, &env, None).unwrap().is_some());

        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".kube")).unwrap();
        std::fs::write(home.path().join(".kube/config"), KC).unwrap();
        let src = resolve(&KubeSettings::default(), &none, Some(home.path()))
            .unwrap()
            .unwrap();
        assert!(src.origin().contains(".kube/config"));
        assert!(!format!("{src:?}").contains("supersecrettoken"));
    }

    #[test]
    fn in_cluster_when_service_host_is_set() {
        let home = tempfile::tempdir().unwrap();
        let env = |k: &str| (k == "KUBERNETES_SERVICE_HOST").then(|| "10.0.0.1".to_string());
        assert!(matches!(
            resolve(&KubeSettings::default(), &env, Some(home.path())).unwrap(),
            Some(KubeSource::InCluster)
        ));
    }

    #[test]
    fn validate_rejects_both_raw_and_path() {
        let s = KubeSettings {
            config_raw: Some(Secret::new("x")),
            config_path: Some("/p".into()),
            ..Default::default()
        };
        let p = validate_settings(&s);
        assert_eq!(p.0[0].dotted_path(), "kubernetes.config_raw");
    }

    #[tokio::test]
    async fn client_config_does_not_connect() {
        let s = KubeSettings {
            config_raw: Some(Secret::new(KC.replace(
                "certificate-authority: ca.crt",
                "insecure-skip-tls-verify: true",
            ))),
            ..Default::default()
        };
        let src = resolve(&s, &none, None).unwrap().unwrap();
        let cfg = client_config(&src, false).await.unwrap();
        assert_eq!(cfg.cluster_url.to_string(), "https://127.0.0.1:6443/");
        assert!(cfg.accept_invalid_certs);
    }
}
