//! The k0smotron install manifest (`k0smotron_manifest`): split into objects and ordered so
//! that what others depend on exists first — Namespaces, then CRDs, then RBAC and
//! configuration, then workloads.

use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("document {index} is not valid YAML: {reason}")]
    Yaml { index: usize, reason: String },
    #[error("document {index} has no {field}")]
    Missing { index: usize, field: &'static str },
}

/// Install order of a kind (lower first).
fn rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "ServiceAccount" | "ClusterRole" | "Role" | "ClusterRoleBinding" | "RoleBinding" => 2,
        "ConfigMap" | "Secret" | "Service" => 3,
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => 5,
        _ => 4,
    }
}

/// The objects of a multi-document YAML manifest, in install order (stable within a rank).
pub fn parse(text: &str) -> Result<Vec<Value>, ManifestError> {
    let mut out = Vec::new();
    for (index, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let v: serde_yaml::Value =
            serde::Deserialize::deserialize(doc).map_err(|e| ManifestError::Yaml {
                index,
                reason: e.to_string(),
            })?;
        if v.is_null() {
            continue;
        }
        let j: Value = serde_json::to_value(v).map_err(|e| ManifestError::Yaml {
            index,
            reason: e.to_string(),
        })?;
        if let Some(items) = j
            .get("items")
            .and_then(Value::as_array)
            .filter(|_| j["kind"].as_str().is_some_and(|k| k.ends_with("List")))
        {
            out.extend(items.iter().cloned());
            continue;
        }
        for (field, ptr) in [
            ("apiVersion", "/apiVersion"),
            ("kind", "/kind"),
            ("metadata.name", "/metadata/name"),
        ] {
            if j.pointer(ptr).and_then(Value::as_str).is_none() {
                return Err(ManifestError::Missing { index, field });
            }
        }
        out.push(j);
    }
    out.sort_by_key(|o| rank(o["kind"].as_str().unwrap_or_default()));
    Ok(out)
}

/// `kind namespace/name` for messages.
pub fn describe(obj: &Value) -> String {
    let ns = obj["metadata"]["namespace"]
        .as_str()
        .map(|n| format!("{n}/"))
        .unwrap_or_default();
    format!(
        "{} {ns}{}",
        obj["kind"].as_str().unwrap_or("?"),
        obj["metadata"]["name"].as_str().unwrap_or("?")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_namespaces_and_crds_first() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: k0smotron-controller-manager, namespace: k0smotron}\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: clusters.k0smotron.io}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: k0smotron}\n";
        let objs = parse(text).unwrap();
        let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            vec!["Namespace", "CustomResourceDefinition", "Deployment"]
        );
        assert_eq!(
            describe(&objs[2]),
            "Deployment k0smotron/k0smotron-controller-manager"
        );
    }

    #[test]
    fn reports_the_bad_document() {
        assert_eq!(
            parse("kind: X\nmetadata: {name: a}\n").unwrap_err(),
            ManifestError::Missing {
                index: 0,
                field: "apiVersion"
            }
        );
        assert!(matches!(
            parse("a: [").unwrap_err(),
            ManifestError::Yaml { index: 0, .. }
        ));
    }
}
