//! Errors of the OpenStack client, and the parsing of OpenStack error bodies into them.
//!
//! Every message names what failed (method and path, or the kind and name looked up) and
//! what the cloud said, so a user can act on it without debug logs. No message ever
//! contains a token, a password or an application credential secret: they are not part
//! of any URL, and request bodies are never copied into errors.

/// What went wrong talking to OpenStack.
///
/// `Clone` because coalesced requests hand one result to every caller waiting on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OsError {
    /// A lookup by name (or id) found nothing; `available` lists what exists.
    #[error("{kind} '{name}' not found; available: {}", list_or_none(available))]
    NotFound {
        kind: &'static str,
        name: String,
        available: Vec<String>,
    },
    /// A lookup by name found several objects; `matches` lists their ids.
    #[error("{kind} name '{name}' is ambiguous: {} {kind}s have it ({}); use the id instead", matches.len(), matches.join(", "))]
    Ambiguous {
        kind: &'static str,
        name: String,
        matches: Vec<String>,
    },
    /// A lookup found the object, but not in a usable state (an image `queued`,
    /// `deactivated`, ...); `found` lists `id (status)`.
    #[error("{kind} '{name}' is not usable: {}; only an active {kind} can be used", found.join(", "))]
    NotUsable {
        kind: &'static str,
        name: String,
        found: Vec<String>,
    },
    /// The API answered an error status (after the retries it deserved).
    #[error("{method} {path}: HTTP {status} {code}: {message}")]
    Api {
        method: String,
        path: String,
        status: u16,
        /// `itemNotFound`, `badRequest`, `forbidden`, `overLimit`, `conflictingRequest`, a
        /// Neutron error type such as `NetworkNotFound`, a Keystone title, or the HTTP reason.
        code: String,
        message: String,
    },
    /// Keystone rejected the credentials (never retried: retrying a wrong password only
    /// locks the account sooner).
    #[error("Keystone rejected the credentials: {message}")]
    Auth { message: String },
    /// The service catalog has no endpoint for the service, region and interface.
    #[error("the service catalog has no {service} endpoint for interface {interface}{}; available: {available}", region.as_deref().map(|r| format!(" in region {r}")).unwrap_or_default())]
    Catalog {
        service: String,
        region: Option<String>,
        interface: String,
        available: String,
    },
    /// The request never got an answer (connection refused or reset, timeout), after retries.
    #[error("{method} {path}: {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    /// The client cannot be built or a request cannot be formed (bad CA file, invalid input).
    #[error("{0}")]
    Config(String),
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

impl OsError {
    /// The HTTP status of the failed response, if the error is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::Auth { .. } => Some(401),
            _ => None,
        }
    }

    /// A lookup miss or a 404 from the API.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. }) || self.status() == Some(404)
    }

    /// The project's quota is exhausted (Nova answers 403 `forbidden` "Quota exceeded ..."
    /// or 413 `overLimit`; Neutron answers 409 `OverQuota`). Not worth retrying: the user
    /// must raise the quota or shrink the pool.
    pub fn is_quota(&self) -> bool {
        match self {
            Self::Api {
                status,
                code,
                message,
                ..
            } => {
                let quota_words = {
                    let m = message.to_ascii_lowercase();
                    m.contains("quota") || m.contains("limit exceeded")
                };
                code == "overLimit"
                    || code == "OverQuota"
                    || (matches!(*status, 403 | 409 | 413) && quota_words)
            }
            _ => false,
        }
    }
}

/// `code` and `message` of an OpenStack error body.
///
/// Shapes understood:
/// - Nova (and Cinder): `{"itemNotFound": {"code": 404, "message": "..."}}`, likewise
///   `badRequest`, `forbidden`, `conflictingRequest`, `overLimit`, `computeFault`, ...;
/// - Neutron: `{"NeutronError": {"type": "NetworkNotFound", "message": "...", "detail": ""}}`;
/// - Keystone: `{"error": {"code": 401, "message": "...", "title": "Unauthorized"}}`;
/// - API-WG (Placement, newer services): `{"errors": [{"title": "...", "detail": "..."}]}`;
/// - anything else (Glance answers text/HTML, proxies answer HTML): the text without tags,
///   trimmed, with the HTTP reason as code.
pub fn parse_error_body(status: u16, body: &[u8]) -> (String, String) {
    let reason = reason_phrase(status);
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(serde_json::Value::Object(n)) = map.get("NeutronError") {
            let code = str_field(n, "type").unwrap_or_else(|| reason.clone());
            let mut message = str_field(n, "message").unwrap_or_default();
            if let Some(d) = str_field(n, "detail").filter(|d| !d.is_empty()) {
                message = format!("{message} ({d})");
            }
            return (code, message);
        }
        if let Some(serde_json::Value::Object(e)) = map.get("error") {
            let code = str_field(e, "title").unwrap_or_else(|| reason.clone());
            return (code, str_field(e, "message").unwrap_or_default());
        }
        if let Some(serde_json::Value::Array(errs)) = map.get("errors") {
            let messages: Vec<String> = errs
                .iter()
                .filter_map(|e| e.as_object())
                .map(|e| {
                    str_field(e, "detail")
                        .or_else(|| str_field(e, "title"))
                        .unwrap_or_default()
                })
                .collect();
            let code = errs
                .first()
                .and_then(|e| e.as_object())
                .and_then(|e| str_field(e, "code").or_else(|| str_field(e, "title")))
                .unwrap_or_else(|| reason.clone());
            return (code, messages.join("; "));
        }
        if map.len() == 1 {
            let (code, inner) = map.iter().next().expect("one entry");
            if let serde_json::Value::Object(inner) = inner {
                let mut message = str_field(inner, "message").unwrap_or_default();
                if let Some(d) = str_field(inner, "details").filter(|d| !d.is_empty()) {
                    message = format!("{message} ({d})");
                }
                return (code.clone(), message);
            }
            if let serde_json::Value::String(s) = inner {
                return (code.clone(), s.clone());
            }
        }
        return (reason, truncate(&String::from_utf8_lossy(body), 500));
    }
    (reason, text_of(&String::from_utf8_lossy(body)))
}

fn str_field(m: &serde_json::Map<String, serde_json::Value>, k: &str) -> Option<String> {
    match m.get(k)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The visible text of an HTML or plain-text error body, whitespace collapsed, bounded.
fn text_of(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(600));
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(&collapsed, 500)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.trim().to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{}...", cut.trim())
    }
}

fn reason_phrase(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| r.replace(' ', ""))
        .unwrap_or_else(|| format!("HTTP{status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nova_bodies() {
        let (c, m) = parse_error_body(
            404,
            br#"{"itemNotFound": {"code": 404, "message": "Instance 42 could not be found."}}"#,
        );
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("itemNotFound", "Instance 42 could not be found.")
        );
        let (c, m) = parse_error_body(
            400,
            br#"{"badRequest": {"code": 400, "message": "Invalid flavorRef provided."}}"#,
        );
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("badRequest", "Invalid flavorRef provided.")
        );
        let (c, m) = parse_error_body(
            403,
            br#"{"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"}}"#,
        );
        assert_eq!(c, "forbidden");
        assert!(m.starts_with("Quota exceeded"));
        let (c, m) = parse_error_body(
            413,
            br#"{"overLimit": {"code": 413, "message": "This request was rate-limited.", "retryAfter": "2"}}"#,
        );
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("overLimit", "This request was rate-limited.")
        );
        let (c, _) = parse_error_body(
            409,
            br#"{"conflictingRequest": {"code": 409, "message": "Cannot 'delete' instance while it is in task_state rebuilding"}}"#,
        );
        assert_eq!(c, "conflictingRequest");
    }

    #[test]
    fn neutron_keystone_and_api_wg_bodies() {
        let (c, m) = parse_error_body(
            404,
            br#"{"NeutronError": {"type": "NetworkNotFound", "message": "Network nope could not be found.", "detail": ""}}"#,
        );
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("NetworkNotFound", "Network nope could not be found.")
        );
        let (c, m) = parse_error_body(
            401,
            br#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#,
        );
        assert_eq!(
            (c.as_str(), m.as_str()),
            (
                "Unauthorized",
                "The request you have made requires authentication."
            )
        );
        let (c, m) = parse_error_body(
            409,
            br#"{"errors": [{"status": 409, "title": "Conflict", "detail": "resource provider generation conflict", "code": "placement.concurrent_update"}]}"#,
        );
        assert_eq!(c, "placement.concurrent_update");
        assert_eq!(m, "resource provider generation conflict");
    }

    #[test]
    fn glance_text_and_proxy_html_bodies() {
        let (c, m) = parse_error_body(
            404,
            b"<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  No image found with ID nope<br /><br />\n\n\n\n </body>\n</html>",
        );
        assert_eq!(c, "NotFound");
        assert!(m.contains("No image found with ID nope"), "{m}");
        assert!(!m.contains('<'));
        let (c, m) = parse_error_body(502, b"");
        assert_eq!((c.as_str(), m.as_str()), ("BadGateway", ""));
        let long = "x".repeat(5000);
        assert!(parse_error_body(500, long.as_bytes()).1.len() < 520);
    }

    #[test]
    fn messages_are_actionable() {
        let e = OsError::NotFound {
            kind: "flavor",
            name: "m1.hugee".into(),
            available: vec!["m1.small".into(), "m1.medium".into()],
        };
        assert_eq!(
            e.to_string(),
            "flavor 'm1.hugee' not found; available: m1.small, m1.medium"
        );
        assert!(e.is_not_found());
        let e = OsError::Ambiguous {
            kind: "image",
            name: "dup".into(),
            matches: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            e.to_string(),
            "image name 'dup' is ambiguous: 2 images have it (a, b); use the id instead"
        );
        let e = OsError::Catalog {
            service: "compute".into(),
            region: Some("RegionTwo".into()),
            interface: "public".into(),
            available: "compute (public RegionOne)".into(),
        };
        assert_eq!(e.to_string(), "the service catalog has no compute endpoint for interface public in region RegionTwo; available: compute (public RegionOne)");
    }

    #[test]
    fn quota_detection() {
        let api = |status, code: &str, message: &str| OsError::Api {
            method: "POST".into(),
            path: "/servers".into(),
            status,
            code: code.into(),
            message: message.into(),
        };
        assert!(api(403, "forbidden", "Quota exceeded for cores").is_quota());
        assert!(api(413, "overLimit", "Maximum number of ports exceeded").is_quota());
        assert!(api(409, "OverQuota", "Quota exceeded for resources: ['port']").is_quota());
        assert!(!api(
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:servers:create"
        )
        .is_quota());
        assert!(!api(404, "itemNotFound", "x").is_quota());
        // A proxy refusing a large body is not a quota.
        assert!(!api(413, "PayloadTooLarge", "Request Entity Too Large").is_quota());
        assert_eq!(api(404, "itemNotFound", "x").status(), Some(404));
        assert!(api(404, "itemNotFound", "x").is_not_found());
    }
}
