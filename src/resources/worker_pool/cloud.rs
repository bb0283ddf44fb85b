//! The worker pool's OpenStack side: resolving names to ids (at plan time, so a typo is a
//! plan error naming the attribute), listing the pool's servers, and building the server
//! create request of a member.

use std::collections::BTreeMap;

use crate::framework::{Problems, Secret};
use crate::openstack::{BootVolume, CreateServer, OpenStack, OsError, Server, ServerQuery};

use super::model::PoolSpec;
use super::observe::{pool_tag, ServerFacts, META_POOL, META_TEMPLATE, TAG_OWNED};
use super::template::MemberTemplate;

/// A member template with the names Nova wants at create time (not part of the hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTemplate {
    pub template: MemberTemplate,
    pub security_group_names: Vec<String>,
    /// Name of the first network: Nova keys addresses by network name.
    pub first_network: String,
}

pub fn lookup_problem(p: &mut Problems, attr: &str, e: &OsError) {
    let summary = match e {
        OsError::NotFound { kind, .. } => format!("Unknown {kind}"),
        OsError::Ambiguous { kind, .. } => format!("Ambiguous {kind}"),
        OsError::NotUsable { kind, .. } => format!("Unusable {kind}"),
        _ => format!("Cannot look up {attr}"),
    };
    p.push(&[attr], summary, e.to_string());
}

/// Resolves the names of `spec` against OpenStack; every failed lookup is a problem at its
/// attribute. Lookups run concurrently (and identical ones of other pools coalesce).
pub async fn resolve(
    os: &OpenStack,
    spec: &PoolSpec,
    k0s_version: &str,
) -> Result<ResolvedTemplate, Problems> {
    let mut p = Problems::default();
    let flavor = os.find_flavor(&spec.flavor);
    let image = os.find_image(&spec.image);
    let networks = futures_util::future::join_all(spec.networks.iter().map(|n| os.find_network(n)));
    let groups = futures_util::future::join_all(
        spec.security_groups
            .iter()
            .map(|g| os.find_security_group(g)),
    );
    let key_pair = async {
        match &spec.key_pair {
            Some(k) => Some(os.find_keypair(k).await),
            None => None,
        }
    };
    let zones = futures_util::future::join_all(
        spec.availability_zones
            .iter()
            .map(|z| os.find_availability_zone(z)),
    );
    let (flavor, image, networks, groups, key_pair, zones) =
        futures_util::join!(flavor, image, networks, groups, key_pair, zones);
    for z in zones {
        if let Err(e) = z {
            lookup_problem(&mut p, "availability_zones", &e);
        }
    }
    let flavor = flavor
        .map_err(|e| lookup_problem(&mut p, "flavor", &e))
        .ok();
    let image = image.map_err(|e| lookup_problem(&mut p, "image", &e)).ok();
    let mut network_ids = Vec::new();
    let mut first_network = String::new();
    for (i, n) in networks.into_iter().enumerate() {
        match n {
            Ok(n) => {
                if i == 0 {
                    first_network = n.name.clone();
                }
                network_ids.push(n.id);
            }
            Err(e) => lookup_problem(&mut p, "networks", &e),
        }
    }
    let (mut group_ids, mut group_names) = (Vec::new(), Vec::new());
    for g in groups {
        match g {
            Ok(g) => {
                group_ids.push(g.id);
                group_names.push(g.name);
            }
            Err(e) => lookup_problem(&mut p, "security_groups", &e),
        }
    }
    if let Some(Err(e)) = &key_pair {
        lookup_problem(&mut p, "key_pair", e);
    }
    let (Some(flavor), Some(image)) = (flavor, image) else {
        return Err(p);
    };
    if !p.is_empty() {
        return Err(p);
    }
    let template = MemberTemplate {
        flavor_id: flavor.id,
        image_id: image.id,
        boot_volume_size: spec.boot_volume.as_ref().map(|b| b.0),
        boot_volume_type: spec.boot_volume.as_ref().and_then(|b| b.1.clone()),
        network_ids,
        security_groups: group_ids,
        key_pair: spec.key_pair.clone(),
        k0s_version: k0s_version.to_string(),
        download_url: spec.k0s_download_url.clone(),
        image_bundle: spec.image_bundle.clone(),
        labels: spec.labels.clone(),
        taints: spec.taints.clone(),
        kubelet_extra_args: spec.kubelet_extra_args.clone(),
        extra_user_data: spec.extra_user_data.clone(),
        metadata: spec.metadata.clone(),
        server_group_policy: spec.server_group_policy.clone(),
    };
    Ok(ResolvedTemplate {
        template,
        security_group_names: group_names,
        first_network,
    })
}

/// What the pool needs of a Nova server.
pub fn facts(s: &Server, first_network: Option<&str>) -> ServerFacts {
    ServerFacts {
        id: s.id.clone(),
        name: s.name.clone(),
        status: s.status.clone(),
        template_hash: s.metadata.get(META_TEMPLATE).cloned(),
        ip: s.first_ip(first_network).or_else(|| s.first_ip(None)),
        zone: s.availability_zone.clone(),
        created: s.created.clone().unwrap_or_default(),
        fault: s.fault.as_ref().map(|f| f.message.clone()),
        flavor: s.flavor_name.clone(),
        metadata: s.metadata.clone(),
    }
}

/// How a pool lists its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Refresh (no writes in flight): the query is the same for every pool (all servers the
    /// provider owns), so the pools of one plan share one coalesced Nova list call.
    Shared,
    /// Apply, after this pool's own writes: a query only this pool makes, so it never joins
    /// a list another pool started before those writes (a stale answer would make the pool
    /// create its members twice).
    Own,
}

/// The servers of pool `uid`.
pub async fn pool_servers(
    os: &OpenStack,
    uid: &str,
    listing: Listing,
) -> Result<Vec<Server>, OsError> {
    let tag = pool_tag(uid);
    let query = match listing {
        Listing::Shared => TAG_OWNED.to_string(),
        Listing::Own => tag.clone(),
    };
    let all = os
        .list_servers_shared(&ServerQuery {
            tags: vec![query],
            ..Default::default()
        })
        .await?;
    Ok(all
        .iter()
        .filter(|s| s.tags.contains(&tag) && s.status != "DELETED")
        .cloned()
        .collect())
}

/// Who a member belongs to.
pub struct Ownership<'a> {
    pub pool_uid: &'a str,
    pub hcp_uid: &'a str,
    pub pool_id: &'a str,
    pub hash: &'a str,
    /// The join token request whose token the member's user data carries.
    pub join_token_request: Option<&'a str>,
}

/// The create request of one member.
pub fn create_request(
    rt: &ResolvedTemplate,
    owner: &Ownership<'_>,
    name: &str,
    zone: Option<&str>,
    server_group: Option<&str>,
    user_data: Secret,
) -> CreateServer {
    let t = &rt.template;
    let mut metadata: BTreeMap<String, String> = t.metadata.clone();
    metadata.insert(META_POOL.into(), owner.pool_id.to_string());
    metadata.insert(META_TEMPLATE.into(), owner.hash.to_string());
    if let Some(r) = owner.join_token_request {
        metadata.insert(super::token_plan::META_REQUEST.into(), r.to_string());
    }
    let boot_volume = t.boot_volume_size.map(|size_gb| BootVolume {
        image_id: t.image_id.clone(),
        size_gb,
        volume_type: t.boot_volume_type.clone(),
    });
    CreateServer {
        name: name.to_string(),
        flavor_id: t.flavor_id.clone(),
        image_id: boot_volume.is_none().then(|| t.image_id.clone()),
        boot_volume,
        networks: t.network_ids.clone(),
        security_groups: rt.security_group_names.clone(),
        key_name: t.key_pair.clone(),
        user_data: Some(user_data),
        metadata,
        tags: vec![
            TAG_OWNED.to_string(),
            pool_tag(owner.pool_uid),
            super::observe::cluster_tag(owner.hcp_uid),
        ],
        availability_zone: zone.map(String::from),
        server_group: server_group.map(String::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> ResolvedTemplate {
        ResolvedTemplate {
            template: MemberTemplate {
                flavor_id: "f".into(),
                image_id: "i".into(),
                network_ids: vec!["n".into()],
                security_groups: vec!["sg-id".into()],
                k0s_version: "v1.32.6+k0s.0".into(),
                metadata: BTreeMap::from([("team".to_string(), "a".to_string())]),
                ..Default::default()
            },
            security_group_names: vec!["k0s-worker".into()],
            first_network: "private".into(),
        }
    }

    #[test]
    fn create_request_is_tagged_and_carries_the_template_hash() {
        let owner = Ownership {
            pool_uid: "p1",
            hcp_uid: "c1",
            pool_id: "kmc/dev/general",
            hash: "h1",
            join_token_request: Some("k0stack-p1-1"),
        };
        let r = create_request(
            &rt(),
            &owner,
            "general-abcde",
            Some("az1"),
            Some("g"),
            Secret::new("x"),
        );
        assert_eq!(r.tags, ["k0stack", "k0stack-pool=p1", "k0stack-cluster=c1"]);
        assert_eq!(r.metadata[META_TEMPLATE], "h1");
        assert_eq!(r.metadata[META_POOL], "kmc/dev/general");
        assert_eq!(
            r.metadata[super::super::token_plan::META_REQUEST],
            "k0stack-p1-1"
        );
        assert_eq!(r.metadata["team"], "a");
        assert_eq!(r.image_id.as_deref(), Some("i"));
        assert_eq!(r.security_groups, ["k0s-worker"]);
        assert_eq!(
            (r.availability_zone.as_deref(), r.server_group.as_deref()),
            (Some("az1"), Some("g"))
        );

        let mut bfv = rt();
        bfv.template.boot_volume_size = Some(40);
        let r = create_request(&bfv, &owner, "general-abcde", None, None, Secret::new("x"));
        assert_eq!(r.image_id, None);
        assert_eq!(
            r.boot_volume.map(|b| (b.image_id, b.size_gb)),
            Some(("i".into(), 40))
        );
    }
}
