//! The kinds each simulated cluster serves.

use super::store::ResourceType;

/// Kinds of a plain Kubernetes cluster (management or hosted).
pub fn builtin() -> Vec<ResourceType> {
    let core =
        |kind: &str, plural: &str, ns: bool| ResourceType::new("", &["v1"], kind, plural, ns);
    vec![
        core("Namespace", "namespaces", false).with_short_names(&["ns"]),
        core("Secret", "secrets", true),
        core("ConfigMap", "configmaps", true).with_short_names(&["cm"]),
        core("Service", "services", true).with_short_names(&["svc"]),
        core("Event", "events", true).with_short_names(&["ev"]),
        core("Node", "nodes", false)
            .with_short_names(&["no"])
            .with_status(),
        core("Pod", "pods", true)
            .with_short_names(&["po"])
            .with_status(),
        core("ServiceAccount", "serviceaccounts", true).with_short_names(&["sa"]),
        core("PersistentVolumeClaim", "persistentvolumeclaims", true).with_short_names(&["pvc"]),
        ResourceType::new("apps", &["v1"], "Deployment", "deployments", true)
            .with_short_names(&["deploy"])
            .with_status(),
        ResourceType::new("apps", &["v1"], "StatefulSet", "statefulsets", true)
            .with_short_names(&["sts"])
            .with_status(),
        ResourceType::new("apps", &["v1"], "DaemonSet", "daemonsets", true)
            .with_short_names(&["ds"])
            .with_status(),
        ResourceType::new(
            "apiextensions.k8s.io",
            &["v1"],
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
        )
        .with_short_names(&["crd", "crds"])
        .with_status(),
        ResourceType::new("rbac.authorization.k8s.io", &["v1"], "Role", "roles", true),
        ResourceType::new(
            "rbac.authorization.k8s.io",
            &["v1"],
            "RoleBinding",
            "rolebindings",
            true,
        ),
        ResourceType::new(
            "rbac.authorization.k8s.io",
            &["v1"],
            "ClusterRole",
            "clusterroles",
            false,
        ),
        ResourceType::new(
            "rbac.authorization.k8s.io",
            &["v1"],
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
        ),
        ResourceType::new(
            "policy",
            &["v1"],
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
        )
        .with_short_names(&["pdb"])
        .with_status(),
        ResourceType::new(
            "admissionregistration.k8s.io",
            &["v1"],
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            false,
        ),
        ResourceType::new(
            "admissionregistration.k8s.io",
            &["v1"],
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
            false,
        ),
        ResourceType::new("coordination.k8s.io", &["v1"], "Lease", "leases", true),
    ]
}

/// The resource type a CRD object defines (served versions, storage version first).
pub fn from_crd(crd: &serde_json::Value) -> Option<ResourceType> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str()?;
    let names = &spec["names"];
    let mut versions: Vec<(bool, String, bool)> = spec["versions"]
        .as_array()?
        .iter()
        .filter(|v| v["served"].as_bool().unwrap_or(true))
        .map(|v| {
            (
                v["storage"].as_bool().unwrap_or(false),
                v["name"].as_str().unwrap_or_default().to_string(),
                v["subresources"]["status"].is_object(),
            )
        })
        .collect();
    versions.sort_by_key(|(storage, _, _)| !*storage);
    let status = versions.iter().any(|(_, _, s)| *s);
    let vs: Vec<&str> = versions.iter().map(|(_, n, _)| n.as_str()).collect();
    let mut rt = ResourceType::new(
        group,
        &vs,
        names["kind"].as_str()?,
        names["plural"].as_str()?,
        spec["scope"] != "Cluster",
    );
    if status {
        rt = rt.with_status();
    }
    let shorts: Vec<&str> = names["shortNames"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default();
    Some(rt.with_short_names(&shorts))
}

/// A minimal CRD object for a k0smotron kind (the real CRDs carry full schemas; the
/// simulator needs names, versions, scope and subresources).
pub fn k0smotron_crd(
    kind: &str,
    plural: &str,
    short: &str,
    versions: &[&str],
) -> serde_json::Value {
    let storage = versions.first().copied().unwrap_or("v1beta2");
    let vs: Vec<serde_json::Value> = versions
        .iter()
        .map(|v| {
            serde_json::json!({
                "name": v, "served": true, "storage": *v == storage,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}},
            })
        })
        .collect();
    serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.k0smotron.io")},
        "spec": {"group": "k0smotron.io", "scope": "Namespaced", "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "shortNames": [short], "listKind": format!("{kind}List")}, "versions": vs},
    })
}
