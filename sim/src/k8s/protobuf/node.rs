//! `v1` Node from protobuf to JSON (kubectl cordon/taint patch in JSON; a Node body in
//! protobuf comes from `kubectl create -f` of a typed client or a kubelet-like client).

use k8s_pb::api::core::v1 as core;
use serde_json::Value;

use super::json::{object_meta, quantity, time, Obj};

pub fn node(n: core::Node) -> Value {
    let core::Node {
        metadata,
        spec,
        status,
    } = n;
    Obj::new()
        .m("metadata", metadata, object_meta)
        .m("spec", spec, node_spec)
        .m("status", status, node_status)
        .done()
}

fn node_spec(s: core::NodeSpec) -> Value {
    let core::NodeSpec {
        pod_cidr,
        pod_cid_rs,
        provider_id,
        unschedulable,
        taints,
        config_source,
        external_id,
    } = s;
    Obj::new()
        .s("podCIDR", pod_cidr)
        .strs("podCIDRs", pod_cid_rs)
        .s("providerID", provider_id)
        .b("unschedulable", unschedulable)
        .list("taints", taints, |t| {
            let core::Taint {
                key,
                value,
                effect,
                time_added,
            } = t;
            Obj::new()
                .s_req("key", key)
                .s("value", value)
                .s_req("effect", effect)
                .m("timeAdded", time_added, time)
                .done()
        })
        .m("configSource", config_source, node_config_source)
        .s("externalID", external_id)
        .done()
}

fn node_config_source(s: core::NodeConfigSource) -> Value {
    let core::NodeConfigSource { config_map } = s;
    Obj::new()
        .m("configMap", config_map, |c| {
            let core::ConfigMapNodeConfigSource {
                namespace,
                name,
                uid,
                resource_version,
                kubelet_config_key,
            } = c;
            Obj::new()
                .s_req("namespace", namespace)
                .s_req("name", name)
                .s("uid", uid)
                .s("resourceVersion", resource_version)
                .s_req("kubeletConfigKey", kubelet_config_key)
                .done()
        })
        .done()
}

fn node_status(s: core::NodeStatus) -> Value {
    let core::NodeStatus {
        capacity,
        allocatable,
        phase,
        conditions,
        addresses,
        daemon_endpoints,
        node_info,
        images,
        volumes_in_use,
        volumes_attached,
        config,
        runtime_handlers,
        features,
        declared_features,
    } = s;
    Obj::new()
        .map_of("capacity", capacity, quantity)
        .map_of("allocatable", allocatable, quantity)
        .s("phase", phase)
        .list("conditions", conditions, node_condition)
        .list("addresses", addresses, |a| {
            let core::NodeAddress { r#type, address } = a;
            Obj::new()
                .s_req("type", r#type)
                .s_req("address", address)
                .done()
        })
        .m("daemonEndpoints", daemon_endpoints, |d| {
            let core::NodeDaemonEndpoints { kubelet_endpoint } = d;
            Obj::new()
                .m("kubeletEndpoint", kubelet_endpoint, |e| {
                    let core::DaemonEndpoint { port } = e;
                    Obj::new().i_req("Port", port).done()
                })
                .done()
        })
        .m("nodeInfo", node_info, node_system_info)
        .list("images", images, |i| {
            let core::ContainerImage { names, size_bytes } = i;
            Obj::new()
                .strs("names", names)
                .i("sizeBytes", size_bytes)
                .done()
        })
        .strs("volumesInUse", volumes_in_use)
        .list("volumesAttached", volumes_attached, |v| {
            let core::AttachedVolume { name, device_path } = v;
            Obj::new()
                .s_req("name", name)
                .s_req("devicePath", device_path)
                .done()
        })
        .m("config", config, |c| {
            let core::NodeConfigStatus {
                assigned,
                active,
                last_known_good,
                error,
            } = c;
            Obj::new()
                .m("assigned", assigned, node_config_source)
                .m("active", active, node_config_source)
                .m("lastKnownGood", last_known_good, node_config_source)
                .s("error", error)
                .done()
        })
        .list("runtimeHandlers", runtime_handlers, |h| {
            let core::NodeRuntimeHandler { name, features } = h;
            Obj::new()
                .s_req("name", name)
                .m("features", features, |f| {
                    let core::NodeRuntimeHandlerFeatures {
                        recursive_read_only_mounts,
                        user_namespaces,
                    } = f;
                    Obj::new()
                        .b_ptr("recursiveReadOnlyMounts", recursive_read_only_mounts)
                        .b_ptr("userNamespaces", user_namespaces)
                        .done()
                })
                .done()
        })
        .m("features", features, |f| {
            let core::NodeFeatures {
                supplemental_groups_policy,
            } = f;
            Obj::new()
                .b_ptr("supplementalGroupsPolicy", supplemental_groups_policy)
                .done()
        })
        .strs("declaredFeatures", declared_features)
        .done()
}

fn node_condition(c: core::NodeCondition) -> Value {
    let core::NodeCondition {
        r#type,
        status,
        last_heartbeat_time,
        last_transition_time,
        reason,
        message,
    } = c;
    Obj::new()
        .s_req("type", r#type)
        .s_req("status", status)
        .m("lastHeartbeatTime", last_heartbeat_time, time)
        .m("lastTransitionTime", last_transition_time, time)
        .s("reason", reason)
        .s("message", message)
        .done()
}

fn node_system_info(i: core::NodeSystemInfo) -> Value {
    let core::NodeSystemInfo {
        machine_id,
        system_uuid,
        boot_id,
        kernel_version,
        os_image,
        container_runtime_version,
        kubelet_version,
        kube_proxy_version,
        operating_system,
        architecture,
        swap,
    } = i;
    Obj::new()
        .s_req("machineID", machine_id)
        .s_req("systemUUID", system_uuid)
        .s_req("bootID", boot_id)
        .s_req("kernelVersion", kernel_version)
        .s_req("osImage", os_image)
        .s_req("containerRuntimeVersion", container_runtime_version)
        .s_req("kubeletVersion", kubelet_version)
        .s_req("kubeProxyVersion", kube_proxy_version)
        .s_req("operatingSystem", operating_system)
        .s_req("architecture", architecture)
        .m("swap", swap, |s| {
            let core::NodeSwapStatus { capacity } = s;
            Obj::new().i_ptr("capacity", capacity).done()
        })
        .done()
}
