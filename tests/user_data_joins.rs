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

/// Issue 15 item 10: in an air-gapped site the strict sim refuses get.k0s.sh and public
/// registries; the provider's user data with a mirror binary and an `airgap` bundle gives
/// a worker everything it needs, and without the bundle its node would stay NotReady.
#[test]
fn an_air_gapped_worker_gets_its_binary_and_images_from_the_site() {
    use k0stack::cloudinit::ImageBundle;
    use k0stack_sim::k8s::airgap::{check, Gap, ImagesConfig};
    let mirror = WorkerTemplate {
        download_url: Some("https://mirror.site/k0s/k0s-v1.32.6+k0s.0-amd64".into()),
        ..template("v1.32.6+k0s.0")
    };
    let with_bundle = WorkerTemplate {
        image_bundle: Some(ImageBundle {
            url: "https://mirror.site/k0s/k0s-airgap-bundle-v1.32.6+k0s.0-amd64".into(),
            sha256: Some("ab".repeat(32)),
        }),
        ..mirror.clone()
    };
    let runcmd = |t: &WorkerTemplate| {
        let ud = render(t, &Secret::new("t")).unwrap();
        parse_user_data(&ud)
            .unwrap_or_else(|e| panic!("{e}\n{ud}"))
            .runcmd
    };
    let none = ImagesConfig::default();
    assert_eq!(check(&runcmd(&with_bundle), &none), Ok(()));
    assert!(matches!(
        check(&runcmd(&mirror), &none),
        Err(Gap::NoImages(_))
    ));
    let registry = ImagesConfig {
        repository: Some("registry.site:5000/k0s".into()),
        ..Default::default()
    };
    assert_eq!(check(&runcmd(&mirror), &registry), Ok(()));
    // The default download (get.k0s.sh) is public: k0s is never installed.
    assert!(matches!(
        check(&runcmd(&template("v1.32.6+k0s.0")), &registry),
        Err(Gap::NoBinary(_))
    ));
}
