//! Service node ports, allocated cluster-wide as kube-apiserver does
//! (kubernetes/kubernetes `pkg/registry/core/service/portallocator`, used by
//! `pkg/registry/core/service/storage/alloc.go`): a `nodePort` requested by a `NodePort` or
//! `LoadBalancer` Service must be in the range (default 30000-32767) and held by no other
//! Service (else 422 Invalid "provided port is already allocated"); an unspecified one is
//! a random free port of the range; an update that leaves it out keeps the old value of
//! that port; a deleted Service frees its ports (here: allocation is computed from the
//! stored Services, so deleting frees them).

use std::collections::BTreeSet;

use rand::Rng;
use serde_json::Value;

use super::store::ApiError;

pub const RANGE: std::ops::RangeInclusive<u64> = 30000..=32767;

fn node_ports(svc: &Value) -> impl Iterator<Item = u64> + '_ {
    svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["nodePort"].as_u64())
}

/// Checks and fills the node ports of `body` (the Service `name` is being created, or
/// updated from `old`); `others`: every other stored Service.
pub fn admit<'a>(
    others: impl Iterator<Item = &'a Value>,
    old: Option<&Value>,
    body: &mut Value,
    name: &str,
) -> Result<(), ApiError> {
    let kind = body["spec"]["type"]
        .as_str()
        .unwrap_or("ClusterIP")
        .to_string();
    if !matches!(kind.as_str(), "NodePort" | "LoadBalancer") {
        return Ok(());
    }
    let mut used: BTreeSet<u64> = others.flat_map(node_ports).collect();
    let Some(ports) = body["spec"]["ports"].as_array_mut() else {
        return Ok(());
    };
    let invalid = |i: usize, n: u64, why: &str| {
        ApiError::invalid(format!(
            "Service \"{name}\" is invalid: spec.ports[{i}].nodePort: Invalid value: {n}: {why}"
        ))
    };
    for (i, p) in ports.iter_mut().enumerate() {
        if let Some(n) = p["nodePort"].as_u64() {
            if !RANGE.contains(&n) {
                return Err(invalid(i, n, "provided port is not in the valid range. The range of valid ports is 30000-32767"));
            }
            if !used.insert(n) {
                return Err(invalid(i, n, "provided port is already allocated"));
            }
        }
    }
    for p in ports.iter_mut() {
        if p["nodePort"].as_u64().is_some() {
            continue;
        }
        let kept = old.and_then(|o| {
            o["spec"]["ports"].as_array()?.iter().find_map(|op| {
                (op["port"] == p["port"])
                    .then(|| op["nodePort"].as_u64())
                    .flatten()
            })
        });
        let n = match kept.filter(|k| !used.contains(k)) {
            Some(k) => k,
            None => {
                let free: Vec<u64> = RANGE.filter(|n| !used.contains(n)).collect();
                if free.is_empty() {
                    return Err(ApiError::invalid(format!(
                        "Service \"{name}\" is invalid: spec.ports: Internal error: range is full"
                    )));
                }
                free[rand::thread_rng().gen_range(0..free.len())]
            }
        };
        used.insert(n);
        p["nodePort"] = n.into();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(kind: &str, ports: Value) -> Value {
        json!({"spec": {"type": kind, "ports": ports}})
    }

    #[test]
    fn requested_ports_are_exclusive_and_unspecified_ones_drawn() {
        let a = svc("NodePort", json!([{"port": 1, "nodePort": 30443}]));
        let mut b = svc("NodePort", json!([{"port": 1, "nodePort": 30443}]));
        let e = admit([&a].into_iter(), None, &mut b, "b").unwrap_err();
        assert_eq!(e.code, 422);
        assert!(
            e.message.contains("provided port is already allocated"),
            "{}",
            e.message
        );
        let mut c = svc("NodePort", json!([{"port": 1}, {"port": 2}]));
        admit([&a].into_iter(), None, &mut c, "c").unwrap();
        let got: Vec<u64> = node_ports(&c).collect();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|n| RANGE.contains(n) && *n != 30443) && got[0] != got[1]);
        // An update without node ports keeps them.
        let mut c2 = svc("NodePort", json!([{"port": 1}, {"port": 2}]));
        admit([&a].into_iter(), Some(&c), &mut c2, "c").unwrap();
        assert_eq!(node_ports(&c2).collect::<Vec<_>>(), got);
        // ClusterIP: nothing allocated; out of range refused.
        let mut d = svc("ClusterIP", json!([{"port": 1}]));
        admit([&a].into_iter(), None, &mut d, "d").unwrap();
        assert_eq!(node_ports(&d).count(), 0);
        let mut f = svc("NodePort", json!([{"port": 1, "nodePort": 8080}]));
        assert!(admit(std::iter::empty(), None, &mut f, "f")
            .unwrap_err()
            .message
            .contains("valid range"));
    }
}
