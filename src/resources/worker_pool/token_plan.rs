//! Which join token requests a pool still needs (pure).
//!
//! A member's k0s reads its token file when its service starts, after the server is ACTIVE
//! (k0s `pkg/component/worker/utils.go` `BootstrapKubeletKubeconfig`), and the kubelet
//! bootstraps its client certificate with it. So a token must live until every member
//! minted with it has joined; revoking it earlier (deleting its request: k0smotron runs
//! `k0s token invalidate`) leaves members that never join. Each server carries the name of
//! the request its token came from (Nova metadata [`META_REQUEST`]); the pool's record
//! lists every request the pool made (by name: k0smotron 1.x replaces a request's labels),
//! written before the request exists so that an interrupted apply's requests are found.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Nova metadata on a member: the join token request its user data's token came from.
pub const META_REQUEST: &str = "k0stack-join-token-request";

/// A request the pool made: its name and when its token expires (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    pub name: String,
    pub expires: u64,
}

/// What the pool's members say about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberToken {
    /// The request named in the member's metadata (None: a member of an earlier version).
    pub request: Option<String>,
    /// Its node is registered and Ready: the kubelet has its client certificate.
    pub joined: bool,
    /// It failed (ERROR): it will not use the token any more.
    pub failed: bool,
}

/// A Go duration of whole minutes covering `d` (at least 10m).
pub fn expiry(d: Duration) -> String {
    expiry_minutes(d).to_string() + "m"
}

fn expiry_minutes(d: Duration) -> u64 {
    d.as_secs().div_ceil(60).max(10)
}

/// When a token requested now with [`expiry`]`(d)` expires (unix seconds).
pub fn expires_at(now: u64, d: Duration) -> u64 {
    now + expiry_minutes(d) * 60
}

/// The requests to revoke now: expired ones, and those no member still needs — every
/// member minted with it joined, failed or is gone. With `nodes_known` false (the hosted
/// cluster cannot be read) only expired ones: a member may still be booting.
pub fn to_revoke(
    tracked: &[Tracked],
    members: &[MemberToken],
    nodes_known: bool,
    now: u64,
) -> Vec<String> {
    let needed: BTreeSet<&str> = members
        .iter()
        .filter(|m| !m.joined && !m.failed)
        .filter_map(|m| m.request.as_deref())
        .collect();
    tracked
        .iter()
        .filter(|t| now >= t.expires || (nodes_known && !needed.contains(t.name.as_str())))
        .map(|t| t.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, expires: u64) -> Tracked {
        Tracked {
            name: name.into(),
            expires,
        }
    }

    fn m(request: &str, joined: bool) -> MemberToken {
        MemberToken {
            request: Some(request.into()),
            joined,
            failed: false,
        }
    }

    #[test]
    fn expiry_covers_the_operation_in_whole_minutes() {
        assert_eq!(expiry(Duration::from_secs(30)), "10m");
        assert_eq!(expiry(Duration::from_secs(30 * 60)), "30m");
        assert_eq!(expiry(Duration::from_secs(30 * 60 + 1)), "31m");
        assert_eq!(expires_at(1000, Duration::from_secs(30)), 1600);
    }

    #[test]
    fn a_request_lives_while_a_member_minted_with_it_boots() {
        let tracked = [t("a", 5000), t("b", 5000)];
        let members = [m("a", true), m("a", false), m("b", true)];
        assert_eq!(to_revoke(&tracked, &members, true, 1000), vec!["b"]);
        // All joined: both go.
        let joined = [m("a", true), m("b", true)];
        assert_eq!(to_revoke(&tracked, &joined, true, 1000), vec!["a", "b"]);
    }

    #[test]
    fn failed_and_gone_members_need_nothing() {
        let tracked = [t("a", 5000)];
        let failed = [MemberToken {
            failed: true,
            ..m("a", false)
        }];
        assert_eq!(to_revoke(&tracked, &failed, true, 1000), vec!["a"]);
        assert_eq!(to_revoke(&tracked, &[], true, 1000), vec!["a"]);
    }

    #[test]
    fn unknown_nodes_keep_all_but_expired_requests() {
        let tracked = [t("old", 900), t("new", 5000)];
        assert_eq!(to_revoke(&tracked, &[], false, 1000), vec!["old"]);
        // Expired is revoked even when a member still boots (the token is dead anyway).
        assert_eq!(
            to_revoke(&tracked, &[m("old", false)], true, 1000),
            vec!["old", "new"]
        );
    }
}
