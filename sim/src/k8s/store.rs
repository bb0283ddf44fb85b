//! A generic Kubernetes object store: objects as JSON keyed by (group, resource,
//! namespace, name), with the metadata rules of the real apiserver (uid,
//! resourceVersion, generation, creationTimestamp, finalizers and deletionTimestamp,
//! 409 on stale resourceVersion) and the write verbs: create, update, merge patch, JSON
//! patch and server-side apply with per-manager field ownership.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// A kind the store serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub group: String,
    /// Served versions; the first is the storage version.
    pub versions: Vec<String>,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub status_subresource: bool,
    pub short_names: Vec<String>,
}

impl ResourceType {
    pub fn new(group: &str, versions: &[&str], kind: &str, plural: &str, namespaced: bool) -> Self {
        Self {
            group: group.into(),
            versions: versions.iter().map(|v| v.to_string()).collect(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
            status_subresource: false,
            short_names: vec![],
        }
    }

    pub fn with_status(mut self) -> Self {
        self.status_subresource = true;
        self
    }

    pub fn with_short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }
}

/// An error as the apiserver reports it (rendered as a `Status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        let what = if rt.group.is_empty() {
            rt.plural.clone()
        } else {
            format!("{}.{}", rt.plural, rt.group)
        };
        Self {
            code: 404,
            reason: "NotFound",
            message: format!("{what} \"{name}\" not found"),
        }
    }
    pub fn conflict(message: String) -> Self {
        Self {
            code: 409,
            reason: "Conflict",
            message,
        }
    }
    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        let what = if rt.group.is_empty() {
            rt.plural.clone()
        } else {
            format!("{}.{}", rt.plural, rt.group)
        };
        Self {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{what} \"{name}\" already exists"),
        }
    }
    pub fn invalid(message: String) -> Self {
        Self {
            code: 422,
            reason: "Invalid",
            message,
        }
    }
    pub fn bad_request(message: String) -> Self {
        Self {
            code: 400,
            reason: "BadRequest",
            message,
        }
    }

    pub fn status(&self, kind: &str, name: &str) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason,
            "details": { "name": name, "kind": kind }, "code": self.code,
        })
    }
}

type Key = (String, String, String, String);

struct Stored {
    body: Value,
    /// Leaf path → field manager (server-side apply ownership).
    owners: BTreeMap<String, String>,
}

/// The store of one simulated cluster.
#[derive(Default)]
pub struct Store {
    types: Vec<ResourceType>,
    objects: BTreeMap<Key, Stored>,
    rv: u64,
    /// (resourceVersion, "VERB kind ns/name") in order: tests read the history.
    pub history: Vec<(u64, String)>,
}

pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
        + "Z"
}

fn random_suffix(n: usize) -> String {
    use rand::Rng;
    const A: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut r = rand::thread_rng();
    (0..n).map(|_| A[r.gen_range(0..A.len())] as char).collect()
}

pub fn new_uid() -> String {
    use rand::Rng;
    let b: [u8; 16] = rand::thread_rng().gen();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Leaf paths of a JSON value (objects recurse; arrays and scalars are leaves).
fn leaves(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                leaves(
                    c,
                    &format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

fn remove_path(v: &mut Value, path: &str) {
    let parts: Vec<String> = path
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    fn rec(v: &mut Value, parts: &[String]) -> bool {
        let Some((first, rest)) = parts.split_first() else {
            return false;
        };
        let Some(m) = v.as_object_mut() else {
            return false;
        };
        if rest.is_empty() {
            m.remove(first);
        } else if let Some(child) = m.get_mut(first) {
            rec(child, rest);
            if child.as_object().is_some_and(|c| c.is_empty()) {
                m.remove(first);
            }
        }
        m.is_empty()
    }
    rec(v, &parts);
}

fn set_path(v: &mut Value, path: &str, value: Value) {
    let parts: Vec<String> = path
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut cur = v;
    for (i, p) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let m = cur.as_object_mut().expect("object");
        if i + 1 == parts.len() {
            m.insert(p.clone(), value);
            return;
        }
        cur = m.entry(p.clone()).or_insert_with(|| json!({}));
    }
}

fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    v.pointer(path)
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(pm) => {
            if !target.is_object() {
                *target = json!({});
            }
            let tm = target.as_object_mut().expect("object");
            for (k, v) in pm {
                if v.is_null() {
                    tm.remove(k);
                } else {
                    merge_patch(tm.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// RFC 6902 JSON patch (add, remove, replace, test, copy, move).
pub fn json_patch(target: &mut Value, ops: &Value) -> Result<(), ApiError> {
    let ops = ops
        .as_array()
        .ok_or_else(|| ApiError::bad_request("json patch must be an array".into()))?;
    for op in ops {
        let kind = op["op"].as_str().unwrap_or_default();
        let path = op["path"].as_str().unwrap_or_default();
        if matches!(kind, "remove" | "replace") && target.pointer(path).is_none() {
            return Err(ApiError::invalid(format!("the server rejected our request due to an error in our request: {kind} operation does not apply: doc is missing path: \"{path}\"")));
        }
    }
    for op in ops {
        let path = op["path"].as_str().unwrap_or_default().to_string();
        match op["op"].as_str().unwrap_or_default() {
            "add" | "replace" => {
                let (parent, last) = path
                    .rsplit_once('/')
                    .ok_or_else(|| ApiError::bad_request(format!("bad path {path}")))?;
                let value = op["value"].clone();
                let parent_v = if parent.is_empty() {
                    Some(&mut *target)
                } else {
                    target.pointer_mut(parent)
                };
                match parent_v {
                    Some(Value::Array(a)) => {
                        if last == "-" {
                            a.push(value);
                        } else {
                            let i: usize = last.parse().map_err(|_| {
                                ApiError::bad_request(format!("bad index in {path}"))
                            })?;
                            if op["op"] == "add" {
                                a.insert(i.min(a.len()), value);
                            } else if i < a.len() {
                                a[i] = value;
                            }
                        }
                    }
                    Some(Value::Object(m)) => {
                        m.insert(last.replace("~1", "/").replace("~0", "~"), value);
                    }
                    _ => return Err(ApiError::invalid(format!("path {path} does not exist"))),
                }
            }
            "remove" => {
                let (parent, last) = path
                    .rsplit_once('/')
                    .ok_or_else(|| ApiError::bad_request(format!("bad path {path}")))?;
                match target.pointer_mut(parent) {
                    Some(Value::Array(a)) => {
                        let i: usize = last
                            .parse()
                            .map_err(|_| ApiError::bad_request(format!("bad index in {path}")))?;
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                    Some(Value::Object(m)) => {
                        m.remove(&last.replace("~1", "/").replace("~0", "~"));
                    }
                    _ => return Err(ApiError::invalid(format!("path {path} does not exist"))),
                }
            }
            "test" => {
                if target.pointer(&path) != Some(&op["value"]) {
                    return Err(ApiError::invalid(format!("test failed at {path}")));
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported json patch op {other:?}"
                )))
            }
        }
    }
    Ok(())
}

/// Equality-based label selector (`a=b,c!=d,e,!f`).
/// Field selector on dotted paths (`spec.nodeName=n1,metadata.name!=x`).
pub fn field_selector_matches(selector: &str, obj: &Value) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .all(|term| {
            let (path, value, negate) = match term.split_once("!=") {
                Some((p, v)) => (p, v, true),
                None => match term.split_once("==").or_else(|| term.split_once('=')) {
                    Some((p, v)) => (p, v, false),
                    None => return true,
                },
            };
            let mut cur = obj;
            for part in path.trim().split('.') {
                cur = &cur[part];
            }
            let actual = cur.as_str().unwrap_or_default();
            (actual == value.trim()) != negate
        })
}

pub fn selector_matches(selector: &str, labels: &Value) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                labels[k.trim()].as_str() != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                labels[k.trim()].as_str() == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                labels.get(k.trim()).is_none()
            } else {
                labels.get(term).is_some()
            }
        })
}

/// Everything but metadata and status: what `generation` tracks.
fn spec_part(v: &Value) -> Value {
    let mut c = v.clone();
    if let Some(m) = c.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
        m.remove("kind");
    }
    c
}

impl Store {
    pub fn register(&mut self, rt: ResourceType) {
        self.types
            .retain(|t| !(t.group == rt.group && t.plural == rt.plural));
        self.types.push(rt);
    }

    pub fn unregister(&mut self, group: &str, plural: &str) {
        self.types
            .retain(|t| !(t.group == group && t.plural == plural));
    }

    pub fn types(&self) -> &[ResourceType] {
        &self.types
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| {
                t.group == group && t.plural == plural && t.versions.iter().any(|v| v == version)
            })
            .cloned()
    }

    pub fn find_kind(&self, group: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.kind == kind)
            .cloned()
    }

    fn key(rt: &ResourceType, ns: &str, name: &str) -> Key {
        (
            rt.group.clone(),
            rt.plural.clone(),
            if rt.namespaced {
                ns.to_string()
            } else {
                String::new()
            },
            name.to_string(),
        )
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn log(&mut self, rv: u64, verb: &str, rt: &ResourceType, ns: &str, name: &str) {
        let who = if rt.namespaced {
            format!("{ns}/{name}")
        } else {
            name.to_string()
        };
        self.history.push((rv, format!("{verb} {} {who}", rt.kind)));
    }

    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&Self::key(rt, ns, name))
            .map(|s| s.body.clone())
            .ok_or_else(|| ApiError::not_found(rt, name))
    }

    /// Objects of a type; `ns = None` lists all namespaces.
    pub fn list(&self, rt: &ResourceType, ns: Option<&str>, selector: Option<&str>) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((g, p, n, _), _)| {
                *g == rt.group && *p == rt.plural && ns.is_none_or(|ns| !rt.namespaced || n == ns)
            })
            .map(|(_, s)| s.body.clone())
            .filter(|o| selector.is_none_or(|sel| selector_matches(sel, &o["metadata"]["labels"])))
            .collect()
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    fn own(owners: &mut BTreeMap<String, String>, body: &Value, manager: &str) {
        let mut ls = Vec::new();
        leaves(body, "", &mut ls);
        for l in ls {
            if !l.starts_with("/metadata/")
                || l.starts_with("/metadata/labels")
                || l.starts_with("/metadata/annotations")
            {
                owners.insert(l, manager.to_string());
            }
        }
    }

    pub fn create(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        mut body: Value,
        manager: &str,
    ) -> Result<Value, ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_request("object must be a JSON object".into()));
        }
        let mut name = body["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            let prefix = body["metadata"]["generateName"]
                .as_str()
                .unwrap_or_default();
            if prefix.is_empty() {
                return Err(ApiError::invalid(format!("{} \"\" is invalid: metadata.name: Required value: name or generateName is required", rt.kind)));
            }
            name = format!("{prefix}{}", random_suffix(5));
        }
        if rt.namespaced && ns.is_empty() {
            return Err(ApiError::bad_request(
                "the namespace of the object is required".into(),
            ));
        }
        if rt.namespaced && ns != "default" {
            let nst = self.find("", "v1", "namespaces");
            if let Some(nst) = nst {
                if self.get(&nst, "", ns).is_err() {
                    return Err(ApiError {
                        code: 404,
                        reason: "NotFound",
                        message: format!("namespaces \"{ns}\" not found"),
                    });
                }
            }
        }
        let key = Self::key(rt, ns, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(rt, &name));
        }
        self.admit_node_ports(rt, &key, None, &mut body, &name)?;
        let rv = self.next_rv();
        let meta = body["metadata"].as_object().cloned().unwrap_or_default();
        let mut m = meta;
        m.insert("name".into(), json!(name));
        if rt.namespaced {
            m.insert("namespace".into(), json!(ns));
        } else {
            m.remove("namespace");
        }
        m.insert("uid".into(), json!(new_uid()));
        m.insert("resourceVersion".into(), json!(rv.to_string()));
        m.insert("generation".into(), json!(1));
        m.insert("creationTimestamp".into(), json!(now_rfc3339()));
        m.remove("deletionTimestamp");
        body["metadata"] = Value::Object(m);
        body["apiVersion"] = json!(rt.api_version(&rt.versions[0]));
        body["kind"] = json!(rt.kind);
        let mut owners = BTreeMap::new();
        Self::own(&mut owners, &body, manager);
        self.objects.insert(
            key,
            Stored {
                body: body.clone(),
                owners,
            },
        );
        self.log(rv, "create", rt, ns, &name);
        Ok(body)
    }

    /// Replaces an object (PUT); `status_only` for the status subresource.
    pub fn update(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut body: Value,
        manager: &str,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        let key = Self::key(rt, ns, name);
        let Some(cur) = self.objects.get(&key) else {
            return Err(ApiError::not_found(rt, name));
        };
        let current = cur.body.clone();
        if let Some(rv) = body["metadata"]["resourceVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
        {
            if rv
                != current["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
            {
                return Err(ApiError::conflict(format!(
                    "Operation cannot be fulfilled on {}{} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    rt.plural,
                    if rt.group.is_empty() { String::new() } else { format!(".{}", rt.group) }
                )));
            }
        }
        if status_only {
            let mut next = current.clone();
            next["status"] = body["status"].clone();
            body = next;
        } else if rt.status_subresource {
            body["status"] = current["status"].clone();
        }
        self.commit(rt, ns, name, current, body, manager)
    }

    /// Node ports of a Service being stored under `key` (see [`super::nodeports`]).
    fn admit_node_ports(
        &self,
        rt: &ResourceType,
        key: &Key,
        old: Option<&Value>,
        body: &mut Value,
        name: &str,
    ) -> Result<(), ApiError> {
        if !(rt.group.is_empty() && rt.plural == "services") {
            return Ok(());
        }
        let others = self
            .objects
            .iter()
            .filter(|(k, _)| k.0.is_empty() && k.1 == "services" && *k != key)
            .map(|(_, v)| &v.body);
        super::nodeports::admit(others, old, body, name)
    }

    /// Stores `next` in place of `current`, keeping the server-owned metadata.
    fn commit(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        current: Value,
        mut next: Value,
        manager: &str,
    ) -> Result<Value, ApiError> {
        let key = Self::key(rt, ns, name);
        self.admit_node_ports(rt, &key, Some(&current), &mut next, name)?;
        let rv = self.next_rv();
        let mut meta = next["metadata"].as_object().cloned().unwrap_or_default();
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "name",
            "namespace",
        ] {
            match current["metadata"].get(k) {
                Some(v) => {
                    meta.insert(k.into(), v.clone());
                }
                None => {
                    meta.remove(k);
                }
            }
        }
        let mut generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
        if spec_part(&current) != spec_part(&next) {
            generation += 1;
        }
        meta.insert("generation".into(), json!(generation));
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        next["metadata"] = Value::Object(meta);
        next["apiVersion"] = json!(rt.api_version(&rt.versions[0]));
        next["kind"] = json!(rt.kind);
        let deleting = next["metadata"].get("deletionTimestamp").is_some();
        let finalizers_empty = next["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty());
        let stored = self.objects.get_mut(&key).expect("exists");
        let mut changed = Vec::new();
        leaves(&next, "", &mut changed);
        for l in changed {
            let managed = !l.starts_with("/metadata/")
                || l.starts_with("/metadata/labels")
                || l.starts_with("/metadata/annotations");
            if managed && get_path(&current, &l) != get_path(&next, &l) {
                stored.owners.insert(l, manager.to_string());
            }
        }
        stored.body = next.clone();
        if deleting && finalizers_empty {
            self.objects.remove(&key);
            self.log(rv, "delete", rt, ns, name);
        } else {
            self.log(rv, "update", rt, ns, name);
        }
        Ok(next)
    }

    pub fn patch_merge(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        patch: &Value,
        manager: &str,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        let current = self.get(rt, ns, name)?;
        let mut next = current.clone();
        merge_patch(&mut next, patch);
        if status_only {
            let mut only = current.clone();
            only["status"] = next["status"].clone();
            next = only;
        }
        self.commit(rt, ns, name, current, next, manager)
    }

    pub fn patch_json(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        ops: &Value,
        manager: &str,
    ) -> Result<Value, ApiError> {
        let current = self.get(rt, ns, name)?;
        let mut next = current.clone();
        json_patch(&mut next, ops)?;
        self.commit(rt, ns, name, current, next, manager)
    }

    /// Server-side apply: creates, or sets the applied fields and removes those this
    /// manager set before but no longer applies. Conflicts with other managers are
    /// overridden only with `force`.
    pub fn apply(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        applied: Value,
        manager: &str,
        force: bool,
    ) -> Result<Value, ApiError> {
        self.apply_with(rt, ns, name, applied, manager, force, false)
    }

    /// Server-side apply with `dryRun=All`: the object as the apply would make it (same
    /// conflicts), nothing stored, no resourceVersion consumed — what `kubectl diff`
    /// compares with the live object.
    pub fn apply_dry_run(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        applied: Value,
        manager: &str,
        force: bool,
    ) -> Result<Value, ApiError> {
        self.apply_with(rt, ns, name, applied, manager, force, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_with(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        applied: Value,
        manager: &str,
        force: bool,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let key = Self::key(rt, ns, name);
        if !self.objects.contains_key(&key) {
            let mut body = applied;
            body["metadata"]["name"] = json!(name);
            if dry_run {
                return Ok(body);
            }
            return self.create(rt, ns, body, manager);
        }
        let current = self.objects[&key].body.clone();
        let owners = self.objects[&key].owners.clone();
        let mut applied_leaves = Vec::new();
        leaves(&applied, "", &mut applied_leaves);
        applied_leaves.retain(|l| {
            !l.starts_with("/metadata/")
                || l.starts_with("/metadata/labels")
                || l.starts_with("/metadata/annotations")
        });
        applied_leaves.retain(|l| l != "/apiVersion" && l != "/kind");
        if !force {
            let conflicts: Vec<String> = applied_leaves
                .iter()
                .filter(|l| {
                    owners.get(*l).is_some_and(|o| o != manager)
                        && get_path(&current, l) != get_path(&applied, l)
                })
                .map(|l| format!(".{}", l.trim_start_matches('/').replace('/', ".")))
                .collect();
            if !conflicts.is_empty() {
                return Err(ApiError::conflict(format!(
                    "Apply failed with {} conflict(s): {}",
                    conflicts.len(),
                    conflicts.join(", ")
                )));
            }
        }
        let mut next = current.clone();
        for (path, owner) in &owners {
            if owner == manager && !applied_leaves.contains(path) {
                remove_path(&mut next, path);
            }
        }
        for l in &applied_leaves {
            if let Some(v) = get_path(&applied, l) {
                set_path(&mut next, l, v.clone());
            }
        }
        if rt.status_subresource {
            next["status"] = current["status"].clone();
        }
        if dry_run {
            // What `commit` would store, without storing it.
            next["apiVersion"] = json!(rt.api_version(&rt.versions[0]));
            next["kind"] = json!(rt.kind);
            return Ok(next);
        }
        let out = self.commit(rt, ns, name, current, next, manager)?;
        if let Some(stored) = self.objects.get_mut(&key) {
            stored
                .owners
                .retain(|p, o| o != manager || applied_leaves.contains(p));
            for l in &applied_leaves {
                stored.owners.insert(l.clone(), manager.to_string());
            }
        }
        Ok(out)
    }

    /// Deletes: with finalizers the object only gets a deletionTimestamp.
    pub fn delete(&mut self, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        let key = Self::key(rt, ns, name);
        let Some(stored) = self.objects.get(&key) else {
            return Err(ApiError::not_found(rt, name));
        };
        let mut body = stored.body.clone();
        let has_finalizers = body["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        let rv = self.next_rv();
        if has_finalizers {
            if body["metadata"].get("deletionTimestamp").is_none() {
                body["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
            }
            body["metadata"]["resourceVersion"] = json!(rv.to_string());
            self.objects.get_mut(&key).expect("exists").body = body.clone();
            self.log(rv, "delete-requested", rt, ns, name);
        } else {
            self.objects.remove(&key);
            self.log(rv, "delete", rt, ns, name);
        }
        Ok(body)
    }

    /// Removes a namespace's objects (namespace deletion).
    pub fn purge_namespace(&mut self, ns: &str) {
        self.objects.retain(|(_, _, n, _), _| n != ns);
    }
}

/// `Map` helper for building lists.
pub fn list_body(rt: &ResourceType, version: &str, items: Vec<Value>, rv: u64) -> Value {
    let mut m = Map::new();
    m.insert("apiVersion".into(), json!(rt.api_version(version)));
    m.insert("kind".into(), json!(format!("{}List", rt.kind)));
    m.insert(
        "metadata".into(),
        json!({ "resourceVersion": rv.to_string() }),
    );
    m.insert("items".into(), Value::Array(items));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (Store, ResourceType) {
        let mut s = Store::default();
        let rt = ResourceType::new("k0smotron.io", &["v1beta2"], "Cluster", "clusters", true)
            .with_status();
        s.register(ResourceType::new(
            "",
            &["v1"],
            "Namespace",
            "namespaces",
            false,
        ));
        s.register(rt.clone());
        (s, rt)
    }

    #[test]
    fn create_sets_metadata_and_rejects_duplicates() {
        let (mut s, rt) = store();
        let o = s
            .create(
                &rt,
                "default",
                json!({"metadata": {"name": "a"}, "spec": {"replicas": 1}}),
                "m",
            )
            .unwrap();
        assert_eq!(o["metadata"]["generation"], 1);
        assert!(o["metadata"]["uid"].as_str().unwrap().len() == 36);
        assert_eq!(
            s.create(&rt, "default", json!({"metadata": {"name": "a"}}), "m")
                .unwrap_err()
                .code,
            409
        );
        assert_eq!(
            s.create(&rt, "nope", json!({"metadata": {"name": "b"}}), "m")
                .unwrap_err()
                .code,
            404
        );
    }

    #[test]
    fn stale_resource_version_conflicts_and_generation_tracks_spec() {
        let (mut s, rt) = store();
        let o = s
            .create(
                &rt,
                "default",
                json!({"metadata": {"name": "a"}, "spec": {"replicas": 1}}),
                "m",
            )
            .unwrap();
        let mut stale = o.clone();
        stale["spec"]["replicas"] = json!(2);
        let updated = s
            .update(&rt, "default", "a", stale.clone(), "m", false)
            .unwrap();
        assert_eq!(updated["metadata"]["generation"], 2);
        assert_eq!(
            s.update(&rt, "default", "a", stale, "m", false)
                .unwrap_err()
                .code,
            409
        );
        let st = s
            .patch_merge(
                &rt,
                "default",
                "a",
                &json!({"status": {"ready": true}}),
                "ctl",
                true,
            )
            .unwrap();
        assert_eq!(
            st["metadata"]["generation"], 2,
            "status does not bump generation"
        );
    }

    #[test]
    fn apply_removes_fields_the_manager_dropped_and_keeps_others() {
        let (mut s, rt) = store();
        s.apply(
            &rt,
            "default",
            "a",
            json!({"metadata": {"name": "a"}, "spec": {"version": "v1", "image": "x"}}),
            "k0stack",
            true,
        )
        .unwrap();
        s.patch_merge(
            &rt,
            "default",
            "a",
            &json!({"spec": {"externalAddress": "1.2.3.4"}}),
            "k0smotron",
            false,
        )
        .unwrap();
        let o = s
            .apply(
                &rt,
                "default",
                "a",
                json!({"metadata": {"name": "a"}, "spec": {"version": "v2"}}),
                "k0stack",
                true,
            )
            .unwrap();
        assert_eq!(
            o["spec"],
            json!({"version": "v2", "externalAddress": "1.2.3.4"})
        );
        let e = s.apply(&rt, "default", "a", json!({"metadata": {"name": "a"}, "spec": {"version": "v2", "externalAddress": "9.9.9.9"}}), "k0stack", false).unwrap_err();
        assert_eq!(e.code, 409);
    }

    #[test]
    fn a_dry_run_apply_returns_the_result_and_stores_nothing() {
        let (mut s, rt) = store();
        let applied = json!({"metadata": {"name": "a"}, "spec": {"version": "v1"}});
        s.apply(&rt, "default", "a", applied.clone(), "k0stack", true)
            .unwrap();
        s.patch_merge(
            &rt,
            "default",
            "a",
            &json!({"spec": {"version": "edited"}}),
            "kubectl",
            false,
        )
        .unwrap();
        let rv = s.resource_version();
        let would = s
            .apply_dry_run(&rt, "default", "a", applied, "k0stack", true)
            .unwrap();
        assert_eq!(would["spec"]["version"], "v1");
        assert_eq!(
            (would["kind"].clone(), would["apiVersion"].clone()),
            (json!("Cluster"), json!("k0smotron.io/v1beta2"))
        );
        assert_eq!(
            s.get(&rt, "default", "a").unwrap()["spec"]["version"],
            "edited"
        );
        assert_eq!(s.resource_version(), rv, "nothing written");
        let new = json!({"metadata": {"name": "b"}, "spec": {}});
        s.apply_dry_run(&rt, "default", "b", new, "k0stack", true)
            .unwrap();
        assert!(s.get(&rt, "default", "b").is_err(), "not created");
    }

    #[test]
    fn finalizers_delay_deletion() {
        let (mut s, rt) = store();
        s.create(
            &rt,
            "default",
            json!({"metadata": {"name": "a", "finalizers": ["f"]}}),
            "m",
        )
        .unwrap();
        let o = s.delete(&rt, "default", "a").unwrap();
        assert!(o["metadata"]["deletionTimestamp"].is_string());
        assert!(s.get(&rt, "default", "a").is_ok());
        s.patch_merge(
            &rt,
            "default",
            "a",
            &json!({"metadata": {"finalizers": null}}),
            "ctl",
            false,
        )
        .unwrap();
        assert_eq!(s.get(&rt, "default", "a").unwrap_err().code, 404);
    }

    #[test]
    fn json_patch_on_a_missing_path_is_invalid() {
        let mut v = json!({"spec": {}});
        let e = json_patch(
            &mut v,
            &json!([{"op": "replace", "path": "/spec/x", "value": 1}]),
        )
        .unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            json_patch(&mut v, &json!([{"op": "remove", "path": "/spec/x"}]))
                .unwrap_err()
                .code,
            422
        );
    }

    #[test]
    fn selectors_and_json_patch() {
        let l = json!({"app": "x", "tier": "web"});
        assert!(selector_matches("app=x,tier!=db,!missing", &l));
        assert!(!selector_matches("app=y", &l));
        let mut v = json!({"spec": {"a": [1, 2]}});
        json_patch(&mut v, &json!([{"op": "add", "path": "/spec/a/-", "value": 3}, {"op": "add", "path": "/spec/b", "value": true}])).unwrap();
        assert_eq!(v, json!({"spec": {"a": [1, 2, 3], "b": true}}));
    }
}
