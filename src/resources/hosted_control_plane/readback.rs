//! Drift of the arguments stored in the live `Cluster` beyond its version, replicas and
//! service: `k0s_config`, `cert_sans` (k0sConfig `spec.api.sans`), `resources`,
//! `persistence`, the etcd settings, and what lives beside it (the manifests ConfigMap,
//! the kine Secret). Pure: the state is changed only where the live object says something
//! else than the state means, so an untouched control plane refreshes to the same state
//! (semantic compare of JSON/YAML, and the defaults the apiserver fills in from k0smotron's
//! CRD, e.g. `persistence: {type: emptyDir}`, count as "not set").

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value as Json};
use tf_provider::value::{Value, ValueBool, ValueMap};

use super::model::*;
use super::object::Api;
use super::validate::parse_k0s_config;

/// What the objects beside the Cluster hold (None: the object does not exist).
#[derive(Debug, Default, Clone)]
pub struct Beside {
    pub manifests: Option<BTreeMap<String, String>>,
    pub kine_url: Option<String>,
}

/// Copies the live values into `s` where they differ from what `s` means.
pub fn absorb(s: &mut State, obj: &Json, api: Api, beside: &Beside) {
    let spec = &obj["spec"];
    absorb_k0s_config(s, &spec["k0sConfig"]);
    absorb_resources(s, &spec["resources"]);
    absorb_persistence(s, &spec["persistence"]);
    let etcd = match api {
        Api::V1beta2 => &spec["storage"]["etcd"],
        Api::V1beta1 => &spec["etcd"],
    };
    absorb_storage(s, etcd, beside.kine_url.as_deref());
    absorb_manifests(s, beside.manifests.as_ref());
}

fn str_of(v: &Json) -> Option<String> {
    v.as_str().map(String::from)
}

/// A k0sConfig without what the provider adds: the SANs from `cert_sans`, the `apiVersion`
/// and `kind` k0smotron requires (and the objects left empty by taking them out).
fn without_sans(mut cfg: Json) -> Json {
    if let Some(c) = cfg.as_object_mut() {
        c.remove("apiVersion");
        c.remove("kind");
    }
    if let Some(api) = cfg.pointer_mut("/spec/api").and_then(Json::as_object_mut) {
        api.remove("sans");
        if api.is_empty() {
            if let Some(spec) = cfg.pointer_mut("/spec").and_then(Json::as_object_mut) {
                spec.remove("api");
            }
        }
    }
    if cfg
        .pointer("/spec")
        .and_then(Json::as_object)
        .is_some_and(|s| s.is_empty())
    {
        if let Some(c) = cfg.as_object_mut() {
            c.remove("spec");
        }
    }
    cfg
}

fn absorb_k0s_config(s: &mut State, live: &Json) {
    let live_sans: BTreeSet<String> = live["spec"]["api"]["sans"]
        .as_array()
        .map(|a| a.iter().filter_map(str_of).collect())
        .unwrap_or_default();
    if !(s.cert_sans.is_unknown() || s.cert_sans.is_null() && live_sans.is_empty()) {
        s.cert_sans = Value::Value(
            live_sans
                .into_iter()
                .map(|v| Value::Value(v.into()))
                .collect(),
        );
    }
    let residue = if live.is_object() {
        without_sans(live.clone())
    } else {
        json!({})
    };
    let live_empty = residue.as_object().is_none_or(|o| o.is_empty());
    match &s.k0s_config {
        Value::Unknown => {}
        Value::Null if live_empty => {}
        Value::Value(text) => {
            let ours = parse_k0s_config(text).map(without_sans).ok();
            if ours.as_ref() == Some(&residue) {
                return;
            }
            s.k0s_config = if live_empty {
                Value::Null
            } else {
                Value::Value(residue.to_string().into())
            };
        }
        Value::Null => s.k0s_config = Value::Value(residue.to_string().into()),
    }
}

fn string_map(v: &Json) -> Option<ValueMap<'static, Str>> {
    let m = v.as_object()?;
    Some(Value::Value(
        m.iter()
            .map(|(k, v)| {
                let text = v
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string());
                (k.clone().into(), Value::Value(text.into()))
            })
            .collect(),
    ))
}

fn absorb_resources(s: &mut State, live: &Json) {
    let requests =
        string_map(&live["requests"]).filter(|m| m.as_ref_option().is_some_and(|m| !m.is_empty()));
    let limits =
        string_map(&live["limits"]).filter(|m| m.as_ref_option().is_some_and(|m| !m.is_empty()));
    match (&mut s.resources, requests, limits) {
        (Value::Unknown, _, _) | (Value::Null, None, None) => {}
        (Value::Value(b), r, l) => {
            b.requests = r.unwrap_or(Value::Null);
            b.limits = l.unwrap_or(Value::Null);
        }
        (slot, r, l) => {
            *slot = Value::Value(ResourcesBlock {
                requests: r.unwrap_or(Value::Null),
                limits: l.unwrap_or(Value::Null),
            });
        }
    }
}

/// A boolean the state leaves null while the live value is the default `false`.
fn live_bool(ours: &ValueBool, live: &Json) -> ValueBool {
    match (ours, live.as_bool().unwrap_or(false)) {
        (Value::Null, false) => Value::Null,
        (_, b) => Value::Value(b),
    }
}

fn absorb_persistence(s: &mut State, live: &Json) {
    let kind = str_of(&live["type"]);
    let auto = &live["autoDeletePVCs"];
    let claim = &live["persistentVolumeClaim"]["spec"];
    let size = str_of(&claim["resources"]["requests"]["storage"]);
    let storage_class = str_of(&claim["storageClassName"]);
    let host_path = str_of(&live["hostPath"]);
    // The CRD's default, `{type: emptyDir}`, is what no block means.
    let default = kind.as_deref().is_none_or(|k| k == "emptyDir")
        && !auto.as_bool().unwrap_or(false)
        && size.is_none()
        && host_path.is_none();
    if s.persistence.is_unknown() || (s.persistence.is_null() && default) {
        return;
    }
    let prior_auto = s
        .persistence
        .as_ref_option()
        .map(|p| p.auto_delete_pvcs)
        .unwrap_or(Value::Null);
    let opt = |v: Option<String>| v.map_or(Value::Null, |v| Value::Value(v.into()));
    s.persistence = match kind {
        None => Value::Null,
        Some(k) => Value::Value(PersistenceBlock {
            kind: Value::Value(k.into()),
            size: opt(size),
            storage_class: opt(storage_class),
            host_path: opt(host_path),
            auto_delete_pvcs: live_bool(&prior_auto, auto),
        }),
    };
}

fn absorb_storage(s: &mut State, etcd: &Json, kine_url: Option<&str>) {
    let Some(st) = s.storage.as_mut_option() else {
        return;
    };
    match known(&st.kind).as_deref() {
        Some("kine") => {
            if let Some(url) = kine_url {
                if known(&st.kine_data_source_url).as_deref() != Some(url) {
                    st.kine_data_source_url = Value::Value(url.to_string().into());
                }
            }
        }
        Some("etcd") => {
            let size = str_of(&etcd["persistence"]["size"]);
            let storage_class = str_of(&etcd["persistence"]["storageClass"]);
            let auto = &etcd["autoDeletePVCs"];
            let nothing =
                size.is_none() && storage_class.is_none() && !auto.as_bool().unwrap_or(false);
            if st.etcd.is_unknown() || (st.etcd.is_null() && nothing) {
                return;
            }
            let prior_auto = st
                .etcd
                .as_ref_option()
                .map(|e| e.auto_delete_pvcs)
                .unwrap_or(Value::Null);
            let opt = |v: Option<String>| v.map_or(Value::Null, |v| Value::Value(v.into()));
            st.etcd = Value::Value(EtcdBlock {
                size: opt(size),
                storage_class: opt(storage_class),
                auto_delete_pvcs: live_bool(&prior_auto, auto),
            });
        }
        _ => {}
    }
}

fn absorb_manifests(s: &mut State, live: Option<&BTreeMap<String, String>>) {
    let live = live.cloned().unwrap_or_default();
    if s.manifests.is_unknown() || (s.manifests.is_null() && live.is_empty()) {
        return;
    }
    s.manifests = Value::Value(
        live.into_iter()
            .map(|(k, v)| (k.into(), Value::Value(v.into())))
            .collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::super::object::cluster_object;
    use super::super::validate::{spec_from_state, tests::minimal};
    use super::*;

    fn full() -> State {
        let mut s = minimal();
        s.k0s_config = Value::Value("spec:\n  network:\n    provider: calico\n".into());
        s.cert_sans = Value::Value(
            [
                Value::Value("b.example.com".into()),
                Value::Value("a.example.com".into()),
            ]
            .into(),
        );
        s.resources = Value::Value(ResourcesBlock {
            requests: Value::Value([("cpu".into(), Value::Value("500m".into()))].into()),
            limits: Value::Null,
        });
        s.persistence = Value::Value(PersistenceBlock {
            kind: Value::Value("pvc".into()),
            size: Value::Value("10Gi".into()),
            ..Default::default()
        });
        s.storage = Value::Value(StorageBlock {
            kind: Value::Value("etcd".into()),
            kine_data_source_url: Value::Null,
            etcd: Value::Value(EtcdBlock {
                size: Value::Value("2Gi".into()),
                storage_class: Value::Null,
                auto_delete_pvcs: Value::Null,
            }),
        });
        s.manifests = Value::Value([("cni.yaml".into(), Value::Value("kind: X\n".into()))].into());
        s
    }

    fn live_of(s: &State, api: Api) -> (Json, Beside) {
        let spec = spec_from_state(s).0.expect("valid");
        let obj = cluster_object(&spec, api);
        let beside = Beside {
            manifests: (!spec.manifests.is_empty()).then(|| spec.manifests.clone()),
            kine_url: None,
        };
        (obj, beside)
    }

    #[test]
    fn an_untouched_control_plane_reads_back_unchanged() {
        for s in [minimal(), full()] {
            for api in [Api::V1beta1, Api::V1beta2] {
                let (mut obj, beside) = live_of(&s, api);
                // What the apiserver fills in from k0smotron's CRD defaults.
                if obj["spec"].get("persistence").is_none() {
                    obj["spec"]["persistence"] = json!({"type": "emptyDir"});
                }
                let mut read = s.clone();
                absorb(&mut read, &obj, api, &beside);
                assert_eq!(read, s, "{api:?}");
            }
        }
    }

    #[test]
    fn out_of_band_edits_show_in_the_state() {
        let s = full();
        let (mut obj, mut beside) = live_of(&s, Api::V1beta2);
        obj["spec"]["k0sConfig"]["spec"]["network"]["provider"] = json!("kuberouter");
        obj["spec"]["k0sConfig"]["spec"]["api"]["sans"] = json!(["c.example.com"]);
        obj["spec"]["resources"]["requests"]["cpu"] = json!("1");
        obj["spec"]["persistence"]["persistentVolumeClaim"]["spec"]["resources"]["requests"]
            ["storage"] = json!("20Gi");
        obj["spec"]["storage"]["etcd"]["persistence"]["size"] = json!("5Gi");
        beside.manifests = Some([("cni.yaml".to_string(), "kind: Y\n".to_string())].into());
        let mut read = s.clone();
        absorb(&mut read, &obj, Api::V1beta2, &beside);
        let cfg: Json = serde_json::from_str(&known(&read.k0s_config).unwrap()).unwrap();
        assert_eq!(cfg["spec"]["network"]["provider"], "kuberouter");
        assert_eq!(
            crate::framework::values::known_set(&read.cert_sans),
            vec!["c.example.com"]
        );
        assert_eq!(
            known(
                &read
                    .resources
                    .as_ref_option()
                    .unwrap()
                    .requests
                    .as_ref_option()
                    .unwrap()["cpu"]
            ),
            Some("1".into())
        );
        assert_eq!(
            known(&read.persistence.as_ref_option().unwrap().size),
            Some("20Gi".into())
        );
        let etcd = read
            .storage
            .as_ref_option()
            .unwrap()
            .etcd
            .as_ref_option()
            .unwrap()
            .clone();
        assert_eq!(known(&etcd.size), Some("5Gi".into()));
        assert_eq!(
            known(&read.manifests.as_ref_option().unwrap()["cni.yaml"]),
            Some("kind: Y\n".into())
        );
        // The manifests ConfigMap deleted: an empty map, which the plan restores.
        let mut read = s.clone();
        absorb(
            &mut read,
            &live_of(&s, Api::V1beta2).0,
            Api::V1beta2,
            &Beside::default(),
        );
        assert!(read.manifests.as_ref_option().unwrap().is_empty());
    }

    #[test]
    fn kine_url_drift_is_read_from_the_secret() {
        let mut s = minimal();
        s.storage = Value::Value(StorageBlock {
            kind: Value::Value("kine".into()),
            kine_data_source_url: Value::Value("postgres://a".into()),
            etcd: Value::Null,
        });
        let obj = json!({"spec": {"storage": {"type": "kine"}}});
        let mut read = s.clone();
        absorb(
            &mut read,
            &obj,
            Api::V1beta2,
            &Beside {
                manifests: None,
                kine_url: Some("postgres://a".into()),
            },
        );
        assert_eq!(read, s);
        absorb(
            &mut read,
            &obj,
            Api::V1beta2,
            &Beside {
                manifests: None,
                kine_url: Some("postgres://b".into()),
            },
        );
        assert_eq!(
            known(&read.storage.as_ref_option().unwrap().kine_data_source_url),
            Some("postgres://b".into())
        );
    }
}
