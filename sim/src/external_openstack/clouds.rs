//! One cloud of a clouds.yaml (openstacksdk's format), as much as the poller needs:
//! Keystone v3 with a password or an application credential, region, interface, TLS.
//!
//! Which cloud: `--openstack-cloud`, else `OS_CLOUD`, else the file's first. Not read:
//! `secure.yaml`, `profile`, other auth plugins (an error names the auth_type).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// Why a clouds.yaml cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CloudsError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not YAML: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("{path}: no `clouds` mapping")]
    NoClouds { path: PathBuf },
    #[error("{path}: no cloud {name:?} (has: {known})")]
    NoSuchCloud {
        path: PathBuf,
        name: String,
        known: String,
    },
    #[error("cloud {cloud:?}: {what}")]
    Invalid { cloud: String, what: String },
}

/// How the poller authenticates.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// `auth_type: password` / `v3password` (the default).
    Password {
        /// `{"name": ..., "domain": ...}` or `{"id": ...}`, as Keystone takes it.
        user: Value,
        password: String,
        /// `{"project": ...}`, or None for an unscoped token (Nova needs a scope).
        scope: Option<Value>,
    },
    /// `auth_type: v3applicationcredential` (scoped by the credential itself).
    AppCred { credential: Value },
}

/// The cloud entry, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Cloud {
    pub name: String,
    /// Keystone v3, ending in `/v3` (appended when the file's auth_url has no version).
    pub auth_url: String,
    pub auth: Auth,
    pub region: Option<String>,
    /// Catalog interface: `public` unless the file says otherwise.
    pub interface: String,
    /// `verify: false` in the file.
    pub insecure: bool,
    pub cacert: Option<PathBuf>,
}

impl Cloud {
    /// The body of `POST /v3/auth/tokens`.
    pub fn auth_body(&self) -> Value {
        match &self.auth {
            Auth::Password {
                user,
                password,
                scope,
            } => {
                let mut user = user.clone();
                user["password"] = json!(password);
                let mut body = json!({"auth": {"identity": {"methods": ["password"],
                    "password": {"user": user}}}});
                if let Some(s) = scope {
                    body["auth"]["scope"] = s.clone();
                }
                body
            }
            Auth::AppCred { credential } => json!({"auth": {"identity": {
                "methods": ["application_credential"], "application_credential": credential}}}),
        }
    }
}

/// Reads `path` and picks the cloud (`name`, else `OS_CLOUD`, else the first).
pub fn load(path: &Path, name: Option<&str>) -> Result<Cloud, CloudsError> {
    let text = std::fs::read_to_string(path).map_err(|source| CloudsError::Read {
        path: path.into(),
        source,
    })?;
    let env = std::env::var("OS_CLOUD").ok();
    parse(&text, path, name.or(env.as_deref()))
}

/// [`load`] on text (`path` only names the file in errors).
pub fn parse(text: &str, path: &Path, name: Option<&str>) -> Result<Cloud, CloudsError> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|source| CloudsError::Yaml {
            path: path.into(),
            source,
        })?;
    let Some(clouds) = doc.get("clouds").and_then(|c| c.as_mapping()) else {
        return Err(CloudsError::NoClouds { path: path.into() });
    };
    let names: Vec<String> = clouds
        .keys()
        .filter_map(|k| k.as_str().map(String::from))
        .collect();
    let chosen = match name {
        Some(n) => n.to_string(),
        None => names
            .first()
            .cloned()
            .ok_or(CloudsError::NoClouds { path: path.into() })?,
    };
    let Some(entry) = clouds.get(chosen.as_str()) else {
        return Err(CloudsError::NoSuchCloud {
            path: path.into(),
            name: chosen,
            known: names.join(", "),
        });
    };
    resolve(&chosen, entry)
}

fn resolve(name: &str, e: &serde_yaml::Value) -> Result<Cloud, CloudsError> {
    let invalid = |what: &str| CloudsError::Invalid {
        cloud: name.into(),
        what: what.into(),
    };
    let s = |v: &serde_yaml::Value, k: &str| v.get(k).and_then(yaml_string);
    let auth = e.get("auth").ok_or_else(|| invalid("no `auth` section"))?;
    let url = s(auth, "auth_url").ok_or_else(|| invalid("no auth.auth_url"))?;
    let auth_type = s(e, "auth_type").unwrap_or_else(|| "password".into());
    let parsed = match auth_type.as_str() {
        "password" | "v3password" => password(auth).map_err(|w| invalid(&w))?,
        "v3applicationcredential" | "application_credential" => {
            app_cred(auth).map_err(|w| invalid(&w))?
        }
        other => {
            return Err(invalid(&format!(
                "auth_type {other:?} is not supported (password, v3applicationcredential)"
            )))
        }
    };
    let verify = e.get("verify").and_then(|v| v.as_bool()).unwrap_or(true);
    Ok(Cloud {
        name: name.into(),
        auth_url: v3_url(&url),
        auth: parsed,
        region: s(e, "region_name"),
        interface: s(e, "interface").unwrap_or_else(|| "public".into()),
        insecure: !verify,
        cacert: s(e, "cacert").map(PathBuf::from),
    })
}

/// `http://h:5000` and `http://h/identity` → `.../v3`; `.../v3` and `.../v3/` kept.
/// (keystoneauth discovers the version; the poller only speaks v3, so it assumes it.)
fn v3_url(url: &str) -> String {
    let u = url.trim_end_matches('/');
    if u.ends_with("/v3") {
        u.to_string()
    } else {
        format!("{u}/v3")
    }
}

/// A `{"name", "domain"}` / `{"id"}` reference from `<kind>_id` / `<kind>_name` and the
/// domain keys (`<kind>_domain_id|name`, else `default_domain`, else the `default` domain).
fn reference(a: &serde_yaml::Value, kind: &str) -> Option<Value> {
    let s = |k: &str| a.get(k).and_then(yaml_string);
    if let Some(id) = s(&format!("{kind}_id")) {
        return Some(json!({ "id": id }));
    }
    let name = s(&format!("{kind}_name")).or_else(|| {
        // openstacksdk spells the user's name `username`.
        (kind == "user").then(|| s("username")).flatten()
    })?;
    let domain = if let Some(id) = s(&format!("{kind}_domain_id")) {
        json!({ "id": id })
    } else if let Some(n) = s(&format!("{kind}_domain_name")) {
        json!({ "name": n })
    } else if let Some(id) = s("default_domain") {
        json!({ "id": id })
    } else {
        json!({"id": "default"})
    };
    Some(json!({"name": name, "domain": domain}))
}

fn password(a: &serde_yaml::Value) -> Result<Auth, String> {
    let user = reference(a, "user").ok_or("no auth.username or auth.user_id")?;
    let password = a
        .get("password")
        .and_then(yaml_string)
        .ok_or("no auth.password")?;
    let scope = reference(a, "project").map(|p| json!({ "project": p }));
    Ok(Auth::Password {
        user,
        password,
        scope,
    })
}

fn app_cred(a: &serde_yaml::Value) -> Result<Auth, String> {
    let s = |k: &str| a.get(k).and_then(yaml_string);
    let secret =
        s("application_credential_secret").ok_or("no auth.application_credential_secret")?;
    let credential = if let Some(id) = s("application_credential_id") {
        json!({"id": id, "secret": secret})
    } else if let Some(n) = s("application_credential_name") {
        let user =
            reference(a, "user").ok_or("an application credential by name needs its user")?;
        json!({"name": n, "secret": secret, "user": user})
    } else {
        return Err("no auth.application_credential_id or _name".into());
    };
    Ok(Auth::AppCred { credential })
}

/// YAML scalars as strings (a numeric project id or password stays text).
fn yaml_string(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "clouds:\n  devstack-admin:\n    auth:\n      auth_url: http://127.0.0.1/identity\n      username: admin\n      password: secret\n      project_name: admin\n      user_domain_name: Default\n      project_domain_id: default\n    region_name: RegionOne\n  ac:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://k:5000/v3/\n      application_credential_id: '1234'\n      application_credential_secret: s3\n    interface: internal\n    verify: false\n";

    #[test]
    fn picks_the_named_or_first_cloud_and_builds_keystone_bodies() {
        let p = Path::new("clouds.yaml");
        let c = parse(FILE, p, None).unwrap();
        assert_eq!(c.name, "devstack-admin");
        assert_eq!(c.auth_url, "http://127.0.0.1/identity/v3");
        assert_eq!(
            (c.region.as_deref(), c.interface.as_str()),
            (Some("RegionOne"), "public")
        );
        let b = c.auth_body();
        let u = &b["auth"]["identity"]["password"]["user"];
        assert_eq!(
            (u["name"].as_str(), u["domain"]["name"].as_str()),
            (Some("admin"), Some("Default"))
        );
        assert_eq!(u["password"], "secret");
        assert_eq!(
            b["auth"]["scope"]["project"],
            json!({"name": "admin", "domain": {"id": "default"}})
        );

        let c = parse(FILE, p, Some("ac")).unwrap();
        assert_eq!(c.auth_url, "http://k:5000/v3");
        assert!(c.insecure);
        assert_eq!(c.interface, "internal");
        let b = c.auth_body();
        assert_eq!(
            b["auth"]["identity"]["application_credential"],
            json!({"id": "1234", "secret": "s3"})
        );
        assert!(b["auth"].get("scope").is_none());
    }

    #[test]
    fn says_what_is_wrong() {
        let p = Path::new("c.yaml");
        let e = parse(FILE, p, Some("nope")).unwrap_err().to_string();
        assert!(
            e.contains("no cloud \"nope\"") && e.contains("devstack-admin, ac"),
            "{e}"
        );
        let e = parse(
            "clouds:\n  x:\n    auth_type: token\n    auth: {auth_url: http://a}\n",
            p,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("auth_type \"token\" is not supported"), "{e}");
        let e = parse(
            "clouds:\n  x:\n    auth: {auth_url: http://a, username: u}\n",
            p,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no auth.password"), "{e}");
        assert!(matches!(
            parse("a: [", p, None),
            Err(CloudsError::Yaml { .. })
        ));
        assert!(matches!(
            parse("x: 1", p, None),
            Err(CloudsError::NoClouds { .. })
        ));
    }
}
