//! The admin endpoint (`/admin`): how tests, benchmarks and demos steer and inspect the
//! simulated cloud over HTTP. Never authenticated, counted or faulted, so a test can
//! always reach it even while it makes the cloud itself fail.
//!
//! - `GET|PUT /admin/faults` (PUT merges a [`FaultsPatch`](super::FaultsPatch))
//! - `GET|DELETE /admin/counters`
//! - `GET /admin/servers`, `POST /admin/servers/{id}/fail` (ERROR, as a dead hypervisor)
//! - `GET /admin/history`

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
        ("GET", []) => http::json(
            200,
            &json!({"endpoints": ["GET|PUT /admin/faults", "GET|DELETE /admin/counters",
                "GET /admin/servers", "POST /admin/servers/{id}/fail", "GET /admin/history"]}),
        ),
        _ => http::error(Service::Admin, 404, "no such admin endpoint"),
    }
}
