//! Keystone v3: tokens (password and application credential), the service catalog that
//! points back at this simulator, and token validation for the other services.
//!
//! Tokens expire after the current `token_ttl_s`, so clients' re-authentication paths
//! (401 mid-run) can be exercised in seconds rather than hours.

use std::time::SystemTime;

use serde_json::{json, Value};

use super::http::{self, Resp, Service};
use super::store::{iso_micros, new_hex_id, Token};
use super::{authorize_identity, Ctx, Req};

const UNAUTHORIZED: &str = "The request you have made requires authentication.";

/// The valid (unexpired) token, if any; expired ones are forgotten.
pub fn validate(ctx: &Ctx, token: &str) -> Option<Token> {
    let mut st = ctx.state.lock().expect("state");
    let t = st.tokens.get(token)?.clone();
    if SystemTime::now() >= t.expires_at {
        st.tokens.remove(token);
        return None;
    }
    Some(t)
}

pub fn handle(ctx: &Ctx, req: &Req) -> Resp {
    let segs = req.segs();
    let m = req.method.as_str();
    match (m, segs.as_slice()) {
        ("GET", []) => http::json(300, &json!({"versions": {"values": [version(ctx)]}})),
        ("GET", ["v3"]) => http::json(200, &json!({"version": version(ctx)})),
        ("POST", ["v3", "auth", "tokens"]) => issue(ctx, req),
        ("GET" | "HEAD", ["v3", "auth", "tokens"]) => {
            if let Err(r) = authorize_identity(ctx, req) {
                return r;
            }
            let subject = req
                .header("x-subject-token")
                .unwrap_or_default()
                .to_string();
            match validate(ctx, &subject) {
                Some(t) => {
                    let r = http::json(200, &token_body(ctx, &t));
                    http::with_header(r, "x-subject-token", &subject)
                }
                None => http::error(
                    Service::Identity,
                    404,
                    &format!("Could not find token: {subject}."),
                ),
            }
        }
        ("DELETE", ["v3", "auth", "tokens"]) => {
            if let Err(r) = authorize_identity(ctx, req) {
                return r;
            }
            let subject = req.header("x-subject-token").unwrap_or_default();
            match ctx.state.lock().expect("state").tokens.remove(subject) {
                Some(_) => http::empty(204),
                None => http::error(
                    Service::Identity,
                    404,
                    &format!("Could not find token: {subject}."),
                ),
            }
        }
        ("GET", ["v3", "auth", "catalog"]) => match authorize_identity(ctx, req) {
            Ok(_) => http::json(
                200,
                &json!({"catalog": catalog(ctx), "links": {"self": format!("{}/auth/catalog", ctx.identity_url()), "previous": null, "next": null}}),
            ),
            Err(r) => r,
        },
        ("GET", ["v3", "auth", "projects"]) => match authorize_identity(ctx, req) {
            Ok(t) => {
                let st = ctx.state.lock().expect("state");
                let admin = st
                    .user(&t.user_id)
                    .is_some_and(|u| u.roles.iter().any(|r| r == "admin"));
                let user_project = st.user(&t.user_id).map(|u| u.project_id.clone());
                let projects: Vec<Value> = st
                    .projects
                    .iter()
                    .filter(|p| admin || Some(&p.id) == user_project.as_ref())
                    .map(|p| json!({"id": p.id, "name": p.name, "domain_id": "default", "enabled": true, "is_domain": false, "parent_id": "default", "description": "", "tags": [], "links": {"self": format!("{}/projects/{}", ctx.identity_url(), p.id)}}))
                    .collect();
                http::json(
                    200,
                    &json!({"projects": projects, "links": {"self": format!("{}/auth/projects", ctx.identity_url()), "previous": null, "next": null}}),
                )
            }
            Err(r) => r,
        },
        _ => http::error(Service::Identity, 404, "The resource could not be found."),
    }
}

fn version(ctx: &Ctx) -> Value {
    json!({"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/", ctx.identity_url())}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]})
}

/// The catalog: identity, compute, image and network, each at this simulator.
pub fn catalog(ctx: &Ctx) -> Value {
    let region = ctx.state.lock().expect("state").region.clone();
    let services = [
        ("identity", "keystone", ctx.identity_url()),
        ("compute", "nova", format!("{}/compute/v2.1", ctx.base)),
        ("image", "glance", format!("{}/image", ctx.base)),
        ("network", "neutron", format!("{}/network", ctx.base)),
    ];
    Value::Array(
        services
            .iter()
            .enumerate()
            .map(|(i, (kind, name, url))| {
                let endpoints: Vec<Value> = ["public", "internal", "admin"]
                    .iter()
                    .enumerate()
                    .map(|(j, iface)| {
                        json!({"id": format!("{:032x}", 0xe0 + i * 16 + j), "interface": iface,
                            "region": region, "region_id": region, "url": url})
                    })
                    .collect();
                json!({"endpoints": endpoints, "id": format!("{:032x}", 0x5e0 + i), "type": kind, "name": name})
            })
            .collect(),
    )
}

fn token_body(ctx: &Ctx, t: &Token) -> Value {
    let st = ctx.state.lock().expect("state");
    let user = st.user(&t.user_id).cloned();
    let mut tok = json!({
        "methods": t.methods,
        "expires_at": iso_micros(t.expires_at),
        "issued_at": iso_micros(t.issued_at),
        "audit_ids": [t.audit_id],
        "user": {
            "domain": {"id": "default", "name": "Default"},
            "id": t.user_id,
            "name": user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
            "password_expires_at": null,
        },
    });
    if let Some(pid) = &t.project_id {
        let name = st.project(pid).map(|p| p.name.clone()).unwrap_or_default();
        tok["project"] =
            json!({"domain": {"id": "default", "name": "Default"}, "id": pid, "name": name});
        tok["is_domain"] = json!(false);
        tok["roles"] = Value::Array(
            user.map(|u| u.roles)
                .unwrap_or_default()
                .iter()
                .map(|r| json!({"id": format!("{:032x}", r.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))), "name": r}))
                .collect(),
        );
    }
    if let Some(acid) = &t.app_cred {
        let name = st
            .app_creds
            .iter()
            .find(|a| &a.id == acid)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        tok["application_credential"] = json!({"id": acid, "name": name, "restricted": true});
    }
    drop(st);
    if t.project_id.is_some() {
        tok["catalog"] = catalog(ctx);
    }
    json!({ "token": tok })
}

fn bad_request(msg: &str) -> Resp {
    http::error(Service::Identity, 400, msg)
}

/// A failed authentication. Keystone's error handler adds `WWW-Authenticate: Keystone
/// uri="<identity url>"` to every `Unauthorized` (keystone/server/flask/application.py),
/// so a client learns from the 401 itself where to authenticate.
fn unauthorized(ctx: &Ctx) -> Resp {
    unauthorized_msg(ctx, UNAUTHORIZED)
}

fn unauthorized_msg(ctx: &Ctx, msg: &str) -> Resp {
    let r = http::error(Service::Identity, 401, msg);
    http::with_header(
        r,
        "www-authenticate",
        &format!("Keystone uri=\"{}\"", ctx.identity_url()),
    )
}

fn domain_ok(d: &Value) -> bool {
    if d.is_null() {
        return true;
    }
    let id_ok = d["id"].as_str().is_none_or(|i| i == "default");
    let name_ok = d["name"].as_str().is_none_or(|n| n == "Default");
    id_ok && name_ok
}

/// `POST /v3/auth/tokens`: 201 with `X-Subject-Token`, or 401 with Keystone's error body.
fn issue(ctx: &Ctx, req: &Req) -> Resp {
    let body = match http::parse_json(&req.body) {
        Ok(b) => b,
        Err(e) => return bad_request(&e),
    };
    let identity = &body["auth"]["identity"];
    let Some(methods) = identity["methods"].as_array() else {
        return bad_request("'methods' is a required property");
    };
    let methods: Vec<String> = methods
        .iter()
        .filter_map(|m| m.as_str().map(String::from))
        .collect();
    let st = ctx.state.lock().expect("state");
    let (user_id, app_cred, default_project) = match methods.first().map(String::as_str) {
        Some("password") => {
            let u = &identity["password"]["user"];
            let Some(password) = u["password"].as_str() else {
                return bad_request("'password' is a required property");
            };
            let found = if let Some(id) = u["id"].as_str() {
                st.users.iter().find(|x| x.id == id)
            } else if let Some(name) = u["name"].as_str() {
                if u["domain"].is_null() {
                    return bad_request("A domain is required to find a user by name.");
                }
                if !domain_ok(&u["domain"]) {
                    return unauthorized(ctx);
                }
                st.users.iter().find(|x| x.name == name)
            } else {
                return bad_request("Expecting to find id or name in user.");
            };
            match found {
                Some(x) if x.password == password => (x.id.clone(), None, None),
                _ => return unauthorized(ctx),
            }
        }
        Some("application_credential") => {
            let a = &identity["application_credential"];
            let Some(secret) = a["secret"].as_str() else {
                return bad_request("'secret' is a required property");
            };
            let found = if let Some(id) = a["id"].as_str() {
                st.app_creds.iter().find(|x| x.id == id)
            } else if let Some(name) = a["name"].as_str() {
                let owner = &a["user"];
                let uid = if let Some(id) = owner["id"].as_str() {
                    Some(id.to_string())
                } else if let Some(n) = owner["name"].as_str() {
                    if !domain_ok(&owner["domain"]) {
                        return unauthorized(ctx);
                    }
                    st.users.iter().find(|u| u.name == n).map(|u| u.id.clone())
                } else {
                    return bad_request("Could not find user for application credential.");
                };
                st.app_creds
                    .iter()
                    .find(|x| x.name == name && Some(&x.user_id) == uid.as_ref())
            } else {
                return bad_request("Expecting to find id or name in application_credential.");
            };
            match found {
                Some(x) if x.secret == secret => (
                    x.user_id.clone(),
                    Some(x.id.clone()),
                    Some(x.project_id.clone()),
                ),
                _ => return unauthorized(ctx),
            }
        }
        Some("token") => {
            let Some(old) = identity["token"]["id"].as_str() else {
                return bad_request("'id' is a required property");
            };
            let old = old.to_string();
            drop(st);
            let Some(t) = validate(ctx, &old) else {
                return unauthorized(ctx);
            };
            return scoped(ctx, &body, t.user_id, None, None, vec!["token".into()]);
        }
        Some(other) => {
            return unauthorized_msg(
                ctx,
                &format!("Attempted to authenticate with an unsupported method: {other}."),
            )
        }
        None => return bad_request("'methods' must not be empty"),
    };
    drop(st);
    scoped(ctx, &body, user_id, app_cred, default_project, methods)
}

fn scoped(
    ctx: &Ctx,
    body: &Value,
    user_id: String,
    app_cred: Option<String>,
    app_cred_project: Option<String>,
    methods: Vec<String>,
) -> Resp {
    let mut st = ctx.state.lock().expect("state");
    let project_id = if let Some(p) = app_cred_project {
        Some(p)
    } else {
        let scope = &body["auth"]["scope"]["project"];
        if scope.is_null() {
            None
        } else {
            let found = if let Some(id) = scope["id"].as_str() {
                st.project(id).map(|p| p.id.clone())
            } else if let Some(name) = scope["name"].as_str() {
                if scope["domain"].is_null() {
                    return bad_request("A domain is required to find a project by name.");
                }
                if !domain_ok(&scope["domain"]) {
                    return unauthorized(ctx);
                }
                st.projects
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| p.id.clone())
            } else {
                return bad_request("Expecting to find id or name in project.");
            };
            let user = st.user(&user_id).cloned();
            let allowed = |pid: &String| {
                user.as_ref()
                    .is_some_and(|u| &u.project_id == pid || u.roles.iter().any(|r| r == "admin"))
            };
            match found {
                Some(pid) if allowed(&pid) => Some(pid),
                _ => return unauthorized(ctx),
            }
        }
    };
    let now = SystemTime::now();
    let token = Token {
        user_id,
        project_id,
        methods,
        app_cred,
        issued_at: now,
        expires_at: now + ctx.faults.get().token_ttl(),
        audit_id: new_hex_id()[..22].to_string(),
    };
    let id = format!("gAAAAA{}", new_hex_id());
    // Forget expired tokens here so a long benchmark does not accumulate them.
    st.tokens.retain(|_, t| t.expires_at > now);
    st.tokens.insert(id.clone(), token.clone());
    drop(st);
    let r = http::json(201, &token_body(ctx, &token));
    let r = http::with_header(r, "x-subject-token", &id);
    http::with_header(r, "vary", "X-Auth-Token")
}
