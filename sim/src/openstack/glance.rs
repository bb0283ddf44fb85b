//! Glance v2 images: list (name/status/visibility filters, limit/marker, `next` link) and
//! get. Read-only through the API (the provider resolves image names to ids and nothing
//! more); images are added and their status changed through the admin endpoint, as an
//! operator uploading or deactivating an image would.

use serde_json::{json, Value};

use super::glance_filter::Filter;
use super::http::{self, Resp, Service};
use super::store::Image;
use super::{authorize, Ctx, Req};

fn image_json(i: &Image, owner: &str) -> Value {
    let mut v = json!({
        "status": i.status,
        "name": i.name,
        "tags": [],
        "container_format": "bare",
        "created_at": "2025-01-01T00:00:00Z",
        "disk_format": "qcow2",
        "updated_at": "2025-01-01T00:00:00Z",
        "visibility": "public",
        "self": format!("/v2/images/{}", i.id),
        "min_disk": i.min_disk,
        "protected": false,
        "id": i.id,
        "file": format!("/v2/images/{}/file", i.id),
        "checksum": format!("{:032x}", i.size),
        "os_hash_algo": "sha512",
        "os_hash_value": format!("{:0128x}", i.size),
        "owner": owner,
        "size": i.size,
        "min_ram": 0,
        "schema": "/v2/schemas/image",
        "virtual_size": null,
    });
    // Custom properties are top-level keys in Glance v2.
    if let Some(d) = &i.os_distro {
        v["os_distro"] = json!(d);
    }
    v
}

pub fn handle(ctx: &Ctx, req: &Req) -> Resp {
    let segs = req.segs();
    let versions = || {
        json!({"versions": [{"id": "v2.16", "status": "CURRENT",
            "links": [{"rel": "self", "href": format!("{}/image/v2/", ctx.base)}]}]})
    };
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", []) => return http::json(300, &versions()),
        ("GET", ["versions"]) => return http::json(200, &versions()),
        _ => {}
    }
    if let Err(r) = authorize(ctx, req, Service::Image) {
        return r;
    }
    let st = ctx.state.lock().expect("state");
    let owner = st
        .projects
        .first()
        .map(|p| p.id.clone())
        .unwrap_or_default();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["v2", "images"]) => {
            let q = &req.query;
            let limit = match http::query_get(q, "limit").map(str::parse::<usize>) {
                None => 25,
                Some(Ok(n)) => n.min(1000),
                Some(Err(_)) => {
                    return http::error(Service::Image, 400, "limit param must be an integer")
                }
            };
            let mut ops: Vec<(&str, Filter)> = Vec::new();
            for key in ["name", "id", "status", "container_format", "disk_format"] {
                if let Some(v) = http::query_get(q, key) {
                    match Filter::parse(v) {
                        Ok(f) => ops.push((key, f)),
                        Err(m) => return http::error(Service::Image, 400, &m),
                    }
                }
            }
            let matches = |i: &&Image| {
                ops.iter().all(|(key, f)| {
                    f.matches(match *key {
                        "name" => &i.name,
                        "id" => &i.id,
                        "status" => &i.status,
                        "container_format" => "bare",
                        _ => "qcow2",
                    })
                }) && http::query_get(q, "visibility").is_none_or(|v| v == "public" || v == "all")
            };
            let all: Vec<&Image> = st.images.iter().filter(matches).collect();
            let start = match http::query_get(q, "marker") {
                None => 0,
                Some(m) => match all.iter().position(|i| i.id == m) {
                    Some(p) => p + 1,
                    None => {
                        if !st.images.iter().any(|i| i.id == m) {
                            return http::error(
                                Service::Image,
                                400,
                                &format!("No image found with ID {m}"),
                            );
                        }
                        all.len()
                    }
                },
            };
            let page: Vec<&Image> = all.iter().skip(start).take(limit).copied().collect();
            let mut body = json!({
                "images": page.iter().map(|i| image_json(i, &owner)).collect::<Vec<_>>(),
                "schema": "/v2/schemas/images",
                "first": "/v2/images",
            });
            if let Some(last) = page.last().filter(|_| page.len() == limit) {
                let qs = http::query_with_marker(q, limit, &last.id);
                body["next"] = json!(format!("/v2/images?{qs}"));
            }
            http::json(200, &body)
        }
        ("GET", ["v2", "images", id]) => match st.images.iter().find(|i| i.id == *id) {
            Some(i) => http::json(200, &image_json(i, &owner)),
            None => http::error(Service::Image, 404, &format!("No image found with ID {id}")),
        },
        _ => http::error(Service::Image, 404, "The resource could not be found."),
    }
}
