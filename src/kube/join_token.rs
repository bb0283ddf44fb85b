//! The k0s join token k0smotron writes for a `JoinTokenRequest` (the request object itself
//! is `resources::hosted_control_plane::object::join_token_request`). The worker pool reads
//! it from the Secret named like the request (key `token`) and checks it before it goes
//! into user_data: a token for the wrong hosted API would leave VMs that boot but never
//! join.
//!
//! A k0s join token is base64(gzip(kubeconfig)); the kubeconfig's user `kubelet-bootstrap`
//! holds a bootstrap token `<id>.<secret>`. Only the id is ever shown (logs, errors,
//! `Debug`); the whole token stays in a [`Secret`].

use std::io::Read;

use crate::framework::secret::Secret;
use base64::Engine;

/// Labels k0smotron puts on the token Secret (`k0smotron.io/cluster` is the plain Cluster
/// name, `internal/controller/k0smotron.io/jointokenrequest_controller.go` `generateSecret`,
/// v1.10.9 and v2.x). The provider reads the Secret by name only, never by these labels.
pub const LABEL_CLUSTER: &str = "k0smotron.io/cluster";
pub const LABEL_ROLE: &str = "k0smotron.io/role";
pub const LABEL_REQUEST: &str = "k0smotron.io/token-request";

/// Why a token is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinTokenError {
    #[error("the join token is not base64: {0}")]
    Base64(String),
    #[error("the join token is not gzip data: {0}")]
    Gzip(String),
    #[error("the join token does not hold a kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("the join token's kubeconfig has no {0}")]
    Missing(&'static str),
}

/// The parts of a join token the provider checks. `Debug` shows the bootstrap token id
/// only.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// The hosted API the node will talk to (`clusters[0].cluster.server`).
    pub server: String,
    /// `kubelet-bootstrap` for workers.
    pub user: String,
    /// The public half of the bootstrap token (`<id>` of `<id>.<secret>`).
    pub token_id: String,
    /// The whole bootstrap token.
    pub bootstrap_token: Secret,
    /// Whether the kubeconfig carries a CA to trust the hosted API with.
    pub has_ca: bool,
}

impl std::fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinToken")
            .field("server", &self.server)
            .field("user", &self.user)
            .field("token_id", &self.token_id)
            .field("has_ca", &self.has_ca)
            .finish_non_exhaustive()
    }
}

/// Upper bound on the unpacked kubeconfig: a real one is a few KiB; this keeps a hostile
/// or corrupt Secret from inflating without end.
const MAX_KUBECONFIG: u64 = 1 << 20;

/// Decodes a k0s join token (whitespace around it is ignored, as k0s does).
pub fn decode(token: &str) -> Result<JoinToken, JoinTokenError> {
    let gz = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|e| JoinTokenError::Base64(e.to_string()))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .take(MAX_KUBECONFIG)
        .read_to_string(&mut text)
        .map_err(|e| JoinTokenError::Gzip(e.to_string()))?;
    let kc: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| JoinTokenError::Kubeconfig(e.to_string()))?;
    let cluster = &kc["clusters"][0]["cluster"];
    let server = cluster["server"]
        .as_str()
        .ok_or(JoinTokenError::Missing("server"))?
        .to_string();
    let user = &kc["users"][0];
    let user_name = user["name"]
        .as_str()
        .ok_or(JoinTokenError::Missing("user"))?
        .to_string();
    let bootstrap = user["user"]["token"]
        .as_str()
        .ok_or(JoinTokenError::Missing("bootstrap token"))?;
    let token_id = bootstrap
        .split_once('.')
        .map(|(id, _)| id.to_string())
        .ok_or(JoinTokenError::Missing(
            "bootstrap token of the form <id>.<secret>",
        ))?;
    Ok(JoinToken {
        server,
        user: user_name,
        token_id,
        bootstrap_token: Secret::new(bootstrap),
        has_ca: cluster["certificate-authority-data"].as_str().is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn encode(kubeconfig: &str) -> String {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(kubeconfig.as_bytes()).unwrap();
        base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())
    }

    const KC: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: k0s\n  cluster:\n    server: https://127.20.0.7:6443\n    certificate-authority-data: LS0t\ncontexts:\n- name: k0s\n  context: {cluster: k0s, user: kubelet-bootstrap}\ncurrent-context: k0s\nusers:\n- name: kubelet-bootstrap\n  user:\n    token: abcdef.0123456789abcdef\n";

    #[test]
    fn decodes_a_k0s_token_and_hides_its_secret() {
        let t = decode(&format!("  {}\n", encode(KC))).unwrap();
        assert_eq!(t.server, "https://127.20.0.7:6443");
        assert_eq!(t.user, "kubelet-bootstrap");
        assert_eq!(t.token_id, "abcdef");
        assert_eq!(t.bootstrap_token.expose(), "abcdef.0123456789abcdef");
        assert!(t.has_ca);
        let shown = format!("{t:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }

    #[test]
    fn bad_tokens_say_what_is_wrong() {
        assert!(matches!(
            decode("not base64!"),
            Err(JoinTokenError::Base64(_))
        ));
        let not_gzip = base64::engine::general_purpose::STANDARD.encode(b"plain");
        assert!(matches!(decode(&not_gzip), Err(JoinTokenError::Gzip(_))));
        assert!(matches!(
            decode(&encode("clusters: [")),
            Err(JoinTokenError::Kubeconfig(_))
        ));
        assert_eq!(
            decode(&encode("users: []")),
            Err(JoinTokenError::Missing("server"))
        );
        let no_dot = KC.replace("abcdef.0123456789abcdef", "opaque");
        assert!(matches!(
            decode(&encode(&no_dot)),
            Err(JoinTokenError::Missing(_))
        ));
    }
}
