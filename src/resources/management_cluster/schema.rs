//! Schema of `k0stack_management_cluster`.

use std::collections::HashMap;

use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Description, Schema};

use crate::framework::schema::{
    block, bool, number, optional_block, string, string_list, string_set,
};
use crate::framework::timeouts;

use super::model::DEFAULT_TIMEOUTS;

fn members() -> Attribute {
    let obj: HashMap<String, AttributeType> = ["id", "name", "ip", "status"]
        .iter()
        .map(|f| (f.to_string(), AttributeType::String))
        .collect();
    Attribute {
        attr_type: AttributeType::List(Box::new(AttributeType::Object(obj))),
        description: Description::markdown(
            "With `bootstrap`: the controller servers, `id`, `name` (`<bootstrap.name>-controller-<i>`), `ip` and \
             `status` (Nova). Only `ERROR` and `DELETED` (found gone) count as failed: the next apply replaces them. A \
             stopped controller (`SHUTOFF`, `SHELVED`, `SHELVED_OFFLOADED`, `SUSPENDED`, `PAUSED`) is never deleted or \
             replaced automatically — its disk holds its etcd data, and with one controller a replacement would start an \
             empty cluster; the plan warns, naming it and the command that starts it (`openstack server start <id>`). Known after apply in any \
             planned change: apply observes the servers again.",
        ),
        constraint: AttributeConstraint::Computed,
        sensitive: false,
        deprecated: false,
    }
}

pub fn schema() -> Schema {
    Schema {
        version: 1,
        block: block(
            "The k0s management cluster that hosts the control planes: either reached through the provider's \
             `kubernetes` block, or created on OpenStack by this resource (`bootstrap`). Manages what hosted control planes need there: their namespace, k0smotron \
             (installed from `k0smotron_manifest`, or verified), and the fleet's OpenStack credentials as a \
             `clouds.yaml` Secret for in-cluster components (OpenStack CCM, Cinder CSI).\n\n\
             **Identity.** `id` is `<uid of the cluster's kube-system namespace>/<namespace>`: the cluster's own identity, \
             so a renamed kubeconfig context, another kubeconfig file or a new API server URL for the same cluster change \
             nothing, and a connection that leads to another cluster is an error at refresh (never a silent switch). \
             Ids of earlier versions (`<context-or-server>/<namespace>`, `<bootstrap.name>/<namespace>`) are converted \
             by the next refresh.\n\n\
             **What it owns.** Each instance has its own random `instance_id`, written as the annotation `k0stack.io/owner` \
             on what it creates: the namespace (when missing), the credentials Secret, and the k0smotron manifest objects \
             that did not exist. It never takes over an existing Secret (the apply fails, naming it). It marks the namespace \
             it uses with `k0stack.io/management-cluster.<instance_id>`, so that other instances on the same Kubernetes \
             cluster (other states, other namespaces, or the same namespace) know it is there.\n\n\
             **What destroy removes.** Only what this instance owns, and nothing others use: the credentials Secret; the \
             namespace, if this instance created it and no other instance uses it (else it is handed over to one of them, \
             whose destroy deletes it when it is the last one out); k0smotron's manifest objects (CRDs, \
             RBAC, webhooks, the operator) only when no other instance uses the cluster and no object of its CRDs is left \
             in any namespace (deleting a CRD deletes all its objects everywhere) — else they are left, with a warning \
             saying why. A connected cluster itself is never touched. Destroy refuses while hosted control planes remain \
             in `namespace` (with `bootstrap`: in any namespace, or while other instances use the cluster), unless \
             `force_destroy`.\n\n\
             With `bootstrap`, the provider generates the cluster CA and its own admin client certificate, hands the CA to \
             the first controller through cloud-init user data only (no SSH; nothing is read back from the VMs), and \
             exports the admin `kubeconfig`; hosted control planes and worker pools reach the cluster by taking it as \
             their `management_kubeconfig`, so one `terraform apply` builds everything from OpenStack credentials alone. \
             **The CA private key, the admin client key and the kubeconfig are stored in the Terraform state** (marked \
             sensitive, which hides them from plan output but does not encrypt them): anyone who can read the state is \
             cluster-admin of the management cluster and can mint certificates for it, for as long as the CA lives. \
             Keep such state in an encrypted remote backend with restricted access (never in a repository), and rebuild \
             the cluster to rotate the CA if the state leaks. The user data also carries the CA key to the first \
             controller (readable through the Nova metadata service from that VM). For the same reason a bootstrapped \
             cluster cannot be imported: keep its state.",
            vec![
                ("id", string("`<kube-system uid>/<namespace>`: the cluster's own identity and the namespace; hosted control planes reference it (and take the namespace from the part after the last `/`). Get it with `terraform output`, or `echo $(kubectl get namespace kube-system -o jsonpath='{.metadata.uid}')/<namespace>`. Unknown until created, so what references it plans its own replacement when this resource is replaced.").computed()),
                ("instance_id", string("Random id of this resource instance, chosen at create and kept in the state: the owner annotation (`k0stack.io/owner`) of what it creates, and its marker on the namespace. A state of an earlier version gets one at its next apply (which claims only what that state provably created).").computed()),
                ("namespace_uid", string("uid of `namespace` as last seen; null when it was found missing (the next apply creates it again).").computed()),
                ("namespace", string("Namespace for hosted control planes (default `kmc-system`); created when missing.").optional_computed()),
                ("k0smotron_manifest", string("k0smotron's install YAML (e.g. `file(\"k0smotron-install.yaml\")`), applied with server-side apply and waited for (CRDs established, Deployments available). Without it, k0smotron must already be installed.")),
                ("force_destroy", bool("Default `false`. When `true`, destroy (1) deletes the hosted control planes (k0smotron `Cluster` objects) in `namespace` and waits until they are gone, unless another instance shares the namespace; (2) with `k0smotron_manifest`, uninstalls k0smotron's manifest objects even while other instances use the cluster or objects of its CRDs exist in other namespaces — **which deletes every hosted control plane of the whole cluster**; (3) with `bootstrap`, deletes the controllers even while control planes or other instances use the cluster. Even then it never deletes another instance's namespace or Secret.").optional_computed()),
                ("endpoint", string("API server URL of the management cluster (with `bootstrap`: `https://<first live controller address>:6443`).").computed()),
                ("ca_certificate", string("With `bootstrap`: PEM CA certificate of the cluster (generated by the provider).").computed()),
                ("kubeconfig", string("With `bootstrap`: admin kubeconfig of the cluster (client certificate signed by the provider's CA, group `system:masters`), context named `bootstrap.name`. Pass it to hosted control planes and worker pools as `management_kubeconfig`.").computed().sensitive()),
                ("members", members().into()),
                ("k0smotron_api_version", string("`v1beta2` (k0smotron ≥ 2.0) or `v1beta1` (k0smotron 1.x).").computed()),
                ("kubernetes_version", string("Kubernetes version of the management cluster, as the last refresh or apply read it. Any planned change shows it (and `node_count`, `k0smotron_api_version`, a bootstrapped cluster's `members`) as known after apply: apply reads them again, and a saved plan may be applied after the cluster changed.").computed()),
                ("node_count", number("Nodes of the management cluster (see `kubernetes_version`).").computed()),
                ("k0smotron_drift", string_list("With `k0smotron_manifest`: its objects that the last refresh found deleted (`Kind namespace/name (missing)`) or edited out of band (`... (changed)`: a field the manifest sets differs, judged as `kubectl diff` does, by a server-side dry-run apply); the plan shows them going and apply installs the manifest again. Empty when the cluster matches the manifest.").computed()),
                ("namespace_created", bool("Whether this instance created (owns) `namespace`, and so deletes it on destroy when no other instance uses it.").computed()),
            ],
            vec![
                (
                    "openstack_credentials",
                    optional_block(block(
                        "Store the fleet's OpenStack credentials in `namespace` as a Secret with key `clouds.yaml` (cloud name `openstack`). Without `clouds_yaml`, it is built from the provider's `openstack` settings, i.e. from whoever runs Terraform: give the provider a dedicated application credential (the same in CI and on laptops), so that a run with personal credentials does not hand them to the cluster; the plan shows the identity that would be stored. The Secret is this instance's: an existing Secret of that name is never taken over.",
                        vec![
                            ("secret_name", string("Secret name (default `openstack-cloud-config`).").optional_computed()),
                            ("clouds_yaml", string("The clouds.yaml to store; default: built from the provider's OpenStack settings.").sensitive()),
                            ("sha256", string("SHA-256 of the stored content: a changed or deleted Secret shows in the plan.").computed()),
                            ("auth_url", string("Keystone URL of the stored credentials (read back from the Secret; planned from what would be stored): with the attributes below, the plan shows whose credentials the cluster gets, e.g. `user_name = \"alice\" -> \"ci-bot\"` when another identity runs Terraform.").computed()),
                            ("user_name", string("User name of the stored credentials (password or application credential by user).").computed()),
                            ("user_id", string("User id of the stored credentials.").computed()),
                            ("application_credential_id", string("Application credential id of the stored credentials.").computed()),
                            ("application_credential_name", string("Application credential name of the stored credentials.").computed()),
                            ("project_name", string("Project name of the stored credentials.").computed()),
                            ("project_id", string("Project id of the stored credentials.").computed()),
                            ("region", string("Region of the stored credentials.").computed()),
                        ],
                        vec![],
                    )),
                ),
                ("bootstrap", optional_block(block(
                    "Create the management cluster on OpenStack (needs the provider's `openstack` settings, and no \
                     `kubernetes` block: the two are mutually exclusive). Changing any argument replaces the cluster. \
                     Controllers also run workloads (`k0s controller --enable-worker --no-taints`). A controller deleted \
                     out of band (or in ERROR) shows in the plan; apply recreates it and it rejoins (with 1 controller the new one \
                     starts an empty cluster with the same CA, and a new `id`). A stopped controller is only warned about (see `members`). k0smotron comes from `k0smotron_version` (the controllers \
                     fetch its release manifest into k0s's manifest directory) or from `k0smotron_manifest` (applied by \
                     the provider).",
                    vec![
                        ("name", string("Name prefix of the controller servers and the kubeconfig context (default `k0stack-mgmt`).").optional_computed()),
                        ("controllers", number("Number of controllers: 1 or 3 (default 1).").optional_computed()),
                        ("flavor", string("Nova flavor name or id of the controllers.").required()),
                        ("image", string("Glance image name or id (a cloud-init enabled Linux).").required()),
                        ("networks", string_list("Neutron networks (name or id); the first gives the address the API is reached at, so it must be reachable from where Terraform runs.").required()),
                        ("security_groups", string_set("Security groups (name or id); they must allow 6443 (API), 9443 (controller join), 2380 (etcd, 3 controllers) and the k0smotron ports. A set: their order means nothing.")),
                        ("key_pair", string("Nova key pair (for your own SSH access; the provider never uses SSH).")),
                        ("floating_ip_pool", string("Reserved: floating IPs are not supported yet (setting it is an error).")),
                        ("k0s_version", string("k0s version of the controllers, e.g. `v1.32.6+k0s.0`.").required()),
                        ("k0s_download_url", string("URL of the k0s binary (air-gapped mirror); default: get.k0s.sh for `k0s_version`.")),
                        ("k0smotron_version", string("k0smotron release the controllers install, e.g. `v1.5.0`. Exclusive with `k0smotron_manifest`; one of them is required.")),
                        ("server_group_policy", string("`anti-affinity` (default with 3 controllers), `soft-anti-affinity` or `none` (default with 1).").optional_computed()),
                        ("server_group_id", string("Nova server group of the controllers.").computed()),
                        ("ca_key", string("PEM private key of the cluster CA (in the state: see above).").computed().sensitive()),
                        ("admin_certificate", string("PEM admin client certificate (in `kubeconfig`).").computed()),
                        ("admin_key", string("PEM admin client key (in `kubeconfig`).").computed().sensitive()),
                    ],
                    vec![],
                ))),
                ("timeouts", timeouts::schema(DEFAULT_TIMEOUTS)),
            ],
        ),
    }
}
