//! The `timeouts { create, update, delete }` block every long-running resource has.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tf_provider::schema::NestedBlock;
use tf_provider::value::ValueString;

use super::schema::{block, optional_block, string};
use super::{duration, Problems};

/// The block as Terraform sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeoutsBlock {
    pub create: ValueString<'static>,
    pub update: ValueString<'static>,
    pub delete: ValueString<'static>,
}

/// Resolved timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

impl Timeouts {
    /// Same default for the three operations.
    pub const fn uniform(d: Duration) -> Self {
        Self {
            create: d,
            update: d,
            delete: d,
        }
    }
}

/// The schema block, with the defaults written into the description.
pub fn schema(defaults: Timeouts) -> NestedBlock {
    optional_block(block(
        "How long each operation may take before it fails (Go durations such as `30s`, `20m`, `1h`).",
        vec![
            ("create", string(&format!("Default `{}`.", duration::format(defaults.create)))),
            ("update", string(&format!("Default `{}`.", duration::format(defaults.update)))),
            ("delete", string(&format!("Default `{}`.", duration::format(defaults.delete)))),
        ],
        vec![],
    ))
}

/// Resolves the block against the defaults, reporting bad strings at `timeouts.<op>`.
pub fn resolve(block: Option<&TimeoutsBlock>, defaults: Timeouts) -> Result<Timeouts, Problems> {
    let mut problems = Problems::default();
    let mut out = defaults;
    if let Some(b) = block {
        for (name, value, slot) in [
            ("create", &b.create, &mut out.create),
            ("update", &b.update, &mut out.update),
            ("delete", &b.delete, &mut out.delete),
        ] {
            if let Some(s) = value.as_ref_option() {
                match duration::parse(s) {
                    Some(d) if d > Duration::ZERO => *slot = d,
                    _ => problems.push(
                        &["timeouts", name],
                        "Invalid timeout",
                        format!(
                            "{s:?} is not a positive duration such as \"30s\", \"20m\" or \"1h\"."
                        ),
                    ),
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tf_provider::value::Value;

    #[test]
    fn defaults_and_overrides() {
        let d = Timeouts::uniform(Duration::from_secs(1200));
        assert_eq!(resolve(None, d), Ok(d));
        let b = TimeoutsBlock {
            create: Value::Value("5m".into()),
            ..Default::default()
        };
        let t = resolve(Some(&b), d).unwrap();
        assert_eq!(t.create, Duration::from_secs(300));
        assert_eq!(t.delete, Duration::from_secs(1200));
    }

    #[test]
    fn bad_values_name_the_attribute() {
        let b = TimeoutsBlock {
            delete: Value::Value("ten minutes".into()),
            update: Value::Value("0s".into()),
            ..Default::default()
        };
        let e = resolve(Some(&b), Timeouts::uniform(Duration::from_secs(60))).unwrap_err();
        let paths: Vec<String> = e.0.iter().map(|p| p.dotted_path()).collect();
        assert_eq!(paths, vec!["timeouts.update", "timeouts.delete"]);
    }
}
