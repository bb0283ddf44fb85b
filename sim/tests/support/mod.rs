//! A tiny OpenStack client for the simulator's tests: a token, and JSON requests with an
//! optional Nova microversion. Deliberately naive: the provider's real client is tested
//! elsewhere; these tests are about what the simulator answers.

#![allow(dead_code)]

use std::time::Duration;

use k0stack_sim::openstack::{OpenStackOptions, OpenStackSim};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

pub struct Cloud {
    pub sim: OpenStackSim,
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }
}

pub fn password_auth(user: &str, password: &str, project: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}})
}

impl Cloud {
    pub async fn start(opts: OpenStackOptions) -> Self {
        let sim = OpenStackSim::start(opts).await.expect("sim starts");
        let http = reqwest::Client::new();
        let base = sim.base_url();
        let mut c = Self {
            sim,
            http,
            base,
            token: String::new(),
        };
        c.token = c.new_token().await;
        c
    }

    pub async fn new_token(&self) -> String {
        let cr = self.sim.credentials();
        let a = self
            .call(
                "POST",
                "/identity/v3/auth/tokens",
                Some(password_auth(&cr.user_name, &cr.password, &cr.project_name)),
                None,
                None,
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.header("x-subject-token").expect("X-Subject-Token")
    }

    /// A request; `token` None: the cloud's token, Some(""): no token at all.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        microversion: Option<&str>,
        token: Option<&str>,
    ) -> Answer {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut rb = self
            .http
            .request(method.parse().expect("method"), url)
            .timeout(Duration::from_secs(20));
        let tok = token.unwrap_or(&self.token);
        if !tok.is_empty() {
            rb = rb.header("x-auth-token", tok);
        }
        if let Some(mv) = microversion {
            rb = rb.header("openstack-api-version", format!("compute {mv}"));
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, mv: Option<&str>) -> Answer {
        self.call("GET", path, None, mv, None).await
    }

    pub async fn post(&self, path: &str, body: Value, mv: Option<&str>) -> Answer {
        self.call("POST", path, Some(body), mv, None).await
    }

    /// Creates a server from `server` (the inner object) at 2.90; returns its id.
    pub async fn create_server(&self, server: Value) -> String {
        self.create_server_with(json!({ "server": server })).await
    }

    pub async fn create_server_with(&self, body: Value) -> String {
        let a = self.post("/compute/v2.1/servers", body, Some("2.90")).await;
        assert_eq!(a.status, 202, "{}", a.body);
        a.body["server"]["id"].as_str().expect("id").to_string()
    }

    pub async fn server(&self, id: &str) -> Answer {
        self.get(&format!("/compute/v2.1/servers/{id}"), Some("2.90"))
            .await
    }

    /// Waits until the server's status is `want` (panics after 10 s).
    pub async fn wait_status(&self, id: &str, want: &str) -> Value {
        for _ in 0..200 {
            let a = self.server(id).await;
            if a.body["server"]["status"] == want {
                return a.body["server"].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "server {id} never reached {want}: {:?}",
            self.server(id).await.body
        );
    }
}

/// Keys of `sample` (recursively: objects by key, arrays by their first element) missing
/// from `actual`. Values that are null on either side are not descended into.
pub fn missing_keys(sample: &Value, actual: &Value) -> Vec<String> {
    fn walk(s: &Value, a: &Value, path: &str, out: &mut Vec<String>) {
        match (s, a) {
            (Value::Object(so), Value::Object(ao)) => {
                for (k, sv) in so {
                    let p = format!("{path}.{k}");
                    match ao.get(k) {
                        None => out.push(p),
                        Some(av) => walk(sv, av, &p, out),
                    }
                }
            }
            (Value::Array(sa), Value::Array(aa)) => {
                if let (Some(sf), Some(af)) = (sa.first(), aa.first()) {
                    walk(sf, af, &format!("{path}[0]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(sample, actual, "", &mut out);
    out
}

pub fn ubuntu() -> &'static str {
    "5d1d4f6e-0b47-4a3c-9f6b-2c1e8b6f0a01"
}

pub fn private_net() -> &'static str {
    "db193ab3-96e3-4cb3-8fc5-05f4296d0324"
}

pub fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
