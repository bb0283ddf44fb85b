//! The HTTP core of the OpenStack client: the Keystone token and catalog, per-service
//! concurrency limits, retries, re-authentication on 401, request coalescing and request
//! logging. The service modules (`nova`, `glance`, `neutron`) add the API calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::coalesce::Coalescer;
use super::config::OpenStackConfig;
use super::error::{parse_error_body, OsError};
use super::keystone::{self, Catalog};
use super::nova::Server;
use super::retry::{is_retryable, parse_retry_after, Backoff, Failure};
use crate::framework::Secret;

/// Requests in flight per service (compute, image, network, identity) by default. With
/// worker pools of hundreds of VMs, each pool creating and deleting servers in parallel,
/// this is what keeps one `terraform apply` from looking like a denial of service to the
/// cloud: 10 concurrent Nova calls is what an operator's CLI scripts typically do, and
/// Nova's API workers handle it without queueing.
pub const DEFAULT_CONCURRENCY_PER_SERVICE: usize = 10;

/// The Nova microversion every compute request is pinned to: server tags in create
/// (>= 2.52), the embedded flavor in server bodies (>= 2.47, gives `original_name`),
/// keypair pagination (>= 2.35), `policy` in server groups (>= 2.64), `hostname` (>= 2.90).
/// Supported by Nova since Xena (2021).
pub const NOVA_MICROVERSION: &str = "2.90";

/// The `OpenStack-API-Version` value for [`NOVA_MICROVERSION`].
const NOVA_VERSION_HEADER: &str = "compute 2.90";

/// Tuning of the client; [`ClientOptions::default`] is what the provider uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Requests in flight per service, see [`DEFAULT_CONCURRENCY_PER_SERVICE`].
    pub concurrency_per_service: usize,
    /// Waits between retries.
    pub backoff: Backoff,
    /// Time for one attempt, from sending to the end of the answer.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            concurrency_per_service: DEFAULT_CONCURRENCY_PER_SERVICE,
            backoff: Backoff::default(),
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(15),
        }
    }
}

/// An OpenStack service, by catalog type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Identity,
    Compute,
    Image,
    Network,
}

impl Service {
    pub fn catalog_type(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Compute => "compute",
            Self::Image => "image",
            Self::Network => "network",
        }
    }

    /// The versioned API root from the catalog URL. Nova's catalog URL includes its
    /// version (`.../v2.1` or `.../v2.1/<project>`); Glance's and Neutron's usually do not
    /// (`http://glance:9292`, `https://cloud/network`), but some clouds register them with it.
    fn api_root(self, catalog_url: &str) -> String {
        let base = catalog_url.trim_end_matches('/');
        let suffix = match self {
            Self::Image => "/v2",
            Self::Network => "/v2.0",
            Self::Identity | Self::Compute => return base.to_string(),
        };
        if base.ends_with(suffix) {
            base.to_string()
        } else {
            format!("{base}{suffix}")
        }
    }
}

/// A Keystone token and what came with it.
struct Session {
    token: Secret,
    catalog: Catalog,
    project_id: Option<String>,
    /// When to get a new token (some minutes before it expires).
    refresh_at: Instant,
    /// Which authentication produced it, so a 401 only invalidates the token that failed.
    generation: u64,
}

/// An answer, read in full.
pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Result<Value, String> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("invalid JSON in the answer: {e}"))
    }
}

type Shared<T> = Result<Arc<T>, OsError>;

struct Inner {
    http: reqwest::Client,
    cfg: OpenStackConfig,
    opts: ClientOptions,
    session: RwLock<Option<Arc<Session>>>,
    /// Held while authenticating: concurrent requests wait for one token request.
    auth_lock: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    limits: HashMap<Service, Arc<Semaphore>>,
    /// Coalesced GETs, keyed by `GET <full URL>`.
    gets: Coalescer<Shared<Value>>,
    /// Coalesced server listings (all pages), keyed by the first page's URL.
    pub(crate) server_lists: Coalescer<Shared<Vec<Server>>>,
    /// The last flavor list and when it was fetched (see [`FLAVOR_LIST_TTL`]).
    pub(crate) flavors: std::sync::Mutex<Option<(Instant, Arc<Vec<super::nova::Flavor>>)>>,
}

/// How long a flavor list is reused. Flavors are operator-managed and change rarely; the
/// pools of one plan look theirs up one after another (too far apart to coalesce), and
/// each lookup is a full `GET /flavors/detail`. Server lists are never reused: they are
/// what drift detection sees.
pub(crate) const FLAVOR_LIST_TTL: Duration = Duration::from_secs(10);

/// The provider's OpenStack client (Keystone v3, Nova, Glance v2, Neutron v2.0). Cheap to
/// clone: clones share the token, the concurrency limits and the in-flight requests, so
/// build one per provider process (see `Clients::openstack_api`).
#[derive(Clone)]
pub struct OpenStack {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OpenStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenStack")
            .field("auth_url", &self.inner.cfg.auth_url)
            .field("region", &self.inner.cfg.region)
            .field("interface", &self.inner.cfg.interface)
            .finish_non_exhaustive()
    }
}

impl OpenStack {
    /// No network I/O: builds the HTTP client (CA file, `insecure`). Authenticates lazily
    /// on first use.
    pub fn new(cfg: &OpenStackConfig) -> Result<Self, OsError> {
        Self::with_options(cfg, ClientOptions::default())
    }

    pub fn with_options(cfg: &OpenStackConfig, opts: ClientOptions) -> Result<Self, OsError> {
        let mut b = reqwest::Client::builder()
            .user_agent(concat!(
                "terraform-provider-k0stack/",
                env!("CARGO_PKG_VERSION")
            ))
            .timeout(opts.request_timeout)
            .connect_timeout(opts.connect_timeout)
            .pool_max_idle_per_host(opts.concurrency_per_service.max(1));
        if let Some(path) = &cfg.cacert_file {
            let pem = std::fs::read(path).map_err(|e| {
                OsError::Config(format!("cannot read the CA file {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| OsError::Config(format!("invalid CA file {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(OsError::Config(format!(
                    "the CA file {} contains no PEM certificate",
                    path.display()
                )));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        if cfg.insecure {
            tracing::warn!("OpenStack TLS certificate verification is disabled (insecure = true)");
            b = b.danger_accept_invalid_certs(true);
        }
        let http = b
            .build()
            .map_err(|e| OsError::Config(format!("cannot build the HTTP client: {e}")))?;
        if opts.concurrency_per_service == 0 {
            return Err(OsError::Config(
                "concurrency_per_service must be at least 1".into(),
            ));
        }
        let limits = [
            Service::Identity,
            Service::Compute,
            Service::Image,
            Service::Network,
        ]
        .into_iter()
        .map(|s| (s, Arc::new(Semaphore::new(opts.concurrency_per_service))))
        .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                cfg: cfg.clone(),
                opts,
                session: RwLock::new(None),
                auth_lock: tokio::sync::Mutex::new(()),
                generation: AtomicU64::new(0),
                limits,
                gets: Coalescer::default(),
                server_lists: Coalescer::default(),
                flavors: std::sync::Mutex::new(None),
            }),
        })
    }

    pub fn config(&self) -> &OpenStackConfig {
        &self.inner.cfg
    }

    pub(crate) fn server_lists(&self) -> &Coalescer<Shared<Vec<Server>>> {
        &self.inner.server_lists
    }

    /// The flavor list fetched less than [`FLAVOR_LIST_TTL`] ago, if any.
    pub(crate) fn recent_flavors(&self) -> Option<Arc<Vec<super::nova::Flavor>>> {
        let g = self.inner.flavors.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref()
            .filter(|(at, _)| at.elapsed() < FLAVOR_LIST_TTL)
            .map(|(_, f)| f.clone())
    }

    pub(crate) fn remember_flavors(&self, flavors: Arc<Vec<super::nova::Flavor>>) {
        *self.inner.flavors.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), flavors));
    }

    /// The project the token is scoped to (authenticates if needed).
    pub async fn project_id(&self) -> Result<Option<String>, OsError> {
        Ok(self.session().await?.project_id.clone())
    }

    /// The versioned API root of `service` from the catalog (authenticates if needed).
    pub async fn endpoint(&self, service: Service) -> Result<String, OsError> {
        let s = self.session().await?;
        self.api_root(&s, service)
    }

    fn api_root(&self, s: &Session, service: Service) -> Result<String, OsError> {
        let url = s.catalog.endpoint(
            service.catalog_type(),
            self.inner.cfg.region.as_deref(),
            self.inner.cfg.interface,
        )?;
        Ok(service.api_root(&url))
    }

    fn current_session(&self) -> Option<Arc<Session>> {
        self.inner
            .session
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A valid token: the cached one until its refresh time, else a new one (one token
    /// request however many callers need it at once).
    async fn session(&self) -> Result<Arc<Session>, OsError> {
        if let Some(s) = self.current_session() {
            if Instant::now() < s.refresh_at {
                return Ok(s);
            }
        }
        let _guard = self.inner.auth_lock.lock().await;
        if let Some(s) = self.current_session() {
            if Instant::now() < s.refresh_at {
                return Ok(s);
            }
        }
        let s = Arc::new(self.authenticate().await?);
        *self
            .inner
            .session
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(s.clone());
        Ok(s)
    }

    /// Drops the cached token if it is still the one of `generation` (a concurrent request
    /// may already have replaced it).
    fn invalidate(&self, generation: u64) {
        let mut w = self
            .inner
            .session
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if w.as_ref().is_some_and(|s| s.generation == generation) {
            *w = None;
        }
    }

    async fn authenticate(&self) -> Result<Session, OsError> {
        let cfg = &self.inner.cfg;
        let url = keystone::tokens_url(&cfg.auth_url);
        let body = keystone::auth_body(&cfg.auth);
        let method = Method::POST;
        let mut attempt = 0u32;
        loop {
            let started = Instant::now();
            let r = self
                .send_once(Service::Identity, &method, &url, None, Some(&body))
                .await;
            let (failure, retry_after, err) = match r {
                Ok(resp) if resp.status == 200 || resp.status == 201 => {
                    let token = resp
                        .headers
                        .get("x-subject-token")
                        .and_then(|v| v.to_str().ok())
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| OsError::Auth {
                            message: format!(
                                "{url} answered {} without an X-Subject-Token header: is auth_url a Keystone v3 endpoint?",
                                resp.status
                            ),
                        })?;
                    let info =
                        keystone::parse_token(&resp.body, SystemTime::now()).map_err(|e| {
                            OsError::Auth {
                                message: format!("{url}: {e}"),
                            }
                        })?;
                    let margin = keystone::refresh_margin(info.lifetime);
                    return Ok(Session {
                        token: Secret::new(token),
                        catalog: info.catalog,
                        project_id: info.project_id,
                        refresh_at: started + info.lifetime.saturating_sub(margin),
                        generation: self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1,
                    });
                }
                Ok(resp) if resp.status == 401 => {
                    let (_, message) = parse_error_body(resp.status, &resp.body);
                    return Err(OsError::Auth {
                        message: format!(
                            "{} at {}: {message}",
                            keystone::describe(&cfg.auth),
                            cfg.auth_url
                        ),
                    });
                }
                Ok(resp) => {
                    let status = resp.status;
                    let err = api_error(&method, &url, &resp);
                    (Failure::Status(status), retry_after_of(&resp), err)
                }
                Err(e) => transport_failure(&method, &url, e),
            };
            if attempt < cfg.max_retries && is_retryable(&method, true, failure) {
                self.wait_before_retry(&method, &url, attempt, failure, retry_after)
                    .await;
                attempt += 1;
                continue;
            }
            return Err(gave_up(err, attempt + 1));
        }
    }

    async fn wait_before_retry(
        &self,
        method: &Method,
        url: &str,
        attempt: u32,
        failure: Failure,
        retry_after: Option<Duration>,
    ) {
        let wait = self.inner.opts.backoff.next_wait(attempt, retry_after);
        tracing::debug!(
            method = %method,
            path = %path_of(url),
            failure = ?failure,
            retry = attempt + 1,
            wait_ms = wait.as_millis() as u64,
            "retrying OpenStack request"
        );
        tokio::time::sleep(wait).await;
    }

    /// One attempt, under the service's concurrency limit, logged at DEBUG (method, path,
    /// status, duration; never headers or bodies, which hold tokens and passwords).
    async fn send_once(
        &self,
        service: Service,
        method: &Method,
        url: &str,
        token: Option<&Secret>,
        body: Option<&Value>,
    ) -> Result<Response, reqwest::Error> {
        let sem = &self.inner.limits[&service];
        let _permit = sem.acquire().await.expect("semaphore never closed");
        let started = Instant::now();
        let mut req = self
            .inner
            .http
            .request(method.clone(), url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(t) = token {
            let mut v = HeaderValue::from_str(t.expose()).unwrap_or(HeaderValue::from_static(""));
            v.set_sensitive(true);
            req = req.header("X-Auth-Token", v);
        }
        if service == Service::Compute {
            req = req
                .header(
                    "OpenStack-API-Version",
                    HeaderValue::from_static(NOVA_VERSION_HEADER),
                )
                .header(
                    "X-OpenStack-Nova-API-Version",
                    HeaderValue::from_static(NOVA_MICROVERSION),
                );
        }
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(serde_json::to_vec(b).expect("JSON values serialize"));
        }
        let result = async {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await?.to_vec();
            Ok(Response {
                status,
                headers,
                body,
            })
        }
        .await;
        let duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(r) => tracing::debug!(
                service = service.catalog_type(),
                method = %method,
                path = %path_of(url),
                status = r.status,
                duration_ms,
                "OpenStack request"
            ),
            Err(e) => tracing::debug!(
                service = service.catalog_type(),
                method = %method,
                path = %path_of(url),
                error = %error_chain(e),
                duration_ms,
                "OpenStack request failed"
            ),
        }
        result
    }

    /// A request to `service` at `rel` (path and query below the versioned API root),
    /// with retries (see `retry`) and one re-authentication on 401. Error statuses
    /// (including 404) come back as `OsError::Api`.
    pub(crate) async fn request(
        &self,
        service: Service,
        method: Method,
        rel: &str,
        body: Option<&Value>,
    ) -> Result<Response, OsError> {
        let mut attempt = 0u32;
        let mut reauthenticated = false;
        loop {
            let session = self.session().await?;
            let url = format!("{}{rel}", self.api_root(&session, service)?);
            let r = self
                .send_once(service, &method, &url, Some(&session.token), body)
                .await;
            let (failure, retry_after, err) = match r {
                Ok(resp) if (200..300).contains(&resp.status) => return Ok(resp),
                // The token expired or was revoked mid-operation (long applies outlive
                // tokens): get a new one and send the request again, once.
                Ok(resp) if resp.status == 401 && !reauthenticated => {
                    tracing::debug!(method = %method, path = %path_of(&url), "token rejected; authenticating again");
                    reauthenticated = true;
                    self.invalidate(session.generation);
                    continue;
                }
                Ok(resp) => {
                    let status = resp.status;
                    (
                        Failure::Status(status),
                        retry_after_of(&resp),
                        api_error(&method, &url, &resp),
                    )
                }
                Err(e) => transport_failure(&method, &url, e),
            };
            if attempt < self.inner.cfg.max_retries && is_retryable(&method, false, failure) {
                self.wait_before_retry(&method, &url, attempt, failure, retry_after)
                    .await;
                attempt += 1;
                continue;
            }
            return Err(gave_up(err, attempt + 1));
        }
    }

    /// A GET whose JSON answer is shared with every identical GET in flight at the same
    /// time (one HTTP request for all of them; nothing kept afterwards).
    pub(crate) async fn get_json(
        &self,
        service: Service,
        rel: &str,
    ) -> Result<Arc<Value>, OsError> {
        let session = self.session().await?;
        let key = format!("GET {}{rel}", self.api_root(&session, service)?);
        let this = self.clone();
        let rel = rel.to_string();
        self.inner
            .gets
            .run(key, move || async move {
                let resp = this.request(service, Method::GET, &rel, None).await?;
                let v = resp.json().map_err(|message| OsError::Transport {
                    method: "GET".into(),
                    path: path_of(&rel),
                    message,
                })?;
                Ok(Arc::new(v))
            })
            .await
    }

    /// Like [`OpenStack::get_json`], with 404 as `None`.
    pub(crate) async fn get_json_opt(
        &self,
        service: Service,
        rel: &str,
    ) -> Result<Option<Arc<Value>>, OsError> {
        match self.get_json(service, rel).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every item of a paginated Nova or Neutron collection: `items_key` holds the items,
    /// `links_key` the `rel: next` link, whose `marker` (and `limit`) continue `rel`.
    pub(crate) async fn list_paginated(
        &self,
        service: Service,
        rel: &str,
        items_key: &str,
        links_key: &str,
    ) -> Result<Vec<Value>, OsError> {
        let mut out = Vec::new();
        let mut page_rel = rel.to_string();
        // A bound against a server that keeps answering the same next link.
        for _ in 0..10_000 {
            // Taken out of the page, not copied (unless another caller shares the page): a
            // page of 1,000 servers is megabytes.
            let mut page = Arc::try_unwrap(self.get_json(service, &page_rel).await?)
                .unwrap_or_else(|a| (*a).clone());
            let items = match page.get_mut(items_key).map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let n = items.len();
            let last_id = items
                .last()
                .and_then(|i| i.get("id").or_else(|| i.get("name")))
                .and_then(Value::as_str)
                .map(str::to_string);
            out.extend(items);
            let next = page
                .get(links_key)
                .and_then(Value::as_array)
                .and_then(|links| {
                    links
                        .iter()
                        .find(|l| l.get("rel").and_then(Value::as_str) == Some("next"))
                })
                .and_then(|l| l.get("href").and_then(Value::as_str));
            let Some(next) = next else { break };
            if n == 0 {
                break;
            }
            match next_page(rel, next, last_id.as_deref()) {
                Some(r) if r != page_rel => page_rel = r,
                _ => break,
            }
        }
        Ok(out)
    }
}

/// `rel` with the `marker` (and `limit`) of a next link. The link's host and path are
/// not followed: behind proxies Nova often advertises an internal URL.
pub(crate) fn next_page(rel: &str, next_href: &str, last_id: Option<&str>) -> Option<String> {
    let next_query = next_href.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut marker = None;
    let mut limit = None;
    for (k, v) in url::form_urlencoded::parse(next_query.as_bytes()) {
        match k.as_ref() {
            "marker" => marker = Some(v.into_owned()),
            "limit" => limit = Some(v.into_owned()),
            _ => {}
        }
    }
    let marker = marker.or_else(|| last_id.map(str::to_string))?;
    let (path, query) = rel.split_once('?').unwrap_or((rel, ""));
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k != "marker" && k != "limit" {
            ser.append_pair(&k, &v);
        }
    }
    if let Some(l) = limit {
        ser.append_pair("limit", &l);
    }
    ser.append_pair("marker", &marker);
    Some(format!("{path}?{}", ser.finish()))
}

/// The path (and query) of a URL, for logs and errors.
pub(crate) fn path_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => url.to_string(),
    }
}

fn retry_after_of(resp: &Response) -> Option<Duration> {
    resp.headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

fn api_error(method: &Method, url: &str, resp: &Response) -> OsError {
    let (code, message) = parse_error_body(resp.status, &resp.body);
    OsError::Api {
        method: method.to_string(),
        path: path_of(url),
        status: resp.status,
        code,
        message,
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let m = inner.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = inner.source();
    }
    s
}

fn transport_failure(
    method: &Method,
    url: &str,
    e: reqwest::Error,
) -> (Failure, Option<Duration>, OsError) {
    let failure = if e.is_connect() {
        Failure::Connect
    } else {
        Failure::Transport
    };
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // reqwest's message repeats the URL; the path is already in the error.
    let detail = error_chain(&e.without_url());
    (
        failure,
        None,
        OsError::Transport {
            method: method.to_string(),
            path: path_of(url),
            message: format!("{what}: {detail}"),
        },
    )
}

/// Adds "(gave up after N attempts)" to an error that was retried.
fn gave_up(err: OsError, attempts: u32) -> OsError {
    if attempts <= 1 {
        return err;
    }
    let note = format!(" (gave up after {attempts} attempts)");
    match err {
        OsError::Api {
            method,
            path,
            status,
            code,
            message,
        } => OsError::Api {
            method,
            path,
            status,
            code,
            message: format!("{message}{note}"),
        },
        OsError::Transport {
            method,
            path,
            message,
        } => OsError::Transport {
            method,
            path,
            message: format!("{message}{note}"),
        },
        other => other,
    }
}

/// Appends `key=value` pairs to a path as a query string.
pub(crate) fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return path.to_string();
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    format!("{path}?{}", ser.finish())
}

/// A path segment from user input (ids, names), percent-encoded.
pub(crate) fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_header_matches_the_microversion() {
        assert_eq!(NOVA_VERSION_HEADER, format!("compute {NOVA_MICROVERSION}"));
    }

    #[test]
    fn api_roots() {
        assert_eq!(
            Service::Compute.api_root("http://h/compute/v2.1/"),
            "http://h/compute/v2.1"
        );
        assert_eq!(Service::Image.api_root("http://h:9292"), "http://h:9292/v2");
        assert_eq!(
            Service::Image.api_root("http://h/image/v2/"),
            "http://h/image/v2"
        );
        assert_eq!(
            Service::Network.api_root("http://h:9696/"),
            "http://h:9696/v2.0"
        );
        assert_eq!(
            Service::Network.api_root("http://h/network/v2.0"),
            "http://h/network/v2.0"
        );
    }

    #[test]
    fn next_page_takes_marker_and_limit_from_the_link_only() {
        let r = next_page(
            "/servers/detail?tags=k0stack%2Cpool&status=ACTIVE",
            "http://internal.example.com/v2.1/p/servers/detail?limit=1&marker=f5dc&tags=k0stack,pool",
            Some("ignored"),
        )
        .unwrap();
        assert_eq!(
            r,
            "/servers/detail?tags=k0stack%2Cpool&status=ACTIVE&limit=1&marker=f5dc"
        );
        let r = next_page(
            "/servers/detail?limit=2&marker=a",
            "http://x/servers/detail?limit=2",
            Some("b"),
        )
        .unwrap();
        assert_eq!(r, "/servers/detail?limit=2&marker=b");
        assert_eq!(next_page("/x", "http://x/y", None), None);
    }

    #[test]
    fn paths_and_queries() {
        assert_eq!(
            path_of("http://h:1/compute/v2.1/servers?x=1"),
            "/compute/v2.1/servers?x=1"
        );
        assert_eq!(
            with_query("/servers/detail", &[("tags", "k0stack,k0stack-pool=a b")]),
            "/servers/detail?tags=k0stack%2Ck0stack-pool%3Da+b"
        );
        assert_eq!(seg("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn gave_up_names_the_attempts() {
        let e = OsError::Api {
            method: "GET".into(),
            path: "/servers/detail".into(),
            status: 503,
            code: "ServiceUnavailable".into(),
            message: "down".into(),
        };
        assert_eq!(
            gave_up(e, 4).to_string(),
            "GET /servers/detail: HTTP 503 ServiceUnavailable: down (gave up after 4 attempts)"
        );
    }

    #[test]
    fn new_reads_the_ca_file_and_reports_problems() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = |ca: Option<std::path::PathBuf>| OpenStackConfig {
            auth_url: "https://k/v3".into(),
            region: None,
            interface: Default::default(),
            auth: super::super::config::Auth::ApplicationCredential {
                id: Some("id".into()),
                name: None,
                user: None,
                secret: Secret::new("s"),
            },
            cacert_file: ca,
            insecure: false,
            max_retries: 1,
            origin: "test".into(),
        };
        assert!(OpenStack::new(&cfg(None)).is_ok());
        let missing = dir.path().join("nope.pem");
        let e = OpenStack::new(&cfg(Some(missing.clone()))).unwrap_err();
        assert!(e.to_string().contains("cannot read the CA file"), "{e}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = OpenStack::new(&cfg(Some(junk))).unwrap_err();
        assert!(e.to_string().contains("CA file"), "{e}");
        let ca = rcgen_free_ca();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, ca).unwrap();
        assert!(OpenStack::new(&cfg(Some(good))).is_ok());
    }

    /// A real self-signed CA certificate (generated once with openssl; public test data).
    fn rcgen_free_ca() -> &'static str {
        include_str!("testdata/ca.pem")
    }
}
