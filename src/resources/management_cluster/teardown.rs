//! What a destroy removes, decided from what it found (pure; the I/O is in
//! [`super::connected`]).
//!
//! The rule: destroy never deletes what others use. Hosted control planes in this
//! instance's namespace block it (unless `force_destroy`); k0smotron installed from
//! `k0smotron_manifest` is uninstalled only by its last user — no other instance's marker
//! anywhere and no object of its CRDs left in any namespace — because deleting a CRD
//! deletes every object of it, in every namespace; the namespace is deleted only when
//! this instance created it and no other instance uses it (else it is handed over to one
//! of them, so that it too goes with its last user). `force_destroy` deletes this
//! namespace's control planes and uninstalls k0smotron whatever else uses it.

/// What the destroy found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub namespace: String,
    pub force: bool,
    pub has_manifest: bool,
    /// The namespace is this instance's (created by it).
    pub namespace_owned: bool,
    /// Other instances whose marker is on this namespace.
    pub namespace_users: Vec<String>,
    /// `(namespace, instance)` of every other instance's marker in the cluster.
    pub cluster_users: Vec<(String, String)>,
    /// k0smotron `Cluster` names in this namespace.
    pub control_planes_here: Vec<String>,
    /// Objects of the manifest's CRDs anywhere, as `Kind ns/name`, with the namespace.
    pub crd_objects: Vec<(String, String)>,
    /// Why the CRD objects could not be listed (then nothing is uninstalled).
    pub crd_objects_unknown: Option<String>,
}

/// What the destroy does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Refused: the error detail (nothing is deleted).
    pub refuse: Option<String>,
    pub delete_control_planes: bool,
    pub uninstall: bool,
    pub delete_namespace: bool,
    /// The namespace this instance owns stays for the other instances using it: it is
    /// handed over to this one.
    pub hand_over_namespace: Option<String>,
    /// `(summary, detail)` of each warning: what was left, and why.
    pub warnings: Vec<(String, String)>,
}

fn list(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

fn instances(users: &[(String, String)]) -> Vec<String> {
    users
        .iter()
        .map(|(ns, i)| format!("{i} (namespace {ns})"))
        .collect()
}

pub fn decide(f: &Found) -> Decision {
    let mut d = Decision::default();
    let ns = &f.namespace;
    let shared = !f.namespace_users.is_empty();
    if !f.control_planes_here.is_empty() {
        if shared {
            d.warnings.push((
                "Hosted control planes left in a shared namespace".into(),
                format!(
                    "namespace {ns} is also used by k0stack_management_cluster instance(s) {}, so it stays, and its hosted control planes ({}) with it; they may be theirs.",
                    f.namespace_users.join(", "),
                    list(&f.control_planes_here, 10)
                ),
            ));
        } else if !f.force {
            d.refuse = Some(format!(
                "namespace {ns} still holds {} hosted control plane(s): {}. Destroy them first (they usually are, when they are in the same configuration), or set force_destroy = true to delete them with the management cluster resource.",
                f.control_planes_here.len(),
                list(&f.control_planes_here, 20)
            ));
            return d;
        } else {
            d.delete_control_planes = true;
        }
    }
    if f.has_manifest {
        let remaining: Vec<String> = f
            .crd_objects
            .iter()
            .filter(|(o_ns, _)| !(d.delete_control_planes && o_ns == ns))
            .map(|(_, o)| o.clone())
            .collect();
        d.uninstall = f.force
            || (f.cluster_users.is_empty()
                && remaining.is_empty()
                && f.crd_objects_unknown.is_none());
        if !d.uninstall {
            let mut why = Vec::new();
            if !f.cluster_users.is_empty() {
                why.push(format!(
                    "other k0stack_management_cluster instances use this cluster: {}",
                    list(&instances(&f.cluster_users), 10)
                ));
            }
            if !remaining.is_empty() {
                why.push(format!(
                    "objects of its CRDs still exist (deleting a CRD deletes them all, in every namespace): {}",
                    list(&remaining, 10)
                ));
            }
            if let Some(e) = &f.crd_objects_unknown {
                why.push(format!("the objects of its CRDs could not be listed ({e})"));
            }
            d.warnings.push((
                "k0smotron left installed".into(),
                format!(
                    "the objects of k0smotron_manifest (CRDs, RBAC, webhooks, the operator) were not deleted because {}. The last user of k0smotron uninstalls it; to remove it regardless, which deletes every hosted control plane of the cluster, set force_destroy = true and destroy again, or kubectl delete -f the manifest.",
                    why.join("; and ")
                ),
            ));
        }
    }
    if f.namespace_owned {
        if let Some(heir) = f.namespace_users.iter().min() {
            // The namespace goes to one of its remaining users, which deletes it when it is
            // the last one out (as k0smotron goes to its last user).
            d.hand_over_namespace = Some(heir.clone());
            d.warnings.push((
                "Namespace handed over".into(),
                format!(
                    "this resource created namespace {ns}, but k0stack_management_cluster instance(s) {} use it too, so it stays; it now belongs to instance {heir}, whose destroy deletes it once no other instance uses it.",
                    f.namespace_users.join(", ")
                ),
            ));
        } else {
            d.delete_namespace = true;
        }
    }
    d
}

/// A bootstrapped cluster's destroy deletes its VMs, and everything in the cluster with
/// them: refused (unless `force`) while control planes exist in any namespace or other
/// instances use the cluster.
pub fn bootstrap_refusal(
    force: bool,
    control_planes: &[String],
    cluster_users: &[(String, String)],
) -> Option<String> {
    if force || (control_planes.is_empty() && cluster_users.is_empty()) {
        return None;
    }
    let mut why = Vec::new();
    if !control_planes.is_empty() {
        why.push(format!(
            "it still holds {} hosted control plane(s): {}",
            control_planes.len(),
            list(control_planes, 20)
        ));
    }
    if !cluster_users.is_empty() {
        why.push(format!(
            "other k0stack_management_cluster instances use it: {}",
            list(&instances(cluster_users), 10)
        ));
    }
    Some(format!(
        "destroying a bootstrapped management cluster deletes its controllers and everything in it, but {}. Destroy them first, or set force_destroy = true.",
        why.join("; and ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> Found {
        Found {
            namespace: "team-a".into(),
            has_manifest: true,
            namespace_owned: true,
            ..Default::default()
        }
    }

    #[test]
    fn the_last_user_uninstalls_everything() {
        let d = decide(&found());
        assert!(d.uninstall && d.delete_namespace && d.refuse.is_none());
        assert!(d.warnings.is_empty());
    }

    #[test]
    fn another_instance_or_another_namespace_s_objects_keep_k0smotron() {
        let mut f = found();
        f.cluster_users = vec![("team-b".into(), "bbb".into())];
        f.crd_objects = vec![("team-b".into(), "Cluster team-b/prod".into())];
        let d = decide(&f);
        assert!(!d.uninstall);
        assert!(d.delete_namespace, "team-a is not shared");
        let (summary, detail) = &d.warnings[0];
        assert_eq!(summary, "k0smotron left installed");
        assert!(detail.contains("bbb (namespace team-b)"), "{detail}");
        assert!(detail.contains("Cluster team-b/prod"), "{detail}");
        f.cluster_users.clear();
        assert!(!decide(&f).uninstall, "objects alone keep it");
        f.crd_objects.clear();
        f.crd_objects_unknown = Some("forbidden".into());
        assert!(!decide(&f).uninstall, "unknown is not none");
    }

    #[test]
    fn own_control_planes_refuse_unless_forced_and_force_removes_everything() {
        let mut f = found();
        f.control_planes_here = vec!["dev".into()];
        f.crd_objects = vec![("team-a".into(), "Cluster team-a/dev".into())];
        let d = decide(&f);
        assert!(d.refuse.unwrap().contains("force_destroy"));
        f.force = true;
        f.cluster_users = vec![("team-b".into(), "bbb".into())];
        let d = decide(&f);
        assert!(d.delete_control_planes && d.uninstall && d.delete_namespace);
    }

    #[test]
    fn a_shared_namespace_stays_with_its_control_planes() {
        let mut f = found();
        f.has_manifest = false;
        f.namespace_users = vec!["bbb".into()];
        f.cluster_users = vec![("team-a".into(), "bbb".into())];
        f.control_planes_here = vec!["theirs".into()];
        let d = decide(&f);
        assert!(d.refuse.is_none() && !d.delete_control_planes && !d.delete_namespace);
        let summaries: Vec<&str> = d.warnings.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "Hosted control planes left in a shared namespace",
                "Namespace handed over"
            ]
        );
        assert_eq!(d.hand_over_namespace.as_deref(), Some("bbb"));
        f.namespace_users = vec!["ccc".into(), "bbb".into()];
        assert_eq!(
            decide(&f).hand_over_namespace.as_deref(),
            Some("bbb"),
            "deterministic"
        );
    }

    #[test]
    fn a_bootstrapped_cluster_is_kept_while_anyone_uses_it() {
        assert_eq!(bootstrap_refusal(false, &[], &[]), None);
        let e = bootstrap_refusal(false, &["team-b/prod".into()], &[]).unwrap();
        assert!(e.contains("team-b/prod"), "{e}");
        let e = bootstrap_refusal(false, &[], &[("b".into(), "bbb".into())]).unwrap();
        assert!(e.contains("bbb (namespace b)"), "{e}");
        assert_eq!(bootstrap_refusal(true, &["x".into()], &[]), None);
    }
}
