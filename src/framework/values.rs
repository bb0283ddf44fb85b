//! Reading tf-provider values: known strings, lists and maps (null and unknown are absent).

use std::collections::BTreeMap;

use tf_provider::value::{Value, ValueList, ValueMap, ValueSet, ValueString};

/// A string attribute as Terraform sends it.
pub type Str = ValueString<'static>;

/// The string when known (null and unknown are `None`).
pub fn known(v: &Str) -> Option<String> {
    v.as_ref_option().map(|s| s.to_string())
}

/// The known elements of a list of strings.
pub fn known_list(v: &ValueList<Str>) -> Vec<String> {
    v.as_ref_option()
        .map(|l| l.iter().filter_map(known).collect())
        .unwrap_or_default()
}

/// The known elements of a set of strings, in sorted order.
pub fn known_set(v: &ValueSet<Str>) -> Vec<String> {
    v.as_ref_option()
        .map(|l| l.iter().filter_map(known).collect())
        .unwrap_or_default()
}

/// True when the set is known and none of its elements is unknown.
pub fn set_complete(v: &ValueSet<Str>) -> bool {
    !v.is_unknown()
        && v.as_ref_option()
            .is_none_or(|l| l.iter().all(|e| !e.is_unknown()))
}

/// The known entries of a map of strings.
pub fn known_map(v: &ValueMap<'static, Str>) -> BTreeMap<String, String> {
    v.as_ref_option()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| known(v).map(|v| (k.to_string(), v)))
                .collect()
        })
        .unwrap_or_default()
}

/// The known objects of a list of objects (e.g. recorded `members`); a null or unknown list
/// is empty.
pub fn known_objects<T: Clone>(v: &ValueList<Value<T>>) -> Vec<T> {
    v.as_ref_option()
        .map(|l| {
            l.iter()
                .filter_map(|m| m.as_ref_option().cloned())
                .collect()
        })
        .unwrap_or_default()
}
