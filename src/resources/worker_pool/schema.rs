//! Schema of `k0stack_worker_pool`.

use std::collections::HashMap;

use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Description, Schema};

use crate::framework::schema::{
    block, bool, number, optional_block, string, string_list, string_map, string_set,
};
use crate::framework::timeouts;

use super::model::DEFAULT_TIMEOUTS;

fn member_type() -> AttributeType {
    let fields = [
        "id",
        "name",
        "ip",
        "status",
        "node_name",
        "template_hash",
        "zone",
    ];
    let mut obj: HashMap<String, AttributeType> = fields
        .iter()
        .map(|f| (f.to_string(), AttributeType::String))
        .collect();
    obj.insert("ready".into(), AttributeType::Bool);
    AttributeType::List(Box::new(AttributeType::Object(obj)))
}

pub fn schema() -> Schema {
    let members = Attribute {
        attr_type: member_type(),
        description: Description::markdown(
            "The pool's servers: `id`, `name`, `ip` (first network), `status` (Nova), `node_name`, `ready` (node Ready), \
             `template_hash` (the template it was built from), `zone`.",
        ),
        constraint: AttributeConstraint::Computed,
        sensitive: false,
        deprecated: false,
    };
    Schema {
        version: 1,
        block: block(
            "N OpenStack servers that install k0s and join a hosted control plane, managed as one resource. \
             Servers are tagged `k0stack`, `k0stack-pool=<uid>`, `k0stack-cluster=<hosted control plane uid>` \
             and named `<name>-<random>`. Changing `size` scales (draining nodes before deleting servers); \
             changing the member template (flavor, image, boot volume, networks, security groups, k0s version, \
             labels, taints, user data) replaces members in rolling batches; servers deleted or broken out of \
             band show in the plan and are repaired by apply (their nodes are removed from the hosted cluster); \
             servers left by an interrupted apply are adopted.\n\n\
             **What it owns, and what destroy removes**: the servers tagged with its `uid` (drained first when \
             the hosted cluster answers; deleted through OpenStack even when the management cluster or the hosted \
             API is gone), their nodes in the hosted cluster, its server group, its join-token requests and its \
             record in the management cluster. Nothing of another instance of the same pool.",
            vec![
                ("id", string("`<hosted control plane namespace>/<hosted control plane name>/<pool name>`.").computed()),
                ("name", string("Pool name, prefix of its server names (at most 40 characters). Changing it replaces the pool.").required()),
                ("hosted_control_plane_id", string("`id` of the `k0stack_hosted_control_plane` the servers join. Changing it replaces the pool.").required()),
                ("management_kubeconfig", string(crate::resources::hosted_control_plane::schema::MANAGEMENT_KUBECONFIG).sensitive()),
                ("size", number("Number of servers (0 or more).").required()),
                ("flavor", string("Nova flavor name or id.").required()),
                ("image", string("Glance image name or id (exactly one image must match a name).").required()),
                ("networks", string_list("Neutron networks (name or id); the first gives the node IP.").required()),
                ("security_groups", string_set("Security groups (name or id); a set: their order means nothing.")),
                ("key_pair", string("Nova key pair for SSH access.")),
                ("availability_zones", string_list("Availability zones to spread servers over, round-robin.")),
                ("server_group_policy", string("`anti-affinity`, `soft-anti-affinity` or `none` (default). The pool creates and owns the server group.")),
                ("metadata", string_map("Extra Nova metadata on every server (updated in place).")),
                ("labels", string_map("Kubernetes labels of the nodes (given at registration; changing them replaces members).")),
                ("taints", string_set("Node taints, `key=value:Effect` or `key:Effect`; a set: their order means nothing.")),
                ("k0s_version", string("k0s version of the workers; default: the control plane's. Newer than the control plane is refused.").optional_computed()),
                ("k0s_download_url", string("URL of the k0s binary (air-gapped mirror; the images need one too: `airgap` or the control plane's `spec.images.repository`); default: get.k0s.sh for `k0s_version`.")),
                ("kubelet_extra_args", string("Extra kubelet arguments, as one string.")),
                ("extra_user_data", string("Extra `#cloud-config` merged into the servers' user data.")),
                ("wait_for_nodes", bool("Wait until every member's node is Ready (default `true`). With `false`, apply returns once the servers are ACTIVE; the join token of members still booting stays valid until they joined (a later apply or refresh revokes it) or it expires (the apply's timeout plus 5 minutes).").optional_computed()),
                ("max_parallel", number("Servers created or deleted concurrently (default 20).").optional_computed()),
                ("stopped_members", string("What apply does with a member whose server was stopped out of band (`SHUTOFF`, `SHELVED`, `SUSPENDED`, `PAUSED`; shown in `members[].status` and as a plan warning): `start` (default: Nova's os-start, unshelve, resume or unpause, then wait for its node), `replace` (delete it and create a new one, as for a server in `ERROR`), or `keep` (leave it stopped; it counts as a member, not as Ready). Only `ERROR` and deleted servers count as failed.").optional_computed()),
                ("uid", string("Random identity of this pool instance, drawn at create: every server carries the tag `k0stack-pool=<uid>`, and the management cluster holds the instance's record (ConfigMap `k0stack-pool-<uid>` in the control plane's namespace). Two instances of one pool (the old and the new of a `create_before_destroy` or `-replace`) own disjoint servers; destroying one never touches the other's. A create interrupted before Terraform saved its state (SIGKILL) is recognised by its record and continued by the next apply, its servers adopted.").computed()),
                ("hosted_control_plane_uid", string("Kubernetes uid of the hosted control plane's `Cluster` the servers joined (tag `k0stack-cluster=<uid>`). When the control plane is replaced (a new uid), the pool is replaced too: its servers cannot join another cluster.").computed()),
                ("members", members.into()),
                ("ready_count", number("Members whose node is Ready.").computed()),
                ("server_group_id", string("Nova server group owned by the pool (when `server_group_policy` is set).").computed()),
                ("template_hash", string("Hash of the member template; members built from another hash are replaced.").computed()),
                ("image_id", string("The Glance image `image` resolves to now (only `active` images match a name). A new image uploaded under the same name shows here in the plan, with the roll it causes; pin an image by giving its id as `image`.").computed()),
            ],
            vec![
                ("boot_volume", optional_block(block(
                    "Boot from a Cinder volume created from `image`.",
                    vec![("size", number("Volume size in GiB.").required()), ("type", string("Volume type."))],
                    vec![],
                ))),
                ("rolling_update", optional_block(block(
                    "How template changes roll.",
                    vec![
                        ("max_surge", number("Members created above `size` during a roll (default 1).").optional_computed()),
                        ("max_unavailable", number("Ready members that may be missing during a roll (default 0).").optional_computed()),
                    ],
                    vec![],
                ))),
                ("drain", optional_block(block(
                    "Draining nodes before their servers are deleted.",
                    vec![
                        ("enabled", bool("Cordon and evict pods first (default `true`).").optional_computed()),
                        ("timeout", string("How long to wait for evictions (default `5m`).").optional_computed()),
                        ("ignore_pdb_after", string("After this long, delete pods despite PodDisruptionBudgets (default: never).")),
                    ],
                    vec![],
                ))),
                ("airgap", optional_block(block(
                    "Air-gapped sites: the images a worker needs (pause, kube-proxy, konnectivity-agent, coredns, metrics-server, kube-router or calico) \
                     come from an OCI image bundle instead of public registries. cloud-init downloads it (curl with retries; checked against `bundle_sha256` when set) \
                     into `/var/lib/k0s/images/` before k0s starts, and k0s imports it before the kubelet runs. Combine with `k0s_download_url` (the binary) — \
                     or, instead of a bundle, set `spec.images.repository` in the control plane's `k0s_config` to a mirror registry. \
                     Changing the block replaces members (cloud-init runs once). Without it, workers pull from quay.io and registry.k8s.io.",
                    vec![
                        ("bundle_url", string("http(s) URL of the image bundle for the workers' k0s version and architecture: the release asset `k0s-airgap-bundle-<version>-<arch>` (e.g. `k0s-airgap-bundle-v1.32.6+k0s.0-amd64`, copied to your mirror) or your own (`k0s airgap list-images` names what it must hold). An upstream asset name of another version than the workers' is refused at plan.").required()),
                        ("bundle_sha256", string("Hex SHA-256 of the bundle; when set, a download that does not match is never given to k0s.")),
                    ],
                    vec![],
                ))),
                ("timeouts", timeouts::schema(DEFAULT_TIMEOUTS)),
            ],
        ),
    }
}
