//! Helpers for the `k0stack_management_cluster` identity and lifecycle tests: several
//! Terraform working directories (several states) on one simulated Kubernetes cluster,
//! kubeconfig rewrites (context renames, server URL aliases), and direct looks into the
//! simulator's store.

use serde_json::{json, Value};

use super::{required_providers, MgmtSim, TfDir};

/// A provider block connected through `<dir>/<kubeconfig_file>`, plus `extra` settings.
pub fn connected_provider(kubeconfig_file: &str, extra: &str) -> String {
    format!(
        "{}\nprovider \"k0stack\" {{\n  kubernetes {{\n    config_path = \"${{path.module}}/{kubeconfig_file}\"\n  }}\n{extra}\n}}\n",
        required_providers()
    )
}

/// A management cluster resource in `namespace` with `body` inside its block.
pub fn management_cluster(name: &str, namespace: &str, body: &str) -> String {
    format!(
        "resource \"k0stack_management_cluster\" \"{name}\" {{\n  namespace = \"{namespace}\"\n{body}\n}}\n"
    )
}

/// A working directory on `sim` whose `mgmt.kubeconfig` is the simulator's, initialised.
pub fn dir_on(sim: &MgmtSim, config: &str) -> TfDir {
    let tf = TfDir::new(config);
    tf.write("mgmt.kubeconfig", &sim.sim.kubeconfig());
    tf.init();
    tf
}

/// The kubeconfig with its context (and current-context) renamed.
pub fn rename_context(kubeconfig: &str, from: &str, to: &str) -> String {
    kubeconfig
        .replace(
            &format!("- name: {from}\n  context:"),
            &format!("- name: {to}\n  context:"),
        )
        .replace(
            &format!("current-context: {from}"),
            &format!("current-context: {to}"),
        )
}

/// The kubeconfig with `https://127.0.0.1:<port>` replaced by `https://localhost:<port>`
/// (the simulator's serving certificate names both).
pub fn localhost_alias(kubeconfig: &str) -> String {
    kubeconfig.replace("https://127.0.0.1:", "https://localhost:")
}

/// The uid of the simulated cluster's `kube-system` namespace.
pub fn kube_system_uid(sim: &MgmtSim) -> String {
    get(sim, "", "v1", "namespaces", "", "kube-system").expect("kube-system")["metadata"]["uid"]
        .as_str()
        .expect("a uid")
        .to_string()
}

/// One object straight from the simulator's store.
pub fn get(
    sim: &MgmtSim,
    group: &str,
    version: &str,
    plural: &str,
    ns: &str,
    name: &str,
) -> Option<Value> {
    let store = sim.sim.api.store.lock().unwrap();
    let rt = store.find(group, version, plural)?;
    store.get(&rt, ns, name).ok()
}

/// Names of the objects of `group/plural` (all namespaces) as `ns/name` or `name`.
pub fn names(sim: &MgmtSim, group: &str, version: &str, plural: &str) -> Vec<String> {
    sim.list(group, version, plural)
        .iter()
        .map(|o| {
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            match o["metadata"]["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
            {
                Some(ns) => format!("{ns}/{name}"),
                None => name.to_string(),
            }
        })
        .collect()
}

pub fn crds(sim: &MgmtSim) -> Vec<String> {
    names(
        sim,
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
    )
}

pub fn namespaces(sim: &MgmtSim) -> Vec<String> {
    names(sim, "", "v1", "namespaces")
}

/// Creates an object as `kubectl create` would (manager `kubectl`).
pub fn create(sim: &MgmtSim, group: &str, version: &str, plural: &str, ns: &str, body: Value) {
    let mut store = sim.sim.api.store.lock().unwrap();
    let rt = store.find(group, version, plural).expect("a served kind");
    store.create(&rt, ns, body, "kubectl").expect("created");
}

/// A k0smotron `Cluster` made outside Terraform (another team's control plane).
pub fn create_hosted_cluster(sim: &MgmtSim, ns: &str, name: &str) {
    create(
        sim,
        "k0smotron.io",
        "v1beta2",
        "clusters",
        ns,
        json!({"metadata": {"name": name}, "spec": {"version": "v1.32.6+k0s.0"}}),
    );
}

/// Deletes an object straight from the store.
pub fn delete(sim: &MgmtSim, group: &str, version: &str, plural: &str, ns: &str, name: &str) {
    let mut store = sim.sim.api.store.lock().unwrap();
    let rt = store.find(group, version, plural).expect("a served kind");
    store.delete(&rt, ns, name).expect("deleted");
}

/// The decoded `clouds.yaml` of a credentials Secret.
pub fn secret_clouds_yaml(sim: &MgmtSim, ns: &str, name: &str) -> Option<String> {
    use base64::Engine;
    let s = get(sim, "", "v1", "secrets", ns, name)?;
    let b64 = s["data"]["clouds.yaml"].as_str()?;
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).ok()?).ok()
}

/// The `terraform.tfstate` of a working directory, parsed.
pub fn state(tf: &TfDir) -> Value {
    let text = std::fs::read_to_string(tf.path().join("terraform.tfstate")).expect("a state");
    serde_json::from_str(&text).expect("JSON state")
}

/// The attributes of the first instance of resource `kind.name` in the state.
pub fn attributes(tf: &TfDir, kind: &str, name: &str) -> Value {
    state(tf)["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["type"] == kind && r["name"] == name)
        .map(|r| r["instances"][0]["attributes"].clone())
        .unwrap_or(Value::Null)
}

/// Rewrites the state file: `edit` changes the attributes of `kind.name` (e.g. to make
/// it look like a state written by an earlier provider version).
pub fn edit_state(tf: &TfDir, kind: &str, name: &str, edit: impl FnOnce(&mut Value)) {
    let mut st = state(tf);
    let r = st["resources"]
        .as_array_mut()
        .expect("resources")
        .iter_mut()
        .find(|r| r["type"] == kind && r["name"] == name)
        .expect("the resource in the state");
    edit(&mut r["instances"][0]["attributes"]);
    st["serial"] = json!(st["serial"].as_i64().unwrap_or(0) + 1);
    tf.write(
        "terraform.tfstate",
        &serde_json::to_string_pretty(&st).unwrap(),
    );
}

/// A minimal k0smotron install manifest: its namespace, the two CRDs, the operator.
pub const K0SMOTRON_MANIFEST: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: k0smotron
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: clusters.k0smotron.io
spec:
  group: k0smotron.io
  scope: Namespaced
  names: {kind: Cluster, plural: clusters, singular: cluster, shortNames: [kmc], listKind: ClusterList}
  versions:
  - {name: v1beta2, served: true, storage: true, subresources: {status: {}}, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
  - {name: v1beta1, served: true, storage: false, subresources: {status: {}}, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: jointokenrequests.k0smotron.io
spec:
  group: k0smotron.io
  scope: Namespaced
  names: {kind: JoinTokenRequest, plural: jointokenrequests, singular: jointokenrequest, shortNames: [jtr], listKind: JoinTokenRequestList}
  versions:
  - {name: v1beta2, served: true, storage: true, subresources: {status: {}}, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: k0smotron-manager-role
rules:
- {apiGroups: [k0smotron.io], resources: ["*"], verbs: ["*"]}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: k0smotron-controller-manager
  namespace: k0smotron
spec:
  replicas: 1
  selector: {matchLabels: {app: k0smotron}}
  template:
    metadata: {labels: {app: k0smotron}}
    spec:
      containers: [{name: manager, image: quay.io/k0sproject/k0smotron:v1.10.9}]
"#;

/// The annotations of an object (an empty map when it has none).
pub fn annotations(obj: &Value) -> serde_json::Map<String, Value> {
    obj["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// Removes every `k0stack.io/` annotation of an object: how the objects of a provider
/// version before owner annotations look.
pub fn strip_k0stack_annotations(
    sim: &MgmtSim,
    group: &str,
    version: &str,
    plural: &str,
    ns: &str,
    name: &str,
) {
    let mut store = sim.sim.api.store.lock().unwrap();
    let rt = store.find(group, version, plural).expect("a served kind");
    let obj = store.get(&rt, ns, name).expect("the object");
    let nulls: serde_json::Map<String, Value> = annotations(&obj)
        .keys()
        .filter(|k| k.starts_with("k0stack.io/"))
        .map(|k| (k.clone(), Value::Null))
        .collect();
    let patch = json!({"metadata": {"annotations": nulls}});
    store
        .patch_merge(&rt, ns, name, &patch, "kubectl", false)
        .expect("patched");
}

/// A provider `openstack` block for user `user` (nothing contacts it: the credentials
/// only go into the stored clouds.yaml).
pub fn openstack_as(user: &str, project: &str) -> String {
    format!(
        "  openstack {{\n    auth_url     = \"https://keystone.example.com:5000/v3\"\n    user_name    = \"{user}\"\n    password     = \"password-of-{user}-must-not-leak\"\n    project_name = \"{project}\"\n    region       = \"RegionOne\"\n  }}"
    )
}
