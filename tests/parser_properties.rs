//! Property tests for every parser that reads user or server input: clouds.yaml, kubeconfig
//! (raw and as the hosted control plane's Secret), k0s join tokens, durations, versions and
//! user-data rendering. Whatever the input, they return a value or an error — never panic —
//! and rendered user data stays a `#cloud-config` whatever goes into it.

use std::collections::BTreeMap;

use base64::Engine;
use proptest::prelude::*;

use k0stack::cloudinit::{self, WorkerTemplate};
use k0stack::framework::{duration, version::K0sVersion, Secret};
use k0stack::kube::join_token;
use k0stack::openstack::clouds_yaml;
use k0stack::resources::hosted_control_plane::outputs;

/// YAML-ish text: keys and values from a small alphabet of YAML syntax, so the parsers see
/// mappings, lists, anchors and broken indentation, not only random bytes.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("clouds:".to_string()),
        Just("k0stack-sim:".to_string()),
        Just("auth:".to_string()),
        Just("auth_url: http://x".to_string()),
        Just("username: u".to_string()),
        Just("password: p".to_string()),
        Just("auth_type: v3applicationcredential".to_string()),
        Just("region_name: RegionOne".to_string()),
        Just("interface: internal".to_string()),
        Just("verify: false".to_string()),
        Just("cacert: /nope".to_string()),
        Just("- a".to_string()),
        Just("&x".to_string()),
        Just("*x".to_string()),
        Just("{".to_string()),
        Just("null".to_string()),
        Just("[1, 2]".to_string()),
        "[a-z_]{1,8}: [a-z0-9]{0,8}",
    ];
    prop::collection::vec((0usize..4, token), 0..20).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(indent, t)| format!("{}{t}", "  ".repeat(indent)))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn clouds_yaml_never_panics(text in yamlish(), secure in yamlish(), raw in ".{0,200}") {
        let p = std::path::Path::new("secure.yaml");
        let _ = clouds_yaml::parse_cloud("clouds.yaml", &text, "k0stack-sim", Some((p, &secure)));
        let _ = clouds_yaml::parse_cloud("clouds.yaml", &raw, "k0stack-sim", None);
    }

    #[test]
    fn kubeconfig_readers_never_panic(text in yamlish(), raw in ".{0,200}") {
        for t in [&text, &raw] {
            let _ = outputs::kubeconfig_server(t);
            let _ = outputs::from_kubeconfig(t, Some("https://10.0.0.1:6443"));
            let _ = kube::config::Kubeconfig::from_yaml(t);
        }
    }

    #[test]
    fn join_token_decoding_never_panics(raw in ".{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = join_token::decode(&raw);
        // Valid base64 of arbitrary bytes, and valid base64 of gzip of arbitrary text.
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let _ = join_token::decode(&b64);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        let gzipped = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        prop_assert!(join_token::decode(&gzipped).is_err());
    }

    #[test]
    fn durations_and_versions_never_panic(s in ".{0,40}", n in any::<u64>(), unit in "(ms|s|m|h|d|)") {
        let _ = duration::parse(&s);
        let _ = duration::parse(&format!("{n}{unit}"));
        let _ = K0sVersion::parse(&s);
    }

    #[test]
    fn user_data_is_always_cloud_config_with_the_token_file(
        version in "v1\\.[0-9]{1,2}\\.[0-9]{1,2}\\+k0s\\.[0-9]",
        labels in prop::collection::btree_map("[a-z]{1,10}", ".{0,20}", 0..4),
        taints in prop::collection::vec(".{0,30}", 0..3),
        args in proptest::option::of(".{0,40}"),
        extra in proptest::option::of(yamlish()),
        token in ".{1,60}",
        bundle in proptest::option::of(("https://.{0,60}", proptest::option::of("[0-9a-f]{64}"))),
    ) {
        let t = WorkerTemplate {
            k0s_version: version,
            download_url: None,
            labels: labels.into_iter().collect::<BTreeMap<_, _>>(),
            taints,
            kubelet_extra_args: args,
            extra_user_data: extra,
            image_bundle: bundle.clone().map(|(url, sha256)| cloudinit::ImageBundle { url, sha256 }),
        };
        if let Ok(ud) = cloudinit::render(&t, &Secret::new(token.clone())) {
            prop_assert!(ud.starts_with("#cloud-config\n"));
            let doc: serde_yaml::Value = serde_yaml::from_str(&ud).expect("rendered user data is YAML");
            let files = doc["write_files"].as_sequence().expect("write_files");
            let token_file = files.iter().find(|f| f["path"] == "/etc/k0s.token").expect("token file");
            prop_assert_eq!(token_file["permissions"].as_str(), Some("0600"));
            prop_assert_eq!(token_file["content"].as_str(), Some(token.as_str()));
            let runcmd = doc["runcmd"].as_sequence().expect("runcmd");
            prop_assert!(runcmd.iter().any(|c| c.as_str().is_some_and(|c| c.starts_with("/usr/local/bin/k0s install worker --token-file /etc/k0s.token"))));
            // The token file stays for k0s to read after `k0s start` (issue 15 item 1).
            prop_assert!(!runcmd.iter().any(|c| c.as_str().is_some_and(|c| c.starts_with("rm ") && c.contains("/etc/k0s.token"))));
            // An image bundle is in k0s's images directory before `k0s start` (issue 15 item 10).
            let at = |p: &dyn Fn(&str) -> bool| runcmd.iter().position(|c| c.as_str().is_some_and(p));
            let start = at(&|c| c == "/usr/local/bin/k0s start").expect("k0s start");
            match at(&|c| c.starts_with("mkdir -p /var/lib/k0s/images ")) {
                Some(i) => {
                    prop_assert!(bundle.is_some() && i < start);
                    let line = runcmd[i].as_str().unwrap();
                    prop_assert!(line.ends_with(" && mv /var/lib/k0s/k0stack-airgap-bundle.part /var/lib/k0s/images/k0stack-airgap-bundle.tar"));
                }
                None => prop_assert!(bundle.is_none()),
            }
        }
    }
}
