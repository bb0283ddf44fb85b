//! Destroy of what this resource keeps inside the cluster: it surveys the cluster (other
//! instances' markers, control planes, objects of the k0smotron CRDs anywhere), lets
//! [`super::teardown`] decide, and deletes only that.

use tf_provider::{AttributePath, Diagnostics};

use crate::framework::diag;
use crate::provider::Clients;
use crate::resources::kube_io::{self, KubeError};

use super::connected::identify;
use super::model::*;
use super::teardown::{self, Found};
use super::{credentials, k0smotron, namespace};

/// What the destroy finds in the cluster.
async fn survey(
    clients: &Clients,
    kube: &kube::Client,
    state: &State,
    force: bool,
) -> Result<Found, KubeError> {
    let ns = namespace_of(state);
    let instance = known(&state.instance_id);
    let all = namespace::list_all(kube).await?;
    let this = all.iter().find(|o| o["metadata"]["name"] == ns.as_str());
    let namespace_users: Vec<String> = this
        .map(namespace::users)
        .unwrap_or_default()
        .into_iter()
        .filter(|u| Some(u) != instance.as_ref())
        .collect();
    // The namespace's owner annotation decides (it may have been handed over to this
    // instance since its last refresh); a state without instance id owned what it says it
    // created, if nobody claimed it since.
    let namespace_owned = match &instance {
        Some(_) => this.is_some_and(|o| credentials::deletable(o, instance.as_deref())),
        None => {
            state.namespace_created.as_ref_option().copied() == Some(true)
                && this.is_some_and(|o| credentials::deletable(o, None))
        }
    };
    let mut found = Found {
        namespace: ns.clone(),
        force,
        has_manifest: state.k0smotron_manifest.is_value(),
        namespace_owned,
        namespace_users,
        cluster_users: namespace::other_users(&all, instance.as_deref()),
        control_planes_here: k0smotron::control_planes(clients, kube, Some(&ns)).await?,
        ..Default::default()
    };
    if let Some(text) = known(&state.k0smotron_manifest) {
        match k0smotron::crd_objects(kube, &text).await {
            Ok(objs) => found.crd_objects = objs,
            Err(e) => found.crd_objects_unknown = Some(e.to_string()),
        }
    }
    Ok(found)
}

/// Removes what this resource put in the cluster, nothing others use ([`teardown`]).
pub async fn destroy(
    clients: &Clients,
    kube: &kube::Client,
    state: &State,
    force: bool,
    timeout: std::time::Duration,
    diags: &mut Diagnostics,
) -> Option<()> {
    let err =
        |diags: &mut Diagnostics, summary: &str, e: &dyn std::fmt::Display, path: AttributePath| {
            diags.add_error(diag::error(summary, e.to_string(), path));
        };
    let mut s = state.clone();
    if let Err(f) = identify(kube, &mut s, true).await {
        f.report(diags);
        return None;
    }
    let ns = namespace_of(state);
    let instance = known(&state.instance_id);
    let found = match survey(clients, kube, state, force).await {
        Ok(f) => f,
        Err(e) => {
            err(
                diags,
                "Cannot read the management cluster",
                &e,
                AttributePath::root(),
            );
            return None;
        }
    };
    let d = teardown::decide(&found);
    if let Some(why) = d.refuse {
        err(
            diags,
            "Hosted control planes still exist",
            &why,
            AttributePath::new("force_destroy"),
        );
        return None;
    }
    if d.delete_control_planes {
        if let Err(e) = k0smotron::delete_control_planes(
            clients,
            kube,
            &ns,
            &found.control_planes_here,
            timeout,
        )
        .await
        {
            err(
                diags,
                "Hosted control planes not deleted",
                &e,
                AttributePath::new("force_destroy"),
            );
            return None;
        }
    }
    if let Some(block) = state.openstack_credentials.as_ref_option() {
        match credentials::delete(
            kube,
            &ns,
            &credentials::secret_name(block),
            instance.as_deref(),
        )
        .await
        {
            Ok(None) => {}
            Ok(Some(left)) => diags.add_warning(diag::error(
                "OpenStack credentials Secret left",
                left,
                AttributePath::root(),
            )),
            Err(e) => {
                err(
                    diags,
                    "Cannot delete the OpenStack credentials Secret",
                    &e,
                    AttributePath::root(),
                );
                return None;
            }
        }
    }
    if let (true, Some(text)) = (d.uninstall, known(&state.k0smotron_manifest)) {
        let left = k0smotron::uninstall(kube, &text, instance.is_none()).await;
        if !left.is_empty() {
            diags.add_warning(diag::error(
                "Left behind while uninstalling k0smotron",
                left.join("; "),
                AttributePath::root(),
            ));
        }
    }
    for (summary, detail) in d.warnings {
        diags.add_warning(diag::error(summary, detail, AttributePath::root()));
    }
    if d.delete_namespace {
        if let Err(e) = kube_io::delete(kube, &kube_io::namespace_resource(), None, &ns).await {
            err(
                diags,
                "Cannot delete the namespace",
                &e,
                AttributePath::root(),
            );
            return None;
        }
        return Some(());
    }
    if let Some(heir) = &d.hand_over_namespace {
        if let Err(e) = namespace::hand_over(kube, &ns, heir).await {
            tracing::warn!("cannot hand namespace {ns} over to instance {heir}: {e}");
        }
    }
    if let Some(i) = &instance {
        if let Err(e) = namespace::unmark(kube, &ns, i).await {
            tracing::warn!("cannot remove this instance's marker from namespace {ns}: {e}");
        }
    }
    Some(())
}
