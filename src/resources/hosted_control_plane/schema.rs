//! The resource schema. Descriptions here are the documentation (`make docs`).

use tf_provider::schema::{Block, Schema};

use crate::framework::schema::{
    block, bool, number, optional_block, string, string_list, string_map, string_set,
};
use crate::framework::timeouts;

use super::model::DEFAULT_TIMEOUTS;

/// The description of `management_kubeconfig` (hosted control planes and worker pools).
pub const MANAGEMENT_KUBECONFIG: &str = "Admin kubeconfig of the management cluster, for a management cluster this configuration \
    bootstraps: `k0stack_management_cluster.<name>.kubeconfig`. Unset: the provider's `kubernetes` block. \
    Changing it only changes how the provider connects (the endpoint of a bootstrapped cluster moves when its \
    first controller is replaced).";

/// The resource description: what it is, what it owns, what destroy removes.
const DESCRIPTION: &str = "A hosted Kubernetes control plane: a k0smotron `Cluster` in the management cluster (API version \
    `v1beta2` when k0smotron ≥ 2.0 serves it, else `v1beta1`). Its API server, etcd and controllers run \
    as pods there; worker pools join it. Create and update wait until the control plane is ready \
    (`Available` condition, or `status.ready` on k0smotron 1.x) and fail with the last condition's \
    reason and message on timeout. Every read compares the live object with the state, so `terraform plan` \
    shows out-of-band edits and deletions.\n\n\
    **What it owns.** The `Cluster` `<namespace>/<name>`, the Secret `<name>-k0stack-kine` (with kine storage), \
    the ConfigMap `<name>-k0stack-manifests` (with `manifests`) and the ConfigMap `<name>-k0stack-owner`, the \
    `Cluster`'s ownership bookkeeping. Each carries the annotation `k0stack.io/owner` with this resource instance's \
    `instance_id` (the `Cluster` keeps the one its create wrote). The create writes the `Cluster`'s labels and \
    annotations once, when it creates it, and nothing ever changes them: k0smotron copies a `Cluster`'s annotations \
    into its control plane pods (a change restarts the control plane) and its labels into the StatefulSet's \
    immutable selector. So the running create's lease (`k0stack.io/owner-phase`, `k0stack.io/owner-lease-until`, \
    renewed every 5 s), an import's takeover and the node ports the provider allocated (an import leaves those out \
    of the `service` block, as a configuration does, and puts configured ones in) are kept in `<name>-k0stack-owner`. \
    A `Cluster` created by an earlier provider version keeps the annotations it has (`k0stack.io/owner-phase`, \
    `k0stack.io/allocated-ports`), which count while it has no `<name>-k0stack-owner`. The Secrets k0smotron \
    creates for the control plane \
    (`<name>-ca`, `<name>-kubeconfig` and the other certificates) are k0smotron's: it deletes them with the `Cluster`.\n\n\
    **Create never takes over.** A `Cluster` of the same name that exists already is an error (import it instead); \
    so is a kine Secret or manifests ConfigMap of that name that is not this control plane's. The only exception \
    is what a create of this same resource left when Terraform was killed before saving the state: the next \
    apply continues that create. With `create_before_destroy`, the new control plane needs a name of its own.\n\n\
    **Update and destroy act only on their own objects.** An update of a `Cluster` that no longer exists fails \
    (it never creates a new control plane with a new CA in its place: apply with refresh plans the re-creation). \
    Destroy deletes the `Cluster`, the kine Secret, the manifests ConfigMap and `<name>-k0stack-owner` when they \
    are this instance's: they carry its owner annotation (the `Cluster`: its `<name>-k0stack-owner` says so, or \
    without one its own annotation), or, for objects of provider versions before owner annotations, the recorded uid; an \
    object of the same name that is not this resource's is left, with a warning. Destroy does not delete the \
    namespace.\n\n\
    **The management cluster.** `management_cluster_uid` records which Kubernetes cluster holds the control plane; \
    a refresh or apply connected to another cluster fails. A refresh that cannot reach the management cluster \
    at all keeps the recorded state with a warning (its endpoint may have moved: the plan uses the configured \
    connection, and the apply records it).";

pub fn schema() -> Schema {
    Schema {
        version: 1,
        block: block(
            DESCRIPTION,
            vec![
                ("id", string("`<namespace>/<name>`. Known once the control plane is created, so resources that reference it (worker pools) plan their own replacement when it is replaced.").computed()),
                ("name", string("Name of the `Cluster` (at most 53 characters: k0smotron derives Service names from it). Changing it replaces the control plane.").required()),
                ("namespace", string("Namespace of the `Cluster`; default: the management cluster's namespace. Changing it replaces the control plane.").optional_computed()),
                ("management_cluster_id", string("`id` of the `k0stack_management_cluster` that hosts this control plane, `<kube-system uid>/<namespace>` (this also orders creation after it). A literal works too: its part after the last `/` is the default namespace, and a prefix that is not a uid is only a label (e.g. `management/kmc-system`). It forces a replacement only when it designates another namespace, or another cluster (a uid other than `management_cluster_uid`); another form of the same cluster's id is an in-place update of the recorded string.").required()),
                ("management_kubeconfig", string(MANAGEMENT_KUBECONFIG).sensitive()),
                ("k0s_version", string("k0s version of the control plane, e.g. `v1.32.6+k0s.0`. Required: k0smotron's own default is stale. Increasing it upgrades in place (one Kubernetes minor at a time); a downgrade is refused at plan time.").required()),
                ("replicas", number("Control plane replicas (1-9; default 1, also when the argument is removed). More than 1 requires a `storage` block.").optional_computed()),
                ("image", string("k0s image without tag (default `quay.io/k0sproject/k0s`, k0smotron's, also when the argument is removed; the tag comes from `k0s_version`). For mirrors. Sent to k0smotron only when configured.").optional_computed()),
                ("external_address", string("Address workers and users reach the API at. Unset: k0smotron fills it in (a node address for `NodePort`, the load balancer's for `LoadBalancer`); that value is computed, never sent back as configuration, and a change of the service type plans it (and `endpoint`, `kubeconfig`) as known after apply.").optional_computed()),
                ("k0s_config", string("k0s `ClusterConfig` merged into `spec.k0sConfig`, as JSON or YAML (e.g. `jsonencode({ spec = { network = { provider = \"calico\" } } })`). k0smotron overrides `api.externalAddress`, `api.port`, `api.sans` and `storage`. For air-gapped workers, `spec.images.repository` names a mirror registry for every worker-side image (`default_pull_policy`: `Always`, `IfNotPresent` or `Never`).")),
                ("control_plane_flags", string_list("Extra `k0s controller` flags, e.g. `--enable-metrics-scraper`.")),
                ("manifests", string_map("Manifests k0s applies in the hosted cluster, file name → YAML content (e.g. `{ \"cni.yaml\" = file(\"cni.yaml\") }`), delivered through a ConfigMap volume.")),
                ("cert_sans", string_set("Extra subject alternative names of the API server certificate; a set: their order means nothing.")),
                ("wait_for_ready", bool("Wait until the control plane is ready on create and update (default `true`, also when the argument is removed).").optional_computed()),
                ("endpoint", string("`https://<host>:<port>` of the hosted API server, reachable from outside the management cluster.").computed()),
                ("ca_certificate", string("PEM CA certificate of the hosted cluster (`<name>-ca` Secret).").computed()),
                ("kubeconfig", string("Admin kubeconfig of the hosted cluster (`<name>-kubeconfig` Secret), its server URL rewritten to `endpoint`.").computed().sensitive()),
                ("client_certificate", string("PEM client certificate of the admin kubeconfig.").computed()),
                ("client_key", string("PEM client key of the admin kubeconfig.").computed().sensitive()),
                ("status", string("Readiness summary, e.g. `Available=True` or `Available=False: <reason>: <message>`.").computed()),
                ("k0smotron_api_version", string("k0smotron API version used for this object: `v1beta2` or `v1beta1`.").computed()),
                ("uid", string("Kubernetes UID of the `Cluster`.").computed()),
                ("instance_id", string("Random id of this resource instance, drawn at create and written into the `k0stack.io/owner` annotation of every object it creates; update and destroy act only on objects carrying it (the `Cluster`: as its `<name>-k0stack-owner` ConfigMap says). Import draws a new one, and records it in `<name>-k0stack-owner`, never on the `Cluster`.").computed()),
                ("service_type", string("The effective service type: the `service` block's `type`, else `NodePort` (the default, also without a `service` block).").computed()),
                ("api_port", number("The effective API server port: `service.api_port` when configured; else, for `NodePort`, a free node port the provider allocates at create (checked against every Service of the management cluster, kept from then on); else 30443.").computed()),
                ("konnectivity_port", number("The effective konnectivity port: `service.konnectivity_port` when configured; else, for `NodePort`, a free node port allocated at create like `api_port`; else 30132.").computed()),
                ("management_cluster_uid", string("uid of the `kube-system` namespace of the cluster that holds the control plane: the identity of the management cluster, whatever kubeconfig, context or server URL reaches it.").computed()),
            ],
            vec![
                ("service", optional_block(service_block())),
                ("storage", optional_block(storage_block())),
                ("persistence", optional_block(persistence_block())),
                ("resources", optional_block(block(
                    "Compute resources of each control plane pod.",
                    vec![
                        ("requests", string_map("Requests, e.g. `{ cpu = \"500m\", memory = \"1Gi\" }`.")),
                        ("limits", string_map("Limits, e.g. `{ memory = \"2Gi\" }`.")),
                    ],
                    vec![],
                ))),
                ("timeouts", timeouts::schema(DEFAULT_TIMEOUTS)),
            ],
        ),
    }
}

fn service_block() -> Block {
    block(
        "How the hosted API server is exposed. Without this block the control plane is a `NodePort` service with node ports the provider allocates.",
        vec![
            ("type", string("`NodePort` (default, also without a `service` block: workers outside the management cluster reach it), `LoadBalancer` or `ClusterIP` (reachable only inside the management cluster: no worker pool can join). k0smotron's own default is `ClusterIP`; the provider always sends the type.").optional_computed()),
            ("api_port", number("API server port. With `NodePort` it is also the node port (30000-32767), so it must be free in the whole management cluster: a port another Service holds is a plan-time error naming that Service. Unset: for `NodePort` the provider allocates a free node port at create and keeps it (see the top-level `api_port`); for the other types 30443.").optional_computed()),
            ("konnectivity_port", number("Konnectivity port workers dial out to. Unset: allocated like `api_port` for `NodePort`, else 30132.").optional_computed()),
        ],
        vec![],
    )
}

fn storage_block() -> Block {
    block(
        "The control plane's datastore. Changing `type` replaces the control plane.",
        vec![
            ("type", string("`etcd` (an etcd StatefulSet beside the control plane) or `kine` (an external SQL database).").required()),
            ("kine_data_source_url", string("kine data source, e.g. `postgres://user:pass@db:5432/kine`. Stored in a Secret (`<name>-k0stack-kine`), never in the `Cluster` spec.").sensitive()),
        ],
        vec![("etcd", optional_block(block(
            "etcd settings.",
            vec![
                ("size", string("Volume size of each etcd member (default `1Gi`).")),
                ("storage_class", string("Storage class of the etcd volumes (default: the cluster's default class).")),
                ("auto_delete_pvcs", bool("Delete the etcd volumes when the control plane is deleted.")),
            ],
            vec![],
        )))],
    )
}

fn persistence_block() -> Block {
    block(
        "Storage of the control plane's own data directory.",
        vec![
            (
                "type",
                string("`emptyDir` (default), `hostPath` or `pvc`.").required(),
            ),
            (
                "size",
                string("Volume size, required with `pvc` (e.g. `10Gi`)."),
            ),
            ("storage_class", string("Storage class for `pvc`.")),
            ("host_path", string("Host directory for `hostPath`.")),
            (
                "auto_delete_pvcs",
                bool("Delete the volumes when the control plane is deleted."),
            ),
        ],
        vec![],
    )
}
