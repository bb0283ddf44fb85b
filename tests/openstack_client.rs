//! The provider's OpenStack client against an in-test mock cloud (Keystone, Nova, Glance,
//! Neutron on one listener): re-authentication, retries, Retry-After, coalescing, the
//! concurrency limit, error messages, and that no secret reaches the logs.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use k0stack::framework::Secret;
use k0stack::openstack::{
    Auth, Backoff, ClientOptions, CreateServer, Interface, NameOrId, OpenStack, OpenStackConfig,
    OsError, ServerQuery,
};

const PASSWORD: &str = "super-secret-password-1234";

/// One request as the mock saw it.
#[derive(Clone, Debug)]
struct Req {
    method: String,
    /// Path without the query.
    path: String,
    query: String,
    token: Option<String>,
    microversion: Option<String>,
    body: Value,
}

/// What the mock answers; `delay` is waited before answering (counted as in flight).
struct Resp {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
    delay: Duration,
}

fn ok(body: Value) -> Resp {
    Resp {
        status: 200,
        headers: vec![],
        body,
        delay: Duration::ZERO,
    }
}

fn status(status: u16, body: Value) -> Resp {
    Resp {
        status,
        headers: vec![],
        body,
        delay: Duration::ZERO,
    }
}

type Handler = Arc<dyn Fn(&Req, usize) -> Option<Resp> + Send + Sync>;

/// A mock cloud. Keystone is built in (tokens `tok-1`, `tok-2`, ...); everything else
/// goes to the test's handler, which gets the request and how many times this
/// `METHOD /path` was called before (0 for the first).
struct Mock {
    base: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
    max_in_flight: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Req>>>,
}

impl Mock {
    async fn start(handler: impl Fn(&Req, usize) -> Option<Resp> + Send + Sync + 'static) -> Self {
        Self::start_with(handler, 401).await
    }

    /// `bad_password_status`: what Keystone answers a wrong password.
    async fn start_with(
        handler: impl Fn(&Req, usize) -> Option<Resp> + Send + Sync + 'static,
        bad_password_status: u16,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let handler: Handler = Arc::new(handler);
        let counts = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let tokens = Arc::new(AtomicUsize::new(0));
        let state = (
            base.clone(),
            handler,
            counts.clone(),
            in_flight,
            max_in_flight.clone(),
            requests.clone(),
            tokens,
        );
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |r: hyper::Request<hyper::body::Incoming>| {
                        let (base, handler, counts, in_flight, max_in_flight, requests, tokens) =
                            state.clone();
                        async move {
                            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                            max_in_flight.fetch_max(now, Ordering::SeqCst);
                            let method = r.method().to_string();
                            let path = r.uri().path().to_string();
                            let query = r.uri().query().unwrap_or("").to_string();
                            let hdr = |k: &str| {
                                r.headers()
                                    .get(k)
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_string)
                            };
                            let token = hdr("x-auth-token");
                            let microversion = hdr("openstack-api-version");
                            let bytes = r.into_body().collect().await.unwrap().to_bytes();
                            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let req = Req {
                                method,
                                path,
                                query,
                                token,
                                microversion,
                                body,
                            };
                            requests.lock().unwrap().push(req.clone());
                            let key = format!("{} {}", req.method, req.path);
                            let n = {
                                let mut c = counts.lock().unwrap();
                                let e = c.entry(key).or_insert(0);
                                *e += 1;
                                *e - 1
                            };
                            let resp = if req.path == "/identity/v3/auth/tokens" {
                                keystone(&base, &req, &tokens, bad_password_status)
                            } else {
                                handler(&req, n).unwrap_or_else(|| {
                                    status(404, json!({"itemNotFound": {"code": 404, "message": "no such thing in the mock"}}))
                                })
                            };
                            tokio::time::sleep(resp.delay).await;
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                            let mut b = hyper::Response::builder().status(resp.status);
                            for (k, v) in resp.headers {
                                b = b.header(k, v);
                            }
                            let body = if resp.body.is_null() {
                                Bytes::new()
                            } else {
                                Bytes::from(resp.body.to_string())
                            };
                            Ok::<_, Infallible>(
                                b.header("content-type", "application/json")
                                    .body(Full::new(body))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Mock {
            base,
            counts,
            max_in_flight,
            requests,
        }
    }

    fn count(&self, key: &str) -> usize {
        self.counts.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    fn config(&self, max_retries: u32) -> OpenStackConfig {
        OpenStackConfig {
            auth_url: format!("{}/identity/v3", self.base),
            region: Some("RegionOne".into()),
            interface: Interface::Public,
            auth: Auth::Password {
                user: NameOrId::Name("demo".into()),
                user_domain: NameOrId::Name("Default".into()),
                password: Secret::new(PASSWORD),
                project: NameOrId::Name("demo".into()),
                project_domain: NameOrId::Id("default".into()),
            },
            cacert_file: None,
            insecure: false,
            max_retries,
            origin: "test".into(),
        }
    }

    fn client(&self, max_retries: u32) -> OpenStack {
        OpenStack::with_options(&self.config(max_retries), fast()).unwrap()
    }
}

fn fast() -> ClientOptions {
    ClientOptions {
        backoff: Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
        },
        ..Default::default()
    }
}

fn keystone(base: &str, req: &Req, tokens: &AtomicUsize, bad_status: u16) -> Resp {
    let pw = &req.body["auth"]["identity"]["password"]["user"]["password"];
    if pw != PASSWORD {
        return status(
            bad_status,
            json!({"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}),
        );
    }
    let n = tokens.fetch_add(1, Ordering::SeqCst) + 1;
    let ep = |url: String| {
        json!([
            {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": url},
            {"interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": url}
        ])
    };
    Resp {
        status: 201,
        headers: vec![("X-Subject-Token", format!("tok-{n}"))],
        body: json!({"token": {
            "issued_at": "2030-01-01T00:00:00.000000Z",
            "expires_at": "2030-01-01T01:00:00.000000Z",
            "project": {"id": "proj-1", "name": "demo", "domain": {"id": "default"}},
            "catalog": [
                {"type": "identity", "name": "keystone", "endpoints": ep(format!("{base}/identity"))},
                {"type": "compute", "name": "nova", "endpoints": ep(format!("{base}/compute/v2.1"))},
                {"type": "image", "name": "glance", "endpoints": ep(format!("{base}/image"))},
                {"type": "network", "name": "neutron", "endpoints": ep(format!("{base}/network"))}
            ]
        }}),
        delay: Duration::ZERO,
    }
}

fn server_json(id: &str, name: &str) -> Value {
    json!({
        "id": id, "name": name, "status": "ACTIVE", "tags": ["k0stack"],
        "metadata": {}, "flavor": {"original_name": "m1.small"},
        "image": {"id": "img-1"},
        "addresses": {"private": [{"addr": "127.100.1.5", "version": 4, "OS-EXT-IPS:type": "fixed"}]},
        "OS-EXT-AZ:availability_zone": "nova", "created": "2030-01-01T00:00:00Z", "hostId": "h1"
    })
}

fn flavors() -> Value {
    json!({"flavors": [
        {"id": "1", "name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20},
        {"id": "2", "name": "m1.medium", "vcpus": 2, "ram": 4096, "disk": 40}
    ]})
}

#[tokio::test]
async fn token_is_reused_and_nova_requests_carry_the_microversion() {
    let mock = Mock::start(|r, _| match r.path.as_str() {
        "/compute/v2.1/servers/detail" => Some(ok(json!({"servers": [server_json("s1", "w-1")]}))),
        "/compute/v2.1/flavors/detail" => Some(ok(flavors())),
        _ => None,
    })
    .await;
    let os = mock.client(0);
    assert_eq!(
        os.list_servers(&ServerQuery::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(os.find_flavor("m1.medium").await.unwrap().id, "2");
    assert_eq!(os.find_flavor("1").await.unwrap().name, "m1.small");
    assert_eq!(mock.count("POST /identity/v3/auth/tokens"), 1);
    let reqs = mock.requests.lock().unwrap().clone();
    let auth = &reqs[0];
    assert_eq!(
        auth.body["auth"]["scope"],
        json!({"project": {"name": "demo", "domain": {"id": "default"}}})
    );
    for r in reqs.iter().filter(|r| r.path.starts_with("/compute")) {
        assert_eq!(r.microversion.as_deref(), Some("compute 2.90"));
        assert_eq!(r.token.as_deref(), Some("tok-1"));
    }
}

#[tokio::test]
async fn a_401_mid_operation_reauthenticates_once_and_succeeds() {
    let mock = Mock::start(|r, _| match (r.path.as_str(), r.token.as_deref()) {
        ("/compute/v2.1/servers/detail", Some("tok-1")) => Some(status(
            401,
            json!({"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}),
        )),
        ("/compute/v2.1/servers/detail", _) => Some(ok(json!({"servers": [server_json("s1", "w-1")]}))),
        _ => None,
    })
    .await;
    let os = mock.client(0);
    let servers = os.list_servers(&ServerQuery::default()).await.unwrap();
    assert_eq!(servers[0].id, "s1");
    assert_eq!(mock.count("POST /identity/v3/auth/tokens"), 2);
    assert_eq!(mock.count("GET /compute/v2.1/servers/detail"), 2);
}

#[tokio::test]
async fn a_persistent_401_is_an_error_after_one_reauthentication() {
    let mock = Mock::start(|r, _| {
        (r.path == "/compute/v2.1/limits").then(|| {
            status(
                401,
                json!({"error": {"code": 401, "message": "token revoked", "title": "Unauthorized"}}),
            )
        })
    })
    .await;
    let os = mock.client(3);
    let e = os.limits().await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(mock.count("POST /identity/v3/auth/tokens"), 2);
    assert_eq!(mock.count("GET /compute/v2.1/limits"), 2);
}

#[tokio::test]
async fn wrong_credentials_are_an_auth_error_and_not_retried() {
    let mock = Mock::start(|_, _| None).await;
    let mut cfg = mock.config(5);
    if let Auth::Password { password, .. } = &mut cfg.auth {
        *password = Secret::new("wrong-password-xyz");
    }
    let os = OpenStack::with_options(&cfg, fast()).unwrap();
    let e = os.limits().await.unwrap_err();
    assert!(matches!(e, OsError::Auth { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("user 'demo'"), "{msg}");
    assert!(msg.contains("requires authentication"), "{msg}");
    assert!(!msg.contains("wrong-password-xyz"));
    assert!(!format!("{e:?}").contains("wrong-password-xyz"));
    assert_eq!(mock.count("POST /identity/v3/auth/tokens"), 1);
}

#[tokio::test]
async fn retry_after_on_429_is_honoured() {
    let mock = Mock::start(|r, n| {
        (r.path == "/compute/v2.1/limits").then(|| {
            if n == 0 {
                Resp {
                    status: 429,
                    headers: vec![("Retry-After", "1".into())],
                    body: json!({"overLimit": {"code": 429, "message": "slow down"}}),
                    delay: Duration::ZERO,
                }
            } else {
                ok(json!({"limits": {"absolute": {"maxTotalInstances": 10, "totalInstancesUsed": 2}}}))
            }
        })
    })
    .await;
    let os = mock.client(3);
    os.project_id().await.unwrap();
    let t = Instant::now();
    let l = os.limits().await.unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(
        (l.max_instances, l.used_instances, l.max_cores),
        (10, 2, -1)
    );
    assert_eq!(mock.count("GET /compute/v2.1/limits"), 2);
}

/// The retry policy waits on tokio's clock: with the clock paused, a 30 s Retry-After and
/// the default backoff are honoured in full (tokio time advances) while the test takes
/// no wall time — no sleeps in the test suite.
#[tokio::test(start_paused = true)]
async fn retry_waits_are_on_the_paused_tokio_clock() {
    let mock = Mock::start(|r, n| {
        (r.path == "/compute/v2.1/limits").then(|| match n {
            0 | 1 => Resp {
                status: 429,
                headers: vec![("Retry-After", "30".into())],
                body: json!({"overLimit": {"code": 429, "message": "slow down"}}),
                delay: Duration::ZERO,
            },
            2 => status(
                503,
                json!({"computeFault": {"code": 503, "message": "busy"}}),
            ),
            _ => ok(
                json!({"limits": {"absolute": {"maxTotalInstances": 10, "totalInstancesUsed": 2}}}),
            ),
        })
    })
    .await;
    // Default options: real backoff (500 ms base, 20 s cap, half jitter).
    let os = OpenStack::new(&mock.config(5)).unwrap();
    os.project_id().await.unwrap();
    let (wall, clock) = (Instant::now(), tokio::time::Instant::now());
    let l = os.limits().await.unwrap();
    let waited = clock.elapsed();
    assert_eq!(l.max_instances, 10);
    assert_eq!(mock.count("GET /compute/v2.1/limits"), 4);
    // Two Retry-After: 30 waits, then one backoff step (attempt 2: 1-2 s with jitter).
    assert!(waited >= Duration::from_secs(61), "{waited:?}");
    assert!(waited <= Duration::from_secs(63), "{waited:?}");
    assert!(
        wall.elapsed() < Duration::from_secs(5),
        "{:?}",
        wall.elapsed()
    );
}

#[tokio::test]
async fn a_503_is_retried_then_succeeds() {
    let mock = Mock::start(|r, n| {
        (r.path == "/compute/v2.1/servers/detail").then(|| {
            if n < 2 {
                status(
                    503,
                    json!({"computeFault": {"code": 503, "message": "busy"}}),
                )
            } else {
                ok(json!({"servers": []}))
            }
        })
    })
    .await;
    let os = mock.client(3);
    assert!(os
        .list_servers(&ServerQuery::default())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(mock.count("GET /compute/v2.1/servers/detail"), 3);
}

#[tokio::test]
async fn exhausted_retries_name_method_path_and_attempts() {
    let mock = Mock::start(|r, _| {
        (r.path == "/compute/v2.1/servers/detail").then(|| {
            status(
                503,
                json!({"computeFault": {"code": 503, "message": "Nova is down"}}),
            )
        })
    })
    .await;
    let os = mock.client(2);
    let e = os
        .list_servers(&ServerQuery {
            tags: vec!["k0stack".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "GET /compute/v2.1/servers/detail?tags=k0stack: HTTP 503 computeFault: Nova is down"
        ),
        "{msg}"
    );
    assert!(msg.ends_with("(gave up after 3 attempts)"), "{msg}");
    assert_eq!(e.status(), Some(503));
    assert_eq!(mock.count("GET /compute/v2.1/servers/detail"), 3);
}

#[tokio::test]
async fn server_create_is_not_retried_on_500_but_is_on_503_and_429() {
    let mock = Mock::start(|r, n| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/compute/v2.1/servers") => Some(match (r.body["server"]["name"].as_str(), n) {
            (Some("five-hundred"), _) => status(
                500,
                json!({"computeFault": {"code": 500, "message": "oops"}}),
            ),
            (_, 1) => status(
                503,
                json!({"computeFault": {"code": 503, "message": "busy"}}),
            ),
            (_, 2) => Resp {
                status: 429,
                headers: vec![("Retry-After", "0".into())],
                body: Value::Null,
                delay: Duration::ZERO,
            },
            _ => Resp {
                status: 202,
                headers: vec![],
                body: json!({"server": {"id": "new-id", "adminPass": "x"}}),
                delay: Duration::ZERO,
            },
        }),
        _ => None,
    })
    .await;
    let os = mock.client(5);
    let req = |name: &str| CreateServer {
        name: name.into(),
        flavor_id: "1".into(),
        image_id: Some("img-1".into()),
        user_data: Some(Secret::new("#cloud-config\n")),
        ..Default::default()
    };
    let e = os.create_server(&req("five-hundred")).await.unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(mock.count("POST /compute/v2.1/servers"), 1);
    assert_eq!(os.create_server(&req("ok")).await.unwrap(), "new-id");
    assert_eq!(mock.count("POST /compute/v2.1/servers"), 4);
    let reqs = mock.requests.lock().unwrap().clone();
    let last = reqs
        .iter()
        .rev()
        .find(|r| r.method == "POST" && r.path.ends_with("/servers"))
        .unwrap();
    assert_eq!(last.body["server"]["user_data"], "I2Nsb3VkLWNvbmZpZwo=");
    assert_eq!(last.body["server"]["networks"], "auto");
}

#[tokio::test]
async fn concurrent_identical_lists_share_one_request() {
    let mock = Mock::start(|r, _| match r.path.as_str() {
        "/compute/v2.1/servers/detail" => Some(Resp {
            delay: Duration::from_millis(200),
            ..ok(json!({"servers": [server_json("s1", "w-1"), server_json("s2", "w-2")]}))
        }),
        "/compute/v2.1/flavors/detail" => Some(Resp {
            delay: Duration::from_millis(200),
            ..ok(flavors())
        }),
        _ => None,
    })
    .await;
    let os = mock.client(0);
    let q = ServerQuery {
        tags: vec!["k0stack".into(), "k0stack-pool=p1".into()],
        ..Default::default()
    };
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let os = os.clone();
            let q = q.clone();
            tokio::spawn(async move { os.list_servers(&q).await })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap().len(), 2);
    }
    assert_eq!(mock.count("GET /compute/v2.1/servers/detail"), 1);
    assert_eq!(mock.count("POST /identity/v3/auth/tokens"), 1);
    let flavors: Vec<_> = (0..10)
        .map(|i| {
            let os = os.clone();
            tokio::spawn(async move {
                os.find_flavor(if i % 2 == 0 { "m1.small" } else { "m1.medium" })
                    .await
            })
        })
        .collect();
    for f in flavors {
        f.await.unwrap().unwrap();
    }
    assert_eq!(mock.count("GET /compute/v2.1/flavors/detail"), 1);
    // Nothing is cached: the next call asks again.
    os.list_servers(&q).await.unwrap();
    assert_eq!(mock.count("GET /compute/v2.1/servers/detail"), 2);
    // A different query is a different request.
    os.list_servers(&ServerQuery::default()).await.unwrap();
    assert_eq!(mock.count("GET /compute/v2.1/servers/detail"), 3);
}

#[tokio::test]
async fn no_more_than_the_limit_in_flight_per_service() {
    let mock = Mock::start(|r, _| {
        r.path
            .strip_prefix("/compute/v2.1/servers/")
            .map(|id| Resp {
                delay: Duration::from_millis(50),
                ..ok(json!({"server": server_json(id, id)}))
            })
    })
    .await;
    let opts = ClientOptions {
        concurrency_per_service: 3,
        ..fast()
    };
    let os = OpenStack::with_options(&mock.config(0), opts).unwrap();
    let calls: Vec<_> = (0..30)
        .map(|i| {
            let os = os.clone();
            tokio::spawn(async move { os.get_server(&format!("s{i}")).await })
        })
        .collect();
    for c in calls {
        assert!(c.await.unwrap().unwrap().is_some());
    }
    assert_eq!(mock.max_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn pagination_follows_markers() {
    let mock = Mock::start(|r, _| {
        (r.path == "/compute/v2.1/servers/detail").then(|| {
            let q: HashMap<String, String> = url::form_urlencoded::parse(r.query.as_bytes())
                .into_owned()
                .collect();
            assert_eq!(q.get("tags").map(String::as_str), Some("k0stack"));
            let all: Vec<String> = (0..5).map(|i| format!("s{i}")).collect();
            let start = q
                .get("marker")
                .map(|m| all.iter().position(|x| x == m).unwrap() + 1)
                .unwrap_or(0);
            let page: Vec<Value> = all[start..]
                .iter()
                .take(2)
                .map(|id| server_json(id, id))
                .collect();
            let mut body = json!({ "servers": page });
            if start + 2 < all.len() {
                body["servers_links"] = json!([{
                    "rel": "next",
                    "href": format!("http://nova.internal:8774/v2.1/servers/detail?limit=2&marker={}&tags=k0stack", all[start + 1])
                }]);
            }
            ok(body)
        })
    })
    .await;
    let os = mock.client(0);
    let q = ServerQuery {
        tags: vec!["k0stack".into()],
        ..Default::default()
    };
    let ids: Vec<String> = os
        .list_servers(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec!["s0", "s1", "s2", "s3", "s4"]);
    assert_eq!(mock.count("GET /compute/v2.1/servers/detail"), 3);
}

#[tokio::test]
async fn lookups_give_actionable_errors() {
    let mock = Mock::start(|r, _| match r.path.as_str() {
        "/compute/v2.1/flavors/detail" => Some(ok(flavors())),
        "/compute/v2.1/os-keypairs" => Some(ok(json!({"keypairs": [{"keypair": {"name": "demo", "fingerprint": "aa:bb"}}]}))),
        "/image/v2/images" => {
            let q: HashMap<String, String> = url::form_urlencoded::parse(r.query.as_bytes()).into_owned().collect();
            let all = [("i1", "ubuntu-24.04"), ("i2", "duplicate-name"), ("i3", "duplicate-name")];
            let images: Vec<Value> = all
                .iter()
                .filter(|(_, n)| q.get("name").is_none_or(|w| w == n))
                .map(|(id, n)| json!({"id": id, "name": n, "status": "active"}))
                .collect();
            Some(ok(json!({"images": images, "first": "/v2/images"})))
        }
        "/network/v2.0/networks" => {
            let nets = json!([{"id": "n1", "name": "private", "subnets": ["sub1"]}, {"id": "n2", "name": "public", "subnets": []}]);
            let name = url::form_urlencoded::parse(r.query.as_bytes()).find(|(k, _)| k == "name").map(|(_, v)| v.into_owned());
            let nets: Vec<Value> = nets.as_array().unwrap().iter().filter(|n| name.as_deref().is_none_or(|w| n["name"] == w)).cloned().collect();
            Some(ok(json!({"networks": nets})))
        }
        "/network/v2.0/security-groups" => {
            assert!(r.query.contains("project_id=proj-1"), "{}", r.query);
            let want = url::form_urlencoded::parse(r.query.as_bytes()).find(|(k, _)| k == "name").map(|(_, v)| v.into_owned());
            let groups: Vec<Value> = [("g1", "default"), ("g2", "k0s-worker")]
                .iter()
                .filter(|(_, n)| want.as_deref().is_none_or(|w| w == *n))
                .map(|(id, n)| json!({"id": id, "name": n}))
                .collect();
            Some(ok(json!({"security_groups": groups})))
        }
        "/network/v2.0/networks/5bbcc3c4-1da2-4437-a48a-66f15b1b13f9" => Some(status(
            404,
            json!({"NeutronError": {"type": "NetworkNotFound", "message": "Network 5bbcc3c4-1da2-4437-a48a-66f15b1b13f9 could not be found.", "detail": ""}}),
        )),
        _ => None,
    })
    .await;
    let os = mock.client(0);
    let e = os.find_flavor("m1.hugee").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "flavor 'm1.hugee' not found; available: m1.medium, m1.small"
    );
    assert!(e.is_not_found());
    assert_eq!(os.find_keypair("demo").await.unwrap().fingerprint, "aa:bb");
    assert_eq!(
        os.find_keypair("nope").await.unwrap_err().to_string(),
        "keypair 'nope' not found; available: demo"
    );
    assert_eq!(os.find_image("ubuntu-24.04").await.unwrap().id, "i1");
    let e = os.find_image("duplicate-name").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "image name 'duplicate-name' is ambiguous: 2 images have it (i2, i3); use the id instead"
    );
    let e = os.find_image("debian").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "image 'debian' not found; available: duplicate-name, ubuntu-24.04"
    );
    let n = os.find_network("private").await.unwrap();
    assert_eq!((n.id.as_str(), n.subnets.len()), ("n1", 1));
    let e = os
        .find_network("5bbcc3c4-1da2-4437-a48a-66f15b1b13f9")
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "network '5bbcc3c4-1da2-4437-a48a-66f15b1b13f9' not found; available: private, public"
    );
    assert_eq!(os.find_security_group("k0s-worker").await.unwrap().id, "g2");
    assert!(os
        .find_security_group("web")
        .await
        .unwrap_err()
        .is_not_found());
}

#[tokio::test]
async fn missing_objects_api_errors_and_quota() {
    let mock = Mock::start(|r, n| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/compute/v2.1/servers/gone") | ("DELETE", "/compute/v2.1/servers/gone") => Some(status(
            404,
            json!({"itemNotFound": {"code": 404, "message": "Instance gone could not be found."}}),
        )),
        ("DELETE", "/compute/v2.1/servers/busy") => Some(if n == 0 {
            status(409, json!({"conflictingRequest": {"code": 409, "message": "Cannot 'delete' instance busy while it is in task_state rebuilding"}}))
        } else {
            Resp { status: 204, headers: vec![], body: Value::Null, delay: Duration::ZERO }
        }),
        ("POST", "/compute/v2.1/servers") => Some(status(
            403,
            json!({"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"}}),
        )),
        ("POST", "/compute/v2.1/os-server-groups") => {
            assert_eq!(r.body, json!({"server_group": {"name": "pool-a", "policy": "soft-anti-affinity"}}));
            Some(ok(json!({"server_group": {"id": "g1", "name": "pool-a", "policy": "soft-anti-affinity", "members": [], "rules": {}}})))
        }
        ("GET", "/compute/v2.1/os-server-groups/g1") => Some(ok(json!({"server_group": {"id": "g1", "name": "pool-a", "policy": "soft-anti-affinity", "members": ["s1"]}}))),
        ("DELETE", "/compute/v2.1/os-server-groups/g1") => Some(Resp { status: 204, headers: vec![], body: Value::Null, delay: Duration::ZERO }),
        _ => None,
    })
    .await;
    let os = mock.client(2);
    assert_eq!(os.get_server("gone").await.unwrap(), None);
    os.delete_server("gone").await.unwrap();
    os.delete_server("busy").await.unwrap();
    assert_eq!(mock.count("DELETE /compute/v2.1/servers/busy"), 2);
    let e = os
        .create_server(&CreateServer {
            name: "w".into(),
            flavor_id: "1".into(),
            image_id: Some("i".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(e.is_quota(), "{e:?}");
    assert_eq!(
        e.to_string(),
        "POST /compute/v2.1/servers: HTTP 403 forbidden: Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"
    );
    let g = os
        .create_server_group("pool-a", "soft-anti-affinity")
        .await
        .unwrap();
    assert_eq!(g.id, "g1");
    assert_eq!(
        os.get_server_group("g1").await.unwrap().unwrap().members,
        vec!["s1"]
    );
    assert_eq!(os.get_server_group("g2").await.unwrap(), None);
    os.delete_server_group("g1").await.unwrap();
    os.delete_server_group("g2").await.unwrap();
    assert!(matches!(
        os.create_server_group("x", "spread").await,
        Err(OsError::Config(_))
    ));
}

#[tokio::test]
async fn a_region_missing_from_the_catalog_is_a_clear_error() {
    let mock = Mock::start(|_, _| None).await;
    let mut cfg = mock.config(0);
    cfg.region = Some("RegionTwo".into());
    let os = OpenStack::with_options(&cfg, fast()).unwrap();
    let e = os.limits().await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("the service catalog has no compute endpoint for interface public in region RegionTwo; available: identity (public RegionOne, internal RegionOne), compute"), "{msg}");
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    // Bind and drop a listener: the port then refuses connections.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = OpenStackConfig {
        auth_url: format!("http://127.0.0.1:{port}/identity/v3"),
        ..Mock {
            base: String::new(),
            counts: Default::default(),
            max_in_flight: Default::default(),
            requests: Default::default(),
        }
        .config(2)
    };
    let os = OpenStack::with_options(&cfg, fast()).unwrap();
    let e = os.limits().await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, OsError::Transport { .. }), "{e:?}");
    assert!(
        msg.starts_with("POST /identity/v3/auth/tokens: cannot connect"),
        "{msg}"
    );
    assert!(msg.ends_with("(gave up after 3 attempts)"), "{msg}");
}

/// Captured log output.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_logs_have_method_path_status_duration_but_no_secret() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests of this binary run in parallel without a subscriber; one of them may have
    // registered a log callsite while this thread's subscriber was not there yet, caching
    // "never interested". Recompute every callsite's interest with this subscriber in place.
    tracing::callsite::rebuild_interest_cache();
    let mock = Mock::start(|r, n| match r.path.as_str() {
        "/compute/v2.1/servers/detail" if n == 0 => Some(status(
            401,
            json!({"error": {"code": 401, "message": "expired", "title": "Unauthorized"}}),
        )),
        "/compute/v2.1/servers/detail" => Some(ok(json!({"servers": []}))),
        "/compute/v2.1/servers" => Some(Resp {
            status: 202,
            headers: vec![],
            body: json!({"server": {"id": "x"}}),
            delay: Duration::ZERO,
        }),
        _ => None,
    })
    .await;
    let os = mock.client(1);
    os.list_servers(&ServerQuery::default()).await.unwrap();
    os.create_server(&CreateServer {
        name: "w".into(),
        flavor_id: "1".into(),
        image_id: Some("i".into()),
        user_data: Some(Secret::new("join-token-very-secret")),
        ..Default::default()
    })
    .await
    .unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("method=POST path=/identity/v3/auth/tokens status=201"),
        "{text}"
    );
    assert!(
        text.contains("method=GET path=/compute/v2.1/servers/detail status=401"),
        "{text}"
    );
    assert!(
        text.contains("method=GET path=/compute/v2.1/servers/detail status=200 duration_ms="),
        "{text}"
    );
    for secret in [
        PASSWORD,
        "tok-1",
        "tok-2",
        "join-token-very-secret",
        "am9pbi10b2tlbi",
    ] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
    assert!(!format!("{os:?}").contains(PASSWORD));
}

/// The same client against the OpenStack half of k0stack-sim.
mod against_the_simulator {
    use super::*;
    use k0stack_sim::openstack::{FaultsPatch, OpenStackOptions, OpenStackSim};

    async fn sim() -> OpenStackSim {
        OpenStackSim::start(OpenStackOptions {
            boot_latency: Duration::from_millis(100),
            ..Default::default()
        })
        .await
        .unwrap()
    }

    fn password_config(sim: &OpenStackSim, max_retries: u32) -> OpenStackConfig {
        let c = sim.credentials();
        OpenStackConfig {
            auth_url: sim.auth_url(),
            region: Some(c.region),
            interface: Interface::Public,
            auth: Auth::Password {
                user: NameOrId::Name(c.user_name),
                user_domain: NameOrId::Name(c.user_domain_name),
                password: Secret::new(c.password),
                project: NameOrId::Name(c.project_name),
                project_domain: NameOrId::Name(c.project_domain_name),
            },
            cacert_file: None,
            insecure: false,
            max_retries,
            origin: "sim".into(),
        }
    }

    fn client(sim: &OpenStackSim, max_retries: u32) -> OpenStack {
        OpenStack::with_options(&password_config(sim, max_retries), fast()).unwrap()
    }

    fn faults(sim: &OpenStackSim, patch: Value) {
        let p: FaultsPatch = serde_json::from_value(patch).unwrap();
        sim.faults().update(p).unwrap();
    }

    async fn wait_status(os: &OpenStack, id: &str, want: &str) -> k0stack::openstack::Server {
        for _ in 0..200 {
            if let Some(s) = os.get_server(id).await.unwrap() {
                if s.status == want {
                    return s;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("server {id} never became {want}");
    }

    /// 250 servers listed through Nova pages of 100 (`max_limit` lowered, as a cloud may
    /// configure it): every server once, in 3 requests.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pagination_over_250_servers() {
        let sim = sim().await;
        let os = client(&sim, 3);
        let flavor = os.find_flavor("m1.small").await.unwrap();
        let image = os.find_image("ubuntu-24.04").await.unwrap();
        let creates = (0..250).map(|i| {
            let os = os.clone();
            let (flavor, image) = (flavor.id.clone(), image.id.clone());
            async move {
                os.create_server(&CreateServer {
                    name: format!("page-{i:03}"),
                    flavor_id: flavor,
                    image_id: Some(image),
                    tags: vec!["k0stack".into(), "k0stack-pool=paged".into()],
                    ..Default::default()
                })
                .await
                .unwrap()
            }
        });
        let ids: std::collections::BTreeSet<String> = futures_util::future::join_all(creates)
            .await
            .into_iter()
            .collect();
        assert_eq!(ids.len(), 250);
        faults(&sim, json!({"max_limit": 100}));
        sim.counters().reset();
        let listed = os
            .list_servers(&ServerQuery {
                tags: vec!["k0stack-pool=paged".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let listed_ids: std::collections::BTreeSet<String> =
            listed.iter().map(|s| s.id.clone()).collect();
        assert_eq!(listed.len(), 250, "no server twice");
        assert_eq!(listed_ids, ids);
        assert_eq!(sim.counters().get("GET /compute/v2.1/servers/detail"), 3);
    }

    #[tokio::test]
    async fn create_list_and_delete_a_tagged_server() {
        let sim = sim().await;
        let os = client(&sim, 3);
        let flavor = os.find_flavor("m1.small").await.unwrap();
        assert_eq!((flavor.vcpus, flavor.ram_mb), (1, 2048));
        let image = os.find_image("ubuntu-24.04").await.unwrap();
        let net = os.find_network("private").await.unwrap();
        assert!(!net.subnets.is_empty());
        let sg = os.find_security_group("k0s-worker").await.unwrap();
        assert_eq!(sg.name, "k0s-worker");
        assert_eq!(os.find_keypair("demo").await.unwrap().name, "demo");
        let group = os
            .create_server_group("pool-a", "anti-affinity")
            .await
            .unwrap();
        assert_eq!(group.policy, "anti-affinity");
        let tags = vec!["k0stack".to_string(), "k0stack-pool=p1".to_string()];
        let mut metadata = std::collections::BTreeMap::new();
        metadata.insert("k0stack-index".to_string(), "0".to_string());
        let id = os
            .create_server(&CreateServer {
                name: "pool-a-0".into(),
                flavor_id: flavor.id.clone(),
                image_id: Some(image.id.clone()),
                networks: vec![net.id.clone()],
                security_groups: vec![sg.name.clone()],
                key_name: Some("demo".into()),
                user_data: Some(Secret::new("#cloud-config\nruncmd: [echo hi]\n")),
                metadata,
                tags: tags.clone(),
                availability_zone: Some("az1".into()),
                server_group: Some(group.id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        let s = wait_status(&os, &id, "ACTIVE").await;
        assert_eq!(s.name, "pool-a-0");
        assert_eq!(s.flavor_name.as_deref(), Some("m1.small"));
        assert_eq!(s.metadata["k0stack-index"], "0");
        assert!(s.tags.contains(&"k0stack-pool=p1".to_string()));
        let ip = s.first_ip(Some("private")).expect("an address on private");
        assert!(ip.starts_with("127.100."), "{ip}");
        let view = sim.servers().into_iter().find(|v| v.id == id).unwrap();
        assert_eq!(
            view.user_data.as_deref(),
            Some("#cloud-config\nruncmd: [echo hi]\n")
        );
        let listed = os
            .list_servers(&ServerQuery {
                tags: tags.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            vec![id.as_str()]
        );
        let other = os
            .list_servers(&ServerQuery {
                tags: vec!["k0stack".into(), "k0stack-pool=p2".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(other.is_empty());
        let by_name = os
            .list_servers(&ServerQuery {
                name: Some(k0stack::openstack::exact_name("pool-a-0")),
                status: Some("ACTIVE".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(by_name.len(), 1);
        assert_eq!(
            os.get_server_group(&group.id)
                .await
                .unwrap()
                .unwrap()
                .members,
            vec![id.clone()]
        );
        os.delete_server(&id).await.unwrap();
        for _ in 0..200 {
            if os.get_server(&id).await.unwrap().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(os.get_server(&id).await.unwrap(), None);
        os.delete_server(&id).await.unwrap();
        os.delete_server_group(&group.id).await.unwrap();
        assert_eq!(os.get_server_group(&group.id).await.unwrap(), None);
        let kinds: Vec<String> = sim.history().into_iter().map(|h| h.kind).collect();
        assert!(kinds.contains(&"server.create".to_string()), "{kinds:?}");
        assert!(kinds.contains(&"server.delete".to_string()), "{kinds:?}");
    }

    #[tokio::test]
    async fn application_credentials_and_limits() {
        let sim = sim().await;
        let c = sim.credentials();
        let mut cfg = password_config(&sim, 0);
        cfg.auth = Auth::ApplicationCredential {
            id: Some(c.application_credential_id),
            name: None,
            user: None,
            secret: Secret::new(c.application_credential_secret),
        };
        let os = OpenStack::with_options(&cfg, fast()).unwrap();
        let l = os.limits().await.unwrap();
        assert_eq!(l.max_instances, 1000);
        assert!(l.max_cores >= 4000, "{l:?}");
        assert_eq!(l.used_instances, 0);
    }

    #[tokio::test]
    async fn lookup_errors_list_what_exists() {
        let sim = sim().await;
        let os = client(&sim, 0);
        let e = os.find_flavor("m1.hugee").await.unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("flavor 'm1.hugee' not found; available: "),
            "{msg}"
        );
        for f in ["m1.small", "m1.medium", "m1.large", "g1.gpu"] {
            assert!(msg.contains(f), "{msg}");
        }
        let e = os.find_image("duplicate-name").await.unwrap_err();
        match &e {
            OsError::Ambiguous { matches, .. } => assert_eq!(matches.len(), 2),
            other => panic!("{other:?}"),
        }
        let e = os.find_network("nope").await.unwrap_err();
        assert!(e.to_string().contains("private"), "{e}");
        let e = os.find_security_group("nope").await.unwrap_err();
        assert!(e.to_string().contains("default"), "{e}");
        let e = os.find_keypair("nope").await.unwrap_err();
        assert_eq!(e.to_string(), "keypair 'nope' not found; available: demo");
    }

    #[tokio::test]
    async fn wrong_password_is_an_auth_error() {
        let sim = sim().await;
        let mut cfg = password_config(&sim, 3);
        if let Auth::Password { password, .. } = &mut cfg.auth {
            *password = Secret::new("not-the-password");
        }
        let os = OpenStack::with_options(&cfg, fast()).unwrap();
        let e = os.limits().await.unwrap_err();
        assert!(matches!(e, OsError::Auth { .. }), "{e:?}");
        assert_eq!(sim.counters().get("POST /identity/v3/auth/tokens"), 1);
    }

    #[tokio::test]
    async fn concurrent_lists_reach_the_simulator_once() {
        let sim = sim().await;
        let os = client(&sim, 0);
        os.limits().await.unwrap();
        faults(&sim, json!({"latency_ms": 150}));
        sim.counters().reset();
        let q = ServerQuery {
            tags: vec!["k0stack".into()],
            ..Default::default()
        };
        let calls: Vec<_> = (0..10)
            .map(|_| {
                let os = os.clone();
                let q = q.clone();
                tokio::spawn(async move { os.list_servers(&q).await })
            })
            .collect();
        for c in calls {
            c.await.unwrap().unwrap();
        }
        assert_eq!(
            sim.counters().get("GET /compute/v2.1/servers/detail"),
            1,
            "{:?}",
            sim.counters().snapshot()
        );
    }

    #[tokio::test]
    async fn injected_errors_and_rate_limits_are_retried() {
        let sim = sim().await;
        let os = client(&sim, 10);
        os.limits().await.unwrap();
        faults(&sim, json!({"error_rates": {"503": 0.3, "500": 0.2}}));
        sim.counters().reset();
        for i in 0..20 {
            // Distinct queries so each is its own request (no coalescing).
            os.list_servers(&ServerQuery {
                name: Some(format!("^n{i}$")),
                ..Default::default()
            })
            .await
            .unwrap();
        }
        let sent = sim.counters().get("GET /compute/v2.1/servers/detail");
        assert!(
            sent > 20,
            "with 50% errors some requests must have been retried: {sent}"
        );
        faults(
            &sim,
            json!({"error_rates": {}, "rate_limit": {"rate": 1.0, "retry_after_s": 1}}),
        );
        let t = Instant::now();
        let sim_faults = sim.faults();
        let lift = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            sim_faults
                .update(serde_json::from_value(json!({"rate_limit": null})).unwrap())
                .unwrap();
        });
        os.limits().await.unwrap();
        assert!(
            t.elapsed() >= Duration::from_secs(1),
            "Retry-After not honoured: {:?}",
            t.elapsed()
        );
        lift.await.unwrap();
    }

    #[tokio::test]
    async fn a_down_cloud_gives_a_clear_error_after_the_retries() {
        let sim = sim().await;
        let os = client(&sim, 2);
        os.limits().await.unwrap();
        faults(&sim, json!({"down": true}));
        let e = os.find_flavor("m1.small").await.unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("GET /compute/v2.1/flavors/detail: HTTP 503"),
            "{msg}"
        );
        assert!(msg.ends_with("(gave up after 3 attempts)"), "{msg}");
        faults(&sim, json!({"down": false}));
        os.find_flavor("m1.small").await.unwrap();
    }

    #[tokio::test]
    async fn short_lived_tokens_are_renewed_during_a_long_operation() {
        let sim = sim().await;
        faults(&sim, json!({"token_ttl_s": 1.0}));
        let os = client(&sim, 0);
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(2500) {
            os.limits().await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let auths = sim.counters().get("POST /identity/v3/auth/tokens");
        assert!((2..=10).contains(&auths), "{auths} token requests");
    }
}
