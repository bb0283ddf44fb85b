//! Reading user_data the way cloud-init does, for the simulated VMs: the commands of
//! `runcmd` and the files of `write_files`. Workers (`join`) and controllers (`bootstrap`)
//! are both recognised from these.

use std::collections::BTreeMap;

use base64::Engine;

/// The `runcmd` entries as shell lines (list entries joined with spaces, as cloud-init runs them).
pub fn runcmd(doc: &serde_yaml::Value) -> Vec<String> {
    doc["runcmd"]
        .as_sequence()
        .map(|s| {
            s.iter()
                .map(|c| match c {
                    serde_yaml::Value::String(s) => s.clone(),
                    serde_yaml::Value::Sequence(p) => p
                        .iter()
                        .filter_map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    _ => String::new(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `write_files` by path, `b64`/`base64` contents decoded.
pub fn files(doc: &serde_yaml::Value) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for f in doc["write_files"].as_sequence().into_iter().flatten() {
        let Some(path) = f["path"].as_str() else {
            continue;
        };
        let mut content = f["content"].as_str().unwrap_or_default().to_string();
        if matches!(f["encoding"].as_str(), Some("b64" | "base64")) {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(content.trim())
                .map_err(|e| format!("{path}: {e}"))?;
            content = String::from_utf8(raw).map_err(|e| format!("{path}: {e}"))?;
        }
        out.insert(path.to_string(), content);
    }
    Ok(out)
}
