//! Join tokens for new members: one k0smotron `JoinTokenRequest` per apply that creates
//! servers, with an expiry no longer than the operation, deleted (so k0smotron revokes the
//! token) when the apply ends. No long-lived secret exists, and the token is never part of
//! the member template, so minting a new one never makes existing members look outdated.

use std::time::Duration;

use serde_json::json;

use crate::framework::wait::{self, Backoff, Check};
use crate::framework::Secret;
use crate::kube::join_token;
use crate::resources::hosted_control_plane::object::{self, Api};
use crate::resources::kube_io::{self, KubeError};

/// Label that ties a request to its pool (to clean up after an interrupted apply).
pub const LABEL_POOL: &str = "k0stack.io/worker-pool";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error("k0smotron did not issue a join token for {request}: {detail}")]
    NotIssued { request: String, detail: String },
    #[error("the join token k0smotron issued for {request} is unusable: {detail}")]
    Unusable { request: String, detail: String },
}

fn jtr_resource(api: Api) -> kube::api::ApiResource {
    kube_io::resource(
        "k0smotron.io",
        api.as_str(),
        "JoinTokenRequest",
        "jointokenrequests",
    )
}

/// A Go duration of whole minutes covering `d` (at least 10m).
pub fn expiry(d: Duration) -> String {
    let minutes = d.as_secs().div_ceil(60).max(10);
    format!("{minutes}m")
}

/// Requests a worker token for the hosted cluster `ns/cluster`, valid for `valid_for`.
pub async fn mint(
    kube: &kube::Client,
    api: Api,
    ns: &str,
    cluster: &str,
    pool_uid: &str,
    valid_for: Duration,
) -> Result<(String, Secret), TokenError> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let name = format!("k0stack-{pool_uid}-{stamp}");
    let mut req = object::join_token_request(&name, ns, cluster, &expiry(valid_for), api);
    req["metadata"]["labels"][LABEL_POOL] = json!(pool_uid);
    kube_io::apply(kube, &jtr_resource(api), &req).await?;
    let what = format!("the join token of {ns}/{name}");
    let token = wait::until(&what, Duration::from_secs(60), Backoff::default(), || {
        let (kube, ns, name) = (kube.clone(), ns.to_string(), name.clone());
        async move {
            Ok::<_, KubeError>(match kube_io::secret_data(&kube, &ns, &name).await? {
                Some(d) => match d
                    .get("token")
                    .and_then(|t| String::from_utf8(t.clone()).ok())
                {
                    Some(t) if !t.is_empty() => Check::Ready(t),
                    _ => Check::Pending("the token Secret has no `token` yet".into()),
                },
                None => Check::Pending("no token Secret yet".into()),
            })
        }
    })
    .await
    .map_err(|e| TokenError::NotIssued {
        request: format!("{ns}/{name}"),
        detail: e.to_string(),
    })?;
    let decoded = join_token::decode(&token).map_err(|e| TokenError::Unusable {
        request: format!("{ns}/{name}"),
        detail: e.to_string(),
    })?;
    tracing::info!(request = %format!("{ns}/{name}"), token_id = %decoded.token_id, "join token issued");
    Ok((name, Secret::new(token)))
}

/// Deletes every join token request of the pool (revoking the tokens). Best effort.
pub async fn revoke_all(
    kube: &kube::Client,
    api: Api,
    ns: &str,
    pool_uid: &str,
) -> Result<usize, KubeError> {
    let ar = jtr_resource(api);
    let mut n = 0;
    for obj in kube_io::list(kube, &ar, Some(ns)).await? {
        if obj["metadata"]["labels"][LABEL_POOL] == json!(pool_uid) {
            if let Some(name) = obj["metadata"]["name"].as_str() {
                if kube_io::delete(kube, &ar, Some(ns), name).await? {
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_covers_the_operation_in_whole_minutes() {
        assert_eq!(expiry(Duration::from_secs(30)), "10m");
        assert_eq!(expiry(Duration::from_secs(30 * 60)), "30m");
        assert_eq!(expiry(Duration::from_secs(30 * 60 + 1)), "31m");
    }
}
