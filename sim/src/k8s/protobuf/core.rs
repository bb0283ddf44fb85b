//! Core (`v1`) kinds from protobuf to JSON. Each message is destructured without `..`,
//! so a field that k8s-pb knows and this file forgot is a compile error, not a silent drop.

use k8s_pb::api::core::v1 as core;
use serde_json::Value;

use super::json::{condition, int_or_string_omitempty, micro_time, object_meta, time, Obj};

pub fn namespace(n: core::Namespace) -> Value {
    let core::Namespace {
        metadata,
        spec,
        status,
    } = n;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .m("spec", spec, |s| {
            let core::NamespaceSpec { finalizers } = s;
            Obj::new().strs("finalizers", finalizers).done()
        })
        .m("status", status, |s| {
            let core::NamespaceStatus { phase, conditions } = s;
            Obj::new()
                .s("phase", phase)
                .list("conditions", conditions, |c| {
                    let core::NamespaceCondition {
                        r#type,
                        status,
                        last_transition_time,
                        reason,
                        message,
                    } = c;
                    Obj::new()
                        .s_req("type", r#type)
                        .s_req("status", status)
                        .m("lastTransitionTime", last_transition_time, time)
                        .s("reason", reason)
                        .s("message", message)
                        .done()
                })
                .done()
        })
        .done()
}

pub fn secret(s: core::Secret) -> Value {
    let core::Secret {
        metadata,
        immutable,
        data,
        string_data,
        r#type,
    } = s;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .b_ptr("immutable", immutable)
        .bytes_map("data", data)
        .map("stringData", string_data)
        .s("type", r#type)
        .done()
}

pub fn config_map(c: core::ConfigMap) -> Value {
    let core::ConfigMap {
        metadata,
        immutable,
        data,
        binary_data,
    } = c;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .b_ptr("immutable", immutable)
        .map("data", data)
        .bytes_map("binaryData", binary_data)
        .done()
}

pub fn service(s: core::Service) -> Value {
    let core::Service {
        metadata,
        spec,
        status,
    } = s;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .m("spec", spec, service_spec)
        .m("status", status, |s| {
            let core::ServiceStatus {
                load_balancer,
                conditions,
            } = s;
            Obj::new()
                .m("loadBalancer", load_balancer, load_balancer_status)
                .list("conditions", conditions, condition)
                .done()
        })
        .done()
}

fn service_spec(s: core::ServiceSpec) -> Value {
    let core::ServiceSpec {
        ports,
        selector,
        cluster_ip,
        cluster_ips,
        r#type,
        external_ips,
        session_affinity,
        load_balancer_ip,
        load_balancer_source_ranges,
        external_name,
        external_traffic_policy,
        health_check_node_port,
        publish_not_ready_addresses,
        session_affinity_config,
        ip_families,
        ip_family_policy,
        allocate_load_balancer_node_ports,
        load_balancer_class,
        internal_traffic_policy,
        traffic_distribution,
    } = s;
    Obj::new()
        .list("ports", ports, service_port)
        .map("selector", selector)
        .s("clusterIP", cluster_ip)
        .strs("clusterIPs", cluster_ips)
        .s("type", r#type)
        .strs("externalIPs", external_ips)
        .s("sessionAffinity", session_affinity)
        .s("loadBalancerIP", load_balancer_ip)
        .strs("loadBalancerSourceRanges", load_balancer_source_ranges)
        .s("externalName", external_name)
        .s("externalTrafficPolicy", external_traffic_policy)
        .i("healthCheckNodePort", health_check_node_port)
        .b("publishNotReadyAddresses", publish_not_ready_addresses)
        .m("sessionAffinityConfig", session_affinity_config, |c| {
            let core::SessionAffinityConfig { client_ip } = c;
            Obj::new()
                .m("clientIP", client_ip, |c| {
                    let core::ClientIpConfig { timeout_seconds } = c;
                    Obj::new().i_ptr("timeoutSeconds", timeout_seconds).done()
                })
                .done()
        })
        .strs("ipFamilies", ip_families)
        .s_ptr("ipFamilyPolicy", ip_family_policy)
        .b_ptr(
            "allocateLoadBalancerNodePorts",
            allocate_load_balancer_node_ports,
        )
        .s_ptr("loadBalancerClass", load_balancer_class)
        .s_ptr("internalTrafficPolicy", internal_traffic_policy)
        .s_ptr("trafficDistribution", traffic_distribution)
        .done()
}

fn service_port(p: core::ServicePort) -> Value {
    let core::ServicePort {
        name,
        protocol,
        app_protocol,
        port,
        target_port,
        node_port,
    } = p;
    Obj::new()
        .s("name", name)
        .s("protocol", protocol)
        .s_ptr("appProtocol", app_protocol)
        .i_req("port", port)
        .m("targetPort", target_port, int_or_string_omitempty)
        .i("nodePort", node_port)
        .done()
}

fn load_balancer_status(s: core::LoadBalancerStatus) -> Value {
    let core::LoadBalancerStatus { ingress } = s;
    Obj::new()
        .list("ingress", ingress, |i| {
            let core::LoadBalancerIngress {
                ip,
                hostname,
                ip_mode,
                ports,
            } = i;
            Obj::new()
                .s("ip", ip)
                .s("hostname", hostname)
                .s_ptr("ipMode", ip_mode)
                .list("ports", ports, |p| {
                    let core::PortStatus {
                        port,
                        protocol,
                        error,
                    } = p;
                    Obj::new()
                        .i_req("port", port)
                        .s_req("protocol", protocol)
                        .s_ptr("error", error)
                        .done()
                })
                .done()
        })
        .done()
}

pub fn service_account(s: core::ServiceAccount) -> Value {
    let core::ServiceAccount {
        metadata,
        secrets,
        image_pull_secrets,
        automount_service_account_token,
    } = s;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .list("secrets", secrets, object_reference)
        .list("imagePullSecrets", image_pull_secrets, |r| {
            let core::LocalObjectReference { name } = r;
            Obj::new().s("name", name).done()
        })
        .b_ptr(
            "automountServiceAccountToken",
            automount_service_account_token,
        )
        .done()
}

fn object_reference(r: core::ObjectReference) -> Value {
    let core::ObjectReference {
        kind,
        namespace,
        name,
        uid,
        api_version,
        resource_version,
        field_path,
    } = r;
    Obj::new()
        .s("kind", kind)
        .s("namespace", namespace)
        .s("name", name)
        .s("uid", uid)
        .s("apiVersion", api_version)
        .s("resourceVersion", resource_version)
        .s("fieldPath", field_path)
        .done()
}

pub fn event(e: core::Event) -> Value {
    let core::Event {
        metadata,
        involved_object,
        reason,
        message,
        source,
        first_timestamp,
        last_timestamp,
        count,
        r#type,
        event_time,
        series,
        action,
        related,
        reporting_component,
        reporting_instance,
    } = e;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .m("involvedObject", involved_object, object_reference)
        .s("reason", reason)
        .s("message", message)
        .m("source", source, |s| {
            let core::EventSource { component, host } = s;
            Obj::new().s("component", component).s("host", host).done()
        })
        .m("firstTimestamp", first_timestamp, time)
        .m("lastTimestamp", last_timestamp, time)
        .i("count", count)
        .s("type", r#type)
        .m("eventTime", event_time, micro_time)
        .m("series", series, |s| {
            let core::EventSeries {
                count,
                last_observed_time,
            } = s;
            Obj::new()
                .i("count", count)
                .m("lastObservedTime", last_observed_time, micro_time)
                .done()
        })
        .s("action", action)
        .m("related", related, object_reference)
        .s_req("reportingComponent", reporting_component)
        .s_req("reportingInstance", reporting_instance)
        .done()
}
