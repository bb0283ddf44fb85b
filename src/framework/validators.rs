//! Small predicates the resources share, each with the message a user can act on.

/// RFC 1123 label (namespace, Service and most Kubernetes names): lowercase alphanumerics
/// and `-`, starting and ending with an alphanumeric, at most `max` characters.
pub fn dns_label(s: &str, max: usize) -> Result<(), String> {
    let ok_chars = s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ok_ends = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
    if s.is_empty() || s.len() > max || !ok_chars || !ok_ends {
        return Err(format!(
            "{s:?} is not a valid name: use at most {max} lowercase letters, digits and '-', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// RFC 1123 subdomain (dots allowed), e.g. ConfigMap keys-as-names and DNS SANs.
pub fn dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(|l| dns_label(l, 63).is_ok())
}

/// A Kubernetes resource quantity (`1Gi`, `500m`, `2`, `1.5G`).
pub fn quantity(s: &str) -> Result<(), String> {
    let s2 = s.strip_prefix(['+', '-']).unwrap_or(s);
    let num_end = s2
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s2.len());
    let (num, suffix) = s2.split_at(num_end);
    let num_ok = !num.is_empty() && num != "." && num.matches('.').count() <= 1;
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    );
    if num_ok && suffix_ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a Kubernetes quantity such as 1Gi, 500Mi or 250m"
        ))
    }
}

/// A TCP port.
pub fn port(n: i64) -> Result<u16, String> {
    u16::try_from(n)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{n} is not a TCP port (1-65535)"))
}

/// One of `allowed` (exact match), with the list in the message.
pub fn one_of(s: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&s) {
        Ok(())
    } else {
        Err(format!("{s:?} is not one of: {}", allowed.join(", ")))
    }
}

/// An IP address or a DNS name (certificate SANs, external addresses).
pub fn ip_or_dns(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok() || dns_subdomain(&s.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(dns_label("dev-1", 63).is_ok());
        for bad in ["", "Dev", "-a", "a-", "a_b", "a.b"] {
            assert!(dns_label(bad, 63).is_err(), "{bad:?}");
        }
        assert!(dns_label(&"a".repeat(64), 63).is_err());
    }

    #[test]
    fn quantities() {
        for ok in ["1Gi", "500Mi", "250m", "2", "1.5G", "10"] {
            assert!(quantity(ok).is_ok(), "{ok:?}");
        }
        for bad in ["", "Gi", "1GB", "1 Gi", "one", "1..5"] {
            assert!(quantity(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ports_and_choices() {
        assert_eq!(port(30443), Ok(30443));
        assert!(port(0).is_err() && port(70000).is_err());
        assert!(one_of("NodePort", &["ClusterIP", "NodePort"]).is_ok());
        assert_eq!(
            one_of("Nodeport", &["ClusterIP", "NodePort"]).unwrap_err(),
            "\"Nodeport\" is not one of: ClusterIP, NodePort"
        );
        assert!(ip_or_dns("10.0.0.1") && ip_or_dns("api.example.com") && !ip_or_dns("bad name"));
    }
}

/// Why the kubelet would refuse `key` in `--node-labels` (None: it accepts it). Labels in
/// the `kubernetes.io`/`k8s.io` namespaces (and subdomains) are the cluster's own: a kubelet
/// may set only those under `kubelet.kubernetes.io` or `node.kubernetes.io` and a fixed
/// list (kubernetes/kubernetes `cmd/kubelet/app/options/options.go` `ValidateKubeletFlags`,
/// `pkg/kubelet/apis/well_known_labels.go`); with any other, the kubelet exits at start and
/// the node never registers.
pub fn kubelet_label_refusal(key: &str) -> Option<String> {
    const ALLOWED_NAMESPACES: &[&str] = &["kubelet.kubernetes.io", "node.kubernetes.io"];
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
    let within = |ns: &str, domain: &str| ns == domain || ns.ends_with(&format!(".{domain}"));
    let (ns, _) = key.split_once('/')?;
    if !(within(ns, "kubernetes.io") || within(ns, "k8s.io"))
        || ALLOWED_NAMESPACES.iter().any(|a| within(ns, a))
        || ALLOWED_LABELS.contains(&key)
    {
        return None;
    }
    Some(format!(
        "the kubelet refuses {key:?} in --node-labels and exits, so the node would never register: \
         a node may label itself in the kubernetes.io and k8s.io namespaces only under \
         node.kubernetes.io/ or kubelet.kubernetes.io/ (e.g. node.kubernetes.io/{}), or with the well-known \
         labels such as topology.kubernetes.io/zone. Set role labels like node-role.kubernetes.io/* after the \
         node joined (kubectl label), or use a domain of your own."
        ,key.rsplit('/').next().unwrap_or("pool")
    ))
}

#[cfg(test)]
mod kubelet_label_tests {
    use super::kubelet_label_refusal;

    #[test]
    fn the_kubelets_rule() {
        for bad in [
            "node-role.kubernetes.io/worker",
            "kubernetes.io/role",
            "x.k8s.io/y",
        ] {
            assert!(kubelet_label_refusal(bad).is_some(), "{bad}");
        }
        for ok in [
            "node.kubernetes.io/pool",
            "topology.kubernetes.io/zone",
            "k0stack.io/pool-uid",
            "nvidia.com/gpu.present",
            "tier",
        ] {
            assert_eq!(kubelet_label_refusal(ok), None, "{ok}");
        }
    }
}
