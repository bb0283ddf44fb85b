//! Node ports of `NodePort` control planes. A node port is cluster-wide: the apiserver
//! refuses a Service whose `nodePort` any other Service holds ("provided port is already
//! allocated"), and k0smotron makes `service.apiPort` / `konnectivityPort` the node ports
//! of `kmc-<name>-nodeport`. So a fixed default (30443/30132) works for one control plane
//! only.
//!
//! # Allocated at apply, planned unknown
//!
//! Ports the configuration does not set are allocated by the apply that creates the
//! control plane (planned "known after apply"), then kept in the state. Allocating at plan
//! would need the reservation to outlive the plan process (a saved plan is applied by
//! another process, later, when the port may be gone). At apply, the ports in use are one
//! cluster-wide Service list, and a process-wide reservation set (behind a mutex) keeps
//! two control planes created in the same apply (Terraform runs them concurrently in this
//! one provider process) from drawing the same ports before k0smotron created either
//! Service.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use rand::Rng;
use serde_json::Value as Json;

use crate::resources::kube_io::{self, KubeError};

/// The apiserver's default `--service-node-port-range`.
pub const NODE_PORT_RANGE: std::ops::RangeInclusive<u16> = 30000..=32767;

/// Ports this provider process handed out (never released: the process lives one command).
static RESERVED: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Node port → `namespace/name` of the Service holding it, for every Service of the cluster.
pub async fn node_ports_in_use(kube: &kube::Client) -> Result<BTreeMap<u16, String>, KubeError> {
    let ar = kube_io::resource("", "v1", "Service", "services");
    let services = kube_io::list(kube, &ar, None).await?;
    Ok(holders(&services))
}

/// Pure: the node ports of a list of Services.
pub fn holders(services: &[Json]) -> BTreeMap<u16, String> {
    let mut out = BTreeMap::new();
    for s in services {
        let who = format!(
            "{}/{}",
            s["metadata"]["namespace"].as_str().unwrap_or_default(),
            s["metadata"]["name"].as_str().unwrap_or_default()
        );
        for p in s["spec"]["ports"].as_array().into_iter().flatten() {
            if let Some(n) = p["nodePort"].as_u64().and_then(|n| u16::try_from(n).ok()) {
                out.insert(n, who.clone());
            }
        }
    }
    out
}

/// The Service k0smotron creates for a `NodePort` control plane (its own ports are no clash).
pub fn own_service(namespace: &str, name: &str) -> String {
    format!("{namespace}/kmc-{name}-nodeport")
}

/// Draws `n` distinct free node ports (random, as the apiserver does for an unspecified
/// one), not in `in_use` nor reserved by this process, and reserves them. None when the
/// range is exhausted.
pub fn reserve(in_use: &BTreeSet<u16>, n: usize) -> Option<Vec<u16>> {
    let mut reserved = RESERVED.lock().expect("port reservations");
    let free: Vec<u16> = NODE_PORT_RANGE
        .filter(|p| !in_use.contains(p) && !reserved.contains(p))
        .collect();
    if free.len() < n {
        return None;
    }
    let mut rng = rand::thread_rng();
    let mut picked = Vec::with_capacity(n);
    while picked.len() < n {
        let p = free[rng.gen_range(0..free.len())];
        if !picked.contains(&p) {
            picked.push(p);
        }
    }
    reserved.extend(picked.iter().copied());
    Some(picked)
}

/// A configured node port another Service holds: the `namespace/name` of that Service.
pub fn taken_by<'a>(in_use: &'a BTreeMap<u16, String>, port: u16, own: &str) -> Option<&'a String> {
    in_use.get(&port).filter(|who| who.as_str() != own)
}

/// Which of a control plane's ports the provider allocated (`api`, `konnectivity`,
/// comma-separated; empty: none). An import reads it to tell allocated ports (a
/// configuration leaves them out) from configured ones (it states them). Kept in the
/// companion ConfigMap (data key [`super::companion::ALLOCATED`]); earlier versions wrote
/// it as this annotation on the `Cluster`, where it stays (changing it would roll the
/// control plane) and is read when no companion says.
pub const ALLOCATED_ANNOTATION: &str = "k0stack.io/allocated-ports";

/// The annotation's value for a configuration: the ports a `NodePort` service leaves unset.
pub fn allocated_value(config: &super::model::State, service_type: Option<&str>) -> String {
    if service_type != Some("NodePort") {
        return String::new();
    }
    let block = config.service.as_ref_option();
    let unset = |f: fn(&super::model::ServiceBlock) -> bool| block.is_none_or(f);
    let mut out = Vec::new();
    if unset(|b| b.api_port.is_null()) {
        out.push("api");
    }
    if unset(|b| b.konnectivity_port.is_null()) {
        out.push("konnectivity");
    }
    out.join(",")
}

/// What the annotation of a live `Cluster` says: None without it (a Cluster of an earlier
/// provider version, or not created by k0stack), else (api allocated, konnectivity allocated).
pub fn allocated_of(obj: &Json) -> Option<(bool, bool)> {
    let v = obj["metadata"]["annotations"][ALLOCATED_ANNOTATION].as_str()?;
    Some(parse_allocated(v))
}

/// (api allocated, konnectivity allocated) of a recorded value (`api,konnectivity`).
pub fn parse_allocated(v: &str) -> (bool, bool) {
    let has = |k: &str| v.split(',').any(|p| p.trim() == k);
    (has("api"), has("konnectivity"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn holders_lists_node_ports_with_their_service() {
        let svcs = vec![
            json!({"metadata": {"namespace": "a", "name": "kmc-x-nodeport"}, "spec": {"ports": [{"port": 30443, "nodePort": 30443}, {"port": 30132, "nodePort": 30132}]}}),
            json!({"metadata": {"namespace": "b", "name": "web"}, "spec": {"ports": [{"port": 80}]}}),
        ];
        let h = holders(&svcs);
        assert_eq!(h.len(), 2);
        assert_eq!(h[&30443], "a/kmc-x-nodeport");
        assert_eq!(taken_by(&h, 30443, "a/kmc-x-nodeport"), None, "its own");
        assert_eq!(
            taken_by(&h, 30443, "b/kmc-y-nodeport").map(String::as_str),
            Some("a/kmc-x-nodeport")
        );
    }

    #[test]
    fn reservations_never_repeat_and_skip_used_ports() {
        let used: BTreeSet<u16> = (30000..=32700).collect();
        let mut all = BTreeSet::new();
        for _ in 0..30 {
            let got = reserve(&used, 2).expect("free ports");
            for p in got {
                assert!(NODE_PORT_RANGE.contains(&p) && !used.contains(&p));
                assert!(all.insert(p), "port {p} handed out twice");
            }
        }
        let full: BTreeSet<u16> = NODE_PORT_RANGE.collect();
        assert_eq!(reserve(&full, 1), None);
    }

    #[test]
    fn the_allocation_annotation_round_trips() {
        use super::super::model::{ServiceBlock, State};
        use tf_provider::value::Value;
        let none = State::default();
        assert_eq!(allocated_value(&none, Some("NodePort")), "api,konnectivity");
        assert_eq!(allocated_value(&none, Some("LoadBalancer")), "");
        let api_set = State {
            service: Value::Value(ServiceBlock {
                api_port: Value::Value(31443),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(allocated_value(&api_set, Some("NodePort")), "konnectivity");
        let obj = json!({"metadata": {"annotations": {ALLOCATED_ANNOTATION: "konnectivity"}}});
        assert_eq!(allocated_of(&obj), Some((false, true)));
        assert_eq!(parse_allocated("api,konnectivity"), (true, true));
        assert_eq!(parse_allocated(""), (false, false));
        assert_eq!(allocated_of(&json!({"metadata": {}})), None);
    }
}
