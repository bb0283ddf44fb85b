//! Diagnostics with attribute paths.
//!
//! `tf_provider::Diagnostic::new` appends a captured Rust backtrace to the detail when
//! `RUST_BACKTRACE`/`RUST_LIB_BACKTRACE` is set; users must see clean errors, so we build
//! the struct directly here. Pure validation code returns [`AttrError`]s (no tf-provider
//! types), which keeps it unit-testable; the edges turn them into diagnostics.

use std::fmt;

use tf_provider::{AttributePath, Diagnostic, Diagnostics};

/// A user-facing problem attached to an attribute (or to the whole block when `path`
/// is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrError {
    /// Attribute path as steps, e.g. `["openstack", "password"]`; block lists use index 0.
    pub path: Vec<String>,
    pub summary: String,
    pub detail: String,
}

impl AttrError {
    pub fn new(path: &[&str], summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            path: path.iter().map(|s| s.to_string()).collect(),
            summary: summary.into(),
            detail: detail.into(),
        }
    }

    /// The path as Terraform shows it, e.g. `openstack.password`.
    pub fn dotted_path(&self) -> String {
        self.path.join(".")
    }

    /// The tf-provider attribute path. Nested blocks of ours are single-element lists
    /// (`NestedBlock::Optional`), so each step but the last that names a block gets index 0.
    pub fn attribute_path(&self, blocks: &[&str]) -> AttributePath {
        let mut path = AttributePath::root();
        for (i, step) in self.path.iter().enumerate() {
            path.add_attribute(step.clone());
            if i + 1 < self.path.len() && blocks.contains(&step.as_str()) {
                path.add_index(0);
            }
        }
        path
    }
}

/// Attribute paths (`["storage", "type"]`) as tf-provider paths, e.g. the attributes that
/// force a replacement in `plan_update`.
pub fn attribute_paths(paths: Vec<Vec<&str>>, blocks: &[&str]) -> Vec<AttributePath> {
    paths
        .into_iter()
        .map(|steps| AttrError::new(&steps, "", "").attribute_path(blocks))
        .collect()
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.summary)?;
        } else {
            write!(f, "{}: {}", self.dotted_path(), self.summary)?;
        }
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for AttrError {}

/// An error diagnostic without a backtrace.
pub fn error(
    summary: impl Into<String>,
    detail: impl Into<String>,
    attribute: AttributePath,
) -> Diagnostic {
    Diagnostic {
        summary: summary.into().into(),
        detail: detail.into().into(),
        attribute,
    }
}

/// A collection of [`AttrError`]s gathered by pure validation code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<AttrError>);

impl Problems {
    pub fn push(&mut self, path: &[&str], summary: impl Into<String>, detail: impl Into<String>) {
        self.0.push(AttrError::new(path, summary, detail));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every problem to `diags` as an error; `blocks` lists the attribute names that
    /// are single nested blocks (so their path gets the list index Terraform expects).
    pub fn report(self, diags: &mut Diagnostics, blocks: &[&str]) {
        for p in self.0 {
            let path = p.attribute_path(blocks);
            diags.add_error(error(p.summary, p.detail, path));
        }
    }
}

impl Extend<AttrError> for Problems {
    fn extend<T: IntoIterator<Item = AttrError>>(&mut self, iter: T) {
        self.0.extend(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_never_carry_a_backtrace() {
        std::env::set_var("RUST_BACKTRACE", "1");
        let d = error("bad", "detail", AttributePath::new("x"));
        assert_eq!(d.detail, "detail");
        assert!(!d.detail.contains("backtrace"));
    }

    #[test]
    fn block_steps_get_index_zero() {
        let e = AttrError::new(&["openstack", "password"], "s", "");
        let p = e.attribute_path(&["openstack"]);
        assert_eq!(
            p.to_string(),
            AttributePath::new("openstack")
                .index(0)
                .attribute("password")
                .to_string()
        );
        assert_eq!(e.dotted_path(), "openstack.password");
    }

    #[test]
    fn display_names_the_attribute() {
        let e = AttrError::new(&["kubernetes", "config_path"], "cannot read file", "denied");
        assert_eq!(
            e.to_string(),
            "kubernetes.config_path: cannot read file (denied)"
        );
    }
}
