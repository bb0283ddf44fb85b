//! The PKI of a management cluster the provider bootstraps itself (`k0stack_management_cluster`
//! with a `bootstrap` block).
//!
//! No SSH, and nothing read back from the VMs: the provider generates the cluster CA here,
//! hands it to the first controller through cloud-init (k0s uses a CA it finds in
//! `/var/lib/k0s/pki/ca.{crt,key}` before its first start instead of generating one), and
//! signs its own admin client certificate with it, so the admin kubeconfig is known as soon
//! as the controller's address is. Further controllers join with a k0s controller token the
//! provider mints itself (a bootstrap-token Secret it creates through that kubeconfig).

use std::io::Write;

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::json;

/// The admin user of the provider's kubeconfig (group `system:masters`, as k0s's own admin).
pub const ADMIN_USER: &str = "k0stack-admin";
pub const ADMIN_GROUP: &str = "system:masters";
/// Port of the Kubernetes API on a k0s controller.
pub const API_PORT: u16 = 6443;
/// Port of the k0s join API (controllers joining the cluster).
pub const JOIN_API_PORT: u16 = 9443;

/// The cluster CA and the provider's admin certificate (all PEM).
#[derive(Clone, PartialEq, Eq)]
pub struct Pki {
    pub ca_cert: String,
    pub ca_key: String,
    pub admin_cert: String,
    pub admin_key: String,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot generate the management cluster PKI: {0}")]
pub struct PkiError(#[from] rcgen::Error);

fn dn(pairs: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (t, v) in pairs {
        dn.push(t.clone(), *v);
    }
    dn
}

/// A new CA (CN `<cluster>-ca`, ECDSA P-256) and an admin client certificate signed by it.
pub fn generate(cluster: &str) -> Result<Pki, PkiError> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name = dn(&[(DnType::CommonName, &format!("{cluster}-ca"))]);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let mut admin = CertificateParams::new(Vec::<String>::new())?;
    admin.distinguished_name = dn(&[
        (DnType::CommonName, ADMIN_USER),
        (DnType::OrganizationName, ADMIN_GROUP),
    ]);
    admin.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin_key = KeyPair::generate()?;
    let admin_cert = admin.signed_by(&admin_key, &ca_cert, &ca_key)?;
    Ok(Pki {
        ca_cert: ca_cert.pem(),
        ca_key: ca_key.serialize_pem(),
        admin_cert: admin_cert.pem(),
        admin_key: admin_key.serialize_pem(),
    })
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// `https://<address>:6443` (IPv6 addresses bracketed).
pub fn api_url(address: &str) -> String {
    if address.contains(':') {
        format!("https://[{address}]:{API_PORT}")
    } else {
        format!("https://{address}:{API_PORT}")
    }
}

/// The admin kubeconfig: context, cluster and user all named `name`.
pub fn admin_kubeconfig(name: &str, server: &str, pki: &Pki) -> String {
    let v = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": b64(&pki.ca_cert)}}],
        "users": [{"name": name, "user": {"client-certificate-data": b64(&pki.admin_cert), "client-key-data": b64(&pki.admin_key)}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    });
    serde_yaml::to_string(&v).expect("serializable")
}

/// A bootstrap token `<id>.<secret>` (6 and 16 characters of `[a-z0-9]`).
pub fn new_bootstrap_token() -> (String, String) {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    let mut pick = |n: usize| -> String {
        (0..n)
            .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
            .collect()
    };
    (pick(6), pick(16))
}

/// The `kube-system/bootstrap-token-<id>` Secret k0s's join API accepts a controller
/// token against (as `k0s token create --role controller` writes it).
pub fn controller_token_secret(
    id: &str,
    secret: &str,
    expiration_rfc3339: &str,
) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": format!("bootstrap-token-{id}"), "namespace": "kube-system",
            "labels": {"app.kubernetes.io/managed-by": "k0stack"}},
        "stringData": {
            "token-id": id, "token-secret": secret, "expiration": expiration_rfc3339,
            "description": "k0stack controller join token",
            "usage-bootstrap-api-auth": "true", "usage-controller-join": "true",
        },
    })
}

/// A k0s controller join token: base64(gzip(kubeconfig)) naming the join API of a running
/// controller, the cluster CA, and the bootstrap token.
pub fn controller_join_token(join_address: &str, ca_cert: &str, id: &str, secret: &str) -> String {
    let host = if join_address.contains(':') {
        format!("[{join_address}]")
    } else {
        join_address.to_string()
    };
    let kc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "k0s", "cluster": {"server": format!("https://{host}:{JOIN_API_PORT}"), "certificate-authority-data": b64(ca_cert)}}],
        "users": [{"name": "controller-bootstrap", "user": {"token": format!("{id}.{secret}")}}],
        "contexts": [{"name": "k0s", "context": {"cluster": "k0s", "user": "controller-bootstrap"}}],
        "current-context": "k0s",
    });
    let text = serde_yaml::to_string(&kc).expect("serializable");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).expect("in-memory gzip");
    base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("in-memory gzip"))
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn kubeconfig_carries_the_ca_and_a_client_certificate_it_signed() {
        let pki = generate("mgmt").unwrap();
        assert!(pki.ca_cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.ca_key.contains("PRIVATE KEY"));
        assert_ne!(pki.ca_cert, pki.admin_cert);
        let kc = admin_kubeconfig("mgmt", &api_url("127.100.0.7"), &pki);
        let v: serde_yaml::Value = serde_yaml::from_str(&kc).unwrap();
        assert_eq!(v["current-context"], "mgmt");
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "https://127.100.0.7:6443"
        );
        let ca = v["clusters"][0]["cluster"]["certificate-authority-data"]
            .as_str()
            .unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(ca)
                .unwrap(),
            pki.ca_cert.as_bytes()
        );
        // kube-rs accepts it.
        kube::config::Kubeconfig::from_yaml(&kc).unwrap();
        // The admin certificate verifies against the CA (webpki, as an API server would).
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let ca_der = CertificateDer::from_pem_slice(pki.ca_cert.as_bytes()).unwrap();
        let leaf = CertificateDer::from_pem_slice(pki.admin_cert.as_bytes()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_der).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            std::sync::Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap();
        verifier
            .verify_client_cert(&leaf, &[], rustls::pki_types::UnixTime::now())
            .expect("admin certificate signed by the CA");
        assert_eq!(api_url("fd00::1"), "https://[fd00::1]:6443");
    }

    #[test]
    fn rfc3339_formats_utc() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn every_cluster_gets_its_own_ca() {
        assert_ne!(
            generate("a").unwrap().ca_cert,
            generate("a").unwrap().ca_cert
        );
    }

    #[test]
    fn controller_token_is_a_gzipped_kubeconfig_for_the_join_api() {
        let (id, secret) = new_bootstrap_token();
        assert_eq!((id.len(), secret.len()), (6, 16));
        let token = controller_join_token("10.0.0.5", "CA", &id, &secret);
        let gz = base64::engine::general_purpose::STANDARD
            .decode(&token)
            .unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut text)
            .unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "https://10.0.0.5:9443"
        );
        assert_eq!(
            v["users"][0]["user"]["token"].as_str().unwrap(),
            format!("{id}.{secret}")
        );
        let s = controller_token_secret(&id, &secret, "2030-01-01T00:00:00Z");
        assert_eq!(
            s["metadata"]["name"].as_str().unwrap(),
            format!("bootstrap-token-{id}")
        );
        assert_eq!(s["stringData"]["usage-controller-join"], "true");
    }
}
