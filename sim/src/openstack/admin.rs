//! The admin endpoint (`/admin`): how tests, benchmarks and demos steer and inspect the
//! simulated cloud over HTTP. Never authenticated, counted or faulted, so a test can
//! always reach it even while it makes the cloud itself fail.
//!
//! - `GET|PUT /admin/faults` (PUT merges a [`FaultsPatch`](super::FaultsPatch))
//! - `GET|DELETE /admin/counters`
//! - `GET /admin/servers`, `POST /admin/servers/{id}/fail` (ERROR, as a dead hypervisor)
//! - `GET /admin/history`
//! - `POST /admin/images` `{"name", "status"}` (an operator uploads an image; answers its
//!   id), `PUT /admin/images/{id}` `{"status"}` (e.g. `deactivated`)

use serde_json::json;

use super::faults::FaultsPatch;
use super::http::{self, Resp, Service};
use super::{servers, Ctx, Req, ServerView};

pub fn server_views(ctx: &Ctx) -> Vec<ServerView> {
    servers::views(&ctx.state.lock().expect("state"))
}

fn to_json<T: serde::Serialize>(code: u16, v: &T) -> Resp {
    http::json(code, &serde_json::to_value(v).unwrap_or_default())
}

/// Adds an image (`id` None) or changes an image's status.
fn image(ctx: &Ctx, req: &Req, id: Option<&str>) -> Resp {
    let body: serde_json::Value = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => return http::error(Service::Admin, 400, &format!("bad image: {e}")),
    };
    let status = body["status"].as_str().unwrap_or("active").to_string();
    let mut st = ctx.state.lock().expect("state");
    match id {
        None => {
            let Some(name) = body["name"].as_str() else {
                return http::error(Service::Admin, 400, "an image needs a name");
            };
            let id = super::store::new_uuid();
            st.images.push(super::store::Image {
                id: id.clone(),
                name: name.to_string(),
                min_disk: 0,
                size: 2_361_393_152,
                status,
                os_distro: body["os_distro"].as_str().map(String::from),
            });
            http::json(201, &json!({ "id": id }))
        }
        Some(id) => match st.images.iter_mut().find(|i| i.id == id) {
            Some(i) => {
                i.status = status;
                http::empty(204)
            }
            None => http::error(Service::Admin, 404, &format!("no image {id}")),
        },
    }
}

pub fn handle(ctx: &Ctx, req: &Req) -> Resp {
    let segs = req.segs();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["faults"]) => to_json(200, &ctx.faults.get()),
        ("PUT", ["faults"]) => {
            let patch: FaultsPatch = match serde_json::from_slice(&req.body) {
                Ok(p) => p,
                Err(e) => return http::error(Service::Admin, 400, &format!("bad faults: {e}")),
            };
            match ctx.faults.update(patch) {
                Ok(f) => to_json(200, &f),
                Err(e) => http::error(Service::Admin, 400, &e),
            }
        }
        ("GET", ["counters"]) => to_json(200, &ctx.counters.snapshot()),
        ("DELETE", ["counters"]) => {
            ctx.counters.reset();
            http::empty(204)
        }
        ("GET", ["servers"]) => to_json(200, &server_views(ctx)),
        ("POST", ["servers", id, "fail"]) => {
            if servers::fail(ctx, id, "Simulated hypervisor failure.") {
                http::empty(204)
            } else {
                http::error(Service::Admin, 404, &format!("no server {id}"))
            }
        }
        ("GET", ["history"]) => to_json(200, &ctx.state.lock().expect("state").history),
        ("POST", ["images"]) | ("PUT", ["images", _]) => image(ctx, req, segs.get(1).copied()),
        ("GET", []) => http::json(
            200,
            &json!({"endpoints": ["GET|PUT /admin/faults", "GET|DELETE /admin/counters",
                "GET /admin/servers", "POST /admin/servers/{id}/fail", "GET /admin/history",
                "POST /admin/images", "PUT /admin/images/{id}"]}),
        ),
        _ => http::error(Service::Admin, 404, "no such admin endpoint"),
    }
}
