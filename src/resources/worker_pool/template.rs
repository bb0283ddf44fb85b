//! The member template: what every server of a pool is built from. Its hash, stored with
//! each member, says which members a change must replace; nothing that changes per
//! operation (the join token, the server name) is part of it.

use std::collections::BTreeMap;

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::cloudinit::WorkerTemplate;

/// The resolved template (flavor and image as ids, so renaming an image does not roll).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct MemberTemplate {
    pub flavor_id: String,
    pub image_id: String,
    pub boot_volume_size: Option<u32>,
    pub boot_volume_type: Option<String>,
    pub network_ids: Vec<String>,
    pub security_groups: Vec<String>,
    pub key_pair: Option<String>,
    pub k0s_version: String,
    pub download_url: Option<String>,
    /// Skipped when absent: templates of pools without one keep the hash they had before
    /// the `airgap` block existed (no roll on upgrade of the provider).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_bundle: Option<crate::cloudinit::ImageBundle>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<String>,
    pub kubelet_extra_args: Option<String>,
    pub extra_user_data: Option<String>,
    /// Nova metadata: set at boot and updated in place through Nova's metadata API, so it
    /// is not part of [`Self::hash`] (only of [`Self::legacy_hash`]).
    pub metadata: BTreeMap<String, String>,
    /// A member joins its server group at boot only, so a policy change rolls the pool.
    pub server_group_policy: Option<String>,
}

fn digest16(t: &MemberTemplate) -> String {
    let json = serde_json::to_vec(t).expect("serializable");
    let digest = Sha256::digest(json);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

impl MemberTemplate {
    /// 16 hex digits of SHA-256 over the canonical JSON of what a member is built from:
    /// security groups and taints in sorted order (their order means nothing), Nova metadata
    /// left out (it is updated in place).
    pub fn hash(&self) -> String {
        let mut canonical = self.clone();
        canonical.metadata.clear();
        canonical.security_groups.sort();
        canonical.security_groups.dedup();
        canonical.taints.sort();
        canonical.taints.dedup();
        digest16(&canonical)
    }

    /// The hash earlier versions computed (order kept, metadata in): members built by them
    /// from this very template carry it, and are current, not due for a roll. Equal to
    /// [`Self::hash`] for most templates (no metadata, lists already sorted).
    pub fn legacy_hash(&self) -> String {
        digest16(self)
    }

    /// Hashes that name this same template (besides [`Self::hash`]).
    pub fn equivalent_hashes(&self) -> Vec<String> {
        let legacy = self.legacy_hash();
        if legacy == self.hash() {
            vec![]
        } else {
            vec![legacy]
        }
    }

    /// The cloud-init inputs of this template.
    pub fn worker(&self) -> WorkerTemplate {
        WorkerTemplate {
            k0s_version: self.k0s_version.clone(),
            download_url: self.download_url.clone(),
            labels: self.labels.clone(),
            taints: self.taints.clone(),
            kubelet_extra_args: self.kubelet_extra_args.clone(),
            extra_user_data: self.extra_user_data.clone(),
            image_bundle: self.image_bundle.clone(),
        }
    }
}

/// `<pool>-<5 random [a-z0-9]>`, unique among `taken`.
pub fn member_name(pool: &str, taken: &[String]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    loop {
        let suffix: String = (0..5)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect();
        let name = format!("{pool}-{suffix}");
        if !taken.contains(&name) {
            return name;
        }
    }
}

/// The availability zone for the next member: the least used, in the configured order.
pub fn next_zone<'a>(zones: &'a [String], used: &[Option<String>]) -> Option<&'a String> {
    zones.iter().min_by_key(|z| {
        used.iter()
            .filter(|u| u.as_deref() == Some(z.as_str()))
            .count()
    })
}

/// Checks a taint `key=value:Effect` or `key:Effect`.
pub fn check_taint(t: &str) -> Result<(), String> {
    let Some((kv, effect)) = t.rsplit_once(':') else {
        return Err(format!(
            "{t:?} must look like key=value:Effect or key:Effect"
        ));
    };
    if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        return Err(format!(
            "{t:?}: effect must be NoSchedule, PreferNoSchedule or NoExecute, got {effect:?}"
        ));
    }
    let key = kv.split_once('=').map(|(k, _)| k).unwrap_or(kv);
    if !label_key_ok(key) {
        return Err(format!("{t:?}: {key:?} is not a valid taint key"));
    }
    Ok(())
}

/// A Kubernetes label key: optional DNS prefix and `/`, then a name of at most 63 chars.
pub fn label_key_ok(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    name_ok && prefix.is_none_or(crate::framework::validators::dns_subdomain)
}

/// A Kubernetes label value: empty, or at most 63 chars of `[A-Za-z0-9-_.]`, alphanumeric at both ends.
pub fn label_value_ok(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && v.chars().last().is_some_and(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_changes_with_the_template_only() {
        let t = MemberTemplate {
            flavor_id: "f1".into(),
            image_id: "i1".into(),
            k0s_version: "v1.32.6+k0s.0".into(),
            ..Default::default()
        };
        let h = t.hash();
        assert_eq!(h.len(), 16);
        assert_eq!(h, t.clone().hash());
        assert_ne!(
            h,
            MemberTemplate {
                flavor_id: "f2".into(),
                ..t.clone()
            }
            .hash()
        );
        assert_ne!(
            h,
            MemberTemplate {
                taints: vec!["a:NoSchedule".into()],
                ..t
            }
            .hash()
        );
    }

    #[test]
    fn an_image_bundle_changes_the_hash_and_its_absence_keeps_the_old_one() {
        let t = MemberTemplate {
            flavor_id: "f1".into(),
            k0s_version: "v1.32.6+k0s.0".into(),
            ..Default::default()
        };
        // The hash of this template before the field existed (same JSON without it).
        assert_eq!(t.hash(), "844cca66feeb6137");
        let with = MemberTemplate {
            image_bundle: Some(crate::cloudinit::ImageBundle {
                url: "https://mirror.site/b.tar".into(),
                sha256: None,
            }),
            ..t.clone()
        };
        assert_ne!(with.hash(), t.hash());
    }

    #[test]
    fn order_free_lists_and_metadata_do_not_change_the_hash() {
        let t = MemberTemplate {
            flavor_id: "f1".into(),
            security_groups: vec!["sg-a".into(), "sg-b".into()],
            taints: vec!["a:NoSchedule".into(), "b:NoSchedule".into()],
            ..Default::default()
        };
        let reordered = MemberTemplate {
            security_groups: vec!["sg-b".into(), "sg-a".into()],
            taints: vec!["b:NoSchedule".into(), "a:NoSchedule".into()],
            metadata: BTreeMap::from([("team".to_string(), "x".to_string())]),
            ..t.clone()
        };
        assert_eq!(t.hash(), reordered.hash());
        // A template of earlier versions (sorted, no metadata) keeps its hash.
        assert_eq!(t.legacy_hash(), t.hash());
        assert!(t.equivalent_hashes().is_empty());
        assert_eq!(reordered.equivalent_hashes(), vec![reordered.legacy_hash()]);
    }

    #[test]
    fn names_are_unique_and_prefixed() {
        let taken: Vec<String> = (0..50).map(|_| member_name("gpu", &[])).collect();
        let n = member_name("gpu", &taken);
        assert!(n.starts_with("gpu-") && n.len() == 9 && !taken.contains(&n));
    }

    #[test]
    fn zones_round_robin() {
        let zones = vec!["az1".to_string(), "az2".to_string(), "az3".to_string()];
        let mut used: Vec<Option<String>> = Vec::new();
        for _ in 0..6 {
            let z = next_zone(&zones, &used).cloned();
            used.push(z);
        }
        let count = |z: &str| used.iter().filter(|u| u.as_deref() == Some(z)).count();
        assert_eq!((count("az1"), count("az2"), count("az3")), (2, 2, 2));
        assert_eq!(next_zone(&[], &used), None);
    }

    #[test]
    fn taints_and_labels() {
        assert!(check_taint("nvidia.com/gpu=true:NoSchedule").is_ok());
        assert!(check_taint("dedicated:NoExecute").is_ok());
        assert!(check_taint("gpu=true")
            .unwrap_err()
            .contains("key=value:Effect"));
        assert!(check_taint("gpu=true:Never")
            .unwrap_err()
            .contains("effect must be"));
        assert!(label_key_ok("node.k0stack.io/pool") && !label_key_ok("bad key"));
        assert!(label_value_ok("general") && !label_value_ok("-x"));
    }
}
