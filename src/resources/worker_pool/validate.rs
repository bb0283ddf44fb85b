//! From what Terraform sent to a validated [`PoolSpec`], every problem at its attribute.
//! Unknown values are skipped (the spec is then `None`), so `validate` and plan share it.

use tf_provider::value::Value;

use crate::cloudinit;
use crate::framework::validators::{dns_label, one_of};
use crate::framework::version::{invalid_message, K0sVersion};
use crate::framework::{duration, timeouts, Problems, Secret};

use super::model::*;
use super::template::{check_taint, label_key_ok, label_value_ok};

/// `(namespace, name)` of a hosted control plane id `<namespace>/<name>`.
pub fn parse_hcp_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
        .filter(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'))
}

fn number(v: &tf_provider::value::ValueNumber, complete: &mut bool) -> Option<i64> {
    match v {
        Value::Value(n) => Some(*n),
        Value::Null => None,
        Value::Unknown => {
            *complete = false;
            None
        }
    }
}

/// The `airgap` block's bundle: an http(s) URL and, when given, a SHA-256 of 64 hex digits.
fn airgap_bundle(
    block: &Value<AirgapBlock>,
    p: &mut Problems,
    complete: &mut bool,
) -> Option<cloudinit::ImageBundle> {
    let b = block.as_ref_option()?;
    *complete &= !b.bundle_url.is_unknown() && !b.bundle_sha256.is_unknown();
    let url = known(&b.bundle_url)?;
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains(char::is_whitespace)
    {
        p.push(
            &["airgap", "bundle_url"],
            "Invalid bundle URL",
            format!("{url:?} must be an http(s) URL of an OCI image bundle (e.g. a mirror's copy of k0s-airgap-bundle-<version>-amd64)."),
        );
    }
    let sha256 = known(&b.bundle_sha256);
    if let Some(sum) = &sha256 {
        if sum.len() != 64 || !sum.chars().all(|c| c.is_ascii_hexdigit()) {
            p.push(
                &["airgap", "bundle_sha256"],
                "Invalid SHA-256",
                format!("{sum:?} must be 64 hexadecimal digits (what `sha256sum` prints)."),
            );
        }
    }
    Some(cloudinit::ImageBundle { url, sha256 })
}

/// The k0s version an upstream bundle asset name (`k0s-airgap-bundle-<version>-<arch>`,
/// `+` possibly as `%2B`) is for; None for any other name.
pub fn bundle_version(url: &str) -> Option<K0sVersion> {
    let name = url
        .rsplit('/')
        .next()?
        .replace("%2B", "+")
        .replace("%2b", "+");
    let (version, _arch) = name.strip_prefix("k0s-airgap-bundle-")?.rsplit_once('-')?;
    K0sVersion::parse(version)
}

/// A bundle named for another k0s version than the workers' holds the wrong kube-proxy
/// (and maybe coredns, pause...): in an air-gapped site those are pulled and fail.
pub fn check_bundle_version(bundle: &cloudinit::ImageBundle, k0s_version: &str, p: &mut Problems) {
    let (Some(b), Some(w)) = (bundle_version(&bundle.url), K0sVersion::parse(k0s_version)) else {
        return;
    };
    if b != w {
        p.push(
            &["airgap", "bundle_url"],
            "Image bundle of another k0s version",
            format!(
                "{} holds the images of k0s {}, the workers run {}: their kube-proxy and other images would be pulled from public registries. Use k0s-airgap-bundle-{}-<arch>.",
                bundle.url, b.canonical(), w.canonical(), w.canonical()
            ),
        );
    }
}

pub fn spec_from_state(s: &State) -> (Option<PoolSpec>, Problems) {
    let mut p = Problems::default();
    let mut complete = true;
    for v in [&s.name, &s.hosted_control_plane_id, &s.flavor, &s.image] {
        complete &= !v.is_unknown() && !v.is_null();
    }
    // A list or map with an unknown element is not complete either (its hash would change).
    for l in [&s.networks, &s.availability_zones] {
        complete &= !l.is_unknown()
            && l.as_ref_option()
                .is_none_or(|l| l.iter().all(|n| !n.is_unknown()));
    }
    complete &= set_complete(&s.security_groups) && set_complete(&s.taints);
    // A whole block unknown (a `dynamic` block whose for_each is known only after apply).
    complete &= !s.boot_volume.is_unknown()
        && !s.rolling_update.is_unknown()
        && !s.drain.is_unknown()
        && !s.airgap.is_unknown()
        && !s.timeouts.is_unknown();
    for m in [&s.labels, &s.metadata] {
        complete &= !m.is_unknown()
            && m.as_ref_option()
                .is_none_or(|m| m.values().all(|v| !v.is_unknown()));
    }
    for v in [
        &s.key_pair,
        &s.k0s_version,
        &s.k0s_download_url,
        &s.kubelet_extra_args,
        &s.extra_user_data,
        &s.server_group_policy,
    ] {
        complete &= !v.is_unknown();
    }

    let name = known(&s.name).unwrap_or_default();
    if s.name.is_value() {
        if let Err(e) = dns_label(&name, 40) {
            p.push(
                &["name"],
                "Invalid pool name",
                format!("{e} (servers are named <name>-xxxxx and become node names)."),
            );
        }
    }
    let hcp = known(&s.hosted_control_plane_id).unwrap_or_default();
    let (hcp_ns, hcp_name) = match parse_hcp_id(&hcp) {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => {
            if s.hosted_control_plane_id.is_value() {
                p.push(&["hosted_control_plane_id"], "Invalid hosted control plane id", format!("{hcp:?} is not the id of a k0stack_hosted_control_plane (<namespace>/<name>)."));
            }
            (String::new(), String::new())
        }
    };
    let size = number(&s.size, &mut complete).unwrap_or(0);
    if !(0..=1000).contains(&size) {
        p.push(
            &["size"],
            "Invalid size",
            format!("size must be between 0 and 1000, got {size}."),
        );
    }
    for (attr, v) in [("flavor", &s.flavor), ("image", &s.image)] {
        if known(v).is_some_and(|x| x.trim().is_empty()) {
            p.push(
                &[attr],
                format!("Empty {attr}"),
                format!("{attr} must name a {attr} (name or id)."),
            );
        }
    }
    let networks = known_list(&s.networks);
    // Count elements, known or not: `[var.network]` is one network whose name is unknown
    // while a module is validated.
    let listed = s.networks.as_ref_option().map_or(0, |l| l.len());
    if s.networks.is_value() && listed == 0 {
        p.push(
            &["networks"],
            "No network",
            "networks needs at least one network; the first gives the node IP.",
        );
    }
    let server_group_policy = match known(&s.server_group_policy) {
        Some(pol) => match one_of(&pol, SERVER_GROUP_POLICIES) {
            Ok(()) if pol == "none" => None,
            Ok(()) => Some(pol),
            Err(e) => {
                p.push(&["server_group_policy"], "Unknown server group policy", e);
                None
            }
        },
        None => None,
    };
    let boot_volume =
        s.boot_volume
            .as_ref_option()
            .and_then(|b| match number(&b.size, &mut complete) {
                Some(n) if (1..=16384).contains(&n) => Some((n as u32, known(&b.kind))),
                Some(n) => {
                    p.push(
                        &["boot_volume", "size"],
                        "Invalid boot volume size",
                        format!("size is in GiB, 1 to 16384; got {n}."),
                    );
                    None
                }
                None => None,
            });
    let labels = known_map(&s.labels);
    for (k, v) in &labels {
        if !label_key_ok(k) || !label_value_ok(v) {
            p.push(&["labels"], "Invalid label", format!("{k}={v} is not a valid Kubernetes label (keys like node.example.com/pool, values of at most 63 letters, digits, '-', '_', '.')."));
        } else if let Some(why) = crate::framework::validators::kubelet_label_refusal(k) {
            p.push(&["labels"], "Label the kubelet refuses", why);
        }
    }
    let taints = known_set(&s.taints);
    for t in &taints {
        if let Err(e) = check_taint(t) {
            p.push(&["taints"], "Invalid taint", e);
        }
    }
    let k0s_version = known(&s.k0s_version);
    if let Some(v) = &k0s_version {
        if K0sVersion::parse(v).is_none() {
            p.push(&["k0s_version"], "Invalid k0s version", invalid_message(v));
        }
    }
    let k0s_download_url = known(&s.k0s_download_url);
    if let Some(u) = &k0s_download_url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            p.push(
                &["k0s_download_url"],
                "Invalid download URL",
                format!("{u:?} must be an http(s) URL of a k0s binary."),
            );
        }
    }
    let image_bundle = airgap_bundle(&s.airgap, &mut p, &mut complete);
    if let (Some(b), Some(v)) = (&image_bundle, &k0s_version) {
        if K0sVersion::parse(v).is_some() {
            check_bundle_version(b, v, &mut p);
        }
    }
    let extra_user_data = known(&s.extra_user_data);
    if let Some(extra) = &extra_user_data {
        let probe = cloudinit::WorkerTemplate {
            k0s_version: "v0.0.0+k0s.0".into(),
            extra_user_data: Some(extra.clone()),
            ..Default::default()
        };
        if let Err(e) = cloudinit::render(&probe, &Secret::new("probe")) {
            p.push(
                &["extra_user_data"],
                "Invalid extra_user_data",
                e.to_string(),
            );
        }
    }
    let (mut max_surge, mut max_unavailable) = (1i64, 0i64);
    if let Some(r) = s.rolling_update.as_ref_option() {
        max_surge = number(&r.max_surge, &mut complete).unwrap_or(1);
        max_unavailable = number(&r.max_unavailable, &mut complete).unwrap_or(0);
        for (attr, n) in [
            ("max_surge", max_surge),
            ("max_unavailable", max_unavailable),
        ] {
            if !(0..=1000).contains(&n) {
                p.push(
                    &["rolling_update", attr],
                    "Invalid rolling update bound",
                    format!("{attr} must be between 0 and 1000, got {n}."),
                );
            }
        }
        if max_surge == 0 && max_unavailable == 0 {
            p.push(
                &["rolling_update", "max_unavailable"],
                "Rolling update cannot progress",
                "max_surge and max_unavailable are both 0: no member could ever be replaced. Allow a surge (max_surge = 1) or some unavailability.",
            );
        }
    }
    let (mut drain_enabled, mut drain_timeout, mut ignore_pdb_after) =
        (true, DEFAULT_DRAIN_TIMEOUT, None);
    if let Some(d) = s.drain.as_ref_option() {
        drain_enabled = d.enabled.as_ref_option().copied().unwrap_or(true);
        let mut parse = |attr: &str, v: &Str| -> Option<std::time::Duration> {
            let text = known(v)?;
            let parsed = duration::parse(&text);
            if parsed.is_none() {
                p.push(
                    &["drain", attr],
                    "Invalid duration",
                    format!("{text:?} is not a duration such as \"5m\" or \"90s\"."),
                );
            }
            parsed
        };
        drain_timeout = parse("timeout", &d.timeout).unwrap_or(DEFAULT_DRAIN_TIMEOUT);
        ignore_pdb_after = parse("ignore_pdb_after", &d.ignore_pdb_after);
    }
    let max_parallel =
        number(&s.max_parallel, &mut complete).unwrap_or(DEFAULT_MAX_PARALLEL as i64);
    if !(1..=200).contains(&max_parallel) {
        p.push(
            &["max_parallel"],
            "Invalid max_parallel",
            format!("max_parallel must be between 1 and 200, got {max_parallel}."),
        );
    }
    let stopped_members = match known(&s.stopped_members) {
        Some(v) => match StoppedPolicy::parse(&v) {
            Some(pol) => pol,
            None => {
                if let Err(e) = one_of(&v, STOPPED_POLICIES) {
                    p.push(&["stopped_members"], "Unknown stopped_members policy", e);
                }
                StoppedPolicy::default()
            }
        },
        None => {
            complete &= !s.stopped_members.is_unknown();
            StoppedPolicy::default()
        }
    };
    let timeouts = match timeouts::resolve(s.timeouts.as_ref_option(), DEFAULT_TIMEOUTS) {
        Ok(t) => t,
        Err(e) => {
            p.extend(e.0);
            DEFAULT_TIMEOUTS
        }
    };
    let spec = (complete && p.is_empty()).then(|| PoolSpec {
        name,
        hcp_namespace: hcp_ns,
        hcp_name,
        size: size as u32,
        flavor: known(&s.flavor).unwrap_or_default(),
        image: known(&s.image).unwrap_or_default(),
        networks,
        security_groups: known_set(&s.security_groups),
        key_pair: known(&s.key_pair),
        availability_zones: known_list(&s.availability_zones),
        server_group_policy,
        boot_volume,
        metadata: known_map(&s.metadata),
        labels,
        taints,
        k0s_version,
        k0s_download_url,
        image_bundle,
        kubelet_extra_args: known(&s.kubelet_extra_args),
        extra_user_data,
        max_surge: max_surge as u32,
        max_unavailable: max_unavailable as u32,
        drain_enabled,
        drain_timeout,
        ignore_pdb_after,
        wait_for_nodes: s.wait_for_nodes.as_ref_option().copied().unwrap_or(true),
        max_parallel: max_parallel as u32,
        stopped_members,
        timeouts,
    });
    (spec, p)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn minimal() -> State {
        State {
            name: Value::Value("general".into()),
            hosted_control_plane_id: Value::Value("kmc-system/dev".into()),
            size: Value::Value(3),
            flavor: Value::Value("m1.medium".into()),
            image: Value::Value("ubuntu-24.04".into()),
            networks: Value::Value(vec![Value::Value("private".into())]),
            ..Default::default()
        }
    }

    #[test]
    fn an_airgap_bundle_is_validated_and_kept() {
        let sum = "0123456789abcdef".repeat(4);
        let state = State {
            airgap: Value::Value(AirgapBlock {
                bundle_url: Value::Value(
                    "https://mirror.site/k0s-airgap-bundle-v1.32.6+k0s.0-amd64".into(),
                ),
                bundle_sha256: Value::Value(sum.clone().into()),
            }),
            ..minimal()
        };
        let (spec, p) = spec_from_state(&state);
        assert!(p.is_empty(), "{p:?}");
        let bundle = spec.unwrap().image_bundle.unwrap();
        assert_eq!(bundle.sha256, Some(sum));
        // Unknown until apply: no spec yet (its hash would change).
        let unknown = State {
            airgap: Value::Value(AirgapBlock {
                bundle_url: Value::Unknown,
                bundle_sha256: Value::Null,
            }),
            ..minimal()
        };
        assert!(spec_from_state(&unknown).0.is_none());
        assert!(spec_from_state(&minimal())
            .0
            .unwrap()
            .image_bundle
            .is_none());
    }

    #[test]
    fn a_bundle_of_another_k0s_version_is_refused() {
        let b = |url: &str| cloudinit::ImageBundle {
            url: url.into(),
            sha256: None,
        };
        let problems = |url: &str, version: &str| {
            let mut p = Problems::default();
            check_bundle_version(&b(url), version, &mut p);
            p.0.into_iter()
                .map(|e| (e.dotted_path(), e.summary, e.detail))
                .collect::<Vec<_>>()
        };
        let old = problems(
            "https://m/k0s-airgap-bundle-v1.31.2+k0s.0-amd64",
            "v1.32.6+k0s.0",
        );
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].0, "airgap.bundle_url");
        assert_eq!(old[0].1, "Image bundle of another k0s version");
        assert!(
            old[0].2.contains("k0s-airgap-bundle-v1.32.6+k0s.0-<arch>"),
            "{}",
            old[0].2
        );
        // Either spelling, `%2B` too; names that are not upstream assets are the user's.
        assert!(problems(
            "https://m/k0s-airgap-bundle-v1.32.6%2Bk0s.0-arm64",
            "v1.32.6-k0s.0"
        )
        .is_empty());
        assert!(problems("https://m/images-1.31.tar", "v1.32.6+k0s.0").is_empty());
    }

    #[test]
    fn minimal_config_has_defaults() {
        let (spec, p) = spec_from_state(&minimal());
        assert!(p.is_empty(), "{p:?}");
        let s = spec.unwrap();
        assert_eq!(
            (s.hcp_namespace.as_str(), s.hcp_name.as_str(), s.size),
            ("kmc-system", "dev", 3)
        );
        assert_eq!((s.max_surge, s.max_unavailable, s.max_parallel), (1, 0, 20));
        assert!(s.drain_enabled && s.wait_for_nodes);
        assert_eq!(s.drain_timeout, DEFAULT_DRAIN_TIMEOUT);
    }

    #[test]
    fn invalid_inputs_name_their_attribute() {
        let v = |x: &str| Value::Value(x.to_string().into());
        let cases: Vec<(State, &str, &str)> = vec![
            (
                State {
                    size: Value::Value(-1),
                    ..minimal()
                },
                "size",
                "Invalid size",
            ),
            (
                State {
                    taints: Value::Value([v("gpu=true")].into_iter().collect()),
                    ..minimal()
                },
                "taints",
                "Invalid taint",
            ),
            (
                State {
                    k0s_version: v("1.32"),
                    ..minimal()
                },
                "k0s_version",
                "Invalid k0s version",
            ),
            (
                State {
                    rolling_update: Value::Value(RollingUpdateBlock {
                        max_surge: Value::Value(0),
                        max_unavailable: Value::Value(0),
                    }),
                    ..minimal()
                },
                "rolling_update.max_unavailable",
                "Rolling update cannot progress",
            ),
            (
                State {
                    server_group_policy: v("affinity"),
                    ..minimal()
                },
                "server_group_policy",
                "Unknown server group policy",
            ),
            (
                State {
                    name: v("General Pool"),
                    ..minimal()
                },
                "name",
                "Invalid pool name",
            ),
            (
                State {
                    hosted_control_plane_id: v("dev"),
                    ..minimal()
                },
                "hosted_control_plane_id",
                "Invalid hosted control plane id",
            ),
            (
                State {
                    networks: Value::Value(vec![]),
                    ..minimal()
                },
                "networks",
                "No network",
            ),
            (
                State {
                    labels: Value::Value([("bad key".into(), v("x"))].into()),
                    ..minimal()
                },
                "labels",
                "Invalid label",
            ),
            (
                State {
                    labels: Value::Value(
                        [("node-role.kubernetes.io/worker".into(), v("true"))].into(),
                    ),
                    ..minimal()
                },
                "labels",
                "Label the kubelet refuses",
            ),
            (
                State {
                    extra_user_data: v("#!/bin/sh\necho"),
                    ..minimal()
                },
                "extra_user_data",
                "Invalid extra_user_data",
            ),
            (
                State {
                    max_parallel: Value::Value(0),
                    ..minimal()
                },
                "max_parallel",
                "Invalid max_parallel",
            ),
            (
                State {
                    drain: Value::Value(DrainBlock {
                        timeout: v("soon"),
                        ..Default::default()
                    }),
                    ..minimal()
                },
                "drain.timeout",
                "Invalid duration",
            ),
            (
                State {
                    boot_volume: Value::Value(BootVolumeBlock {
                        size: Value::Value(0),
                        kind: Value::Null,
                    }),
                    ..minimal()
                },
                "boot_volume.size",
                "Invalid boot volume size",
            ),
            (
                State {
                    k0s_download_url: v("ftp://x"),
                    ..minimal()
                },
                "k0s_download_url",
                "Invalid download URL",
            ),
            (
                State {
                    airgap: Value::Value(AirgapBlock {
                        bundle_url: v("/srv/bundle.tar"),
                        bundle_sha256: Value::Null,
                    }),
                    ..minimal()
                },
                "airgap.bundle_url",
                "Invalid bundle URL",
            ),
            (
                State {
                    airgap: Value::Value(AirgapBlock {
                        bundle_url: v("https://mirror.site/b.tar"),
                        bundle_sha256: v("abc"),
                    }),
                    ..minimal()
                },
                "airgap.bundle_sha256",
                "Invalid SHA-256",
            ),
        ];
        for (state, path, summary) in cases {
            let got: Vec<(String, String)> = spec_from_state(&state)
                .1
                 .0
                .into_iter()
                .map(|e| (e.dotted_path(), e.summary))
                .collect();
            assert_eq!(got, vec![(path.to_string(), summary.to_string())], "{path}");
        }
    }
}
