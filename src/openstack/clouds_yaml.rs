//! clouds.yaml (and secure.yaml) lookup and parsing, as openstacksdk does it.
//!
//! Search order for clouds.yaml: an explicit path (provider attribute `clouds_yaml`),
//! `OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`, `~/.config/openstack/clouds.yaml`,
//! `/etc/openstack/clouds.yaml`. secure.yaml is looked up beside it (or at
//! `OS_CLIENT_SECURE_FILE`) and merged over the cloud's entry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value as Yaml;

/// Where a clouds.yaml path came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathOrigin {
    Attribute,
    EnvVar,
    Default,
}

/// Errors a user can act on: they name the file and the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CloudsYamlError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path} is not valid YAML: {reason}")]
    Invalid { path: String, reason: String },
    #[error("{path}: key `{key}` {reason}")]
    BadKey {
        path: String,
        key: String,
        reason: String,
    },
    #[error("cloud '{cloud}' not found in {path}; available: {available}")]
    UnknownCloud {
        cloud: String,
        path: String,
        available: String,
    },
    #[error("cloud '{cloud}' was requested but no clouds.yaml was found (looked in {searched})")]
    NoFile { cloud: String, searched: String },
}

/// The candidate paths in lookup order, given the explicit path and the environment.
pub fn candidate_paths(
    explicit: Option<&str>,
    env_file: Option<&str>,
    home: Option<&Path>,
) -> Vec<(PathBuf, PathOrigin)> {
    if let Some(p) = explicit {
        return vec![(PathBuf::from(p), PathOrigin::Attribute)];
    }
    if let Some(p) = env_file {
        return vec![(PathBuf::from(p), PathOrigin::EnvVar)];
    }
    let mut out = vec![(PathBuf::from("clouds.yaml"), PathOrigin::Default)];
    if let Some(h) = home {
        out.push((h.join(".config/openstack/clouds.yaml"), PathOrigin::Default));
    }
    out.push((
        PathBuf::from("/etc/openstack/clouds.yaml"),
        PathOrigin::Default,
    ));
    out
}

/// One cloud's entry, flattened to the keys we use (`auth.*` keys keep their prefix-less name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloudEntry {
    pub file: String,
    pub name: String,
    pub values: BTreeMap<String, String>,
}

impl CloudEntry {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }
}

/// Reads a clouds.yaml file and returns the named cloud, merged with secure.yaml content
/// (`secure`, already read, if any).
pub fn load_cloud(
    path: &Path,
    cloud: &str,
    secure: Option<(&Path, &str)>,
) -> Result<CloudEntry, CloudsYamlError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| CloudsYamlError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    parse_cloud(&shown, &text, cloud, secure)
}

/// Parses clouds.yaml text (pure; `file` is only used in messages).
pub fn parse_cloud(
    file: &str,
    text: &str,
    cloud: &str,
    secure: Option<(&Path, &str)>,
) -> Result<CloudEntry, CloudsYamlError> {
    let doc: Yaml = serde_yaml::from_str(text).map_err(|e| CloudsYamlError::Invalid {
        path: file.to_string(),
        reason: e.to_string(),
    })?;
    let clouds = doc.get("clouds").ok_or_else(|| CloudsYamlError::BadKey {
        path: file.to_string(),
        key: "clouds".into(),
        reason: "is missing".into(),
    })?;
    let clouds = clouds.as_mapping().ok_or_else(|| CloudsYamlError::BadKey {
        path: file.to_string(),
        key: "clouds".into(),
        reason: "must be a mapping of cloud names to settings".into(),
    })?;
    let entry = clouds
        .get(cloud)
        .ok_or_else(|| CloudsYamlError::UnknownCloud {
            cloud: cloud.to_string(),
            path: file.to_string(),
            available: {
                let names: Vec<String> = clouds
                    .keys()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect();
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            },
        })?;
    let mut values = BTreeMap::new();
    flatten_entry(file, &format!("clouds.{cloud}"), entry, &mut values)?;
    if let Some((secure_path, secure_text)) = secure {
        let sfile = secure_path.display().to_string();
        let sdoc: Yaml =
            serde_yaml::from_str(secure_text).map_err(|e| CloudsYamlError::Invalid {
                path: sfile.clone(),
                reason: e.to_string(),
            })?;
        if let Some(sentry) = sdoc.get("clouds").and_then(|c| c.get(cloud)) {
            flatten_entry(&sfile, &format!("clouds.{cloud}"), sentry, &mut values)?;
        }
    }
    Ok(CloudEntry {
        file: file.to_string(),
        name: cloud.to_string(),
        values,
    })
}

/// Copies the scalar settings of a cloud entry into `out`; `auth:` keys are lifted to the
/// top level (they do not clash with the others).
fn flatten_entry(
    file: &str,
    prefix: &str,
    entry: &Yaml,
    out: &mut BTreeMap<String, String>,
) -> Result<(), CloudsYamlError> {
    let map = entry.as_mapping().ok_or_else(|| CloudsYamlError::BadKey {
        path: file.to_string(),
        key: prefix.to_string(),
        reason: "must be a mapping".into(),
    })?;
    for (k, v) in map {
        let Some(key) = k.as_str() else { continue };
        if key == "auth" {
            flatten_entry(file, &format!("{prefix}.auth"), v, out)?;
            continue;
        }
        let text = match v {
            Yaml::String(s) => s.clone(),
            Yaml::Bool(b) => b.to_string(),
            Yaml::Number(n) => n.to_string(),
            Yaml::Null => continue,
            // Lists and mappings (e.g. `regions:` lists) are not settings we read.
            _ => continue,
        };
        out.insert(key.to_string(), text);
    }
    Ok(())
}

/// Path of secure.yaml for a given clouds.yaml: `OS_CLIENT_SECURE_FILE`, else beside it.
pub fn secure_path(clouds_yaml: &Path, env_secure: Option<&str>) -> PathBuf {
    match env_secure {
        Some(p) => PathBuf::from(p),
        None => clouds_yaml.with_file_name("secure.yaml"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
clouds:
  prod:
    auth:
      auth_url: https://keystone.example.com:5000/v3
      username: alice
      project_name: fleet
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: internal
    identity_api_version: 3
    verify: false
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.com/v3
      application_credential_id: abc
      application_credential_secret: s3cr3t
"#;

    #[test]
    fn reads_a_cloud_and_lifts_auth_keys() {
        let c = parse_cloud("clouds.yaml", SAMPLE, "prod", None).unwrap();
        assert_eq!(
            c.get("auth_url"),
            Some("https://keystone.example.com:5000/v3")
        );
        assert_eq!(c.get("region_name"), Some("RegionOne"));
        assert_eq!(c.get("verify"), Some("false"));
        assert_eq!(c.get("identity_api_version"), Some("3"));
        assert_eq!(c.get("password"), None);
    }

    #[test]
    fn secure_yaml_is_merged_over_the_entry() {
        let secure = "clouds:\n  prod:\n    auth:\n      password: pw\n";
        let c = parse_cloud(
            "clouds.yaml",
            SAMPLE,
            "prod",
            Some((Path::new("/x/secure.yaml"), secure)),
        )
        .unwrap();
        assert_eq!(c.get("password"), Some("pw"));
        assert_eq!(c.get("username"), Some("alice"));
    }

    #[test]
    fn unknown_cloud_lists_what_exists() {
        let e = parse_cloud("/etc/openstack/clouds.yaml", SAMPLE, "prdo", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cloud 'prdo' not found in /etc/openstack/clouds.yaml; available: prod, appcred"
        );
    }

    #[test]
    fn invalid_yaml_names_the_file() {
        let e = parse_cloud("/tmp/c.yaml", "clouds: [unclosed", "x", None).unwrap_err();
        assert!(matches!(e, CloudsYamlError::Invalid { .. }));
        assert!(e.to_string().starts_with("/tmp/c.yaml is not valid YAML"));
    }

    #[test]
    fn missing_clouds_key_is_reported() {
        let e = parse_cloud("c.yaml", "foo: 1", "x", None).unwrap_err();
        assert_eq!(e.to_string(), "c.yaml: key `clouds` is missing");
    }

    #[test]
    fn lookup_order_matches_openstacksdk() {
        let home = Path::new("/home/u");
        let c = candidate_paths(None, None, Some(home));
        let paths: Vec<_> = c.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            paths,
            vec![
                "clouds.yaml",
                "/home/u/.config/openstack/clouds.yaml",
                "/etc/openstack/clouds.yaml"
            ]
        );
        assert_eq!(
            candidate_paths(None, Some("/e.yaml"), Some(home))[0].1,
            PathOrigin::EnvVar
        );
        assert_eq!(
            candidate_paths(Some("/a.yaml"), Some("/e.yaml"), Some(home))[0].0,
            PathBuf::from("/a.yaml")
        );
    }
}
