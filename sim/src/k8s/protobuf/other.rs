//! rbac.authorization.k8s.io/v1, coordination.k8s.io/v1 and policy/v1 kinds from protobuf
//! to JSON (each message destructured without `..`: no field is dropped silently).

use k8s_pb::api::coordination::v1 as coordination;
use k8s_pb::api::policy::v1 as policy;
use k8s_pb::api::rbac::v1 as rbac;
use serde_json::Value;

use super::json::{condition, int_or_string, label_selector, micro_time, object_meta, time, Obj};

fn policy_rule(r: rbac::PolicyRule) -> Value {
    let rbac::PolicyRule {
        verbs,
        api_groups,
        resources,
        resource_names,
        non_resource_ur_ls,
    } = r;
    // `verbs` has no omitempty.
    Obj::new()
        .m("verbs", Some(verbs), |v| v.into())
        .strs("apiGroups", api_groups)
        .strs("resources", resources)
        .strs("resourceNames", resource_names)
        .strs("nonResourceURLs", non_resource_ur_ls)
        .done()
}

fn subject(s: rbac::Subject) -> Value {
    let rbac::Subject {
        kind,
        api_group,
        name,
        namespace,
    } = s;
    Obj::new()
        .s_req("kind", kind)
        .s("apiGroup", api_group)
        .s_req("name", name)
        .s("namespace", namespace)
        .done()
}

fn role_ref(r: rbac::RoleRef) -> Value {
    let rbac::RoleRef {
        api_group,
        kind,
        name,
    } = r;
    Obj::new()
        .s_req("apiGroup", api_group)
        .s_req("kind", kind)
        .s_req("name", name)
        .done()
}

pub fn role(r: rbac::Role) -> Value {
    let rbac::Role { metadata, rules } = r;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .list("rules", rules, policy_rule)
        .done()
}

pub fn cluster_role(r: rbac::ClusterRole) -> Value {
    let rbac::ClusterRole {
        metadata,
        rules,
        aggregation_rule,
    } = r;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .list("rules", rules, policy_rule)
        .m("aggregationRule", aggregation_rule, |a| {
            let rbac::AggregationRule {
                cluster_role_selectors,
            } = a;
            Obj::new()
                .list(
                    "clusterRoleSelectors",
                    cluster_role_selectors,
                    label_selector,
                )
                .done()
        })
        .done()
}

pub fn role_binding(b: rbac::RoleBinding) -> Value {
    let rbac::RoleBinding {
        metadata,
        subjects,
        role_ref: r,
    } = b;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .list("subjects", subjects, subject)
        .m("roleRef", r, role_ref)
        .done()
}

pub fn cluster_role_binding(b: rbac::ClusterRoleBinding) -> Value {
    let rbac::ClusterRoleBinding {
        metadata,
        subjects,
        role_ref: r,
    } = b;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .list("subjects", subjects, subject)
        .m("roleRef", r, role_ref)
        .done()
}

pub fn lease(l: coordination::Lease) -> Value {
    let coordination::Lease { metadata, spec } = l;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .m("spec", spec, |s| {
            let coordination::LeaseSpec {
                holder_identity,
                lease_duration_seconds,
                acquire_time,
                renew_time,
                lease_transitions,
                strategy,
                preferred_holder,
            } = s;
            Obj::new()
                .s_ptr("holderIdentity", holder_identity)
                .i_ptr("leaseDurationSeconds", lease_duration_seconds)
                .m("acquireTime", acquire_time, micro_time)
                .m("renewTime", renew_time, micro_time)
                .i_ptr("leaseTransitions", lease_transitions)
                .s_ptr("strategy", strategy)
                .s_ptr("preferredHolder", preferred_holder)
                .done()
        })
        .done()
}

pub fn pod_disruption_budget(p: policy::PodDisruptionBudget) -> Value {
    let policy::PodDisruptionBudget {
        metadata,
        spec,
        status,
    } = p;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .m("spec", spec, |s| {
            let policy::PodDisruptionBudgetSpec {
                min_available,
                selector,
                max_unavailable,
                unhealthy_pod_eviction_policy,
            } = s;
            Obj::new()
                .m("minAvailable", min_available, int_or_string)
                .m("selector", selector, label_selector)
                .m("maxUnavailable", max_unavailable, int_or_string)
                .s_ptr("unhealthyPodEvictionPolicy", unhealthy_pod_eviction_policy)
                .done()
        })
        .m("status", status, |s| {
            let policy::PodDisruptionBudgetStatus {
                observed_generation,
                disrupted_pods,
                disruptions_allowed,
                current_healthy,
                desired_healthy,
                expected_pods,
                conditions,
            } = s;
            Obj::new()
                .i("observedGeneration", observed_generation)
                .map_of("disruptedPods", disrupted_pods, time)
                .i_req("disruptionsAllowed", disruptions_allowed)
                .i_req("currentHealthy", current_healthy)
                .i_req("desiredHealthy", desired_healthy)
                .i_req("expectedPods", expected_pods)
                .list("conditions", conditions, condition)
                .done()
        })
        .done()
}
