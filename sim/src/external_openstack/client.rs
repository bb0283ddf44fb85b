//! A minimal client of a real Keystone, Nova and Glance for the poller: a token with its
//! catalog, `GET /servers/detail?all_tenants=1` page by page, and image `os_distro`s.
//!
//! Re-authentication: before a listing when the token is about to expire, and once more
//! when Nova answers 401 anyway (a revoked token, a clock skew); a second 401 is an error.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;

use super::clouds::Cloud;
use super::poll::ServerRow;

/// The compute microversion: ≥ 2.3 for `OS-EXT-SRV-ATTR:user_data`, ≥ 2.47 for the
/// flavor's name in the server; 2.90 is the provider's and within the simulated Nova's.
pub const MICROVERSION: &str = "compute 2.90";
/// Pages followed per listing at most (a `servers_links` loop must not hang the poller).
const MAX_PAGES: usize = 10_000;
/// A token this close to its expiry is renewed before use.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A transport failure; `why` is reqwest's error with its causes (connection refused...).
    #[error("{what}: {why}")]
    Http { what: String, why: String },
    #[error("{what}: HTTP {status}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    #[error("{0}")]
    Protocol(String),
    #[error("reading cacert {path}: {why}")]
    CaCert { path: String, why: String },
}

/// A token and where the services are.
#[derive(Debug, Clone)]
struct Session {
    token: String,
    expires_at: SystemTime,
    compute: String,
    image: Option<String>,
}

/// The connection to one cloud.
pub struct Client {
    http: reqwest::Client,
    cloud: Cloud,
    session: Option<Session>,
    /// `os_distro` by image id (None: the image has none, or is gone).
    distros: HashMap<String, Option<String>>,
}

#[derive(Deserialize)]
struct Page {
    servers: Vec<ServerRow>,
    #[serde(default)]
    servers_links: Vec<Link>,
}

#[derive(Deserialize)]
struct Link {
    href: String,
    rel: String,
}

impl Client {
    pub fn new(cloud: Cloud) -> Result<Self, ClientError> {
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .danger_accept_invalid_certs(cloud.insecure);
        if let Some(path) = &cloud.cacert {
            let ca_err = |why: String| ClientError::CaCert {
                path: path.display().to_string(),
                why,
            };
            let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| ca_err(e.to_string()))?;
            b = b.add_root_certificate(cert);
        }
        let http = b
            .build()
            .map_err(|e| http_error("building the HTTP client", &e))?;
        Ok(Self {
            http,
            cloud,
            session: None,
            distros: HashMap::new(),
        })
    }

    pub fn cloud(&self) -> &Cloud {
        &self.cloud
    }

    /// The Nova endpoint of the catalog (after the first authentication).
    pub fn compute_url(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.compute.as_str())
    }

    /// `POST /v3/auth/tokens`: a new token and the catalog's compute and image URLs.
    pub async fn authenticate(&mut self) -> Result<(), ClientError> {
        let what = format!("authenticating at {}", self.cloud.auth_url);
        let r = self
            .http
            .post(format!("{}/auth/tokens", self.cloud.auth_url))
            .json(&self.cloud.auth_body())
            .send()
            .await
            .map_err(|e| http_error(what.clone(), &e))?;
        let status = r.status().as_u16();
        let token = r
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body: Value = answer(r, &what, 201).await?;
        let token = token.ok_or_else(|| {
            ClientError::Protocol(format!("{what}: HTTP {status} without X-Subject-Token"))
        })?;
        let t = &body["token"];
        let expires_at = t["expires_at"]
            .as_str()
            .and_then(parse_time)
            .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(3600));
        let compute = self.endpoint(&t["catalog"], "compute").ok_or_else(|| {
            ClientError::Protocol(format!(
                "{what}: no compute endpoint (interface {}, region {:?}) in the catalog: is the token scoped to a project?",
                self.cloud.interface, self.cloud.region
            ))
        })?;
        let image = self.endpoint(&t["catalog"], "image");
        self.session = Some(Session {
            token,
            expires_at,
            compute,
            image,
        });
        Ok(())
    }

    fn endpoint(&self, catalog: &Value, kind: &str) -> Option<String> {
        let svc = catalog.as_array()?.iter().find(|s| s["type"] == kind)?;
        svc["endpoints"]
            .as_array()?
            .iter()
            .filter(|e| e["interface"] == self.cloud.interface.as_str())
            .find(|e| {
                self.cloud.region.as_deref().is_none_or(|r| {
                    e["region_id"].as_str() == Some(r) || e["region"].as_str() == Some(r)
                })
            })
            .and_then(|e| e["url"].as_str())
            .map(|u| u.trim_end_matches('/').to_string())
    }

    async fn session(&mut self) -> Result<Session, ClientError> {
        let fresh = self
            .session
            .as_ref()
            .is_some_and(|s| SystemTime::now() + EXPIRY_MARGIN < s.expires_at);
        if !fresh {
            self.authenticate().await?;
        }
        self.session
            .clone()
            .ok_or_else(|| ClientError::Protocol("no session after authentication".into()))
    }

    /// Every server of every project: one walk through `servers_links`. A 401 renews the
    /// token and restarts the walk once.
    pub async fn list_servers(&mut self) -> Result<Vec<ServerRow>, ClientError> {
        match self.walk().await {
            Err(ClientError::Status { status: 401, .. }) => {
                self.session = None;
                self.walk().await
            }
            other => other,
        }
    }

    async fn walk(&mut self) -> Result<Vec<ServerRow>, ClientError> {
        let s = self.session().await?;
        let mut url = format!("{}/servers/detail?all_tenants=1", s.compute);
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let what = format!("GET {url}");
            let r = self
                .http
                .get(&url)
                .header("x-auth-token", &s.token)
                .header("openstack-api-version", MICROVERSION)
                .send()
                .await
                .map_err(|e| http_error(what.clone(), &e))?;
            let page: Page = answer(r, &what, 200).await?;
            let next = page.servers_links.iter().find(|l| l.rel == "next");
            let next = next.map(|l| l.href.clone());
            let empty = page.servers.is_empty();
            out.extend(page.servers);
            match next {
                Some(n) if !empty => url = n,
                _ => return Ok(out),
            }
        }
        Err(ClientError::Protocol(format!(
            "servers_links did not end after {MAX_PAGES} pages"
        )))
    }

    /// The `os_distro` of each image among `ids` not asked before (one GET per image, ever);
    /// an image Glance cannot show counts as having none.
    pub async fn learn_distros(&mut self, ids: &[&str]) -> &HashMap<String, Option<String>> {
        for id in ids {
            if self.distros.contains_key(*id) {
                continue;
            }
            let d = self.os_distro(id).await.unwrap_or(None);
            self.distros.insert(id.to_string(), d);
        }
        &self.distros
    }

    async fn os_distro(&mut self, id: &str) -> Result<Option<String>, ClientError> {
        let s = self.session().await?;
        let Some(image) = s.image else {
            return Ok(None);
        };
        let url = format!("{image}/v2/images/{id}");
        let r = self.http.get(&url).header("x-auth-token", &s.token).send();
        let r = r.await.map_err(|e| http_error(format!("GET {url}"), &e))?;
        let v: Value = answer(r, &format!("GET {url}"), 200).await?;
        Ok(v["os_distro"].as_str().map(String::from))
    }
}

/// A transport error, with every cause: reqwest's own message is only the outermost one.
fn http_error(what: impl Into<String>, e: &reqwest::Error) -> ClientError {
    let mut why = e.to_string();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !why.contains(&text) {
            why = format!("{why}: {text}");
        }
        cause = c.source();
    }
    ClientError::Http {
        what: what.into(),
        why,
    }
}

/// The body of an answer with the `want`ed status, or the status and body as an error.
async fn answer<T: serde::de::DeserializeOwned>(
    r: reqwest::Response,
    what: &str,
    want: u16,
) -> Result<T, ClientError> {
    let status = r.status().as_u16();
    let text = r.text().await.map_err(|e| http_error(what, &e))?;
    if status != want {
        return Err(ClientError::Status {
            what: what.into(),
            status,
            body: text.chars().take(500).collect(),
        });
    }
    serde_json::from_str(&text)
        .map_err(|e| ClientError::Protocol(format!("{what}: unexpected body ({e})")))
}

/// Keystone's `expires_at` (`2026-01-01T00:00:00.000000Z`).
fn parse_time(s: &str) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339);
    t.ok().map(SystemTime::from)
}
