//! The fleet's OpenStack credentials as in-cluster components (OpenStack CCM, Cinder CSI)
//! read them: a Secret with a `clouds.yaml`, the way k0rdent stores them.

use serde_yaml::{Mapping, Value};

use crate::openstack::config::NameOrId;
use crate::openstack::{Auth, OpenStackConfig};

/// The cloud name inside the generated clouds.yaml.
pub const CLOUD_NAME: &str = "openstack";
/// Key of the clouds.yaml in the Secret.
pub const SECRET_KEY: &str = "clouds.yaml";

fn put(m: &mut Mapping, k: &str, v: impl Into<Value>) {
    m.insert(Value::String(k.into()), v.into());
}

fn name_or_id(m: &mut Mapping, prefix: &str, v: &NameOrId) {
    match v {
        NameOrId::Name(n) => put(m, &format!("{prefix}_name"), n.as_str()),
        NameOrId::Id(i) => put(m, &format!("{prefix}_id"), i.as_str()),
    }
}

/// A clouds.yaml with one cloud built from the provider's resolved settings. The CA file
/// path of the machine running Terraform means nothing in the cluster, so it is left out
/// (with `insecure` kept as `verify: false`).
pub fn clouds_yaml(c: &OpenStackConfig) -> String {
    let mut auth = Mapping::new();
    put(&mut auth, "auth_url", c.auth_url.as_str());
    let auth_type = match &c.auth {
        Auth::Password {
            user,
            user_domain,
            password,
            project,
            project_domain,
        } => {
            match user {
                NameOrId::Name(n) => put(&mut auth, "username", n.as_str()),
                NameOrId::Id(i) => put(&mut auth, "user_id", i.as_str()),
            }
            put(&mut auth, "password", password.expose());
            name_or_id(&mut auth, "user_domain", user_domain);
            match project {
                NameOrId::Name(n) => put(&mut auth, "project_name", n.as_str()),
                NameOrId::Id(i) => put(&mut auth, "project_id", i.as_str()),
            }
            name_or_id(&mut auth, "project_domain", project_domain);
            "password"
        }
        Auth::ApplicationCredential {
            id,
            name,
            user,
            secret,
        } => {
            if let Some(id) = id {
                put(&mut auth, "application_credential_id", id.as_str());
            }
            if let Some(name) = name {
                put(&mut auth, "application_credential_name", name.as_str());
            }
            if let Some((u, d)) = user {
                match u {
                    NameOrId::Name(n) => put(&mut auth, "username", n.as_str()),
                    NameOrId::Id(i) => put(&mut auth, "user_id", i.as_str()),
                }
                name_or_id(&mut auth, "user_domain", d);
            }
            put(&mut auth, "application_credential_secret", secret.expose());
            "v3applicationcredential"
        }
    };
    let mut cloud = Mapping::new();
    put(&mut cloud, "auth", Value::Mapping(auth));
    put(&mut cloud, "auth_type", auth_type);
    if let Some(r) = &c.region {
        put(&mut cloud, "region_name", r.as_str());
    }
    put(&mut cloud, "interface", c.interface.as_str());
    put(&mut cloud, "identity_api_version", 3);
    if c.insecure {
        put(&mut cloud, "verify", false);
    }
    let mut clouds = Mapping::new();
    put(&mut clouds, CLOUD_NAME, Value::Mapping(cloud));
    let mut root = Mapping::new();
    put(&mut root, "clouds", Value::Mapping(clouds));
    serde_yaml::to_string(&Value::Mapping(root)).expect("serializable")
}

/// Who a clouds.yaml authenticates as, where: what the plan shows of the stored
/// credentials (never a secret), so that a run with other credentials shows
/// `user_name = "alice" -> "ci-bot"` rather than only a changed hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub auth_url: Option<String>,
    pub user_name: Option<String>,
    pub user_id: Option<String>,
    pub application_credential_id: Option<String>,
    pub application_credential_name: Option<String>,
    pub project_name: Option<String>,
    pub project_id: Option<String>,
    pub region: Option<String>,
}

/// The identity of the cloud in-cluster components use: the one named [`CLOUD_NAME`], else
/// the only (or first) cloud. An unreadable document has no identity.
pub fn identity_of(text: &str) -> Identity {
    let Ok(root) = serde_yaml::from_str::<Value>(text) else {
        return Identity::default();
    };
    let Some(clouds) = root.get("clouds").and_then(Value::as_mapping) else {
        return Identity::default();
    };
    let cloud = clouds
        .get(CLOUD_NAME)
        .or_else(|| clouds.values().next())
        .cloned()
        .unwrap_or_default();
    let auth = cloud.get("auth").cloned().unwrap_or_default();
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    Identity {
        auth_url: text(&auth, "auth_url"),
        user_name: text(&auth, "username").or_else(|| text(&auth, "user_name")),
        user_id: text(&auth, "user_id"),
        application_credential_id: text(&auth, "application_credential_id"),
        application_credential_name: text(&auth, "application_credential_name"),
        project_name: text(&auth, "project_name").or_else(|| text(&auth, "tenant_name")),
        project_id: text(&auth, "project_id").or_else(|| text(&auth, "tenant_id")),
        region: text(&cloud, "region_name"),
    }
}

/// SHA-256 (hex) of the Secret content: recorded in state, so a changed or deleted
/// Secret shows in the plan without the credentials themselves being in the plan.
pub fn content_hash(content: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(content.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Secret;
    use crate::openstack::config::{resolve, OpenStackSettings};
    use crate::openstack::Interface;

    #[test]
    fn password_credentials_round_trip_through_our_own_parser() {
        let c = OpenStackConfig {
            auth_url: "https://keystone.example.com/v3".into(),
            region: Some("RegionOne".into()),
            interface: Interface::Internal,
            auth: Auth::Password {
                user: NameOrId::Name("fleet".into()),
                user_domain: NameOrId::Name("Default".into()),
                password: Secret::new("pw"),
                project: NameOrId::Name("k8s".into()),
                project_domain: NameOrId::Id("default".into()),
            },
            cacert_file: None,
            insecure: true,
            max_retries: 5,
            origin: String::new(),
        };
        let text = clouds_yaml(&c);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clouds.yaml");
        std::fs::write(&path, &text).unwrap();
        let settings = OpenStackSettings {
            cloud: Some(CLOUD_NAME.into()),
            clouds_yaml: Some(path.display().to_string()),
            ..Default::default()
        };
        let id = identity_of(&text);
        assert_eq!(id.user_name.as_deref(), Some("fleet"));
        assert_eq!(id.project_name.as_deref(), Some("k8s"));
        assert_eq!(id.region.as_deref(), Some("RegionOne"));
        let back = resolve(&settings, &|_| None, None).unwrap().unwrap();
        assert_eq!(back.auth, c.auth);
        assert_eq!(
            (back.region, back.interface, back.insecure),
            (c.region.clone(), c.interface, true)
        );
    }

    #[test]
    fn application_credentials() {
        let c = OpenStackConfig {
            auth_url: "https://k/v3".into(),
            region: None,
            interface: Interface::Public,
            auth: Auth::ApplicationCredential {
                id: Some("ac".into()),
                name: None,
                user: None,
                secret: Secret::new("s"),
            },
            cacert_file: None,
            insecure: false,
            max_retries: 5,
            origin: String::new(),
        };
        let v: Value = serde_yaml::from_str(&clouds_yaml(&c)).unwrap();
        assert_eq!(
            v["clouds"]["openstack"]["auth_type"],
            "v3applicationcredential"
        );
        assert_eq!(
            v["clouds"]["openstack"]["auth"]["application_credential_id"],
            "ac"
        );
        assert!(v["clouds"]["openstack"].get("verify").is_none());
        assert_eq!(content_hash("x").len(), 64);
        let id = identity_of(&clouds_yaml(&c));
        assert_eq!(id.application_credential_id.as_deref(), Some("ac"));
        assert_eq!((id.user_name, id.project_name), (None, None));
    }

    #[test]
    fn identity_is_read_from_the_cloud_components_use_and_never_holds_a_secret() {
        let text = "clouds:\n  other:\n    auth: {auth_url: https://x/v3, username: bob}\n  openstack:\n    region_name: RegionOne\n    auth:\n      auth_url: https://keystone/v3\n      username: alice\n      password: pw\n      project_id: p1\n";
        let id = identity_of(text);
        assert_eq!(
            id,
            Identity {
                auth_url: Some("https://keystone/v3".into()),
                user_name: Some("alice".into()),
                project_id: Some("p1".into()),
                region: Some("RegionOne".into()),
                ..Default::default()
            }
        );
        let only = identity_of("clouds:\n  mine:\n    auth: {auth_url: https://x/v3, user_id: u1, project_name: k8s}\n");
        assert_eq!(
            (only.user_id.as_deref(), only.project_name.as_deref()),
            (Some("u1"), Some("k8s"))
        );
        assert_eq!(identity_of("not: [yaml"), Identity::default());
    }
}
