//! Schema of `k0stack_management_cluster`.

use tf_provider::schema::Schema;

use crate::framework::schema::{block, bool, number, optional_block, string};
use crate::framework::timeouts;

use super::model::DEFAULT_TIMEOUTS;

pub fn schema() -> Schema {
    Schema {
        version: 1,
        block: block(
            "The k0s management cluster that hosts the control planes, reached through the provider's \
             `kubernetes` block. Manages what hosted control planes need there: their namespace, k0smotron \
             (installed from `k0smotron_manifest`, or verified), and the fleet's OpenStack credentials as a \
             `clouds.yaml` Secret for in-cluster components (OpenStack CCM, Cinder CSI). Destroying it removes \
             only what it created, never the cluster, and refuses while hosted control planes remain.",
            vec![
                ("id", string("`<context-or-server>/<namespace>`; hosted control planes reference it.").computed()),
                ("namespace", string("Namespace for hosted control planes (default `kmc-system`); created when missing.").optional_computed()),
                ("k0smotron_manifest", string("k0smotron's install YAML (e.g. `file(\"k0smotron-install.yaml\")`), applied with server-side apply and waited for (CRDs established, Deployments available). Without it, k0smotron must already be installed.")),
                ("force_destroy", bool("Destroy even while hosted control planes exist in `namespace` (they are deleted first). Default `false`.").optional_computed()),
                ("endpoint", string("API server URL of the management cluster.").computed()),
                ("k0smotron_api_version", string("`v1beta2` (k0smotron ≥ 2.0) or `v1beta1` (k0smotron 1.x).").computed()),
                ("kubernetes_version", string("Kubernetes version of the management cluster.").computed()),
                ("node_count", number("Nodes of the management cluster.").computed()),
                ("namespace_created", bool("Whether this resource created `namespace` (and so deletes it on destroy).").computed()),
            ],
            vec![
                (
                    "openstack_credentials",
                    optional_block(block(
                        "Store the fleet's OpenStack credentials in `namespace` as a Secret with key `clouds.yaml` (cloud name `openstack`).",
                        vec![
                            ("secret_name", string("Secret name (default `openstack-cloud-config`).").optional_computed()),
                            ("clouds_yaml", string("The clouds.yaml to store; default: built from the provider's OpenStack settings.").sensitive()),
                            ("sha256", string("SHA-256 of the stored content: a changed or deleted Secret shows in the plan.").computed()),
                        ],
                        vec![],
                    )),
                ),
                ("timeouts", timeouts::schema(DEFAULT_TIMEOUTS)),
            ],
        ),
    }
}
