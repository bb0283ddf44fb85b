//! Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which
//! `kubectl get` asks for: the apiserver, not kubectl, decides the columns. Nodes get the
//! real apiserver's columns (`-o wide` shows the priority-1 ones); every other kind gets
//! Name and Age, as the apiserver prints a resource without printer columns.

use serde_json::{json, Value};

use super::store::ResourceType;

/// True when the client asked for a Table.
pub fn wanted(accept: &str) -> bool {
    accept.contains("as=Table")
}

fn column(name: &str, kind: &str, priority: u8, description: &str) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": kind, "format": format, "description": description, "priority": priority})
}

/// "12s", "5m", "3h", "2d" since an RFC 3339 time, as kubectl shows ages.
pub fn age(created: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(t) = time::OffsetDateTime::parse(created, &Rfc3339) else {
        return "<unknown>".into();
    };
    let s = (time::OffsetDateTime::now_utc() - t).whole_seconds().max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn node_cells(n: &Value) -> Vec<Value> {
    let meta = &n["metadata"];
    let ready = n["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .map(|c| {
            if c["status"] == "True" {
                "Ready"
            } else {
                "NotReady"
            }
        })
        .unwrap_or("Unknown");
    let status = if n["spec"]["unschedulable"] == true {
        format!("{ready},SchedulingDisabled")
    } else {
        ready.to_string()
    };
    let roles: Vec<&str> = meta["labels"]
        .as_object()
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .collect()
        })
        .unwrap_or_default();
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };
    let address = |kind: &str| {
        n["status"]["addresses"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["type"] == kind))
            .and_then(|x| x["address"].as_str())
            .unwrap_or("<none>")
            .to_string()
    };
    let info = &n["status"]["nodeInfo"];
    let s = |v: &Value| v.as_str().unwrap_or("<unknown>").to_string();
    vec![
        json!(meta["name"]),
        json!(status),
        json!(roles),
        json!(age(meta["creationTimestamp"].as_str().unwrap_or_default())),
        json!(s(&info["kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(s(&info["osImage"])),
        json!(s(&info["kernelVersion"])),
        json!(s(&info["containerRuntimeVersion"])),
    ]
}

/// The Table for a GET answer (`body` is one object, or a list with `items`).
pub fn table(rt: &ResourceType, body: &Value, include_object: &str) -> Value {
    let nodes = rt.group.is_empty() && rt.plural == "nodes";
    let columns = if nodes {
        vec![
            column("Name", "string", 0, "Name must be unique within a namespace."),
            column("Status", "string", 0, "The status of the node"),
            column("Roles", "string", 0, "The roles of the node"),
            column("Age", "string", 0, "CreationTimestamp is a timestamp representing the server time when this object was created."),
            column("Version", "string", 0, "Kubelet Version reported by the node."),
            column("Internal-IP", "string", 1, "List of addresses reachable to the node."),
            column("External-IP", "string", 1, "List of addresses reachable to the node."),
            column("OS-Image", "string", 1, "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
            column("Kernel-Version", "string", 1, "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
            column("Container-Runtime", "string", 1, "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."),
        ]
    } else {
        vec![
            column("Name", "string", 0, "Name must be unique within a namespace."),
            column("Age", "date", 0, "CreationTimestamp is a timestamp representing the server time when this object was created."),
        ]
    };
    let items: Vec<&Value> = match body["items"].as_array() {
        Some(items) => items.iter().collect(),
        None => vec![body],
    };
    let rows: Vec<Value> = items
        .into_iter()
        .map(|o| {
            let cells = if nodes {
                node_cells(o)
            } else {
                vec![
                    json!(o["metadata"]["name"]),
                    json!(age(o["metadata"]["creationTimestamp"].as_str().unwrap_or_default())),
                ]
            };
            let object = match include_object {
                "None" => Value::Null,
                "Object" => o.clone(),
                _ => json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}),
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    let rv = body["metadata"]["resourceVersion"].clone();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_print_like_the_apiserver() {
        let rt = ResourceType::new("", &["v1"], "Node", "nodes", false);
        let node = json!({"metadata": {"name": "dev-abc", "creationTimestamp": "2020-01-01T00:00:00Z",
            "labels": {"node-role.kubernetes.io/worker": ""}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "127.100.1.10"}],
                "nodeInfo": {"kubeletVersion": "v1.32.6+k0s"}}});
        let t = table(
            &rt,
            &json!({"items": [node], "metadata": {"resourceVersion": "7"}}),
            "",
        );
        assert_eq!(t["kind"], "Table");
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[0], "dev-abc");
        assert_eq!(cells[1], "Ready,SchedulingDisabled");
        assert_eq!(cells[2], "worker");
        assert!(cells[3].as_str().unwrap().ends_with('d'));
        assert_eq!(cells[4], "v1.32.6+k0s");
        assert_eq!(cells[5], "127.100.1.10");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert!(wanted(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
    }
}
