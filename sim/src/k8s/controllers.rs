//! The built-in controllers the provider relies on: CRDs become Established and their
//! kinds are served; Deployments become Available (the k0smotron operator "starts").

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::api::ApiServer;
use super::types;

/// Runs until aborted.
pub async fn run(api: Arc<ApiServer>) {
    let mut served_crds: BTreeSet<String> = BTreeSet::new();
    loop {
        let notified = api.changed.notified();
        reconcile(&api, &mut served_crds);
        let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
    }
}

fn reconcile(api: &ApiServer, served: &mut BTreeSet<String>) {
    let mut store = api.store.lock().expect("store");
    let Some(crd_rt) = store.find("apiextensions.k8s.io", "v1", "customresourcedefinitions") else {
        return;
    };
    let crds = store.list(&crd_rt, None, None);
    let mut now = BTreeSet::new();
    for crd in &crds {
        let name = crd["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        now.insert(name.clone());
        if crd["metadata"].get("deletionTimestamp").is_some() {
            continue;
        }
        if let Some(rt) = types::from_crd(crd) {
            let current = store.find_kind(&rt.group, &rt.kind);
            if current.as_ref() != Some(&rt) {
                store.register(rt);
            }
        }
        let established = crd["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|x| x["type"] == "Established" && x["status"] == "True")
        });
        if !established {
            let status = json!({"status": {"conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}],
                "acceptedNames": crd["spec"]["names"].clone(), "storedVersions": [crd["spec"]["versions"][0]["name"].clone()]}});
            let _ = store.patch_merge(
                &crd_rt,
                "",
                &name,
                &status,
                "apiextensions-controller",
                true,
            );
        }
    }
    for gone in served.difference(&now) {
        if let Some((plural, group)) = gone.split_once('.') {
            store.unregister(group, plural);
        }
    }
    *served = now;
    if let Some(dep_rt) = store.find("apps", "v1", "deployments") {
        for d in store.list(&dep_rt, None, None) {
            let generation = d["metadata"]["generation"].as_i64().unwrap_or(1);
            if d["status"]["observedGeneration"].as_i64() == Some(generation) {
                continue;
            }
            let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
            let status = json!({"status": {"observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "updatedReplicas": replicas,
                "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}, {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}});
            let ns = d["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let name = d["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let _ = store.patch_merge(&dep_rt, &ns, &name, &status, "deployment-controller", true);
        }
    }
}
