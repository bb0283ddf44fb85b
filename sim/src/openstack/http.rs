//! HTTP plumbing shared by the simulated services: responses, error bodies in each
//! service's own shape, query strings, request bodies.
//!
//! Each OpenStack service reports errors differently (Nova `{"itemNotFound": ...}`,
//! Neutron `{"NeutronError": ...}`, Keystone `{"error": ...}`); clients parse those
//! shapes, so the simulator must produce the right one for the service that answers.

use bytes::Bytes;
use http::{HeaderValue, Response};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

pub type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;
pub type Resp = Response<Body>;

/// Largest request body read (Nova's user_data limit is 64 KiB, base64 adds a third).
pub const MAX_BODY: usize = 1 << 20;

/// Which service answers: decides the error body shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Identity,
    Compute,
    Image,
    Network,
    Admin,
}

pub fn request_id() -> String {
    format!("req-{}", super::store::new_uuid())
}

pub fn json(code: u16, body: &Value) -> Resp {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .header("x-openstack-request-id", request_id())
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap_or_default())).boxed())
        .expect("response")
}

pub fn empty(code: u16) -> Resp {
    Response::builder()
        .status(code)
        .header("x-openstack-request-id", request_id())
        .body(Full::new(Bytes::new()).boxed())
        .expect("response")
}

pub fn with_header(mut r: Resp, name: &'static str, value: &str) -> Resp {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
    r
}

/// Nova's fault names by status code (`Fault._fault_names` in nova/api/openstack/wsgi.py;
/// any other code, 406 for an unsupported microversion included, is `computeFault`).
fn nova_fault_name(code: u16) -> &'static str {
    match code {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

fn title(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// Neutron's exception type for a status code, when the handler gives none.
fn neutron_type(code: u16) -> &'static str {
    match code {
        400 => "HTTPBadRequest",
        401 => "HTTPUnauthorized",
        403 => "HTTPForbidden",
        404 => "HTTPNotFound",
        409 => "HTTPConflict",
        429 => "HTTPTooManyRequests",
        503 => "HTTPServiceUnavailable",
        _ => "HTTPInternalServerError",
    }
}

/// An error answered in `svc`'s own body shape.
pub fn error(svc: Service, code: u16, message: &str) -> Resp {
    let body = match svc {
        Service::Compute => {
            let mut inner = json!({"code": code, "message": message});
            if code == 413 || code == 429 {
                inner["retryAfter"] = json!("0");
            }
            json!({ nova_fault_name(code): inner })
        }
        Service::Identity | Service::Admin => {
            json!({"error": {"code": code, "message": message, "title": title(code)}})
        }
        Service::Network => {
            json!({"NeutronError": {"type": neutron_type(code), "message": message, "detail": ""}})
        }
        Service::Image => {
            json!({"code": format!("{code} {}", title(code)), "title": title(code), "message": message})
        }
    };
    json(code, &body)
}

/// A Neutron error with a specific exception type (`NetworkNotFound`, ...).
pub fn neutron_error(code: u16, kind: &str, message: &str) -> Resp {
    json(
        code,
        &json!({"NeutronError": {"type": kind, "message": message, "detail": ""}}),
    )
}

/// The 401 every service answers for a missing, unknown or expired token.
pub fn unauthorized(svc: Service, identity_url: &str) -> Resp {
    let msg = "The request you have made requires authentication.";
    let r = match svc {
        Service::Compute | Service::Network | Service::Image => json(
            401,
            &json!({"error": {"code": 401, "title": "Unauthorized", "message": msg}}),
        ),
        _ => error(svc, 401, msg),
    };
    with_header(
        r,
        "www-authenticate",
        &format!("Keystone uri=\"{identity_url}\""),
    )
}

/// Query parameters in order, repeated keys kept (Neutron ORs `id=a&id=b`).
pub fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

pub fn query_get<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
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

pub fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Rebuilds a query string with `marker` set (for `next` links that keep the filters).
pub fn query_with_marker(q: &[(String, String)], limit: usize, marker: &str) -> String {
    let mut parts: Vec<String> = q
        .iter()
        .filter(|(k, _)| k != "marker" && k != "limit")
        .map(|(k, v)| format!("{}={}", pct_encode(k), pct_encode(v)))
        .collect();
    parts.insert(0, format!("limit={limit}"));
    parts.push(format!("marker={}", pct_encode(marker)));
    parts.join("&")
}

/// Parses a JSON request body; the error is the message for a 400.
pub fn parse_json(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Err("Malformed request body: empty".into());
    }
    serde_json::from_slice(body).map_err(|e| format!("Malformed request body: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_coding_round_trips() {
        assert_eq!(pct_decode("a%2Cb+c%"), "a,b c%");
        assert_eq!(pct_decode("%zz%4"), "%zz%4");
        assert_eq!(
            pct_decode(&pct_encode("k0stack-pool=ab/c d")),
            "k0stack-pool=ab/c d"
        );
        let q = query_pairs(Some("tags=a%2Cb&limit=3&marker=x"));
        assert_eq!(query_with_marker(&q, 3, "y"), "limit=3&tags=a%2Cb&marker=y");
    }
}
