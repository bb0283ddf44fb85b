//! The provider's worker user data, read by the strict simulator exactly as a booting VM
//! runs it (issue 15 items 1 and 5): the join token file stays where k0s reads it after
//! `k0s start` returns, and get.k0s.sh gets a release name that exists (`+k0s.`) whichever
//! spelling the configuration used.

use k0stack::cloudinit::{render, WorkerTemplate};
use k0stack::framework::Secret;
use k0stack_sim::k8s::join::parse_user_data;

fn template(version: &str) -> WorkerTemplate {
    WorkerTemplate {
        k0s_version: version.into(),
        labels: [("node.kubernetes.io/pool".to_string(), "general".to_string())].into(),
        ..Default::default()
    }
}

#[test]
fn a_worker_keeps_its_token_file_for_k0s_to_read() {
    let ud = render(&template("v1.32.6+k0s.0"), &Secret::new("H4sIAAAA")).unwrap();
    let join = parse_user_data(&ud).unwrap_or_else(|e| panic!("{e}\n{ud}"));
    assert_eq!(join.join_token, "H4sIAAAA");
}

#[test]
fn the_download_uses_the_release_name_for_either_spelling() {
    for spelling in ["v1.32.6+k0s.0", "v1.32.6-k0s.0"] {
        let ud = render(&template(spelling), &Secret::new("t")).unwrap();
        let join = parse_user_data(&ud).unwrap_or_else(|e| panic!("{spelling}: {e}\n{ud}"));
        assert_eq!(join.k0s_version.as_deref(), Some("v1.32.6+k0s.0"));
    }
}
