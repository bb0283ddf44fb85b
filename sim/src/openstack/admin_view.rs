//! What Nova shows an admin and nobody else: the extended server attributes
//! (`OS-EXT-SRV-ATTR:*`, user_data among them) and the servers of every project
//! (`all_tenants`).
//!
//! Why the simulator needs it: `k0stack-sim up --openstack-from` reads the user_data of
//! other projects' servers from a Nova, and its tests use a second simulator as that Nova.
//! Upstream: `nova/api/openstack/compute/views/servers.py` (`show_extended_attr`, 2.3
//! adds `hostname`, `user_data`, ...), policy `os_compute_api:os-extended-server-attributes`
//! (admin only), `nova/api/openstack/compute/servers.py` `_get_servers` (`all_tenants`,
//! policy `os_compute_api:servers:detail:get_all_tenants`, admin only); nova 34.0.0.

use serde_json::{json, Value};

use super::http::{self, Resp, Service};
use super::nova::Call;
use super::store::{State, Token};

/// Whether the token's user holds the `admin` role (Nova's `base.ADMIN` check string).
pub fn is_admin(st: &State, token: &Token) -> bool {
    st.user(&token.user_id)
        .is_some_and(|u| u.roles.iter().any(|r| r == "admin"))
}

/// Nova's `common.is_all_tenants`: present and empty means true; otherwise a strict
/// boolean (`oslo_utils.strutils.bool_from_string(strict=True)`), a 400 when it is not.
pub fn all_tenants(q: &[(String, String)]) -> Result<bool, Resp> {
    let Some(v) = http::query_get(q, "all_tenants") else {
        return Ok(false);
    };
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Ok(false),
        _ => Err(http::error(
            Service::Compute,
            400,
            &format!(
                "Invalid input received: Unrecognized value '{v}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"
            ),
        )),
    }
}

/// The 403 of a non-admin `all_tenants` list.
pub fn all_tenants_forbidden(detail: bool) -> Resp {
    let rule = if detail {
        "detail:get_all_tenants"
    } else {
        "index:get_all_tenants"
    };
    http::error(
        Service::Compute,
        403,
        &format!("Policy doesn't allow os_compute_api:servers:{rule} to be performed."),
    )
}

/// Adds the extended attributes to a server body when the caller is an admin: `host`,
/// `instance_name` and `hypervisor_hostname` at every microversion, the rest from 2.3.
/// `user_data` is the base64 text as it was sent (Nova stores it so), null without one.
pub fn extend(c: &Call, s: &super::store::Server, v: &mut Value) {
    if !c.admin {
        return;
    }
    let host = s.host.clone();
    v["OS-EXT-SRV-ATTR:host"] = json!(host);
    v["OS-EXT-SRV-ATTR:hypervisor_hostname"] = json!(host);
    v["OS-EXT-SRV-ATTR:instance_name"] = json!(format!("instance-{:08x}", s.order));
    if c.mv.at_least(3) {
        v["OS-EXT-SRV-ATTR:hostname"] = json!(s.hostname);
        v["OS-EXT-SRV-ATTR:kernel_id"] = json!("");
        v["OS-EXT-SRV-ATTR:ramdisk_id"] = json!("");
        v["OS-EXT-SRV-ATTR:launch_index"] = json!(0);
        v["OS-EXT-SRV-ATTR:reservation_id"] =
            json!(format!("r-{}", s.id.get(..8).unwrap_or(&s.id)));
        v["OS-EXT-SRV-ATTR:root_device_name"] = json!("/dev/vda");
        v["OS-EXT-SRV-ATTR:user_data"] = json!(s.user_data_b64);
    }
}

/// Below 2.75 a `PUT /servers/{id}` answer has no extended attributes (2.75 added them).
pub fn strip_before_2_75(c: &Call, v: &mut Value) {
    if c.mv.at_least(75) {
        return;
    }
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !k.starts_with("OS-EXT-SRV-ATTR:"));
    }
}
