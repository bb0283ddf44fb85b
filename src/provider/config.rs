//! The provider block as Terraform sends it, and its conversion to the settings types of
//! `openstack::config` and `kube::config`.
//!
//! Unknown values (a provider block that depends on a resource not yet created) are
//! treated as unset at validate time; at configure they make their connection "not known
//! until apply" ([`super::clients::Pending`]): no fallback to another value.

use serde::{Deserialize, Serialize};
use tf_provider::value::{Value, ValueBool, ValueNumber, ValueString};

use crate::framework::Secret;
use crate::kube::KubeSettings;
use crate::openstack::OpenStackSettings;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProviderConfig {
    #[serde(with = "crate::framework::block")]
    pub kubernetes: Value<KubernetesBlock>,
    #[serde(with = "crate::framework::block")]
    pub openstack: Value<OpenStackBlock>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KubernetesBlock {
    pub config_path: ValueString<'static>,
    pub config_context: ValueString<'static>,
    pub config_raw: ValueString<'static>,
    pub insecure: ValueBool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OpenStackBlock {
    pub cloud: ValueString<'static>,
    pub clouds_yaml: ValueString<'static>,
    pub auth_url: ValueString<'static>,
    pub region: ValueString<'static>,
    pub user_name: ValueString<'static>,
    pub password: ValueString<'static>,
    pub project_name: ValueString<'static>,
    pub user_domain_name: ValueString<'static>,
    pub project_domain_name: ValueString<'static>,
    pub application_credential_id: ValueString<'static>,
    pub application_credential_secret: ValueString<'static>,
    pub cacert_file: ValueString<'static>,
    pub insecure: ValueBool,
    pub endpoint_type: ValueString<'static>,
    pub max_retries: ValueNumber,
}

fn s(v: &ValueString<'static>) -> Option<String> {
    v.as_ref_option().map(|c| c.to_string())
}

fn secret(v: &ValueString<'static>) -> Option<Secret> {
    s(v).map(Secret::new)
}

impl ProviderConfig {
    pub fn kube_settings(&self) -> KubeSettings {
        match self.kubernetes.as_ref_option() {
            None => KubeSettings::default(),
            Some(k) => KubeSettings {
                config_path: s(&k.config_path),
                config_context: s(&k.config_context),
                config_raw: secret(&k.config_raw),
                insecure: k.insecure.as_ref_option().copied(),
            },
        }
    }

    pub fn openstack_settings(&self) -> OpenStackSettings {
        match self.openstack.as_ref_option() {
            None => OpenStackSettings::default(),
            Some(o) => OpenStackSettings {
                cloud: s(&o.cloud),
                clouds_yaml: s(&o.clouds_yaml),
                auth_url: s(&o.auth_url),
                region: s(&o.region),
                user_name: s(&o.user_name),
                password: secret(&o.password),
                project_name: s(&o.project_name),
                user_domain_name: s(&o.user_domain_name),
                project_domain_name: s(&o.project_domain_name),
                application_credential_id: s(&o.application_credential_id),
                application_credential_secret: secret(&o.application_credential_secret),
                cacert_file: s(&o.cacert_file),
                insecure: o.insecure.as_ref_option().copied(),
                endpoint_type: s(&o.endpoint_type),
                max_retries: o.max_retries.as_ref_option().copied(),
            },
        }
    }

    /// Dotted names of attributes whose value is still unknown at configure time (a
    /// whole block, or any attribute in it).
    pub fn unknown_attributes(&self) -> Vec<String> {
        let mut out = self.unknown_kubernetes();
        out.extend(self.unknown_openstack());
        out
    }

    /// The `kubernetes.*` settings not known yet.
    pub fn unknown_kubernetes(&self) -> Vec<String> {
        if self.kubernetes.is_unknown() {
            return vec!["kubernetes".to_string()];
        }
        let Some(k) = self.kubernetes.as_ref_option() else {
            return vec![];
        };
        named_unknown(
            "kubernetes",
            &[
                ("config_path", k.config_path.is_unknown()),
                ("config_context", k.config_context.is_unknown()),
                ("config_raw", k.config_raw.is_unknown()),
                ("insecure", k.insecure.is_unknown()),
            ],
        )
    }

    /// The `openstack.*` settings not known yet.
    pub fn unknown_openstack(&self) -> Vec<String> {
        if self.openstack.is_unknown() {
            return vec!["openstack".to_string()];
        }
        let Some(o) = self.openstack.as_ref_option() else {
            return vec![];
        };
        named_unknown(
            "openstack",
            &[
                ("cloud", o.cloud.is_unknown()),
                ("clouds_yaml", o.clouds_yaml.is_unknown()),
                ("auth_url", o.auth_url.is_unknown()),
                ("region", o.region.is_unknown()),
                ("user_name", o.user_name.is_unknown()),
                ("password", o.password.is_unknown()),
                ("project_name", o.project_name.is_unknown()),
                ("user_domain_name", o.user_domain_name.is_unknown()),
                ("project_domain_name", o.project_domain_name.is_unknown()),
                (
                    "application_credential_id",
                    o.application_credential_id.is_unknown(),
                ),
                (
                    "application_credential_secret",
                    o.application_credential_secret.is_unknown(),
                ),
                ("cacert_file", o.cacert_file.is_unknown()),
                ("insecure", o.insecure.is_unknown()),
                ("endpoint_type", o.endpoint_type.is_unknown()),
                ("max_retries", o.max_retries.is_unknown()),
            ],
        )
    }
}

fn named_unknown(block: &str, attrs: &[(&str, bool)]) -> Vec<String> {
    attrs
        .iter()
        .filter(|(_, unknown)| *unknown)
        .map(|(n, _)| format!("{block}.{n}"))
        .collect()
}
