//! The provider block's schema. Descriptions here are the documentation.

use tf_provider::schema::{Block, Schema};

use crate::framework::schema::{block, bool, number, optional_block, string};

pub fn provider_schema() -> Schema {
    Schema {
        version: 1,
        block: block(
            "Manages k0s hosted control planes (k0smotron `Cluster`s in a management cluster) and their \
             worker pools on OpenStack. Every setting is optional and falls back to the environment \
             (`KUBECONFIG`, `OS_*`, clouds.yaml).",
            vec![],
            vec![("kubernetes", optional_block(kubernetes_block())), ("openstack", optional_block(openstack_block()))],
        ),
    }
}

fn kubernetes_block() -> Block {
    block(
        "Connection to the management cluster. Without it: `KUBECONFIG` (a `:`-separated list), then \
         `~/.kube/config`, then the in-cluster service account.",
        vec![
            ("config_path", string("Path of a kubeconfig file (`~` is expanded).")),
            ("config_context", string("Context of the kubeconfig to use; default: its `current-context`.")),
            ("config_raw", string("A whole kubeconfig as a string (e.g. from a secret store). Conflicts with `config_path`.").sensitive()),
            ("insecure", bool("Skip TLS verification of the management cluster's API server. For tests only.")),
        ],
        vec![],
    )
}

fn openstack_block() -> Block {
    block(
        "OpenStack credentials for worker pools. Precedence: these attributes, then `OS_*` environment \
         variables, then the selected cloud of clouds.yaml (`cloud` or `OS_CLOUD`; looked up at \
         `clouds_yaml`, `OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`, `~/.config/openstack/clouds.yaml`, \
         `/etc/openstack/clouds.yaml`, with secure.yaml merged).",
        vec![
            ("cloud", string("Name of the cloud in clouds.yaml (env: `OS_CLOUD`).")),
            ("clouds_yaml", string("Path of the clouds.yaml file to read (env: `OS_CLIENT_CONFIG_FILE`).")),
            ("auth_url", string("Keystone v3 URL, e.g. `https://keystone.example.com:5000/v3` (env: `OS_AUTH_URL`).")),
            ("region", string("Region of the service catalog endpoints (env: `OS_REGION_NAME`).")),
            ("user_name", string("User name for password authentication (env: `OS_USERNAME`).")),
            ("password", string("Password (env: `OS_PASSWORD`). Conflicts with `application_credential_secret`.").sensitive()),
            ("project_name", string("Project to scope the token to (env: `OS_PROJECT_NAME`).")),
            ("user_domain_name", string("Domain of the user (env: `OS_USER_DOMAIN_NAME`; default `Default`).")),
            ("project_domain_name", string("Domain of the project (env: `OS_PROJECT_DOMAIN_NAME`; default `Default`).")),
            ("application_credential_id", string("Application credential id (env: `OS_APPLICATION_CREDENTIAL_ID`).")),
            ("application_credential_secret", string("Application credential secret (env: `OS_APPLICATION_CREDENTIAL_SECRET`).").sensitive()),
            ("cacert_file", string("CA bundle to verify the OpenStack endpoints (env: `OS_CACERT`).")),
            ("insecure", bool("Skip TLS verification of the OpenStack endpoints (env: `OS_INSECURE`). Only when set.")),
            ("endpoint_type", string("Catalog interface: `public` (default), `internal` or `admin` (env: `OS_INTERFACE`).")),
            ("max_retries", number("Retries of a failed OpenStack request (429, 5xx, connection reset); default 5.")),
        ],
        vec![],
    )
}
