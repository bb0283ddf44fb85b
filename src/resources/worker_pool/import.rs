//! Import of a pool, `<namespace>/<control plane>/<pool>` (or `.../<uid>` to choose one of
//! several instances): the instance is found by the `k0stack-pool` metadata of its servers
//! and by its record in the management cluster. A name that matches nothing is an error,
//! not an empty pool; the arguments are filled as the user writes them (image and flavor by
//! name), so a matching configuration plans nothing.

use std::collections::BTreeMap;

use tf_provider::value::Value;
use tf_provider::Diagnostics;

use crate::openstack::{OpenStack, Server, ServerQuery};
use crate::provider::ProviderHandle;
use crate::resources::hosted_control_plane::access;

use super::model::*;
use super::observe::{self, META_POOL, TAG_OWNED};
use super::record;
use super::resource::{error, string};

/// The parts of an import id: `(namespace, control plane, pool, uid)`.
pub fn parse_id(id: &str) -> Result<(&str, &str, &str, Option<&str>), String> {
    let parts: Vec<&str> = id.split('/').collect();
    let (ns, hcp, pool, uid) = match parts[..] {
        [ns, hcp, pool] => (ns, hcp, pool, None),
        [ns, hcp, pool, uid] => (ns, hcp, pool, Some(uid)),
        _ => return Err(format!("{id:?}: import a worker pool by <hosted control plane namespace>/<hosted control plane name>/<pool name>, e.g. kmc-system/dev/general (or .../<uid> to choose one of several instances).")),
    };
    if [ns, hcp, pool].iter().any(|p| p.is_empty()) || uid == Some("") {
        return Err(format!(
            "{id:?} has an empty part; expected <namespace>/<control plane>/<pool>."
        ));
    }
    Ok((ns, hcp, pool, uid))
}

/// Instances of pool `pool_id` by uid, with how many servers each has (pure).
pub fn instances(servers: &[Server], records: &[String], pool_id: &str) -> BTreeMap<String, usize> {
    let mut found: BTreeMap<String, usize> = records.iter().map(|u| (u.clone(), 0)).collect();
    for s in servers
        .iter()
        .filter(|s| s.metadata.get(META_POOL).map(String::as_str) == Some(pool_id))
    {
        if let Some(uid) = s.tags.iter().find_map(|t| t.strip_prefix("k0stack-pool=")) {
            *found.entry(uid.to_string()).or_default() += 1;
        }
    }
    found
}

/// The import: which instance, or an error saying why none or which ones.
pub async fn import(handle: &ProviderHandle, diags: &mut Diagnostics, id: &str) -> Option<State> {
    let (ns, hcp, pool, chosen) = match parse_id(id) {
        Ok(p) => p,
        Err(e) => {
            error(diags, "Invalid import id", e);
            return None;
        }
    };
    let pool_id = format!("{ns}/{hcp}/{pool}");
    let clients = match handle.get() {
        Ok(c) => c,
        Err(e) => {
            error(diags, "Provider not configured", e);
            return None;
        }
    };
    let os = match clients.openstack_api() {
        Ok(os) => os.clone(),
        Err(e) => {
            error(diags, "No OpenStack cloud", e);
            return None;
        }
    };
    let servers = match os
        .list_servers(&ServerQuery {
            tags: vec![TAG_OWNED.into()],
            ..Default::default()
        })
        .await
    {
        Ok(s) => s,
        Err(e) => {
            error(diags, "Cannot list the servers", e);
            return None;
        }
    };
    // The default setup's kubernetes block, or the bootstrap setup's kubeconfig file.
    let (kube, management_kubeconfig) =
        crate::resources::hosted_control_plane::import::connection(&clients, diags, id).await?;
    let records: Vec<String> = match record::list(&kube, ns, &pool_id).await {
        Ok(rs) => rs
            .iter()
            .filter_map(|r| r["data"]["uid"].as_str().map(String::from))
            .collect(),
        Err(e) => {
            error(diags, "Cannot read the management cluster", e);
            return None;
        }
    };
    let found = instances(&servers, &records, &pool_id);
    let uid = match (chosen, found.len()) {
        (Some(u), _) if found.contains_key(u) => u.to_string(),
        (Some(u), _) => {
            error(
                diags,
                "No such pool instance",
                format!(
                    "no instance {u} of pool {pool_id}: instances found: {}.",
                    describe(&found)
                ),
            );
            return None;
        }
        (None, 1) => found.keys().next().cloned().unwrap_or_default(),
        (None, 0) => {
            let hint =
                match access::hosted_access(&clients, &kube, ns, hcp, access::Kubeconfig::Skip)
                    .await
                {
                    Ok(None) => format!(" (and there is no hosted control plane {ns}/{hcp})"),
                    _ => String::new(),
                };
            error(diags, "No such pool", format!("no worker pool {pool_id} exists: no server carries the metadata {META_POOL}={pool_id} and the management cluster holds no record of it{hint}. Check the pool name (the `name` argument) and the control plane's id."));
            return None;
        }
        (None, _) => {
            error(diags, "Several instances of this pool", format!("pool {pool_id} has several instances (e.g. the old and the new of a create_before_destroy): {}. Import one with {pool_id}/<uid>.", describe(&found)));
            return None;
        }
    };
    Some(State {
        id: string(pool_id),
        name: string(pool),
        hosted_control_plane_id: string(format!("{ns}/{hcp}")),
        uid: string(uid),
        wait_for_nodes: Value::Value(true),
        max_parallel: Value::Value(DEFAULT_MAX_PARALLEL as i64),
        stopped_members: string(DEFAULT_STOPPED_POLICY),
        management_kubeconfig: management_kubeconfig.map(string).unwrap_or(Value::Null),
        ..Default::default()
    })
}

fn describe(found: &BTreeMap<String, usize>) -> String {
    if found.is_empty() {
        return "none".into();
    }
    found
        .iter()
        .map(|(u, n)| format!("{u} ({n} servers)"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// After an import: the arguments as the servers show them, written the way a user writes
/// them (flavor and image by name), so a matching configuration plans no member changes.
/// `k0s_version` follows the control plane (its default), and `template_hash` is the one
/// the members were built from when they agree.
pub async fn adopt_live(
    s: &mut State,
    servers: &[Server],
    os: &OpenStack,
    hcp_version: Option<&str>,
) {
    s.size = Value::Value(servers.len() as i64);
    if s.k0s_version.is_null() {
        if let Some(v) = hcp_version {
            s.k0s_version = string(v);
        }
    }
    let hashes: std::collections::BTreeSet<&String> = servers
        .iter()
        .filter_map(|sv| sv.metadata.get(observe::META_TEMPLATE))
        .collect();
    if hashes.len() == 1 && s.template_hash.is_null() {
        if let Some(only) = hashes.first() {
            s.template_hash = string((*only).clone());
        }
    }
    let Some(first) = servers.first() else {
        return;
    };
    if let Some(f) = &first.flavor_name {
        s.flavor = string(f.clone());
    }
    if let Some(i) = &first.image_id {
        let name = match os.find_image(i).await {
            Ok(img) if !img.name.is_empty() => img.name,
            _ => i.clone(),
        };
        s.image = string(name);
    }
    let nets: Vec<Str> = first.addresses.keys().map(|k| string(k.clone())).collect();
    if !nets.is_empty() {
        s.networks = Value::Value(nets);
    }
    if s.hosted_control_plane_uid.is_null() {
        if let Some(u) = observe::cluster_of(&first.tags) {
            s.hosted_control_plane_uid = string(u);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(uid: &str, pool: &str) -> Server {
        Server {
            id: format!("{uid}-{pool}"),
            tags: vec![TAG_OWNED.into(), observe::pool_tag(uid)],
            metadata: BTreeMap::from([(META_POOL.to_string(), pool.to_string())]),
            ..Default::default()
        }
    }

    #[test]
    fn ids_with_and_without_a_uid() {
        assert_eq!(
            parse_id("kmc/dev/general").unwrap(),
            ("kmc", "dev", "general", None)
        );
        assert_eq!(
            parse_id("kmc/dev/general/abc").unwrap(),
            ("kmc", "dev", "general", Some("abc"))
        );
        assert!(parse_id("kmc/dev").is_err());
        assert!(parse_id("kmc//general").is_err());
    }

    #[test]
    fn instances_come_from_servers_and_records() {
        let servers = vec![
            server("u1", "kmc/dev/general"),
            server("u1", "kmc/dev/general"),
            server("u2", "kmc/dev/general"),
            server("u3", "kmc/dev/gpu"),
        ];
        let found = instances(&servers, &["u4".to_string()], "kmc/dev/general");
        assert_eq!(
            found,
            BTreeMap::from([("u1".into(), 2), ("u2".into(), 1), ("u4".into(), 0)])
        );
        assert!(instances(&servers, &[], "kmc/dev/typo").is_empty());
    }
}
