//! The computed outputs read from the Secrets k0smotron creates: `<name>-kubeconfig`
//! (key `value`) and `<name>-ca` (key `tls.crt`). Pure: text in, values out.

use base64::Engine;
use serde_yaml::Value;

/// What the resource exports about a ready control plane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    pub endpoint: Option<String>,
    pub kubeconfig: Option<String>,
    pub client_certificate: Option<String>,
    pub client_key: Option<String>,
}

/// `https://host:port` with `host` replaced by the external address, when there is one.
/// The port of k0smotron's kubeconfig is kept (it knows the port it really exposes, e.g.
/// 6443 behind a LoadBalancer); without a kubeconfig, `api_port` is used.
pub fn endpoint(
    external_address: Option<&str>,
    kubeconfig_server: Option<&str>,
    api_port: u16,
) -> Option<String> {
    let (server_host, server_port) = match kubeconfig_server {
        Some(url) => split_server(url),
        None => (None, None),
    };
    let host = external_address.map(String::from).or(server_host)?;
    let port = server_port.unwrap_or(api_port);
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    Some(format!("https://{host}:{port}"))
}

fn split_server(url: &str) -> (Option<String>, Option<u16>) {
    let rest = url
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let authority = rest.split('/').next().unwrap_or(rest);
    if let Some(stripped) = authority.strip_prefix('[') {
        let (h, p) = stripped.split_once(']').unwrap_or((stripped, ""));
        return (Some(h.to_string()), p.trim_start_matches(':').parse().ok());
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (Some(h.to_string()), p.parse().ok()),
        None => (Some(authority.to_string()), None),
    }
}

/// The server URL of the first cluster of a kubeconfig.
pub fn kubeconfig_server(kubeconfig: &str) -> Option<String> {
    let v: Value = serde_yaml::from_str(kubeconfig).ok()?;
    v["clusters"][0]["cluster"]["server"]
        .as_str()
        .map(String::from)
}

/// Rewrites every cluster's server URL to `endpoint` and extracts the client certificate
/// and key (PEM) of the first user.
pub fn from_kubeconfig(kubeconfig: &str, endpoint: Option<&str>) -> Outputs {
    let Ok(mut v) = serde_yaml::from_str::<Value>(kubeconfig) else {
        return Outputs::default();
    };
    if let (Some(ep), Some(clusters)) = (
        endpoint,
        v.get_mut("clusters").and_then(Value::as_sequence_mut),
    ) {
        for c in clusters {
            if let Some(cluster) = c.get_mut("cluster").and_then(Value::as_mapping_mut) {
                cluster.insert("server".into(), Value::String(ep.to_string()));
            }
        }
    }
    let pem = |key: &str| -> Option<String> {
        let b64 = v["users"][0]["user"][key].as_str()?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()?;
        String::from_utf8(bytes).ok()
    };
    Outputs {
        endpoint: endpoint.map(String::from),
        client_certificate: pem("client-certificate-data"),
        client_key: pem("client-key-data"),
        kubeconfig: serde_yaml::to_string(&v).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KC: &str = "apiVersion: v1\nclusters:\n- name: dev-k0s\n  cluster:\n    server: https://kmc-dev.kmc-system.svc:30443\n    certificate-authority-data: Q0E=\ncontexts:\n- name: dev-admin@dev-k0s\n  context: {cluster: dev-k0s, user: dev-admin}\ncurrent-context: dev-admin@dev-k0s\nusers:\n- name: dev-admin\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n";

    #[test]
    fn endpoint_prefers_the_external_address_and_keeps_the_real_port() {
        let server = kubeconfig_server(KC);
        assert_eq!(
            server.as_deref(),
            Some("https://kmc-dev.kmc-system.svc:30443")
        );
        assert_eq!(
            endpoint(Some("127.20.0.4"), server.as_deref(), 1),
            Some("https://127.20.0.4:30443".into())
        );
        assert_eq!(
            endpoint(Some("10.0.0.9"), Some("https://10.0.0.9:6443"), 30443),
            Some("https://10.0.0.9:6443".into())
        );
        assert_eq!(
            endpoint(Some("fd00::1"), None, 30443),
            Some("https://[fd00::1]:30443".into())
        );
        assert_eq!(endpoint(None, None, 30443), None);
    }

    #[test]
    fn kubeconfig_is_rewritten_and_client_pem_extracted() {
        let o = from_kubeconfig(KC, Some("https://127.20.0.4:30443"));
        assert_eq!(
            kubeconfig_server(o.kubeconfig.as_deref().unwrap()).as_deref(),
            Some("https://127.20.0.4:30443")
        );
        assert_eq!(o.client_certificate.as_deref(), Some("CERT"));
        assert_eq!(o.client_key.as_deref(), Some("KEY"));
        assert!(o
            .kubeconfig
            .unwrap()
            .contains("certificate-authority-data: Q0E="));
    }
}
