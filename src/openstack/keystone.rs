//! Keystone v3: the token request body, the token response (expiry, project, service
//! catalog) and endpoint selection. Pure functions; the client does the HTTP.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{json, Value};

use super::config::{Auth, Interface, NameOrId};
use super::error::OsError;

/// `POST {auth_url}/auth/tokens`. `auth_url` may name the v3 API (`.../v3`) or only the
/// Keystone root (`https://keystone:5000`, as many clouds.yaml files do): then `/v3` is
/// added, which is what version discovery would find on every current Keystone.
pub fn tokens_url(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with("/v3") {
        format!("{base}/auth/tokens")
    } else {
        format!("{base}/v3/auth/tokens")
    }
}

fn name_or_id(n: &NameOrId) -> Value {
    match n {
        NameOrId::Name(name) => json!({ "name": name }),
        NameOrId::Id(id) => json!({ "id": id }),
    }
}

/// `{"name": .., "domain": {..}}` or `{"id": ..}` (an id needs no domain).
fn scoped(n: &NameOrId, domain: &NameOrId) -> Value {
    match n {
        NameOrId::Id(id) => json!({ "id": id }),
        NameOrId::Name(name) => json!({ "name": name, "domain": name_or_id(domain) }),
    }
}

/// The body of the token request. It holds the password or secret: it is built right
/// before sending and never logged.
pub fn auth_body(auth: &Auth) -> Value {
    match auth {
        Auth::Password {
            user,
            user_domain,
            password,
            project,
            project_domain,
        } => {
            let mut u = scoped(user, user_domain);
            u["password"] = Value::String(password.expose().to_string());
            json!({
                "auth": {
                    "identity": { "methods": ["password"], "password": { "user": u } },
                    "scope": { "project": scoped(project, project_domain) }
                }
            })
        }
        // Application credentials are scoped to their project already; a scope in the
        // request is rejected.
        Auth::ApplicationCredential {
            id,
            name,
            user,
            secret,
        } => {
            let mut ac = serde_json::Map::new();
            if let Some(id) = id {
                ac.insert("id".into(), json!(id));
            } else {
                if let Some(name) = name {
                    ac.insert("name".into(), json!(name));
                }
                if let Some((u, d)) = user {
                    ac.insert("user".into(), scoped(u, d));
                }
            }
            ac.insert("secret".into(), json!(secret.expose()));
            json!({
                "auth": {
                    "identity": {
                        "methods": ["application_credential"],
                        "application_credential": ac
                    }
                }
            })
        }
    }
}

/// Who is authenticating, for error messages (never the secret).
pub fn describe(auth: &Auth) -> String {
    let n = |x: &NameOrId| match x {
        NameOrId::Name(s) => format!("'{s}'"),
        NameOrId::Id(s) => format!("id {s}"),
    };
    match auth {
        Auth::Password {
            user,
            user_domain,
            project,
            project_domain,
            ..
        } => format!(
            "user {} (domain {}) for project {} (domain {})",
            n(user),
            n(user_domain),
            n(project),
            n(project_domain)
        ),
        Auth::ApplicationCredential { id, name, .. } => match (id, name) {
            (Some(id), _) => format!("application credential {id}"),
            (None, Some(name)) => format!("application credential '{name}'"),
            (None, None) => "application credential".to_string(),
        },
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub interface: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct CatalogEntry {
    #[serde(rename = "type")]
    pub service_type: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

/// The service catalog of a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog(pub Vec<CatalogEntry>);

impl Catalog {
    /// The endpoint URL (no trailing slash) of `service_type` for `interface`, in `region`
    /// when one is configured (matching `region_id` or the older `region`).
    pub fn endpoint(
        &self,
        service_type: &str,
        region: Option<&str>,
        interface: Interface,
    ) -> Result<String, OsError> {
        let found = self
            .0
            .iter()
            .filter(|e| e.service_type == service_type)
            .flat_map(|e| e.endpoints.iter())
            .find(|ep| {
                ep.interface.eq_ignore_ascii_case(interface.as_str())
                    && region.is_none_or(|r| {
                        ep.region_id.as_deref() == Some(r) || ep.region.as_deref() == Some(r)
                    })
            });
        match found {
            Some(ep) => Ok(ep.url.trim_end_matches('/').to_string()),
            None => Err(OsError::Catalog {
                service: service_type.to_string(),
                region: region.map(str::to_string),
                interface: interface.as_str().to_string(),
                available: self.summary(),
            }),
        }
    }

    /// `compute (public RegionOne, internal RegionOne), image (...)`, for error messages.
    pub fn summary(&self) -> String {
        if self.0.is_empty() {
            return "none (the token has an empty catalog: is the user a member of the project?)"
                .into();
        }
        self.0
            .iter()
            .map(|e| {
                let eps: Vec<String> = e
                    .endpoints
                    .iter()
                    .map(|ep| {
                        let r = ep
                            .region_id
                            .as_deref()
                            .or(ep.region.as_deref())
                            .unwrap_or("no region");
                        format!("{} {r}", ep.interface)
                    })
                    .collect();
                format!("{} ({})", e.service_type, eps.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Deserialize)]
struct TokenBody {
    token: TokenInner,
}

#[derive(Debug, Deserialize)]
struct TokenInner {
    expires_at: String,
    #[serde(default)]
    issued_at: Option<String>,
    #[serde(default)]
    catalog: Vec<CatalogEntry>,
    #[serde(default)]
    project: Option<IdName>,
}

#[derive(Debug, Deserialize)]
struct IdName {
    id: String,
}

/// What the client keeps of a token response (besides the `X-Subject-Token` value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// How long the token is valid from when it was issued. Measured as
    /// `expires_at - issued_at` (both Keystone's clock), so a skewed local clock does not
    /// make the client think a fresh token expired (or an old one is fresh).
    pub lifetime: Duration,
    pub catalog: Catalog,
    pub project_id: Option<String>,
}

/// Parses the token response body. `now` is used only when Keystone omits `issued_at`.
pub fn parse_token(body: &[u8], now: SystemTime) -> Result<TokenInfo, String> {
    let b: TokenBody =
        serde_json::from_slice(body).map_err(|e| format!("invalid token response: {e}"))?;
    let expires = parse_rfc3339(&b.token.expires_at)
        .ok_or_else(|| format!("invalid expires_at {:?}", b.token.expires_at))?;
    let issued = b
        .token
        .issued_at
        .as_deref()
        .and_then(parse_rfc3339)
        .unwrap_or(now);
    Ok(TokenInfo {
        lifetime: expires.duration_since(issued).unwrap_or(Duration::ZERO),
        catalog: Catalog(b.token.catalog),
        project_id: b.token.project.map(|p| p.id),
    })
}

/// When to get a new token before the old one expires: 5 minutes early, or a fifth of
/// the lifetime for short-lived tokens (so a 1-minute test token is not refreshed on
/// every request).
pub fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 5).min(Duration::from_secs(300))
}

/// `2015-11-07T02:58:43.578887Z` (or with a `+hh:mm` offset) to a `SystemTime`.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(|c| c.is_ascii_digit()).collect();
        rest = &frac[digits.len()..];
        let padded = format!("{:0<9}", &digits[..digits.len().min(9)]);
        nanos = padded.parse().ok()?;
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let oh: i64 = o[1..3].parse().ok()?;
            let om: i64 = o[4..6].parse().ok()?;
            let v = oh * 3600 + om * 60;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    let secs = u64::try_from(secs).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Secret;

    fn sample(p: &str) -> Vec<u8> {
        let path = crate::openstack::sample_path(p).expect("samples present");
        std::fs::read(path).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    fn sample_json(p: &str) -> Value {
        serde_json::from_slice(&sample(p)).unwrap()
    }

    #[test]
    fn tokens_url_with_and_without_v3() {
        assert_eq!(
            tokens_url("http://127.0.0.1:1/identity/v3"),
            "http://127.0.0.1:1/identity/v3/auth/tokens"
        );
        assert_eq!(
            tokens_url("https://k:5000/v3/"),
            "https://k:5000/v3/auth/tokens"
        );
        assert_eq!(
            tokens_url("https://k:5000"),
            "https://k:5000/v3/auth/tokens"
        );
    }

    #[test]
    fn password_body_matches_the_keystone_sample() {
        if crate::openstack::sample_path("keystone").is_none() {
            return;
        }
        let auth = Auth::Password {
            user: NameOrId::Name("admin".into()),
            user_domain: NameOrId::Name("Default".into()),
            password: Secret::new("devstacker"),
            project: NameOrId::Name("demo".into()),
            project_domain: NameOrId::Id("default".into()),
        };
        let body = auth_body(&auth);
        let sample = sample_json("keystone/auth-password-unscoped-request-with-domain.json");
        assert_eq!(body["auth"]["identity"], sample["auth"]["identity"]);
        assert_eq!(
            body["auth"]["scope"],
            json!({"project": {"name": "demo", "domain": {"id": "default"}}})
        );
        let by_id = Auth::Password {
            user: NameOrId::Id("u1".into()),
            user_domain: NameOrId::Name("Default".into()),
            password: Secret::new("p"),
            project: NameOrId::Id("p1".into()),
            project_domain: NameOrId::Name("Default".into()),
        };
        let body = auth_body(&by_id);
        assert_eq!(
            body["auth"]["identity"]["password"]["user"],
            json!({"id": "u1", "password": "p"})
        );
        assert_eq!(body["auth"]["scope"], json!({"project": {"id": "p1"}}));
        assert!(!describe(&auth).contains("devstacker"));
        assert_eq!(
            describe(&by_id),
            "user id u1 (domain 'Default') for project id p1 (domain 'Default')"
        );
    }

    #[test]
    fn application_credential_bodies_match_the_samples() {
        if crate::openstack::sample_path("keystone").is_none() {
            return;
        }
        let by_id = Auth::ApplicationCredential {
            id: Some("423f19a4ac1e4f48bbb4180756e6eb6c".into()),
            name: None,
            user: None,
            secret: Secret::new("rEaqvJka48mpv"),
        };
        assert_eq!(
            auth_body(&by_id),
            sample_json("keystone/auth-application-credential-id-request.json")
        );
        let by_name = Auth::ApplicationCredential {
            id: None,
            name: Some("monitoring".into()),
            user: Some((
                NameOrId::Id("423f19a4ac1e4f48bbb4180756e6eb6c".into()),
                NameOrId::Name("Default".into()),
            )),
            secret: Secret::new("rEaqvJka48mpv"),
        };
        assert_eq!(
            auth_body(&by_name),
            sample_json("keystone/auth-application-credential-name-request.json")
        );
        assert!(!describe(&by_name).contains("rEaqvJka48mpv"));
    }

    #[test]
    fn token_responses_parse() {
        if crate::openstack::sample_path("keystone").is_none() {
            return;
        }
        let now = SystemTime::now();
        let t = parse_token(
            &sample("keystone/auth-password-project-scoped-response.json"),
            now,
        )
        .unwrap();
        assert_eq!(
            t.project_id.as_deref(),
            Some("a6944d763bf64ee6a275f1263fae0352")
        );
        assert!(t.catalog.0.len() > 5);
        assert_eq!(t.lifetime.as_secs(), 3599);
        // Without issued_at the lifetime is measured from `now`.
        let no_issued = br#"{"token": {"expires_at": "2015-11-07T02:58:43Z", "catalog": []}}"#;
        let at = parse_rfc3339("2015-11-07T02:57:43Z").unwrap();
        assert_eq!(
            parse_token(no_issued, at).unwrap().lifetime,
            Duration::from_secs(60)
        );
        let t = parse_token(
            &sample("keystone/auth-application-credential-response.json"),
            now,
        )
        .unwrap();
        assert_eq!(t.lifetime, Duration::from_secs(3600));
        assert_eq!(
            t.project_id.as_deref(),
            Some("231c62fb0fbd485b995e8b060c3f0d98")
        );
        assert!(parse_token(b"{}", now).is_err());
        // The catalog-only response has the same entry shape.
        let c: Vec<CatalogEntry> = serde_json::from_value(
            sample_json("keystone/get-service-catalog-response.json")["catalog"].clone(),
        )
        .unwrap();
        assert_eq!(
            Catalog(c)
                .endpoint("identity", Some("RegionOne"), Interface::Admin)
                .unwrap(),
            "http://localhost:5000"
        );
    }

    #[test]
    fn catalog_selection_by_type_region_and_interface() {
        if crate::openstack::sample_path("keystone").is_none() {
            return;
        }
        let t = parse_token(
            &sample("keystone/auth-password-project-scoped-response.json"),
            SystemTime::now(),
        )
        .unwrap();
        let c = &t.catalog;
        assert_eq!(
            c.endpoint("compute", Some("RegionOne"), Interface::Public)
                .unwrap(),
            "http://23.253.248.171:8774/v2.1/a6944d763bf64ee6a275f1263fae0352"
        );
        assert_eq!(
            c.endpoint("identity", None, Interface::Admin).unwrap(),
            "http://example.com/identity_v2_admin/v2.0"
        );
        assert_eq!(
            c.endpoint("network", None, Interface::Internal).unwrap(),
            "http://23.253.248.171:9696"
        );
        let e = c
            .endpoint("compute", Some("RegionTwo"), Interface::Public)
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("no compute endpoint for interface public in region RegionTwo"),
            "{msg}"
        );
        assert!(
            msg.contains("compute (admin RegionOne, internal RegionOne, public RegionOne)"),
            "{msg}"
        );
        // A service type absent entirely:
        let e = c
            .endpoint("placement", None, Interface::Public)
            .unwrap_err();
        assert!(matches!(e, OsError::Catalog { ref service, .. } if service == "placement"));
        let empty = Catalog::default()
            .endpoint("compute", None, Interface::Public)
            .unwrap_err();
        assert!(empty.to_string().contains("empty catalog"), "{empty}");
    }

    #[test]
    fn rfc3339_parsing() {
        let t = parse_rfc3339("1970-01-02T00:00:01Z").unwrap();
        assert_eq!(t, SystemTime::UNIX_EPOCH + Duration::from_secs(86_401));
        let a = parse_rfc3339("2015-11-07T02:58:43.578887Z").unwrap();
        let b = parse_rfc3339("2015-11-07T03:58:43.578887+01:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::new(1_446_865_123, 578_887_000)
        );
        assert_eq!(parse_rfc3339("2015-13-07T02:58:43Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn refresh_margin_scales_with_short_tokens() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(10)),
            Duration::from_secs(2)
        );
    }
}
