//! Join tokens for new members: one k0smotron `JoinTokenRequest` per apply that creates
//! servers, with an expiry no longer than the operation. No long-lived secret exists, and
//! the token is never part of the member template, so minting a new one never makes
//! existing members look outdated.
//!
//! A request is revoked (deleted: k0smotron runs `k0s token invalidate`) once no member
//! still needs it ([`token_plan::to_revoke`]): at the end of an apply when every member
//! joined, else by a later apply or refresh. Requests are tracked by name in the pool's
//! record, never by label: k0smotron 1.x (v1.10.9) replaces all labels of a request.
//! k0smotron 1.x also never stores its own finalizer, so a delete would leave the token
//! valid; on that API the provider puts the controller's finalizer on the request itself
//! once the token is issued, and the controller's deletion branch then invalidates it.

use std::time::Duration;

use serde_json::{json, Value};

use crate::framework::ownership;
use crate::framework::wait::{self, Backoff, Check};
use crate::framework::Secret;
use crate::kube::join_token;
use crate::resources::hosted_control_plane::object::{self, Api};
use crate::resources::kube_io::{self, KubeError};

use super::record;
use super::token_plan::{self, MemberToken, Tracked};

/// Label that tied a request to its pool in earlier versions (k0smotron 1.x wipes it: only
/// the legacy sweep of a destroy still uses it).
pub const LABEL_POOL: &str = "k0stack.io/worker-pool";

/// k0smotron's finalizer on join token requests (`jointokenrequest_controller.go`).
pub const FINALIZER: &str = "jointokenrequests.k0smotron.io/finalizer";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error("k0smotron did not issue a join token for JoinTokenRequest {request}: {detail}")]
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

/// What k0smotron says about a request that has no token yet (its status message).
fn request_state(jtr: Option<&Value>) -> String {
    let Some(j) = jtr else {
        return "the JoinTokenRequest does not exist".into();
    };
    let said = j["status"]["conditions"][0]["message"]
        .as_str()
        .or(j["status"]["reconciliationStatus"].as_str())
        .filter(|s| !s.is_empty());
    match said {
        Some(s) => format!("no token yet; k0smotron says: {s}"),
        None => "no token yet; k0smotron has not reconciled the request".into(),
    }
}

/// The join token requests of one pool instance.
pub struct Requests<'a> {
    pub kube: &'a kube::Client,
    pub api: Api,
    pub ns: &'a str,
    pub cluster: &'a str,
    pub uid: &'a str,
    pub pool_id: &'a str,
    pub hcp_uid: &'a str,
}

impl Requests<'_> {
    /// Adds `t` to the record (written first if it is missing).
    async fn track(&self, t: Tracked) -> Result<(), KubeError> {
        let mut tracked = record::token_requests(self.kube, self.ns, self.uid).await?;
        tracked.retain(|x| x.name != t.name);
        tracked.push(t);
        match record::set_token_requests(self.kube, self.ns, self.uid, &tracked).await {
            Err(KubeError::Object {
                code: Some(404), ..
            }) => {
                record::confirm(self.kube, self.ns, self.pool_id, self.uid, self.hcp_uid).await?;
                record::set_token_requests(self.kube, self.ns, self.uid, &tracked).await
            }
            other => other,
        }
    }

    /// Requests a worker token valid for `valid_for`, waiting at most `wait` for k0smotron
    /// to issue it: (request name, token).
    pub async fn mint(
        &self,
        valid_for: Duration,
        wait: Duration,
    ) -> Result<(String, Secret), TokenError> {
        let now = ownership::now_secs();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let name = format!("k0stack-{}-{stamp}", self.uid);
        let request = format!("{}/{name}", self.ns);
        // Recorded before it exists: an interrupted apply's request is found by name.
        self.track(Tracked {
            name: name.clone(),
            expires: token_plan::expires_at(now, valid_for),
        })
        .await?;
        let expiry = token_plan::expiry(valid_for);
        let mut req = object::join_token_request(&name, self.ns, self.cluster, &expiry, self.api);
        req["metadata"]["labels"][LABEL_POOL] = json!(self.uid);
        let ar = jtr_resource(self.api);
        kube_io::apply(self.kube, &ar, &req).await?;
        let what = format!("k0smotron to issue the join token of JoinTokenRequest {request}");
        let token = wait::until(&what, wait, Backoff::default(), || self.issued(&name))
            .await
            .map_err(|e| TokenError::NotIssued {
                request: request.clone(),
                detail: e.to_string(),
            })?;
        if self.api == Api::V1beta1 {
            self.add_finalizer(&name).await;
        }
        let decoded = join_token::decode(&token).map_err(|e| TokenError::Unusable {
            request: request.clone(),
            detail: e.to_string(),
        })?;
        tracing::info!(%request, token_id = %decoded.token_id, "join token issued");
        Ok((name, Secret::new(token)))
    }

    /// The token once k0smotron wrote its Secret and recorded its id in the status (before
    /// that, a 1.x controller's status update would fail on a changed request).
    async fn issued(&self, name: &str) -> Result<Check<String>, KubeError> {
        let jtr = kube_io::get(self.kube, &jtr_resource(self.api), Some(self.ns), name).await?;
        let has_id = jtr
            .as_ref()
            .and_then(|j| j["status"]["tokenID"].as_str())
            .is_some_and(|t| !t.is_empty());
        let token = kube_io::secret_data(self.kube, self.ns, name)
            .await?
            .and_then(|d| d.get("token").cloned())
            .and_then(|t| String::from_utf8(t).ok())
            .filter(|t| !t.is_empty());
        Ok(match token {
            Some(t) if has_id => Check::Ready(t),
            _ => Check::Pending(request_state(jtr.as_ref())),
        })
    }

    /// k0smotron 1.x never stores its finalizer: without it a delete leaves the token
    /// valid until it expires. Best effort (the token still expires with the operation).
    async fn add_finalizer(&self, name: &str) {
        let ar = jtr_resource(self.api);
        let current = match kube_io::get(self.kube, &ar, Some(self.ns), name).await {
            Ok(Some(j)) => j,
            _ => return,
        };
        let mut f: Vec<Value> = current["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if f.iter().any(|x| x == FINALIZER) {
            return;
        }
        f.push(json!(FINALIZER));
        let patch = json!({"metadata": {"finalizers": f}});
        if let Err(e) = kube_io::patch_merge(self.kube, &ar, Some(self.ns), name, &patch).await {
            tracing::warn!(request = %name, "cannot add k0smotron's finalizer (the token will only expire, not be invalidated on revocation): {e}");
        }
    }

    /// Deletes the requests `names` (k0smotron invalidates their tokens) and forgets them.
    async fn revoke(&self, tracked: &[Tracked], names: &[String]) -> Result<usize, KubeError> {
        let ar = jtr_resource(self.api);
        let mut n = 0;
        for name in names {
            if kube_io::delete(self.kube, &ar, Some(self.ns), name).await? {
                n += 1;
            }
        }
        if self.api == Api::V1beta1 && !names.is_empty() {
            self.release_orphans(names).await?;
        }
        let left: Vec<Tracked> = tracked
            .iter()
            .filter(|t| !names.contains(&t.name))
            .cloned()
            .collect();
        if left.len() != tracked.len() {
            record::set_token_requests(self.kube, self.ns, self.uid, &left).await?;
        }
        Ok(n)
    }

    /// A 1.x controller cannot finish deleting a request whose Cluster is gone ("Failed
    /// getting cluster", retried forever), so the finalizer the provider added would hold
    /// it (and its namespace) for good. The token died with its control plane: the
    /// provider takes its finalizer back.
    async fn release_orphans(&self, names: &[String]) -> Result<(), KubeError> {
        let car = kube_io::cluster_resource(self.api);
        if kube_io::get(self.kube, &car, Some(self.ns), self.cluster)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let ar = jtr_resource(self.api);
        for name in names {
            let Some(j) = kube_io::get(self.kube, &ar, Some(self.ns), name).await? else {
                continue;
            };
            let f: Vec<Value> = j["metadata"]["finalizers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|x| *x != FINALIZER)
                .cloned()
                .collect();
            let patch = json!({"metadata": {"finalizers": f}});
            kube_io::patch_merge(self.kube, &ar, Some(self.ns), name, &patch).await?;
        }
        Ok(())
    }

    /// Revokes the requests no member needs any more (see [`token_plan::to_revoke`]).
    /// Best effort: a failure is logged, and the next apply or refresh tries again.
    pub async fn settle(&self, members: &[MemberToken], nodes_known: bool) {
        let result = async {
            let tracked = record::token_requests(self.kube, self.ns, self.uid).await?;
            let names =
                token_plan::to_revoke(&tracked, members, nodes_known, ownership::now_secs());
            let kept = tracked.len() - names.len();
            let n = self.revoke(&tracked, &names).await?;
            Ok::<_, KubeError>((n, kept))
        }
        .await;
        match result {
            Ok((n, kept)) if n > 0 || kept > 0 => {
                tracing::info!(pool = %self.pool_id, revoked = n, kept, "join tokens settled (kept: members minted with them are still joining)")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(pool = %self.pool_id, "cannot revoke join tokens: {e}"),
        }
    }

    /// Revokes every request of the instance: the tracked ones, and any an earlier version
    /// labelled. Best effort.
    pub async fn revoke_all(&self) {
        let result = async {
            let tracked = record::token_requests(self.kube, self.ns, self.uid).await?;
            let names: Vec<String> = tracked.iter().map(|t| t.name.clone()).collect();
            let mut n = self.revoke(&tracked, &names).await?;
            let ar = jtr_resource(self.api);
            for obj in kube_io::list(self.kube, &ar, Some(self.ns)).await? {
                if obj["metadata"]["labels"][LABEL_POOL] == json!(self.uid) {
                    if let Some(name) = obj["metadata"]["name"].as_str() {
                        n += usize::from(
                            kube_io::delete(self.kube, &ar, Some(self.ns), name).await?,
                        );
                    }
                }
            }
            Ok::<_, KubeError>(n)
        }
        .await;
        match result {
            Ok(n) if n > 0 => {
                tracing::info!(pool = %self.pool_id, revoked = n, "join tokens revoked")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(pool = %self.pool_id, "cannot revoke join tokens: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_says_what_k0smotron_says() {
        assert!(request_state(None).contains("does not exist"));
        let v1 = json!({"status": {"reconciliationStatus": "Failed getting token"}});
        assert!(request_state(Some(&v1)).contains("Failed getting token"));
        let v2 = json!({"status": {"conditions": [{"message": "Failed getting token"}]}});
        assert!(request_state(Some(&v2)).contains("Failed getting token"));
        assert!(request_state(Some(&json!({}))).contains("not reconciled"));
    }
}
