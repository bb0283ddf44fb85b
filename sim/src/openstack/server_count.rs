//! Nova's multiple create: how many servers one `POST /servers` makes and what they are
//! called.
//!
//! Upstream (nova 34.0.0): nova/api/openstack/compute/servers.py `create` (`min_count`
//! defaults to 1, `max_count` to `min_count`, `min_count must be <= max_count`,
//! `return_reservation_id`), nova/compute/api.py (`create`: no fixed IP, port or explicit
//! hostname with `max_count` > 1; `_populate_instance_names`: `<name>-<i>` and hostname
//! `<hostname>-<i>` counted from 1 when more than one), nova/compute/utils.py
//! `check_num_instances_quota` (as many as the quota allows between min and max, or 403
//! `TooManyInstances`), nova/utils.py `generate_uid('r')`.

use serde_json::Value;

use super::http::{self, Resp, Service};
use super::nova::bad_request;
use super::nova::Usage;
use super::seed::Quotas;
use super::store::Flavor;

/// `min_count`/`max_count` of the request (schema `positive_integer`: an integer, or a
/// string of one, of at least 1).
pub fn parse(server: &Value) -> Result<(u64, u64), Resp> {
    let read = |key: &str| -> Result<Option<u64>, Resp> {
        let v = &server[key];
        let n = match v {
            Value::Null => return Ok(None),
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse::<u64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n >= 1 => Ok(Some(n)),
            _ => Err(bad_request(&format!(
                "Invalid input for field/attribute {key}. Value: {v}. {v} is not a positive integer"
            ))),
        }
    };
    let min = read("min_count")?.unwrap_or(1);
    let max = read("max_count")?.unwrap_or(min);
    if min > max {
        return Err(bad_request("min_count must be <= max_count"));
    }
    Ok((min, max))
}

/// What one NIC of the request asks for, as far as multiple create cares.
pub enum NicKind {
    Network { fixed_ip: bool },
    Port,
}

/// nova/compute/api.py `create`: what cannot be shared by several servers.
pub fn check_shareable(max: u64, nics: &[NicKind], explicit_hostname: bool) -> Result<(), Resp> {
    if max <= 1 {
        return Ok(());
    }
    for n in nics {
        match n {
            NicKind::Network { fixed_ip: true } => {
                return Err(bad_request("Failed to launch instances: max_count cannot be greater than 1 if an fixed_ip is specified."))
            }
            NicKind::Port => {
                return Err(bad_request("Failed to launch instances: Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports."))
            }
            NicKind::Network { .. } => {}
        }
    }
    if explicit_hostname {
        return Err(bad_request(
            "Unable to allocate a single hostname to multiple instances",
        ));
    }
    Ok(())
}

/// A quota in the instance check: (resource, limit, in use, per server).
type Limit = (&'static str, u64, u64, u64);

/// `check_num_instances_quota`: `max` when it fits, else the most that fit if that is at
/// least `min`, else 403 naming every resource over quota.
pub fn allowed(q: &Quotas, u: &Usage, flavor: &Flavor, min: u64, max: u64) -> Result<u64, Resp> {
    let limits: [Limit; 3] = [
        ("cores", q.cores, u.cores, flavor.vcpus),
        ("instances", q.instances, u.instances, 1),
        ("ram", q.ram_mb, u.ram_mb, flavor.ram_mb),
    ];
    let over = |n: u64| -> Vec<&str> {
        limits
            .iter()
            .filter(|(_, limit, used, each)| used + n * each > *limit)
            .map(|(name, ..)| *name)
            .collect()
    };
    let overs = over(max);
    if overs.is_empty() {
        return Ok(max);
    }
    let mut fit = q.instances.saturating_sub(u.instances);
    for (_, limit, used, each) in &limits[..] {
        if *each > 0 {
            fit = fit.min(limit.saturating_sub(*used) / each);
        }
    }
    if fit >= 1 && (min..=max).contains(&fit) {
        return Ok(fit);
    }
    // TooManyInstances: requested/used/allowed per resource over quota, joined by ", ".
    let requested = |name: &str| match name {
        "instances" if min == max => min.to_string(),
        "instances" => format!("{min}-{max}"),
        "cores" => (max * flavor.vcpus).to_string(),
        _ => (max * flavor.ram_mb).to_string(),
    };
    let pick = |f: &dyn Fn(&Limit) -> String| -> String {
        limits
            .iter()
            .filter(|l| overs.contains(&l.0))
            .map(f)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let names = overs.join(", ");
    let msg = format!(
        "Quota exceeded for {names}: Requested {}, but already used {} of {} {names}",
        pick(&|l| requested(l.0)),
        pick(&|l| l.2.to_string()),
        pick(&|l| l.1.to_string()),
    );
    Err(http::error(Service::Compute, 403, &msg))
}

/// The display name and hostname of server `index` (0-based) of `count`.
pub fn names(name: &str, hostname: &str, count: u64, index: u64) -> (String, String) {
    if count > 1 {
        (
            format!("{name}-{}", index + 1),
            format!("{hostname}-{}", index + 1),
        )
    } else {
        (name.to_string(), hostname.to_string())
    }
}

/// `r-` and eight characters of `01234567890abcdefghijklmnopqrstuvwxyz`.
pub fn reservation_id() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"01234567890abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let s: String = (0..8)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    format!("r-{s}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flavor(vcpus: u64, ram_mb: u64) -> Flavor {
        Flavor {
            id: "1".into(),
            name: "f".into(),
            vcpus,
            ram_mb,
            disk_gb: 1,
            extra_specs: Default::default(),
            description: None,
        }
    }

    #[test]
    fn counts_default_and_validate() {
        assert_eq!(parse(&json!({})).ok(), Some((1, 1)));
        assert_eq!(parse(&json!({"min_count": 2})).ok(), Some((2, 2)));
        assert_eq!(
            parse(&json!({"min_count": "2", "max_count": 5})).ok(),
            Some((2, 5))
        );
        assert_eq!(
            parse(&json!({"min_count": 3, "max_count": 2}))
                .err()
                .map(|r| r.status().as_u16()),
            Some(400)
        );
        assert_eq!(
            parse(&json!({"max_count": 0}))
                .err()
                .map(|r| r.status().as_u16()),
            Some(400)
        );
    }

    #[test]
    fn quota_gives_what_fits_between_min_and_max() {
        let q = Quotas {
            instances: 10,
            cores: 8,
            ..Quotas::default()
        };
        let u = Usage {
            instances: 2,
            cores: 2,
            ..Usage::default()
        };
        let f = flavor(2, 512);
        // 3 more fit by cores (6 free / 2).
        assert_eq!(allowed(&q, &u, &f, 1, 5).ok(), Some(3));
        assert_eq!(allowed(&q, &u, &f, 3, 3).ok(), Some(3));
        assert_eq!(
            allowed(&q, &u, &f, 4, 5).err().map(|r| r.status().as_u16()),
            Some(403)
        );
        let full = Usage {
            instances: 10,
            cores: 8,
            ..Usage::default()
        };
        assert!(allowed(&q, &full, &f, 1, 1).is_err());
    }

    #[test]
    fn names_get_an_index_only_when_several() {
        assert_eq!(names("web", "web", 1, 0), ("web".into(), "web".into()));
        assert_eq!(names("web", "web", 3, 2), ("web-3".into(), "web-3".into()));
    }
}
