//! From k8s-pb messages to the JSON a Kubernetes client would have sent.
//!
//! Kubernetes' protobuf encoding (gogo, proto2) always writes Go value fields — an empty
//! string, a zero number, an empty nested struct — and writes Go pointer fields only when
//! set. Its JSON encoding omits empty value fields (`omitempty`) and keeps set pointers,
//! even at zero (`replicas: 0`, `immutable: false`). So each field is converted with the
//! rule of its Go type: [`Obj::s`]/[`Obj::i`]/[`Obj::b`] for value fields, the `*_ptr`
//! variants for pointers, `*_req` for the few value fields without `omitempty`.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Map, Value};

/// A JSON object under construction, one field at a time.
#[derive(Default)]
pub struct Obj(Map<String, Value>);

impl Obj {
    pub fn new() -> Self {
        Self::default()
    }
    fn put(mut self, k: &str, v: Value) -> Self {
        self.0.insert(k.into(), v);
        self
    }
    /// A Go `string` (omitempty).
    pub fn s(self, k: &str, v: Option<String>) -> Self {
        match v.filter(|v| !v.is_empty()) {
            Some(v) => self.put(k, Value::String(v)),
            None => self,
        }
    }
    /// A Go `string` without omitempty.
    pub fn s_req(self, k: &str, v: Option<String>) -> Self {
        self.put(k, Value::String(v.unwrap_or_default()))
    }
    /// A Go `*string`.
    pub fn s_ptr(self, k: &str, v: Option<String>) -> Self {
        match v {
            Some(v) => self.put(k, Value::String(v)),
            None => self,
        }
    }
    /// A Go integer (omitempty).
    pub fn i(self, k: &str, v: Option<impl Into<i64>>) -> Self {
        match v.map(Into::into).filter(|v| *v != 0) {
            Some(v) => self.put(k, v.into()),
            None => self,
        }
    }
    /// A Go integer without omitempty.
    pub fn i_req(self, k: &str, v: Option<impl Into<i64>>) -> Self {
        self.put(k, v.map(Into::into).unwrap_or(0).into())
    }
    /// A Go `*int32`/`*int64`.
    pub fn i_ptr(self, k: &str, v: Option<impl Into<i64>>) -> Self {
        match v {
            Some(v) => self.put(k, v.into().into()),
            None => self,
        }
    }
    /// A Go `bool` (omitempty).
    pub fn b(self, k: &str, v: Option<bool>) -> Self {
        match v {
            Some(true) => self.put(k, true.into()),
            _ => self,
        }
    }
    /// A Go `*bool`.
    pub fn b_ptr(self, k: &str, v: Option<bool>) -> Self {
        match v {
            Some(v) => self.put(k, v.into()),
            None => self,
        }
    }
    /// A list of strings (omitempty).
    pub fn strs(self, k: &str, v: Vec<String>) -> Self {
        if v.is_empty() {
            return self;
        }
        self.put(k, v.into())
    }
    /// A `map[string]string` (omitempty).
    pub fn map(self, k: &str, v: BTreeMap<String, String>) -> Self {
        if v.is_empty() {
            return self;
        }
        self.put(
            k,
            Value::Object(v.into_iter().map(|(k, v)| (k, v.into())).collect()),
        )
    }
    /// A `map[string][]byte`: base64 in JSON (omitempty).
    pub fn bytes_map(self, k: &str, v: BTreeMap<String, Vec<u8>>) -> Self {
        if v.is_empty() {
            return self;
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        self.put(
            k,
            Value::Object(
                v.into_iter()
                    .map(|(k, v)| (k, b64.encode(v).into()))
                    .collect(),
            ),
        )
    }
    /// A nested message: written when present (k8s writes value structs always, pointers
    /// when set, so presence on the wire is presence in JSON).
    pub fn m<T>(self, k: &str, v: Option<T>, f: impl FnOnce(T) -> Value) -> Self {
        match v.map(f) {
            Some(Value::Null) | None => self,
            Some(v) => self.put(k, v),
        }
    }
    /// A list of messages (omitempty).
    pub fn list<T>(self, k: &str, v: Vec<T>, f: impl Fn(T) -> Value) -> Self {
        if v.is_empty() {
            return self;
        }
        self.put(k, Value::Array(v.into_iter().map(f).collect()))
    }
    /// A map of messages (omitempty).
    pub fn map_of<T>(self, k: &str, v: BTreeMap<String, T>, f: impl Fn(T) -> Value) -> Self {
        if v.is_empty() {
            return self;
        }
        self.put(
            k,
            Value::Object(v.into_iter().map(|(k, v)| (k, f(v))).collect()),
        )
    }
    pub fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn rfc3339(seconds: i64, nanos: i32, micros: bool) -> Value {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(seconds) else {
        return Value::Null;
    };
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    let (h, mi, s) = (t.hour(), t.minute(), t.second());
    let base = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    if micros {
        format!("{base}.{:06}Z", nanos.max(0) / 1000).into()
    } else {
        format!("{base}Z").into()
    }
}

/// `metav1.Time`: RFC 3339 seconds; the zero time is `null` in JSON (so: omitted).
pub fn time(t: meta::Time) -> Value {
    let meta::Time { seconds, nanos } = t;
    match (seconds.unwrap_or(0), nanos.unwrap_or(0)) {
        (0, 0) => Value::Null,
        (s, n) => rfc3339(s, n, false),
    }
}

/// `metav1.MicroTime`: RFC 3339 with microseconds.
pub fn micro_time(t: meta::MicroTime) -> Value {
    let meta::MicroTime { seconds, nanos } = t;
    match (seconds.unwrap_or(0), nanos.unwrap_or(0)) {
        (0, 0) => Value::Null,
        (s, n) => rfc3339(s, n, true),
    }
}

pub fn quantity(q: Quantity) -> Value {
    let Quantity { string } = q;
    string.unwrap_or_default().into()
}

/// `intstr.IntOrString`: type 0 is an int, 1 a string.
pub fn int_or_string(v: IntOrString) -> Value {
    let IntOrString {
        r#type,
        int_val,
        str_val,
    } = v;
    match r#type.unwrap_or(0) {
        1 => str_val.unwrap_or_default().into(),
        _ => int_val.unwrap_or(0).into(),
    }
}

/// An IntOrString field with omitempty: the zero value (int 0) is left out.
pub fn int_or_string_omitempty(v: IntOrString) -> Value {
    match int_or_string(v) {
        Value::Number(n) if n.as_i64() == Some(0) => Value::Null,
        v => v,
    }
}

pub fn object_meta(m: meta::ObjectMeta) -> Value {
    let meta::ObjectMeta {
        name,
        generate_name,
        namespace,
        self_link,
        uid,
        resource_version,
        generation,
        creation_timestamp,
        deletion_timestamp,
        deletion_grace_period_seconds,
        labels,
        annotations,
        owner_references,
        finalizers,
        managed_fields,
    } = m;
    Obj::new()
        .s("name", name)
        .s("generateName", generate_name)
        .s("namespace", namespace)
        .s("selfLink", self_link)
        .s("uid", uid)
        .s("resourceVersion", resource_version)
        .i("generation", generation)
        .m("creationTimestamp", creation_timestamp, time)
        .m("deletionTimestamp", deletion_timestamp, time)
        .i_ptr("deletionGracePeriodSeconds", deletion_grace_period_seconds)
        .map("labels", labels)
        .map("annotations", annotations)
        .list("ownerReferences", owner_references, owner_reference)
        .strs("finalizers", finalizers)
        .list("managedFields", managed_fields, managed_fields_entry)
        .done()
}

fn owner_reference(o: meta::OwnerReference) -> Value {
    let meta::OwnerReference {
        api_version,
        kind,
        name,
        uid,
        controller,
        block_owner_deletion,
    } = o;
    Obj::new()
        .s_req("apiVersion", api_version)
        .s_req("kind", kind)
        .s_req("name", name)
        .s_req("uid", uid)
        .b_ptr("controller", controller)
        .b_ptr("blockOwnerDeletion", block_owner_deletion)
        .done()
}

fn managed_fields_entry(e: meta::ManagedFieldsEntry) -> Value {
    let meta::ManagedFieldsEntry {
        manager,
        operation,
        api_version,
        time: at,
        fields_type,
        fields_v1,
        subresource,
    } = e;
    Obj::new()
        .s("manager", manager)
        .s("operation", operation)
        .s("apiVersion", api_version)
        .m("time", at, time)
        .s("fieldsType", fields_type)
        .m("fieldsV1", fields_v1, |f| {
            let meta::FieldsV1 { raw } = f;
            serde_json::from_slice(&raw.unwrap_or_default()).unwrap_or(Value::Null)
        })
        .s("subresource", subresource)
        .done()
}

pub fn label_selector(s: meta::LabelSelector) -> Value {
    let meta::LabelSelector {
        match_labels,
        match_expressions,
    } = s;
    Obj::new()
        .map("matchLabels", match_labels)
        .list("matchExpressions", match_expressions, |r| {
            let meta::LabelSelectorRequirement {
                key,
                operator,
                values,
            } = r;
            Obj::new()
                .s_req("key", key)
                .s_req("operator", operator)
                .strs("values", values)
                .done()
        })
        .done()
}

/// `metav1.Condition` (no omitempty on type, status, lastTransitionTime, reason, message).
pub fn condition(c: meta::Condition) -> Value {
    let meta::Condition {
        r#type,
        status,
        observed_generation,
        last_transition_time,
        reason,
        message,
    } = c;
    Obj::new()
        .s_req("type", r#type)
        .s_req("status", status)
        .i("observedGeneration", observed_generation)
        .m("lastTransitionTime", last_transition_time, time)
        .s_req("reason", reason)
        .s_req("message", message)
        .done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_fields_drop_zero_pointer_fields_keep_it() {
        let v = Obj::new()
            .s("a", Some(String::new()))
            .s_ptr("b", Some(String::new()))
            .i("c", Some(0i32))
            .i_ptr("d", Some(0i32))
            .b("e", Some(false))
            .b_ptr("f", Some(false))
            .i_req("g", Some(0i32))
            .done();
        assert_eq!(v, serde_json::json!({"b": "", "d": 0, "f": false, "g": 0}));
    }

    #[test]
    fn times_and_int_or_strings_render_as_in_json() {
        let t = |s, n| meta::Time {
            seconds: Some(s),
            nanos: Some(n),
        };
        assert_eq!(time(t(0, 0)), Value::Null);
        assert_eq!(time(t(1_700_000_000, 5)), "2023-11-14T22:13:20Z");
        let mt = meta::MicroTime {
            seconds: Some(1_700_000_000),
            nanos: Some(123_456_789),
        };
        assert_eq!(micro_time(mt), "2023-11-14T22:13:20.123456Z");
        let ios = |t, i, s: &str| IntOrString {
            r#type: Some(t),
            int_val: Some(i),
            str_val: Some(s.into()),
        };
        assert_eq!(int_or_string(ios(0, 8080, "")), 8080);
        assert_eq!(int_or_string(ios(1, 0, "http")), "http");
        assert_eq!(int_or_string_omitempty(ios(0, 0, "")), Value::Null);
    }
}
