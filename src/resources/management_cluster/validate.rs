//! Static checks of a `k0stack_management_cluster` configuration (one diagnostic per
//! problem, at its attribute).

use crate::framework::validators::dns_label;
use crate::framework::{timeouts, Problems};

use super::model::*;
use super::{bootstrap, manifest};

/// Static checks of the configuration.
pub fn validate(s: &State) -> Problems {
    let mut p = Problems::default();
    if let Some(ns) = known(&s.namespace) {
        if let Err(e) = dns_label(&ns, 63) {
            p.push(&["namespace"], "Invalid namespace", e);
        }
    }
    if let Some(m) = known(&s.k0smotron_manifest) {
        match manifest::parse(&m) {
            Ok(objs) if objs.is_empty() => p.push(&["k0smotron_manifest"], "Empty manifest", "k0smotron_manifest has no objects."),
            Ok(objs) if !objs.iter().any(|o| o["kind"] == "CustomResourceDefinition" && o["metadata"]["name"] == "clusters.k0smotron.io") => p.push(
                &["k0smotron_manifest"],
                "Not a k0smotron manifest",
                "k0smotron_manifest does not define the CustomResourceDefinition clusters.k0smotron.io; use k0smotron's install.yaml.",
            ),
            Ok(_) => {}
            Err(e) => p.push(&["k0smotron_manifest"], "Invalid manifest", e.to_string()),
        }
    }
    if let Some(c) = s.openstack_credentials.as_ref_option() {
        if let Some(name) = known(&c.secret_name) {
            if let Err(e) = dns_label(&name.replace('.', "-"), 253) {
                p.push(
                    &["openstack_credentials", "secret_name"],
                    "Invalid Secret name",
                    e,
                );
            }
        }
        if let Some(text) = known(&c.clouds_yaml) {
            let ok = serde_yaml::from_str::<serde_yaml::Value>(&text)
                .ok()
                .is_some_and(|v| v.get("clouds").is_some_and(|c| c.is_mapping()));
            if !ok {
                p.push(
                    &["openstack_credentials", "clouds_yaml"],
                    "Invalid clouds.yaml",
                    "clouds_yaml must be a YAML document with a `clouds:` mapping.",
                );
            }
        }
    }
    if let Some(b) = s.bootstrap.as_ref_option() {
        bootstrap::validate(b, &s.k0smotron_manifest, &mut p);
    }
    if let Err(e) = timeouts::resolve(s.timeouts.as_ref_option(), DEFAULT_TIMEOUTS) {
        p.extend(e.0);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use tf_provider::value::Value;

    #[test]
    fn validation_names_attributes() {
        let s = State {
            namespace: Value::Value("Bad_NS".into()),
            k0smotron_manifest: Value::Value(
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n".into(),
            ),
            openstack_credentials: Value::Value(CredentialsBlock {
                clouds_yaml: Value::Value("just text".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let paths: Vec<String> = validate(&s).0.iter().map(|e| e.dotted_path()).collect();
        assert_eq!(
            paths,
            vec![
                "namespace",
                "k0smotron_manifest",
                "openstack_credentials.clouds_yaml"
            ]
        );
        assert!(validate(&State::default()).is_empty());
    }
}
