//! The `Cluster` status k0smotron writes, computed from its control plane StatefulSet's
//! status as last written by the StatefulSet controller (which lags right after a template
//! change: see [`super::super::rollout`]).
//!
//! - k0smotron 2.x (`v1beta2` storage): `internal/controller/k0smotron.io/k0smotroncluster_status.go`
//!   (`updateStatus`), v2.0.0 through v2.1.0-26-g3897bbe6. `Available` summarises only
//!   `ControlPlaneFunctional`, `KubeconfigSecretAvailable` and `ControlPlaneExposed` — not
//!   `ControlPlaneUpToDate`: it stays True during a roll. The deprecated v1beta1 `ready` is
//!   `readyReplicas == spec.replicas`.
//! - k0smotron 1.x (`v1beta1` only): `internal/controller/k0smotron.io/k0smotroncluster_statefulset.go`
//!   v1.10.9: `ready` turns true once one replica is ready and is never reset; no
//!   conditions, no ready or updated replica counts.

use serde_json::{json, Value};

use super::super::rollout;

/// What k0smotron knows when it writes the status.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// `metadata.generation` of the Cluster (conditions carry it as observedGeneration).
    pub generation: i64,
    /// `spec.replicas`.
    pub desired: i64,
    /// The StatefulSet's status (None: not created, a reconcile step before it failed).
    pub sts: Option<rollout::Status>,
    pub external_address: &'a str,
    /// The `<name>-kubeconfig` Secret exists.
    pub kubeconfig: bool,
    /// The hosted API answers (k0smotron gets `kube-system` through it).
    pub functional: bool,
    /// The reconcile step that failed, as `reconciliationStatus` says it.
    pub failure: Option<&'a str>,
}

fn cond(generation: i64, kind: &str, ok: Option<bool>, reason: &str, message: &str) -> Value {
    let status = match ok {
        Some(true) => "True",
        Some(false) => "False",
        None => "Unknown",
    };
    let mut c =
        json!({"type": kind, "status": status, "reason": reason, "observedGeneration": generation});
    if !message.is_empty() {
        c["message"] = json!(message);
    }
    c
}

/// k0smotron 2.x's status (v1beta2 shape, with the deprecated v1beta1 fields).
pub fn v1beta2(i: &Inputs) -> Value {
    let g = i.generation;
    let mut conditions = Vec::new();
    let (replicas, ready, updated) = i
        .sts
        .map(|s| (s.replicas, s.ready_replicas, s.updated_replicas))
        .unwrap_or_default();
    conditions.push(match i.sts {
        None => cond(
            g,
            "ControlPlaneScaling",
            Some(false),
            "NotFound",
            "Check controller logs for more details",
        ),
        Some(_) if i.desired > replicas => cond(
            g,
            "ControlPlaneScaling",
            Some(true),
            "ScalingUp",
            &format!(
                "Control plane is scaling up: {replicas}/{} replicas required",
                i.desired
            ),
        ),
        Some(_) if replicas > i.desired => cond(
            g,
            "ControlPlaneScaling",
            Some(true),
            "ScalingDown",
            &format!(
                "Control plane is scaling down: {replicas}/{} replicas desired",
                i.desired
            ),
        ),
        Some(_) => cond(
            g,
            "ControlPlaneScaling",
            Some(false),
            "ControlPlaneWithDesiredReplicas",
            "",
        ),
    });
    conditions.push(match i.sts {
        None => cond(
            g,
            "ControlPlaneUpToDate",
            Some(false),
            "NotFound",
            "Check controller logs for more details",
        ),
        Some(_) if updated != i.desired => cond(
            g,
            "ControlPlaneUpToDate",
            Some(false),
            "NotAllReplicasUpToDate",
            &format!(
                "Control plane is updating: {updated}/{} replicas with desired template",
                i.desired
            ),
        ),
        Some(_) => cond(
            g,
            "ControlPlaneUpToDate",
            Some(true),
            "AllReplicasUpToDate",
            "",
        ),
    });
    let exposed = match i.external_address.is_empty() {
        false => cond(
            g,
            "ControlPlaneExposed",
            Some(true),
            "ClusterWithExternalAddress",
            "",
        ),
        true => cond(
            g,
            "ControlPlaneExposed",
            Some(false),
            "ClusterWithExternalAddress",
            "Waiting for external address. Check controller logs for more details.",
        ),
    };
    let kubeconfig = match (i.kubeconfig, i.sts) {
        (true, _) => cond(g, "KubeconfigSecretAvailable", Some(true), "Created", ""),
        (false, None) => cond(
            g,
            "KubeconfigSecretAvailable",
            Some(false),
            "InternalError",
            "Control plane StatefulSet not found",
        ),
        (false, Some(_)) if ready == 0 => cond(
            g,
            "KubeconfigSecretAvailable",
            Some(false),
            "NoReadyReplicas",
            "It is needed to have at least 1 ready replica to generate the workload kubeconfig",
        ),
        (false, Some(_)) => cond(
            g,
            "KubeconfigSecretAvailable",
            Some(false),
            "InternalError",
            "Please check controller logs for errors",
        ),
    };
    let functional = match (i.sts, i.kubeconfig, i.functional) {
        (None, _, _) => cond(
            g,
            "ControlPlaneFunctional",
            Some(false),
            "NotFound",
            "Check controller logs for more details",
        ),
        (_, false, _) => cond(
            g,
            "ControlPlaneFunctional",
            Some(false),
            "KubeSystemNamespaceFound",
            "Waiting for kubeconfig secret to be available",
        ),
        (_, true, false) => cond(
            g,
            "ControlPlaneFunctional",
            Some(false),
            "InternalError",
            "failed to get namespace 'kube-system': connection refused",
        ),
        (_, true, true) => cond(
            g,
            "ControlPlaneFunctional",
            Some(true),
            "KubeSystemNamespaceFound",
            "",
        ),
    };
    let available = summary(g, [&functional, &kubeconfig, &exposed]);
    conditions.extend([exposed, kubeconfig, functional]);
    conditions.push(cond(
        g,
        "CertificatesAvailable",
        Some(false),
        "NotFound",
        "Check controller logs for more details",
    ));
    conditions.push(cond(g, "Deleting", Some(false), "NotDeleting", ""));
    conditions.push(available);
    let mut status = json!({
        "replicas": replicas, "readyReplicas": ready, "updatedReplicas": updated,
        "conditions": conditions,
        "deprecated": {"v1beta1": {
            "ready": i.sts.is_some() && ready == i.desired,
            "reconciliationStatus": i.failure.unwrap_or("Reconciliation successful"),
        }},
    });
    if i.sts.is_none() {
        status.as_object_mut().map(|s| {
            s.remove("replicas");
            s.remove("readyReplicas");
            s.remove("updatedReplicas")
        });
    }
    status
}

/// Cluster API's summary of `of` (`conditions.NewSummaryCondition`, the default merge
/// strategy): True when all are, else False listing each one that is not.
fn summary<const N: usize>(generation: i64, of: [&Value; N]) -> Value {
    let issues: Vec<String> = of
        .iter()
        .filter(|c| c["status"] != "True")
        .map(|c| {
            format!(
                "* {}: {}",
                c["type"].as_str().unwrap_or_default(),
                c["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    match issues.is_empty() {
        true => cond(generation, "Available", Some(true), "InfoReported", ""),
        false => cond(
            generation,
            "Available",
            Some(false),
            "IssuesReported",
            &issues.join("\n"),
        ),
    }
}

/// k0smotron 1.x's status (v1beta1): `ready` sticks once one replica was ready (`was_ready`).
pub fn v1beta1(i: &Inputs, was_ready: bool, name: &str) -> Value {
    let ready_now = i.sts.is_some_and(|s| s.ready_replicas > 0);
    let mut status = json!({
        "reconciliationStatus": i.failure.map(String::from).unwrap_or_else(|| match ready_now || was_ready {
            true => "Reconciliation successful".into(),
            false => format!("waiting for the state: no replicas ready yet for statefulset 'kmc-{name}' (0/{})", i.desired),
        }),
        "selector": format!("app=k0smotron,cluster={name}"),
    });
    if let Some(s) = i.sts {
        status["replicas"] = json!(s.replicas);
    }
    if was_ready || ready_now {
        status["ready"] = json!(true);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(sts: rollout::Status) -> Inputs<'static> {
        Inputs {
            generation: 3,
            desired: 2,
            sts: Some(sts),
            external_address: "10.0.0.1",
            kubeconfig: true,
            functional: true,
            failure: None,
        }
    }

    fn find<'a>(status: &'a Value, kind: &str) -> &'a Value {
        status["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn available_stays_true_during_a_roll_and_up_to_date_says_it() {
        let rolling = rollout::Status {
            observed_generation: 2,
            replicas: 2,
            ready_replicas: 1,
            updated_replicas: 1,
            ..Default::default()
        };
        let s = v1beta2(&inputs(rolling));
        assert_eq!(find(&s, "Available")["status"], "True", "{s}");
        assert_eq!(find(&s, "Available")["observedGeneration"], 3);
        assert_eq!(find(&s, "ControlPlaneUpToDate")["status"], "False");
        assert_eq!(
            find(&s, "ControlPlaneUpToDate")["message"],
            "Control plane is updating: 1/2 replicas with desired template"
        );
        assert_eq!(s["deprecated"]["v1beta1"]["ready"], false);
    }

    #[test]
    fn no_address_or_no_ready_replica_is_not_available() {
        let none_ready = rollout::Status {
            replicas: 2,
            ..Default::default()
        };
        let mut i = inputs(none_ready);
        i.kubeconfig = false;
        i.external_address = "";
        let s = v1beta2(&i);
        let a = find(&s, "Available");
        assert_eq!(a["status"], "False");
        let m = a["message"].as_str().unwrap();
        assert!(
            m.contains("* ControlPlaneFunctional: Waiting for kubeconfig secret to be available"),
            "{m}"
        );
        assert!(
            m.contains(
                "* KubeconfigSecretAvailable: It is needed to have at least 1 ready replica"
            ),
            "{m}"
        );
        assert!(
            m.contains("* ControlPlaneExposed: Waiting for external address"),
            "{m}"
        );
    }

    #[test]
    fn k0smotron_1_ready_sticks() {
        let down = rollout::Status {
            replicas: 1,
            ..Default::default()
        };
        let i = inputs(down);
        assert_eq!(v1beta1(&i, true, "a")["ready"], true);
        assert!(v1beta1(&i, false, "a").get("ready").is_none());
        assert!(v1beta1(&i, false, "a").get("conditions").is_none());
    }
}
