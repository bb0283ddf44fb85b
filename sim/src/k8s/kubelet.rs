//! What a worker's k0s and kubelet refuse, as they do upstream.

/// Label namespaces the kubelet may set on its own Node (`kubelet.kubernetes.io`,
/// `node.kubernetes.io` and their subdomains).
const ALLOWED_NAMESPACES: &[&str] = &["kubelet.kubernetes.io", "node.kubernetes.io"];

/// Labels in the `kubernetes.io`/`k8s.io` namespaces the kubelet may set anyway.
const ALLOWED_LABELS: &[&str] = &[
    "kubernetes.io/hostname",
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
];

fn in_namespace(ns: &str, domain: &str) -> bool {
    ns == domain || ns.ends_with(&format!(".{domain}"))
}

/// Whether the kubelet refuses `key` in `--node-labels`: a key in the `kubernetes.io` or
/// `k8s.io` namespace (or a subdomain) that is neither in an allowed namespace nor an
/// allowed label (kubernetes/kubernetes `cmd/kubelet/app/options/options.go`
/// `ValidateKubeletFlags`, `pkg/kubelet/apis/well_known_labels.go`).
pub fn forbidden_node_label(key: &str) -> bool {
    let Some((ns, _)) = key.split_once('/') else {
        return false;
    };
    let restricted = in_namespace(ns, "kubernetes.io") || in_namespace(ns, "k8s.io");
    restricted
        && !ALLOWED_NAMESPACES.iter().any(|a| in_namespace(ns, a))
        && !ALLOWED_LABELS.contains(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelets_label_rule() {
        for bad in [
            "node-role.kubernetes.io/worker",
            "kubernetes.io/role",
            "example.k8s.io/x",
        ] {
            assert!(forbidden_node_label(bad), "{bad}");
        }
        for ok in [
            "node.kubernetes.io/pool",
            "x.node.kubernetes.io/y",
            "topology.kubernetes.io/zone",
            "k0stack.io/pool-uid",
            "nvidia.com/gpu.present",
            "tier",
        ] {
            assert!(!forbidden_node_label(ok), "{ok}");
        }
    }
}
