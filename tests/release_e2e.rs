//! `make release` artefacts: the registry layout, verified checksums, and a `terraform init`
//! that installs the provider from the linux_amd64 zip through a packed filesystem mirror.

mod support;

use support::{required_providers, TfDir};

#[test]
fn release_zip_installs_through_a_filesystem_mirror() {
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new("tools/release.sh")
        .current_dir(support::repo_root())
        .arg("0.1.0")
        .arg(out.path())
        .env("PROFILE", "debug") // the release pipeline, without a second full optimised build in `make test`
        .env_remove("GPG_FINGERPRINT")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "release failed:\n{log}");
    assert!(
        log.contains("skipping darwin_arm64"),
        "unbuildable targets are listed and skipped:\n{log}"
    );

    let p = |n: &str| {
        out.path()
            .join(format!("terraform-provider-k0stack_0.1.0_{n}"))
    };
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );
    let sums = std::fs::read_to_string(p("SHA256SUMS")).unwrap();
    assert!(sums.contains("terraform-provider-k0stack_0.1.0_linux_amd64.zip"));
    assert!(sums.contains("terraform-provider-k0stack_0.1.0_manifest.json"));
    let check = std::process::Command::new("sha256sum")
        .current_dir(out.path())
        .args(["-c", "terraform-provider-k0stack_0.1.0_SHA256SUMS"])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "checksums do not verify: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(!p("SHA256SUMS.sig").exists());

    // Packed mirror layout: <host>/<namespace>/<type>/terraform-provider-<type>_<v>_<os>_<arch>.zip
    let mut tf = TfDir::new(&required_providers());
    let mirror = tf.path().join("packed-mirror");
    let dir = mirror.join("registry.terraform.io/k0stack/k0stack");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        p("linux_amd64.zip"),
        dir.join("terraform-provider-k0stack_0.1.0_linux_amd64.zip"),
    )
    .unwrap();
    let cli = tf.write(
        "packed.tfrc",
        &format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            mirror.display()
        ),
    );
    tf.set_env("TF_CLI_CONFIG_FILE", cli.display().to_string());
    tf.init()
        .assert_contains("Installing k0stack/k0stack v0.1.0");
    tf.validate().assert_ok();
}
