//! The OpenStack connection settings, merged from three layers.
//!
//! Precedence (highest first), as terraform-provider-openstack does it:
//! 1. attributes of the provider's `openstack { ... }` block;
//! 2. `OS_*` environment variables;
//! 3. the selected cloud of clouds.yaml (`cloud` attribute, else `OS_CLOUD`), with secure.yaml
//!    merged into it.
//!
//! The merge is pure (environment and home directory are passed in); only reading the
//! clouds.yaml files touches the disk. Every error names where the bad value came from.

use std::path::{Path, PathBuf};

use crate::framework::{AttrError, Problems, Secret};

use super::clouds_yaml::{self, CloudEntry, PathOrigin};

/// What the user wrote in the provider's `openstack` block (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenStackSettings {
    pub cloud: Option<String>,
    pub clouds_yaml: Option<String>,
    pub auth_url: Option<String>,
    pub region: Option<String>,
    pub user_name: Option<String>,
    pub password: Option<Secret>,
    pub project_name: Option<String>,
    pub user_domain_name: Option<String>,
    pub project_domain_name: Option<String>,
    pub application_credential_id: Option<String>,
    pub application_credential_secret: Option<Secret>,
    pub cacert_file: Option<String>,
    pub insecure: Option<bool>,
    pub endpoint_type: Option<String>,
    pub max_retries: Option<i64>,
}

/// Which endpoint of the service catalog to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interface {
    #[default]
    Public,
    Internal,
    Admin,
}

impl Interface {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "public" | "publicurl" => Some(Self::Public),
            "internal" | "internalurl" => Some(Self::Internal),
            "admin" | "adminurl" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Admin => "admin",
        }
    }
}

/// A name or an id, for users, projects and domains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameOrId {
    Name(String),
    Id(String),
}

/// How to authenticate against Keystone v3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Password {
        user: NameOrId,
        /// Domain of the user when it is given by name.
        user_domain: NameOrId,
        password: Secret,
        project: NameOrId,
        /// Domain of the project when it is given by name.
        project_domain: NameOrId,
    },
    ApplicationCredential {
        id: Option<String>,
        /// Name-based application credentials also need the user.
        name: Option<String>,
        user: Option<(NameOrId, NameOrId)>,
        secret: Secret,
    },
}

/// Everything the OpenStack client needs, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenStackConfig {
    pub auth_url: String,
    pub region: Option<String>,
    pub interface: Interface,
    pub auth: Auth,
    pub cacert_file: Option<PathBuf>,
    pub insecure: bool,
    pub max_retries: u32,
    /// Human description of where the settings came from (for messages, no secrets).
    pub origin: String,
}

/// Default number of retries of a failed request.
pub const DEFAULT_MAX_RETRIES: u32 = 5;

/// Checks the explicit attributes alone (validate time: no file or network access).
pub fn validate_settings(s: &OpenStackSettings) -> Problems {
    let mut p = Problems::default();
    if s.password.is_some() && s.application_credential_secret.is_some() {
        p.push(
            &["openstack", "application_credential_secret"],
            "Conflicting OpenStack credentials",
            "`application_credential_secret` and `password` cannot both be set: use an application credential or a password, not both.",
        );
    }
    if s.application_credential_secret.is_some()
        && s.application_credential_id.is_none()
        && s.user_name.is_none()
    {
        p.push(
            &["openstack", "application_credential_id"],
            "Missing application credential id",
            "`application_credential_secret` is set, so `application_credential_id` is required.",
        );
    }
    if let Some(url) = &s.auth_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            p.push(
                &["openstack", "auth_url"],
                "Invalid Keystone URL",
                format!("`auth_url` must be an http(s) URL such as https://keystone.example.com:5000/v3, got {url:?}."),
            );
        }
    }
    if let Some(t) = &s.endpoint_type {
        if Interface::parse(t).is_none() {
            p.push(
                &["openstack", "endpoint_type"],
                "Invalid endpoint type",
                format!("`endpoint_type` must be one of public, internal, admin; got {t:?}."),
            );
        }
    }
    if let Some(n) = s.max_retries {
        if !(0..=100).contains(&n) {
            p.push(
                &["openstack", "max_retries"],
                "Invalid max_retries",
                format!("`max_retries` must be between 0 and 100, got {n}."),
            );
        }
    }
    if let Some(c) = &s.cloud {
        if c.trim().is_empty() {
            p.push(
                &["openstack", "cloud"],
                "Empty cloud name",
                "`cloud` must name an entry of clouds.yaml.",
            );
        }
    }
    p
}

/// One layer's value for a key, with a description of where it came from.
struct Found {
    value: String,
    from: String,
}

/// The three layers, queried key by key.
struct Layers<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    cloud: Option<&'a CloudEntry>,
    /// Which layers above clouds.yaml gave a value (for the origin line).
    used: std::cell::RefCell<std::collections::BTreeSet<&'static str>>,
}

impl Layers<'_> {
    /// Looks `attr` up in the explicit settings, then the env vars `envs`, then the
    /// clouds.yaml keys `yaml_keys`.
    fn get(
        &self,
        explicit: Option<&str>,
        attr: &str,
        envs: &[&str],
        yaml_keys: &[&str],
    ) -> Option<Found> {
        if let Some(v) = explicit {
            self.used.borrow_mut().insert("provider attributes");
            return Some(Found {
                value: v.to_string(),
                from: format!("openstack.{attr}"),
            });
        }
        for e in envs {
            if let Some(v) = (self.env)(e).filter(|v| !v.is_empty()) {
                self.used.borrow_mut().insert("OS_* variables");
                return Some(Found {
                    value: v,
                    from: format!("environment variable {e}"),
                });
            }
        }
        let cloud = self.cloud?;
        for k in yaml_keys {
            if let Some(v) = cloud.get(k) {
                return Some(Found {
                    value: v.to_string(),
                    from: format!("key `{k}` of cloud '{}' in {}", cloud.name, cloud.file),
                });
            }
        }
        None
    }

    /// Where the settings came from, naming an override only when there was one.
    fn origin(&self) -> String {
        let used: Vec<&str> = self.used.borrow().iter().copied().collect();
        let above = used.join(" and ");
        match (self.cloud, used.is_empty()) {
            (Some(c), true) => format!("cloud '{}' of {}", c.name, c.file),
            (Some(c), false) => format!("cloud '{}' of {}, overridden by {above}", c.name, c.file),
            (None, _) => above,
        }
    }

    fn where_to_set(&self, attr: &str, env: &str, yaml: &str) -> String {
        match self.cloud {
            Some(c) => format!("set openstack.{attr}, {env}, or `{yaml}` in cloud '{}' of {}", c.name, c.file),
            None => format!("set openstack.{attr} or {env} (or select a clouds.yaml cloud with openstack.cloud / OS_CLOUD)"),
        }
    }
}

/// Merges the layers. `Ok(None)` means no OpenStack settings were given anywhere (the
/// provider can still manage what needs only Kubernetes); resources that need OpenStack
/// report that themselves.
pub fn resolve(
    s: &OpenStackSettings,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Option<OpenStackConfig>, AttrError> {
    let cloud = load_selected_cloud(s, env, home)?;
    let layers = Layers {
        env,
        cloud: cloud.as_ref(),
        used: Default::default(),
    };
    let auth_url = layers.get(
        s.auth_url.as_deref(),
        "auth_url",
        &["OS_AUTH_URL"],
        &["auth_url"],
    );
    let Some(auth_url) = auth_url else {
        let anything = cloud.is_some()
            || *s != OpenStackSettings::default()
            || [
                "OS_USERNAME",
                "OS_PASSWORD",
                "OS_APPLICATION_CREDENTIAL_ID",
                "OS_PROJECT_NAME",
            ]
            .iter()
            .any(|k| env(k).is_some());
        if !anything {
            return Ok(None);
        }
        return Err(AttrError::new(
            &["openstack", "auth_url"],
            "Missing Keystone URL",
            format!(
                "No Keystone URL is configured: {}.",
                layers.where_to_set("auth_url", "OS_AUTH_URL", "auth.auth_url")
            ),
        ));
    };
    let insecure = match layers.get(
        s.insecure.map(|b| b.to_string()).as_deref(),
        "insecure",
        &["OS_INSECURE"],
        &[],
    ) {
        Some(f) => parse_bool(&f)?,
        None => match cloud.as_ref().and_then(|c| c.get("verify")) {
            Some(v) => !parse_bool(&Found {
                value: v.to_string(),
                from: format!(
                    "key `verify` of cloud '{}'",
                    cloud.as_ref().map(|c| c.name.as_str()).unwrap_or("")
                ),
            })?,
            None => false,
        },
    };
    let interface = match layers.get(
        s.endpoint_type.as_deref(),
        "endpoint_type",
        &["OS_INTERFACE", "OS_ENDPOINT_TYPE"],
        &["interface", "endpoint_type"],
    ) {
        Some(f) => Interface::parse(&f.value).ok_or_else(|| {
            AttrError::new(
                &["openstack", "endpoint_type"],
                "Invalid endpoint type",
                format!(
                    "{} is {:?}; expected public, internal or admin.",
                    f.from, f.value
                ),
            )
        })?,
        None => Interface::Public,
    };
    if let Some(v) = cloud.as_ref().and_then(|c| c.get("identity_api_version")) {
        if !v.starts_with('3') {
            return Err(AttrError::new(
                &["openstack", "cloud"],
                "Unsupported Keystone version",
                format!("`identity_api_version` of cloud '{}' in {} is {v}; only Keystone v3 is supported.", cloud.as_ref().unwrap().name, cloud.as_ref().unwrap().file),
            ));
        }
    }
    let max_retries = match s.max_retries {
        Some(n) => u32::try_from(n).unwrap_or(DEFAULT_MAX_RETRIES),
        None => DEFAULT_MAX_RETRIES,
    };
    let auth = resolve_auth(s, &layers)?;
    let region = layers
        .get(
            s.region.as_deref(),
            "region",
            &["OS_REGION_NAME", "OS_REGION"],
            &["region_name"],
        )
        .map(|f| f.value);
    let cacert_file = layers
        .get(
            s.cacert_file.as_deref(),
            "cacert_file",
            &["OS_CACERT"],
            &["cacert"],
        )
        .map(|f| PathBuf::from(f.value));
    let origin = layers.origin();
    Ok(Some(OpenStackConfig {
        auth_url: auth_url.value,
        region,
        interface,
        auth,
        cacert_file,
        insecure,
        max_retries,
        origin,
    }))
}

fn parse_bool(f: &Found) -> Result<bool, AttrError> {
    match f.value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(AttrError::new(
            &["openstack", "insecure"],
            "Invalid boolean",
            format!("{} is {other:?}; expected true or false.", f.from),
        )),
    }
}

fn resolve_auth(s: &OpenStackSettings, l: &Layers<'_>) -> Result<Auth, AttrError> {
    let app_secret = l.get(
        s.application_credential_secret.as_ref().map(Secret::expose),
        "application_credential_secret",
        &["OS_APPLICATION_CREDENTIAL_SECRET"],
        &["application_credential_secret"],
    );
    let password = l.get(
        s.password.as_ref().map(Secret::expose),
        "password",
        &["OS_PASSWORD"],
        &["password"],
    );
    let auth_type = l
        .get(None, "auth_type", &["OS_AUTH_TYPE"], &["auth_type"])
        .map(|f| f.value.to_ascii_lowercase());
    let use_app_cred = match auth_type.as_deref() {
        Some("v3applicationcredential" | "applicationcredential") => true,
        Some("password" | "v3password") => false,
        // Without auth_type, the credential given at the highest layer wins.
        _ => match (&app_secret, &password) {
            (Some(_), None) => true,
            (None, _) => false,
            (Some(a), Some(p)) => rank(&a.from) <= rank(&p.from),
        },
    };
    let user_domain = || {
        l.get(
            s.user_domain_name.as_deref(),
            "user_domain_name",
            &["OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME"],
            &["user_domain_name", "domain_name"],
        )
        .map(|f| NameOrId::Name(f.value))
        .or_else(|| {
            l.get(
                None,
                "user_domain_id",
                &["OS_USER_DOMAIN_ID", "OS_DOMAIN_ID"],
                &["user_domain_id", "domain_id"],
            )
            .map(|f| NameOrId::Id(f.value))
        })
        .unwrap_or(NameOrId::Name("Default".into()))
    };
    let user = || {
        l.get(
            s.user_name.as_deref(),
            "user_name",
            &["OS_USERNAME"],
            &["username", "user_name"],
        )
        .map(|f| NameOrId::Name(f.value))
        .or_else(|| {
            l.get(None, "user_id", &["OS_USER_ID"], &["user_id"])
                .map(|f| NameOrId::Id(f.value))
        })
    };
    if use_app_cred {
        let secret = app_secret.ok_or_else(|| {
            AttrError::new(
                &["openstack", "application_credential_secret"],
                "Missing application credential secret",
                format!(
                    "auth_type is v3applicationcredential but no secret is configured: {}.",
                    l.where_to_set(
                        "application_credential_secret",
                        "OS_APPLICATION_CREDENTIAL_SECRET",
                        "auth.application_credential_secret"
                    )
                ),
            )
        })?;
        let id = l
            .get(
                s.application_credential_id.as_deref(),
                "application_credential_id",
                &["OS_APPLICATION_CREDENTIAL_ID"],
                &["application_credential_id"],
            )
            .map(|f| f.value);
        let name = l
            .get(
                None,
                "application_credential_name",
                &["OS_APPLICATION_CREDENTIAL_NAME"],
                &["application_credential_name"],
            )
            .map(|f| f.value);
        if id.is_none() && name.is_none() {
            return Err(AttrError::new(
                &["openstack", "application_credential_id"],
                "Missing application credential id",
                format!(
                    "An application credential secret is configured but not its id: {}.",
                    l.where_to_set(
                        "application_credential_id",
                        "OS_APPLICATION_CREDENTIAL_ID",
                        "auth.application_credential_id"
                    )
                ),
            ));
        }
        let user = if id.is_none() {
            user().map(|u| (u, user_domain()))
        } else {
            None
        };
        if id.is_none() && user.is_none() {
            return Err(AttrError::new(
                &["openstack", "user_name"],
                "Missing user for application credential name",
                "An application credential given by name also needs the user (openstack.user_name or OS_USERNAME).",
            ));
        }
        return Ok(Auth::ApplicationCredential {
            id,
            name,
            user,
            secret: Secret::new(secret.value),
        });
    }
    let password = password.ok_or_else(|| {
        AttrError::new(
            &["openstack", "password"],
            "Missing OpenStack password",
            format!(
                "No password or application credential is configured: {}.",
                l.where_to_set("password", "OS_PASSWORD", "auth.password")
            ),
        )
    })?;
    let user = user().ok_or_else(|| {
        AttrError::new(
            &["openstack", "user_name"],
            "Missing OpenStack user",
            format!(
                "A password is configured but no user: {}.",
                l.where_to_set("user_name", "OS_USERNAME", "auth.username")
            ),
        )
    })?;
    let project = l
        .get(
            s.project_name.as_deref(),
            "project_name",
            &["OS_PROJECT_NAME", "OS_TENANT_NAME"],
            &["project_name", "tenant_name"],
        )
        .map(|f| NameOrId::Name(f.value))
        .or_else(|| {
            l.get(
                None,
                "project_id",
                &["OS_PROJECT_ID", "OS_TENANT_ID"],
                &["project_id", "tenant_id"],
            )
            .map(|f| NameOrId::Id(f.value))
        })
        .ok_or_else(|| {
            AttrError::new(
                &["openstack", "project_name"],
                "Missing OpenStack project",
                format!(
                    "Password authentication needs a project to scope the token to: {}.",
                    l.where_to_set("project_name", "OS_PROJECT_NAME", "auth.project_name")
                ),
            )
        })?;
    let project_domain = l
        .get(
            s.project_domain_name.as_deref(),
            "project_domain_name",
            &["OS_PROJECT_DOMAIN_NAME", "OS_DOMAIN_NAME"],
            &["project_domain_name", "domain_name"],
        )
        .map(|f| NameOrId::Name(f.value))
        .or_else(|| {
            l.get(
                None,
                "project_domain_id",
                &["OS_PROJECT_DOMAIN_ID", "OS_DOMAIN_ID"],
                &["project_domain_id", "domain_id"],
            )
            .map(|f| NameOrId::Id(f.value))
        })
        .unwrap_or(NameOrId::Name("Default".into()));
    Ok(Auth::Password {
        user,
        user_domain: user_domain(),
        password: Secret::new(password.value),
        project,
        project_domain,
    })
}

/// Precedence rank of a `Found::from` description (0 = provider attribute).
fn rank(from: &str) -> u8 {
    if from.starts_with("openstack.") {
        0
    } else if from.starts_with("environment") {
        1
    } else {
        2
    }
}

/// Finds and reads the clouds.yaml entry selected by `cloud` or `OS_CLOUD`, if any.
fn load_selected_cloud(
    s: &OpenStackSettings,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Option<CloudEntry>, AttrError> {
    let (name, name_from_env) = match (&s.cloud, env("OS_CLOUD").filter(|v| !v.is_empty())) {
        (Some(c), _) => (c.clone(), false),
        (None, Some(c)) => (c, true),
        (None, None) => return Ok(None),
    };
    let attr_path: &[&str] = &["openstack", "cloud"];
    let env_file = env("OS_CLIENT_CONFIG_FILE").filter(|v| !v.is_empty());
    let candidates =
        clouds_yaml::candidate_paths(s.clouds_yaml.as_deref(), env_file.as_deref(), home);
    let found = candidates
        .iter()
        .find(|(p, origin)| *origin != PathOrigin::Default || p.is_file());
    let Some((path, origin)) = found else {
        let searched: Vec<String> = candidates
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        let how = if name_from_env {
            " (from OS_CLOUD)"
        } else {
            ""
        };
        return Err(AttrError::new(
            attr_path,
            "clouds.yaml not found",
            format!(
                "cloud '{name}'{how} was requested but no clouds.yaml was found; looked in {}.",
                searched.join(", ")
            ),
        ));
    };
    let file_attr: &[&str] = match origin {
        PathOrigin::Attribute => &["openstack", "clouds_yaml"],
        _ => attr_path,
    };
    let secure_path = clouds_yaml::secure_path(path, env("OS_CLIENT_SECURE_FILE").as_deref());
    let secure_text = std::fs::read_to_string(&secure_path).ok();
    let entry = clouds_yaml::load_cloud(
        path,
        &name,
        secure_text.as_deref().map(|t| (secure_path.as_path(), t)),
    )
    .map_err(|e| {
        let (attr, summary) = match &e {
            clouds_yaml::CloudsYamlError::UnknownCloud { .. } => (attr_path, "Unknown cloud"),
            clouds_yaml::CloudsYamlError::Unreadable { .. } => {
                (file_attr, "Cannot read clouds.yaml")
            }
            _ => (file_attr, "Invalid clouds.yaml"),
        };
        let mut detail = e.to_string();
        if name_from_env {
            detail.push_str(" (the cloud name comes from OS_CLOUD)");
        }
        if *origin == PathOrigin::EnvVar {
            detail.push_str(" (the file comes from OS_CLIENT_CONFIG_FILE)");
        }
        AttrError::new(attr, summary, detail)
    })?;
    Ok(Some(entry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn clouds_file(dir: &Path, text: &str) -> String {
        let p = dir.join("clouds.yaml");
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    const CLOUDS: &str = r#"
clouds:
  sim:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: yaml-user
      password: yaml-pass
      project_name: yaml-project
    region_name: YamlRegion
    interface: internal
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://127.0.0.1:5000/v3
      application_credential_id: ac-id
      application_credential_secret: ac-secret
"#;

    #[test]
    fn nothing_configured_is_not_an_error() {
        let r = resolve(&OpenStackSettings::default(), &env_of(&[]), None).unwrap();
        assert_eq!(r, None);
    }

    #[test]
    fn env_only_password_auth() {
        let env = env_of(&[
            ("OS_AUTH_URL", "https://k/v3"),
            ("OS_USERNAME", "u"),
            ("OS_PASSWORD", "p"),
            ("OS_PROJECT_NAME", "proj"),
            ("OS_REGION_NAME", "R1"),
        ]);
        let c = resolve(&OpenStackSettings::default(), &env, None)
            .unwrap()
            .unwrap();
        assert_eq!(c.auth_url, "https://k/v3");
        assert_eq!(c.region.as_deref(), Some("R1"));
        match c.auth {
            Auth::Password {
                user,
                password,
                project,
                user_domain,
                ..
            } => {
                assert_eq!(user, NameOrId::Name("u".into()));
                assert_eq!(password.expose(), "p");
                assert_eq!(project, NameOrId::Name("proj".into()));
                assert_eq!(user_domain, NameOrId::Name("Default".into()));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn attributes_beat_env_which_beats_clouds_yaml() {
        let dir = tempfile::tempdir().unwrap();
        let file = clouds_file(dir.path(), CLOUDS);
        let s = OpenStackSettings {
            cloud: Some("sim".into()),
            clouds_yaml: Some(file),
            region: Some("AttrRegion".into()),
            ..Default::default()
        };
        let env = env_of(&[("OS_REGION_NAME", "EnvRegion"), ("OS_USERNAME", "env-user")]);
        let c = resolve(&s, &env, None).unwrap().unwrap();
        assert_eq!(c.region.as_deref(), Some("AttrRegion"));
        assert_eq!(c.interface, Interface::Internal);
        match c.auth {
            Auth::Password { user, password, .. } => {
                assert_eq!(user, NameOrId::Name("env-user".into()));
                assert_eq!(password.expose(), "yaml-pass");
            }
            other => panic!("unexpected {other:?}"),
        }
        let c = resolve(&OpenStackSettings { region: None, ..s }, &env, None)
            .unwrap()
            .unwrap();
        assert_eq!(c.region.as_deref(), Some("EnvRegion"));
        assert!(
            c.origin.ends_with("overridden by OS_* variables"),
            "{}",
            c.origin
        );
    }

    #[test]
    fn os_cloud_and_os_client_config_file_select_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let file = clouds_file(dir.path(), CLOUDS);
        let env = env_of(&[("OS_CLOUD", "appcred"), ("OS_CLIENT_CONFIG_FILE", &file)]);
        let c = resolve(&OpenStackSettings::default(), &env, None)
            .unwrap()
            .unwrap();
        match c.auth {
            Auth::ApplicationCredential { id, secret, .. } => {
                assert_eq!(id.as_deref(), Some("ac-id"));
                assert_eq!(secret.expose(), "ac-secret");
            }
            other => panic!("unexpected {other:?}"),
        }
        // Nothing overrides the entry: the origin says so.
        assert_eq!(c.origin, format!("cloud 'appcred' of {file}"));
    }

    #[test]
    fn home_config_dir_is_searched() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".config/openstack");
        std::fs::create_dir_all(&dir).unwrap();
        clouds_file(&dir, CLOUDS);
        std::fs::write(
            dir.join("secure.yaml"),
            "clouds:\n  sim:\n    auth:\n      password: from-secure\n",
        )
        .unwrap();
        let s = OpenStackSettings {
            cloud: Some("sim".into()),
            ..Default::default()
        };
        let c = resolve(&s, &env_of(&[]), Some(home.path()))
            .unwrap()
            .unwrap();
        match c.auth {
            Auth::Password { password, .. } => assert_eq!(password.expose(), "from-secure"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_cloud_names_the_attribute_file_and_choices() {
        let dir = tempfile::tempdir().unwrap();
        let file = clouds_file(dir.path(), CLOUDS);
        let s = OpenStackSettings {
            cloud: Some("nope".into()),
            clouds_yaml: Some(file.clone()),
            ..Default::default()
        };
        let e = resolve(&s, &env_of(&[]), None).unwrap_err();
        assert_eq!(e.dotted_path(), "openstack.cloud");
        assert_eq!(e.summary, "Unknown cloud");
        assert!(e.detail.contains(&file), "{}", e.detail);
        assert!(e.detail.contains("available: sim, appcred"), "{}", e.detail);
    }

    #[test]
    fn unreadable_clouds_yaml_names_clouds_yaml_attribute() {
        let s = OpenStackSettings {
            cloud: Some("x".into()),
            clouds_yaml: Some("/nonexistent/clouds.yaml".into()),
            ..Default::default()
        };
        let e = resolve(&s, &env_of(&[]), None).unwrap_err();
        assert_eq!(e.dotted_path(), "openstack.clouds_yaml");
        assert!(e.detail.contains("/nonexistent/clouds.yaml"));
    }

    #[test]
    fn cloud_without_any_file_says_where_it_looked() {
        let home = tempfile::tempdir().unwrap();
        let env = env_of(&[("OS_CLOUD", "prod")]);
        let e = resolve(&OpenStackSettings::default(), &env, Some(home.path())).unwrap_err();
        assert_eq!(e.dotted_path(), "openstack.cloud");
        assert!(e.detail.contains("OS_CLOUD"), "{}", e.detail);
        assert!(
            e.detail.contains("/etc/openstack/clouds.yaml"),
            "{}",
            e.detail
        );
    }

    #[test]
    fn missing_password_says_where_to_set_it() {
        let s = OpenStackSettings {
            auth_url: Some("https://k/v3".into()),
            user_name: Some("u".into()),
            project_name: Some("p".into()),
            ..Default::default()
        };
        let e = resolve(&s, &env_of(&[]), None).unwrap_err();
        assert_eq!(e.dotted_path(), "openstack.password");
        assert!(e.detail.contains("OS_PASSWORD"));
    }

    #[test]
    fn bad_env_interface_is_reported_with_its_source() {
        let env = env_of(&[
            ("OS_AUTH_URL", "https://k/v3"),
            ("OS_INTERFACE", "private"),
            ("OS_PASSWORD", "p"),
        ]);
        let e = resolve(&OpenStackSettings::default(), &env, None).unwrap_err();
        assert_eq!(e.dotted_path(), "openstack.endpoint_type");
        assert!(e.detail.contains("OS_INTERFACE"), "{}", e.detail);
    }

    #[test]
    fn attribute_credential_beats_env_credential() {
        let env = env_of(&[
            ("OS_AUTH_URL", "https://k/v3"),
            ("OS_PASSWORD", "p"),
            ("OS_USERNAME", "u"),
            ("OS_PROJECT_NAME", "x"),
        ]);
        let s = OpenStackSettings {
            application_credential_id: Some("id".into()),
            application_credential_secret: Some(Secret::new("sec")),
            ..Default::default()
        };
        let c = resolve(&s, &env, None).unwrap().unwrap();
        assert!(matches!(c.auth, Auth::ApplicationCredential { .. }));
    }

    #[test]
    fn validate_catches_conflicts_and_bad_values() {
        let s = OpenStackSettings {
            password: Some(Secret::new("p")),
            application_credential_id: Some("id".into()),
            application_credential_secret: Some(Secret::new("s")),
            auth_url: Some("keystone:5000".into()),
            endpoint_type: Some("private".into()),
            max_retries: Some(-1),
            ..Default::default()
        };
        let paths: Vec<String> = validate_settings(&s)
            .0
            .iter()
            .map(|e| e.dotted_path())
            .collect();
        assert_eq!(
            paths,
            vec![
                "openstack.application_credential_secret",
                "openstack.auth_url",
                "openstack.endpoint_type",
                "openstack.max_retries"
            ]
        );
        assert!(validate_settings(&OpenStackSettings::default()).is_empty());
    }

    #[test]
    fn debug_output_has_no_secrets() {
        let env = env_of(&[
            ("OS_AUTH_URL", "https://k/v3"),
            ("OS_USERNAME", "u"),
            ("OS_PASSWORD", "topsecret"),
            ("OS_PROJECT_NAME", "x"),
        ]);
        let c = resolve(&OpenStackSettings::default(), &env, None)
            .unwrap()
            .unwrap();
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
