//! The OpenStack half of the simulator: Keystone, Nova, Glance and Neutron on one plain
//! HTTP listener, answering with the status codes, headers and bodies of the api-ref.
//!
//! Why one listener with path prefixes (`/identity/v3`, `/compute/v2.1`, `/image`,
//! `/network`): it is how devstack lays a cloud out, it needs one port, and the Keystone
//! catalog is all a client needs to find the rest. Servers published here as
//! [`VmEvent`](crate::events::VmEvent)s are what the Kubernetes half joins as workers.

// Handlers return `Result<_, Resp>` so an error can be answered with `?`-like early
// returns in the service's own body shape; a response is built once per request, so its
// size on the stack does not matter.
#![allow(clippy::result_large_err)]

pub mod actions;
pub mod admin;
pub mod admin_view;
pub mod faults;
pub mod glance;
pub mod glance_filter;
pub mod http;
pub mod keystone;
pub mod neutron;
pub mod neutron_quotas;
pub mod nova;
pub mod nova_keypairs;
pub mod nova_quotas;
pub mod seed;
pub mod server_count;
pub mod server_create;
pub mod server_place;
pub mod server_view;
pub mod servers;
pub mod store;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use tokio::net::TcpListener;

pub use self::faults::{Counters, Faults, FaultsHandle, FaultsPatch, RateLimit};
use self::http::{Resp, Service};
pub use self::seed::Seed;
use self::store::State;
use crate::events::EventBus;
pub use crate::history::HistoryEntry;

/// How the simulated cloud starts (all defaults are sensible and fast).
#[derive(Debug, Clone)]
pub struct OpenStackOptions {
    /// Listen address (port 0: ephemeral).
    pub addr: SocketAddr,
    /// Where `VmEvent::Active` / `VmEvent::Gone` are published.
    pub bus: EventBus,
    /// BUILD -> ACTIVE time.
    pub boot_latency: Duration,
    pub token_ttl: Duration,
    /// Fraction of boots that end in ERROR with a fault.
    pub vm_error_rate: f64,
    /// Compute hosts (anti-affinity fails when a group's members occupy them all).
    pub hosts: usize,
    pub seed: Seed,
}

impl Default for OpenStackOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            bus: EventBus::default(),
            boot_latency: Duration::from_millis(200),
            token_ttl: Duration::from_secs(3600),
            vm_error_rate: 0.0,
            hosts: 16,
            seed: Seed::default(),
        }
    }
}

/// What a client needs to authenticate (the default user and its application credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credentials {
    pub auth_url: String,
    pub user_name: String,
    pub password: String,
    pub project_name: String,
    pub user_domain_name: String,
    pub project_domain_name: String,
    pub region: String,
    pub application_credential_id: String,
    pub application_credential_secret: String,
}

/// A server as tests see it (also `GET /admin/servers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerView {
    pub id: String,
    pub name: String,
    /// BUILD, ACTIVE, ERROR; `deleting` is set between DELETE and disappearance.
    pub status: String,
    pub deleting: bool,
    pub tags: Vec<String>,
    pub metadata: std::collections::BTreeMap<String, String>,
    pub flavor: String,
    pub host: Option<String>,
    pub ip: Option<String>,
    pub user_data: Option<String>,
    pub project_id: String,
    pub server_groups: Vec<String>,
    pub fault: Option<String>,
}

/// State shared by every request handler.
pub struct Ctx {
    pub state: Mutex<State>,
    pub faults: FaultsHandle,
    pub counters: Counters,
    pub bus: EventBus,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl Ctx {
    pub fn identity_url(&self) -> String {
        format!("{}/identity/v3", self.base)
    }
}

/// A running simulated cloud; dropping it stops the listener.
pub struct OpenStackSim {
    ctx: Arc<Ctx>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OpenStackSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OpenStackSim {
    pub async fn start(opts: OpenStackOptions) -> Result<Self> {
        let state = State::from_seed(&opts.seed, opts.hosts)?;
        let listener = TcpListener::bind(opts.addr).await?;
        let local = listener.local_addr()?;
        let faults = Faults {
            token_ttl_s: opts.token_ttl.as_secs_f64(),
            vm_error_rate: opts.vm_error_rate.clamp(0.0, 1.0),
            boot_latency_ms: opts.boot_latency.as_millis() as u64,
            ..Faults::default()
        };
        let ctx = Arc::new(Ctx {
            state: Mutex::new(state),
            faults: FaultsHandle::new(faults),
            counters: Counters::default(),
            bus: opts.bus,
            base: format!("http://{local}"),
        });
        let task = tokio::spawn(serve(ctx.clone(), listener));
        Ok(Self { ctx, task })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.ctx.base.clone()
    }

    /// Keystone v3, e.g. `http://127.0.0.1:PORT/identity/v3`.
    pub fn auth_url(&self) -> String {
        self.ctx.identity_url()
    }

    /// The admin endpoint (no auth, not counted, never faulted).
    pub fn admin_url(&self) -> String {
        format!("{}/admin", self.ctx.base)
    }

    /// The default user (the first seeded one) and its first application credential.
    pub fn credentials(&self) -> Credentials {
        let st = self.ctx.state.lock().expect("state");
        let user = st.users.first().cloned();
        let project = user
            .as_ref()
            .and_then(|u| st.project(&u.project_id))
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let ac = user
            .as_ref()
            .and_then(|u| st.app_creds.iter().find(|a| a.user_id == u.id))
            .cloned();
        Credentials {
            auth_url: self.auth_url(),
            user_name: user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
            password: user.map(|u| u.password).unwrap_or_default(),
            project_name: project,
            user_domain_name: "Default".into(),
            project_domain_name: "Default".into(),
            region: st.region.clone(),
            application_credential_id: ac.as_ref().map(|a| a.id.clone()).unwrap_or_default(),
            application_credential_secret: ac.map(|a| a.secret).unwrap_or_default(),
        }
    }

    /// A clouds.yaml with cloud `k0stack-sim` (password) and `k0stack-sim-appcred`.
    pub fn clouds_yaml(&self) -> String {
        let c = self.credentials();
        format!(
            "clouds:\n  k0stack-sim:\n    auth_type: password\n    auth:\n      auth_url: {url}\n      username: {user}\n      password: {pw}\n      project_name: {project}\n      user_domain_name: {ud}\n      project_domain_name: {pd}\n    region_name: {region}\n    interface: public\n    identity_api_version: 3\n  k0stack-sim-appcred:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: {url}\n      application_credential_id: {acid}\n      application_credential_secret: {acs}\n    region_name: {region}\n    interface: public\n    identity_api_version: 3\n",
            url = c.auth_url,
            user = yaml_str(&c.user_name),
            pw = yaml_str(&c.password),
            project = yaml_str(&c.project_name),
            ud = yaml_str(&c.user_domain_name),
            pd = yaml_str(&c.project_domain_name),
            region = yaml_str(&c.region),
            acid = yaml_str(&c.application_credential_id),
            acs = yaml_str(&c.application_credential_secret),
        )
    }

    /// `export OS_...` lines for the password credentials, plus `K0STACK_SIM_ADMIN`.
    pub fn env_sh(&self) -> String {
        let c = self.credentials();
        let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        [
            ("OS_AUTH_TYPE", "password".to_string()),
            ("OS_AUTH_URL", c.auth_url.clone()),
            ("OS_IDENTITY_API_VERSION", "3".into()),
            ("OS_USERNAME", c.user_name.clone()),
            ("OS_PASSWORD", c.password.clone()),
            ("OS_PROJECT_NAME", c.project_name.clone()),
            ("OS_USER_DOMAIN_NAME", c.user_domain_name.clone()),
            ("OS_PROJECT_DOMAIN_NAME", c.project_domain_name.clone()),
            ("OS_REGION_NAME", c.region.clone()),
            ("OS_INTERFACE", "public".into()),
            ("K0STACK_SIM_ADMIN", self.admin_url()),
        ]
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", q(v)))
        .collect()
    }

    pub fn faults(&self) -> FaultsHandle {
        self.ctx.faults.clone()
    }

    pub fn counters(&self) -> Counters {
        self.ctx.counters.clone()
    }

    pub fn servers(&self) -> Vec<ServerView> {
        admin::server_views(&self.ctx)
    }

    pub fn history(&self) -> Vec<HistoryEntry> {
        self.ctx.state.lock().expect("state").history.clone()
    }

    /// The shared state, for tests that need to look deeper.
    pub fn ctx(&self) -> Arc<Ctx> {
        self.ctx.clone()
    }
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

async fn serve(ctx: Arc<Ctx>, listener: TcpListener) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let ctx = ctx.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(ctx, req).await) }
            });
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .await;
        });
    }
}

/// One request, as the service handlers see it (path relative to the service prefix).
pub struct Req {
    pub method: ::http::Method,
    /// The path below the service prefix, e.g. `/servers/detail` for Nova.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: ::http::HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn segs(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Path segments kept verbatim in counter keys; every other segment is an id.
const LITERALS: &[&str] = &[
    "identity",
    "v3",
    "auth",
    "tokens",
    "catalog",
    "projects",
    "compute",
    "v2.1",
    "servers",
    "detail",
    "flavors",
    "os-extra_specs",
    "os-keypairs",
    "os-server-groups",
    "limits",
    "tags",
    "metadata",
    "action",
    "os-interface",
    "os-availability-zone",
    "os-quota-sets",
    "defaults",
    "image",
    "v2",
    "images",
    "network",
    "v2.0",
    "networks",
    "subnets",
    "security-groups",
    "ports",
    "quotas",
    "details",
    "default",
    "ips",
    "versions",
];

/// `"GET /compute/v2.1/servers/{id}"`: the counter key of a request.
pub fn template(method: &::http::Method, path: &str) -> String {
    let t: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| if LITERALS.contains(&s) { s } else { "{id}" })
        .collect();
    format!("{method} /{}", t.join("/"))
}

fn split_service(path: &str) -> Option<(Service, String)> {
    for (prefix, svc) in [
        ("/identity", Service::Identity),
        ("/compute", Service::Compute),
        ("/image", Service::Image),
        ("/network", Service::Network),
        ("/admin", Service::Admin),
    ] {
        if let Some(rest) = path.strip_prefix(prefix) {
            if rest.is_empty() || rest.starts_with('/') {
                return Some((svc, rest.to_string()));
            }
        }
    }
    None
}

async fn handle(ctx: Arc<Ctx>, req: hyper::Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let Some((svc, rest)) = split_service(&path) else {
        return http::json(
            404,
            &serde_json::json!({"error": {"code": 404, "title": "Not Found", "message": format!("{path} is not served here: try /identity/v3, /compute/v2.1, /image, /network or /admin")}}),
        );
    };
    let body = match Limited::new(body, http::MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return http::error(svc, 413, "Request is too large."),
    };
    let req = Req {
        method: parts.method,
        path: rest,
        query: http::query_pairs(parts.uri.query()),
        headers: parts.headers,
        body,
    };
    if svc == Service::Admin {
        return admin::handle(&ctx, &req);
    }
    ctx.counters.bump(template(&req.method, &path));
    let faults = ctx.faults.get();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if let Some((code, retry_after)) = faults.roll() {
        // Injected failures are counted too ("injected 503"), so tests can tell the
        // retries a client made from the requests it needed.
        ctx.counters.bump(format!("injected {code}"));
        let msg = match code {
            429 => "Rate limit exceeded (simulated).".to_string(),
            503 if faults.down => "The cloud is down (simulated).".to_string(),
            c => format!("Simulated failure ({c})."),
        };
        let r = http::error(svc, code, &msg);
        return match retry_after {
            Some(s) => http::with_header(r, "retry-after", &s.to_string()),
            None => r,
        };
    }
    match svc {
        Service::Identity => keystone::handle(&ctx, &req),
        Service::Compute => nova::handle(&ctx, &req),
        Service::Image => glance::handle(&ctx, &req),
        Service::Network => neutron::handle(&ctx, &req),
        Service::Admin => unreachable!("handled above"),
    }
}

/// The project a token is scoped to, or the 401/403 to answer.
pub fn authorize(ctx: &Ctx, req: &Req, svc: Service) -> Result<store::Token, Resp> {
    let Some(tok) = req.header("x-auth-token") else {
        return Err(http::unauthorized(svc, &ctx.identity_url()));
    };
    let t =
        keystone::validate(ctx, tok).ok_or_else(|| http::unauthorized(svc, &ctx.identity_url()))?;
    if t.project_id.is_none() {
        return Err(http::error(
            svc,
            403,
            "The token is not scoped to a project (use a project-scoped token).",
        ));
    }
    Ok(t)
}

/// Any valid token (Keystone's own calls need no project scope).
pub fn authorize_identity(ctx: &Ctx, req: &Req) -> Result<store::Token, Resp> {
    req.header("x-auth-token")
        .and_then(|t| keystone::validate(ctx, t))
        .ok_or_else(|| http::unauthorized(Service::Identity, &ctx.identity_url()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_templates() {
        let g = ::http::Method::GET;
        assert_eq!(
            template(&g, "/compute/v2.1/servers/detail"),
            "GET /compute/v2.1/servers/detail"
        );
        assert_eq!(
            template(
                &g,
                "/compute/v2.1/servers/0e44cc9c-e052-415d-afbf-469b0d384170/tags/x"
            ),
            "GET /compute/v2.1/servers/{id}/tags/{id}"
        );
        assert_eq!(
            template(&::http::Method::POST, "/identity/v3/auth/tokens"),
            "POST /identity/v3/auth/tokens"
        );
    }
}
