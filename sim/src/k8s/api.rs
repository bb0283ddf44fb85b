//! The HTTP side of a simulated apiserver: authentication, discovery, and the REST verbs
//! over the [`Store`], with `Status` bodies and status codes like the real apiserver.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::store::{list_body, ApiError, ResourceType, Store};

/// Converts an object between a served version and the storage version of its type.
pub type Converter = fn(rt: &ResourceType, from: &str, to: &str, body: Value) -> Value;

fn identity(_rt: &ResourceType, _from: &str, _to: &str, body: Value) -> Value {
    body
}

/// Fault knobs of one simulated apiserver.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    pub latency: Duration,
    /// Fraction (0..1) of requests answered 500, 503 and 429.
    pub error_500: f64,
    pub error_503: f64,
    pub error_429: f64,
    /// Every request fails as if the server were gone (connection closed).
    pub unreachable: bool,
}

/// One simulated Kubernetes API (the management cluster, or a hosted cluster).
pub struct ApiServer {
    pub name: String,
    pub store: Mutex<Store>,
    /// Bearer tokens accepted (besides client certificates signed by the cluster CA).
    pub tokens: Mutex<Vec<String>>,
    pub faults: Mutex<Faults>,
    /// What `/version` reports: the version the control plane runs now (see [`kube_git_version`]).
    git_version: std::sync::RwLock<String>,
    pub converter: Converter,
    /// Woken after every write (controllers wait on it).
    pub changed: Notify,
    /// Requests per "METHOD /path-template".
    pub counters: Mutex<BTreeMap<String, u64>>,
    /// Node and eviction events (`node.ready`, `node.notready`, `node.delete`, `pod.evict`),
    /// stamped from the process-wide sequence so they order against the OpenStack half's.
    pub history: Mutex<Vec<crate::history::HistoryEntry>>,
}

impl ApiServer {
    pub fn new(name: &str, git_version: &str) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            store: Mutex::new(Store::default()),
            tokens: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
            git_version: std::sync::RwLock::new(git_version.into()),
            converter: identity,
            changed: Notify::new(),
            counters: Mutex::new(BTreeMap::new()),
            history: Mutex::new(Vec::new()),
        })
    }

    /// Records an event of `kind` about the object `name` (the node, or `ns/pod`).
    pub fn record(&self, kind: &str, name: &str) {
        self.history
            .lock()
            .expect("history")
            .push(crate::history::HistoryEntry::now(kind, &self.name, name));
    }

    /// The `gitVersion` the API server reports now.
    pub fn git_version(&self) -> String {
        self.git_version
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A control plane that finished rolling to another version reports it.
    pub fn set_git_version(&self, v: &str) {
        *self.git_version.write().unwrap_or_else(|e| e.into_inner()) = v.to_string();
    }

    pub fn with_converter(self: Arc<Self>, c: Converter) -> Arc<Self> {
        let mut s = Arc::try_unwrap(self).unwrap_or_else(|_| panic!("converter set after sharing"));
        s.converter = c;
        Arc::new(s)
    }
}

type Resp = Response<http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>>;

fn json_response(code: u16, body: &Value) -> Resp {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .header("audit-id", super::store::new_uid())
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap_or_default())).boxed())
        .expect("response")
}

fn error_response(e: &ApiError, kind: &str, name: &str) -> Resp {
    json_response(e.code, &e.status(kind, name))
}

/// Serves `api` over TLS on `addr` until the task is aborted; returns the bound address.
pub async fn serve(
    api: Arc<ApiServer>,
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            if api.faults.lock().expect("faults").unreachable {
                drop(tcp); // as if nothing listened there
                continue;
            }
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let api = api.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let client_cert = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .is_some_and(|c| !c.is_empty());
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let api = api.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(api, req, client_cert).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
            });
        }
    });
    Ok((local, task))
}

fn query_map(q: Option<&str>) -> BTreeMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A parsed resource path.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_path(path: &str, store: &Store) -> Option<Target> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest.to_vec()),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest.to_vec()),
        _ => return None,
    };
    if rest.is_empty() {
        return None;
    }
    // /namespaces/{ns}/{plural}... when {plural} is a namespaced type of this group/version.
    if rest.len() >= 3
        && rest[0] == "namespaces"
        && store
            .find(&group, &version, rest[2])
            .is_some_and(|t| t.namespaced)
    {
        return Some(Target {
            group,
            version,
            namespace: Some(rest[1].to_string()),
            plural: rest[2].to_string(),
            name: rest.get(3).map(|s| s.to_string()),
            sub: rest.get(4).map(|s| s.to_string()),
        });
    }
    Some(Target {
        group,
        version,
        namespace: None,
        plural: rest[0].to_string(),
        name: rest.get(1).map(|s| s.to_string()),
        sub: rest.get(2).map(|s| s.to_string()),
    })
}

/// `GET /path` as a counter key, with names replaced by `{name}`.
fn template(method: &Method, t: &Target) -> String {
    let mut p = if t.group.is_empty() {
        format!("/api/{}", t.version)
    } else {
        format!("/apis/{}/{}", t.group, t.version)
    };
    if t.namespace.is_some() {
        p.push_str("/namespaces/{ns}");
    }
    p.push('/');
    p.push_str(&t.plural);
    if t.name.is_some() {
        p.push_str("/{name}");
    }
    if let Some(s) = &t.sub {
        p.push('/');
        p.push_str(s);
    }
    format!("{method} {p}")
}

fn authenticated(api: &ApiServer, req: &Request<Incoming>, client_cert: bool) -> bool {
    if client_cert {
        return true;
    }
    let Some(token) = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return false;
    };
    api.tokens
        .lock()
        .expect("tokens")
        .iter()
        .any(|t| t == token.trim())
}

async fn handle(api: Arc<ApiServer>, req: Request<Incoming>, client_cert: bool) -> Resp {
    let faults = api.faults.lock().expect("faults").clone();
    if faults.latency > Duration::ZERO {
        tokio::time::sleep(faults.latency).await;
    }
    if !authenticated(&api, &req, client_cert) {
        return json_response(
            401,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401}),
        );
    }
    let roll: f64 = rand::random();
    for (rate, code, reason) in [
        (faults.error_500, 500, "InternalError"),
        (faults.error_503, 503, "ServiceUnavailable"),
        (faults.error_429, 429, "TooManyRequests"),
    ] {
        if rate > 0.0 && roll < rate {
            let mut r = json_response(
                code,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": format!("simulated {code}"), "reason": reason, "code": code}),
            );
            if code == 429 {
                r.headers_mut()
                    .insert("retry-after", http::HeaderValue::from_static("1"));
            }
            return r;
        }
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = query_map(req.uri().query());
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let accept = req
        .headers()
        .get("accept")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    match path.as_str() {
        "/version" => return json_response(200, &version_body(&api.git_version())),
        "/api" => {
            return json_response(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}),
            )
        }
        "/apis" => return json_response(200, &groups_body(&api.store.lock().expect("store"))),
        "/healthz" | "/readyz" | "/livez" => {
            return Response::builder()
                .status(200)
                .header("content-type", "text/plain")
                .body(Full::new(Bytes::from_static(b"ok")).boxed())
                .expect("response")
        }
        _ => {}
    }
    if let Some(r) = discovery(&api.store.lock().expect("store"), &path) {
        return r;
    }
    let target = {
        let store = api.store.lock().expect("store");
        parse_path(&path, &store)
    };
    let Some(t) = target else {
        return json_response(
            404,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "the server could not find the requested resource", "reason": "NotFound", "details": {}, "code": 404}),
        );
    };
    *api.counters
        .lock()
        .expect("counters")
        .entry(template(&method, &t))
        .or_default() += 1;
    if method == Method::GET
        && t.name.is_none()
        && query.get("watch").is_some_and(|w| w == "true" || w == "1")
    {
        return watch(api.clone(), t, query);
    }
    let resp = rest(&api, &method, &t, &query, &content_type, &accept, &body);
    if matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) && resp.status().is_success()
    {
        api.changed.notify_waiters();
    }
    resp
}

/// The `gitVersion` a k0s binary's Kubernetes components report: `v1.32.6+k0s.0` (or the
/// older `-k0s.0` spelling) → `v1.32.6+k0s` (k0s builds Kubernetes with the `+k0s` build
/// suffix and without its own patch number; a plain Kubernetes version stays as it is).
pub fn kube_git_version(k0s_version: &str) -> String {
    let v = k0s_version.replace("-k0s", "+k0s");
    match v.find("+k0s") {
        Some(i) => format!("{}+k0s", &v[..i]),
        None => v,
    }
}

fn version_body(git: &str) -> Value {
    let core = git.trim_start_matches('v');
    let mut parts = core.split(['.', '+', '-']);
    let (major, minor) = (parts.next().unwrap_or("1"), parts.next().unwrap_or("32"));
    json!({"major": major, "minor": minor, "gitVersion": git, "gitCommit": "0000000", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"})
}

fn groups_body(store: &Store) -> Value {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in store.types().iter().filter(|t| !t.group.is_empty()) {
        let e = groups.entry(t.group.clone()).or_default();
        for v in &t.versions {
            if !e.contains(v) {
                e.push(v.clone());
            }
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(g, mut vs)| {
            vs.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
            let versions: Vec<Value> = vs
                .iter()
                .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                .collect();
            json!({"name": g, "versions": versions, "preferredVersion": versions[0].clone()})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// Kubernetes version priority: GA > beta > alpha, higher numbers first.
fn version_priority(v: &str) -> (u8, u32, u32) {
    let rest = v.trim_start_matches('v');
    let (num, stage, sub) = if let Some((n, s)) = rest.split_once("beta") {
        (n, 1, s)
    } else if let Some((n, s)) = rest.split_once("alpha") {
        (n, 0, s)
    } else {
        (rest, 2, "0")
    };
    (stage, num.parse().unwrap_or(0), sub.parse().unwrap_or(0))
}

fn discovery(store: &Store, path: &str) -> Option<Resp> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version) = match segs.as_slice() {
        ["api", v] => ("", *v),
        ["apis", g, v] => (*g, *v),
        ["apis", g] => {
            let body = groups_body(store);
            let found = body["groups"]
                .as_array()?
                .iter()
                .find(|x| x["name"] == *g)?
                .clone();
            let mut found = found;
            found["kind"] = json!("APIGroup");
            found["apiVersion"] = json!("v1");
            return Some(json_response(200, &found));
        }
        _ => return None,
    };
    let types: Vec<&ResourceType> = store
        .types()
        .iter()
        .filter(|t| t.group == group && t.versions.iter().any(|v| v == version))
        .collect();
    if types.is_empty() {
        return Some(json_response(
            404,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "the server could not find the requested resource", "reason": "NotFound", "code": 404}),
        ));
    }
    let mut resources = Vec::new();
    for t in types {
        resources.push(json!({
            "name": t.plural, "singularName": t.kind.to_lowercase(), "namespaced": t.namespaced, "kind": t.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update"],
            "shortNames": t.short_names,
        }));
        if t.status_subresource {
            resources.push(json!({"name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced, "kind": t.kind, "verbs": ["get", "patch", "update"]}));
        }
        if t.plural == "pods" {
            resources.push(json!({"name": "pods/eviction", "singularName": "", "namespaced": true, "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json_response(
        200,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    ))
}

/// A patch body (its content type is the patch type): JSON, or YAML for apply patches.
fn parse_body(content_type: &str, body: &Bytes) -> Result<Value, ApiError> {
    let v = if content_type.contains("yaml") {
        parse_yaml(body)?
    } else {
        parse_json(body)?
    };
    // The apiserver stores Secret stringData as base64 data.
    Ok(super::k0smotron::materialize_string_data(v))
}

fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice::<Value>(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

fn parse_yaml(body: &Bytes) -> Result<Value, ApiError> {
    serde_yaml::from_slice::<Value>(body)
        .map_err(|e| ApiError::bad_request(format!("invalid YAML: {e}")))
}

/// A create/update body in its negotiated media type (JSON, YAML or protobuf; anything
/// else is 415 as from the real apiserver).
fn parse_object(
    rt: &ResourceType,
    version: &str,
    content_type: &str,
    body: &Bytes,
) -> Result<Value, ApiError> {
    use super::protobuf::{decode, negotiate, Encoding};
    let v = match negotiate(content_type)? {
        Encoding::Json => parse_json(body)?,
        Encoding::Yaml => parse_yaml(body)?,
        Encoding::Protobuf => decode(rt, version, body)?,
    };
    // The apiserver stores Secret stringData as base64 data.
    Ok(super::k0smotron::materialize_string_data(v))
}

fn rest(
    api: &ApiServer,
    method: &Method,
    t: &Target,
    query: &BTreeMap<String, String>,
    content_type: &str,
    accept: &str,
    body: &Bytes,
) -> Resp {
    let mut store = api.store.lock().expect("store");
    let Some(rt) = store.find(&t.group, &t.version, &t.plural) else {
        return json_response(
            404,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "the server could not find the requested resource", "reason": "NotFound", "details": {}, "code": 404}),
        );
    };
    let ns = t.namespace.clone().unwrap_or_default();
    let manager = query
        .get("fieldManager")
        .cloned()
        .unwrap_or_else(|| "unknown".into());
    let name = t.name.clone().unwrap_or_default();
    let storage_v = rt.versions[0].clone();
    let out = |v: Value| (api.converter)(&rt, &storage_v, &t.version, v);
    let into = |v: Value| (api.converter)(&rt, &t.version, &storage_v, v);
    let status_only = t.sub.as_deref() == Some("status");
    let result: Result<(u16, Value), ApiError> = match (method.clone(), t.name.is_some()) {
        (Method::GET, false) => {
            let mut items = store.list(&rt, t.namespace.as_deref(), query.get("labelSelector").map(String::as_str));
            if let Some(fs) = query.get("fieldSelector") {
                items.retain(|o| super::store::field_selector_matches(fs, o));
            }
            let items: Vec<Value> = items.into_iter().map(out).collect();
            Ok((200, list_body(&rt, &t.version, items, store.resource_version())))
        }
        (Method::GET, true) => store.get(&rt, &ns, &name).map(|o| (200, out(o))),
        (Method::POST, false) => parse_object(&rt, &t.version, content_type, body).and_then(|b| {
            if b["metadata"]["namespace"].as_str().is_some_and(|bns| rt.namespaced && !ns.is_empty() && bns != ns) {
                return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request".into()));
            }
            store.create(&rt, &ns, into(b), &manager).map(|o| (201, out(o)))
        }),
        (Method::POST, true) if t.sub.as_deref() == Some("eviction") && rt.plural == "pods" => {
            let r = evict(&mut store, &ns, &name);
            if r.is_ok() {
                api.record("pod.evict", &format!("{ns}/{name}"));
            }
            r
        }
        (Method::PUT, true) => parse_object(&rt, &t.version, content_type, body).and_then(|b| store.update(&rt, &ns, &name, into(b), &manager, status_only).map(|o| (200, out(o)))),
        (Method::PATCH, true) if super::protobuf::media_type(content_type) == super::protobuf::PROTOBUF => {
            Err(super::protobuf::patch_refused(&rt))
        }
        (Method::PATCH, true) => parse_body(content_type, body).and_then(|b| {
            if content_type.starts_with("application/apply-patch") {
                if b["metadata"]["name"].as_str().is_some_and(|n| n != name) {
                    return Err(ApiError::bad_request("the name of the object does not match the name on the URL".into()));
                }
                if query.get("fieldManager").is_none() {
                    return Err(ApiError::bad_request("PATCH with apply requires fieldManager".into()));
                }
                let force = query.get("force").is_some_and(|f| f == "true");
                if query.get("dryRun").is_some_and(|d| d == "All") {
                    store.apply_dry_run(&rt, &ns, &name, into(b), &manager, force).map(|o| (200, out(o)))
                } else {
                    store.apply(&rt, &ns, &name, into(b), &manager, force).map(|o| (200, out(o)))
                }
            } else if content_type.starts_with("application/json-patch") {
                store.patch_json(&rt, &ns, &name, &b, &manager).map(|o| (200, out(o)))
            } else {
                let converted = if status_only { b } else { into_patch(api, &rt, &t.version, &storage_v, b) };
                store.patch_merge(&rt, &ns, &name, &converted, &manager, status_only).map(|o| (200, out(o)))
            }
        }),
        (Method::DELETE, true) => {
            let r = store.delete(&rt, &ns, &name).map(|o| (200, out(o)));
            if r.is_ok() && rt.plural == "nodes" {
                api.record("node.delete", &name);
            }
            if r.is_ok() && rt.plural == "namespaces" && store.get(&rt, "", &name).is_err() {
                store.purge_namespace(&name);
            }
            r
        }
        _ => Err(ApiError { code: 405, reason: "MethodNotAllowed", message: format!("{method} is not supported on this path") }),
    };
    match result {
        Ok((200, v)) if method == Method::GET && super::table::wanted(accept) => {
            let include = query.get("includeObject").map(String::as_str).unwrap_or("");
            json_response(200, &super::table::table(&rt, &v, include))
        }
        Ok((code, v)) => json_response(code, &v),
        Err(e) => error_response(&e, &rt.kind, &name),
    }
}

/// A watch: newline-delimited `{"type", "object"}` events, computed by comparing
/// snapshots of the matching objects every 100 ms (ADDED / MODIFIED / DELETED), until
/// `timeoutSeconds` (at most 5 minutes) or the client goes away.
fn watch(api: Arc<ApiServer>, t: Target, query: BTreeMap<String, String>) -> Resp {
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(300)
        .min(300);
    let since: u64 = query
        .get("resourceVersion")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // WatchList (kubectl wait, client-go informers): initial ADDED events, then a bookmark.
    let initial_events = query.get("sendInitialEvents").is_some_and(|v| v == "true");
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        let mut seen: BTreeMap<String, (u64, Value)> = BTreeMap::new();
        let mut first = true;
        while tokio::time::Instant::now() < deadline {
            let current: Vec<Value> = {
                let store = api.store.lock().expect("store");
                let Some(rt) = store.find(&t.group, &t.version, &t.plural) else {
                    return;
                };
                let mut items = store.list(
                    &rt,
                    t.namespace.as_deref(),
                    query.get("labelSelector").map(String::as_str),
                );
                if let Some(fs) = query.get("fieldSelector") {
                    items.retain(|o| super::store::field_selector_matches(fs, o));
                }
                items
                    .into_iter()
                    .map(|o| (api.converter)(&rt, &rt.versions[0], &t.version, o))
                    .collect()
            };
            let mut now: BTreeMap<String, (u64, Value)> = BTreeMap::new();
            for o in current {
                let key = format!(
                    "{}/{}",
                    o["metadata"]["namespace"].as_str().unwrap_or_default(),
                    o["metadata"]["name"].as_str().unwrap_or_default()
                );
                let rv: u64 = o["metadata"]["resourceVersion"]
                    .as_str()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0);
                now.insert(key, (rv, o));
            }
            let mut events = Vec::new();
            for (k, (rv, o)) in &now {
                match seen.get(k) {
                    None if !first || initial_events || *rv > since || since == 0 => {
                        events.push(json!({"type": "ADDED", "object": o}))
                    }
                    Some((old, _)) if old != rv => {
                        events.push(json!({"type": "MODIFIED", "object": o}))
                    }
                    _ => {}
                }
            }
            for (k, (_, o)) in &seen {
                if !now.contains_key(k) {
                    events.push(json!({"type": "DELETED", "object": o}));
                }
            }
            for e in events {
                let mut line = serde_json::to_vec(&e).unwrap_or_default();
                line.push(b'\n');
                if tx.send(Bytes::from(line)).await.is_err() {
                    return;
                }
            }
            if first && initial_events {
                let (kind, api_version, rv) = {
                    let store = api.store.lock().expect("store");
                    let rt = store.find(&t.group, &t.version, &t.plural);
                    (
                        rt.as_ref().map(|r| r.kind.clone()).unwrap_or_default(),
                        rt.as_ref()
                            .map(|r| r.api_version(&t.version))
                            .unwrap_or_default(),
                        store.resource_version(),
                    )
                };
                let bookmark = json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version,
                    "metadata": {"resourceVersion": rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}}});
                let mut line = serde_json::to_vec(&bookmark).unwrap_or_default();
                line.push(b'\n');
                if tx.send(Bytes::from(line)).await.is_err() {
                    return;
                }
            }
            seen = now;
            first = false;
            let notified = api.changed.notified();
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(Frame::data(b)), rx))
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(StreamBody::new(stream).boxed())
        .expect("response")
}

/// The Eviction API: deletes the pod unless a PodDisruptionBudget forbids it (429, as the
/// real apiserver answers).
fn evict(store: &mut super::store::Store, ns: &str, name: &str) -> Result<(u16, Value), ApiError> {
    let pods_rt = store.find("", "v1", "pods").expect("pods");
    let pod = store.get(&pods_rt, ns, name)?;
    if let Some(pdb_rt) = store.find("policy", "v1", "poddisruptionbudgets") {
        let pods = store.list(&pods_rt, Some(ns), None);
        for pdb in store.list(&pdb_rt, Some(ns), None) {
            let sel = &pdb["spec"]["selector"]["matchLabels"];
            let matches = |p: &Value| {
                sel.as_object()
                    .is_some_and(|m| m.iter().all(|(k, v)| p["metadata"]["labels"][k] == *v))
            };
            if !matches(&pod) {
                continue;
            }
            let expected = pods.iter().filter(|p| matches(p)).count() as i64;
            let healthy = pods
                .iter()
                .filter(|p| {
                    matches(p)
                        && p["metadata"].get("deletionTimestamp").is_none()
                        && p["status"]["phase"] != "Failed"
                })
                .count() as i64;
            let allowed = if let Some(min) = pdb["spec"]["minAvailable"].as_i64() {
                healthy - min
            } else if let Some(max) = pdb["spec"]["maxUnavailable"].as_i64() {
                max - (expected - healthy)
            } else {
                1
            };
            if allowed <= 0 {
                let pdb_name = pdb["metadata"]["name"].as_str().unwrap_or_default();
                return Err(ApiError { code: 429, reason: "TooManyRequests", message: format!("Cannot evict pod as it would violate the pod's disruption budget. The disruption budget {pdb_name} needs {} healthy pods and has {healthy} currently", pdb["spec"]["minAvailable"].as_i64().unwrap_or(expected - pdb["spec"]["maxUnavailable"].as_i64().unwrap_or(0))) });
            }
        }
    }
    store.delete(&pods_rt, ns, name)?;
    Ok((
        201,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    ))
}

/// A merge patch written against a served version, converted field by field.
fn into_patch(api: &ApiServer, rt: &ResourceType, from: &str, to: &str, patch: Value) -> Value {
    if from == to {
        return patch;
    }
    (api.converter)(rt, from, to, patch)
}

#[cfg(test)]
mod tests {

    #[test]
    fn k0s_versions_report_the_kubernetes_git_version() {
        assert_eq!(kube_git_version("v1.32.6+k0s.0"), "v1.32.6+k0s");
        assert_eq!(kube_git_version("v1.33.1-k0s.1"), "v1.33.1+k0s");
        assert_eq!(kube_git_version("v1.20.2"), "v1.20.2");
    }
    use super::*;

    #[test]
    fn paths_split_namespaced_and_cluster_scoped() {
        let mut s = Store::default();
        s.register(ResourceType::new(
            "",
            &["v1"],
            "Namespace",
            "namespaces",
            false,
        ));
        s.register(ResourceType::new("", &["v1"], "Secret", "secrets", true));
        let t = parse_path("/api/v1/namespaces/kmc/secrets/a", &s).unwrap();
        assert_eq!(
            (t.namespace.as_deref(), t.plural.as_str(), t.name.as_deref()),
            (Some("kmc"), "secrets", Some("a"))
        );
        let t = parse_path("/api/v1/namespaces/kmc", &s).unwrap();
        assert_eq!(
            (t.namespace, t.plural.as_str(), t.name.as_deref()),
            (None, "namespaces", Some("kmc"))
        );
        let t = parse_path("/api/v1/secrets", &s).unwrap();
        assert_eq!((t.namespace, t.name), (None, None));
        assert_eq!(
            template(
                &Method::GET,
                &parse_path("/api/v1/namespaces/x/secrets/y", &s).unwrap()
            ),
            "GET /api/v1/namespaces/{ns}/secrets/{name}"
        );
    }

    #[test]
    fn version_priority_prefers_ga_then_newest_beta() {
        let mut v = vec!["v1beta1", "v1", "v1beta2", "v1alpha1"];
        v.sort_by_key(|x| std::cmp::Reverse(version_priority(x)));
        assert_eq!(v, vec!["v1", "v1beta2", "v1beta1", "v1alpha1"]);
    }
}
