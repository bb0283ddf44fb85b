//! Request bodies in Kubernetes' protobuf encoding, as kubectl (1.32+) and every typed
//! client-go clientset send them for built-in kinds.
//!
//! The wire envelope (apimachinery `runtime/serializer/protobuf/protobuf.go`): the magic
//! `k8s\0`, then a `runtime.Unknown` whose `typeMeta` names the kind and whose `raw` is the
//! object's own protobuf message. The object is decoded with k8s-pb's types and turned into
//! the JSON the store keeps; responses stay JSON (client-go decodes a response by its
//! `Content-Type`, and asks for `application/vnd.kubernetes.protobuf,application/json`).
//!
//! The media type is negotiated first (apiserver `endpoints/handlers/negotiation/negotiate.go`):
//! JSON, YAML and protobuf pass for every kind (the custom-resource handler lists protobuf
//! too, for meta types), anything else is 415. A protobuf body for a custom resource then
//! fails to decode — an `Unstructured` is no protobuf message — and is 400.

mod core;
mod json;
mod node;
mod other;

use prost::Message;
use serde_json::Value;

use super::store::{ApiError, ResourceType};

/// The protobuf media type.
pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
const JSON: &str = "application/json";
const YAML: &str = "application/yaml";

/// `k8s\0`: "k8s" and encoding 0 (a `runtime.Unknown` follows).
const MAGIC: [u8; 4] = [0x6b, 0x38, 0x73, 0x00];

/// How a create/update body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Yaml,
    Protobuf,
}

/// The media type of a `Content-Type` header, without parameters (`; charset=utf-8`).
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether `rt` is one of the kinds compiled into the apiserver (not a CRD's).
pub fn is_builtin(rt: &ResourceType) -> bool {
    super::types::builtin()
        .iter()
        .any(|b| b.group == rt.group && b.kind == rt.kind)
}

/// The encoding of a create/update body, or 415 as the apiserver answers for a media type
/// it has no serializer for (no header: JSON, the first supported type).
pub fn negotiate(content_type: &str) -> Result<Encoding, ApiError> {
    match media_type(content_type).as_str() {
        "" | JSON => Ok(Encoding::Json),
        YAML => Ok(Encoding::Yaml),
        PROTOBUF => Ok(Encoding::Protobuf),
        _ => Err(unsupported_media_type(&[JSON, YAML, PROTOBUF])),
    }
}

/// 415 for a PATCH whose body is not a patch type (protobuf is never one).
pub fn patch_refused(rt: &ResourceType) -> ApiError {
    let mut accepted = vec![
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    ];
    if is_builtin(rt) {
        accepted.push("application/strategic-merge-patch+json");
    }
    unsupported_media_type(&accepted)
}

fn unsupported_media_type(accepted: &[&str]) -> ApiError {
    ApiError {
        code: 415,
        reason: "UnsupportedMediaType",
        message: format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            accepted.join(", ")
        ),
    }
}

fn bad_request(message: String) -> ApiError {
    ApiError::bad_request(message)
}

/// The first bytes of an undecodable body, as the apiserver quotes them (`summarizeData`).
fn summary(body: &[u8]) -> String {
    const MAX: usize = 30;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    match body {
        [] => "<empty>".into(),
        [b'{', ..] if body.len() > MAX => format!("{} ...", String::from_utf8_lossy(&body[..MAX])),
        [b'{', ..] => String::from_utf8_lossy(body).into_owned(),
        _ if body.len() > MAX => format!("{} ...", hex(&body[..MAX])),
        _ => hex(body),
    }
}

/// Decodes a protobuf body sent to the `version` endpoint of `rt` into the JSON object the
/// store keeps (with `apiVersion` and `kind`), with the apiserver's 400 messages.
pub fn decode(rt: &ResourceType, version: &str, body: &[u8]) -> Result<Value, ApiError> {
    let unrecognized = |why: String| {
        bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {why} ({})",
            rt.kind,
            summary(body)
        ))
    };
    let payload = match body.strip_prefix(&MAGIC[..]) {
        None if body.is_empty() => return Err(unrecognized("empty data".into())),
        None => {
            return Err(unrecognized(format!(
                "provided data does not appear to be a protobuf message, expected prefix {MAGIC:?}"
            )))
        }
        Some([]) => return Err(unrecognized("empty body".into())),
        Some(rest) => rest,
    };
    let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown::decode(payload)
        .map_err(|e| unrecognized(e.to_string()))?;
    let (api_version, kind) = unknown
        .type_meta
        .map(|t| {
            (
                t.api_version.unwrap_or_default(),
                t.kind.unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let expected = rt.api_version(version);
    // copyKindDefaults: an empty kind or apiVersion is the endpoint's.
    let kind = if kind.is_empty() {
        rt.kind.clone()
    } else {
        kind
    };
    let api_version = if api_version.is_empty() {
        expected.clone()
    } else {
        api_version
    };
    if api_version != expected {
        return Err(bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected})"
        )));
    }
    let cannot = |why: String| {
        bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {}: {why}",
            rt.kind
        ))
    };
    if kind != rt.kind {
        return Err(cannot(format!("the body is a {kind}, not a {}", rt.kind)));
    }
    if !is_builtin(rt) {
        // protobuf.go `unmarshalToObject`: the CR handler decodes into an Unstructured.
        return Err(cannot(
            "object *unstructured.Unstructured does not implement the protobuf marshalling interface and cannot be encoded to a protobuf message".into(),
        ));
    }
    let raw = unknown.raw.unwrap_or_default();
    let mut obj = to_json(&rt.group, version, &kind, &raw)
        .ok_or_else(|| not_modelled(&kind))?
        .map_err(|e| cannot(e.to_string()))?;
    obj["apiVersion"] = expected.into();
    obj["kind"] = kind.into();
    Ok(obj)
}

/// A built-in kind whose protobuf message the simulator does not convert: refused rather
/// than stored with fields missing (the real apiserver accepts it; send JSON instead).
fn not_modelled(kind: &str) -> ApiError {
    ApiError {
        code: 415,
        reason: "UnsupportedMediaType",
        message: format!(
            "k0stack-sim does not decode protobuf {kind} bodies (the real apiserver does); send it as {JSON}"
        ),
    }
}

/// The JSON of one object from its protobuf message, by group/version/kind; `None` for a
/// kind without a converter here.
fn to_json(
    group: &str,
    version: &str,
    kind: &str,
    raw: &[u8],
) -> Option<Result<Value, prost::DecodeError>> {
    use k8s_pb::api::{coordination::v1 as coord, core::v1, policy::v1 as pol, rbac::v1 as rbac};
    fn conv<M: Message + Default>(
        raw: &[u8],
        f: fn(M) -> Value,
    ) -> Result<Value, prost::DecodeError> {
        M::decode(raw).map(f)
    }
    Some(match (group, version, kind) {
        ("", "v1", "Namespace") => conv::<v1::Namespace>(raw, core::namespace),
        ("", "v1", "Secret") => conv::<v1::Secret>(raw, core::secret),
        ("", "v1", "ConfigMap") => conv::<v1::ConfigMap>(raw, core::config_map),
        ("", "v1", "Service") => conv::<v1::Service>(raw, core::service),
        ("", "v1", "ServiceAccount") => conv::<v1::ServiceAccount>(raw, core::service_account),
        ("", "v1", "Event") => conv::<v1::Event>(raw, core::event),
        ("", "v1", "Node") => conv::<v1::Node>(raw, node::node),
        ("rbac.authorization.k8s.io", "v1", "Role") => conv::<rbac::Role>(raw, other::role),
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => {
            conv::<rbac::ClusterRole>(raw, other::cluster_role)
        }
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => {
            conv::<rbac::RoleBinding>(raw, other::role_binding)
        }
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            conv::<rbac::ClusterRoleBinding>(raw, other::cluster_role_binding)
        }
        ("coordination.k8s.io", "v1", "Lease") => conv::<coord::Lease>(raw, other::lease),
        ("policy", "v1", "PodDisruptionBudget") => {
            conv::<pol::PodDisruptionBudget>(raw, other::pod_disruption_budget)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
