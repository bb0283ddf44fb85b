//! What a resource planned earlier in this provider process's walk, for the resources
//! planned after it.
//!
//! Terraform plans a resource only after everything it references was planned, and one
//! provider process serves a whole walk (the plan, or the apply with its final plans). A
//! worker pool references its control plane's `id`, so when the pool is planned, the
//! control plane's plan is already recorded here: the pool follows a control-plane upgrade
//! of the same apply (its default `k0s_version` and the version-skew check use the planned
//! version, not the one still running). In the apply walk the control plane's final plan
//! records the same value before the pool's final plan reads it, so both plans agree.

use std::collections::HashMap;
use std::sync::Mutex;

/// A value another resource planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    Known(String),
    /// Planned, but unknown until apply (e.g. from another resource's attribute).
    Unknown,
}

/// Control-plane versions planned in this walk, by control plane id (`<namespace>/<name>`).
#[derive(Default)]
pub struct PlannedVersions(Mutex<HashMap<String, Planned>>);

impl PlannedVersions {
    pub fn record(&self, control_plane_id: &str, version: Planned) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(control_plane_id.to_string(), version);
    }

    /// What the control plane's plan in this walk said, if it was planned.
    pub fn get(&self, control_plane_id: &str) -> Option<Planned> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(control_plane_id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_plan_of_a_control_plane_wins() {
        let v = PlannedVersions::default();
        assert_eq!(v.get("kmc-system/dev"), None);
        v.record("kmc-system/dev", Planned::Unknown);
        v.record("kmc-system/dev", Planned::Known("v1.33.1+k0s.0".into()));
        assert_eq!(
            v.get("kmc-system/dev"),
            Some(Planned::Known("v1.33.1+k0s.0".into()))
        );
        assert_eq!(v.get("kmc-system/prod"), None);
    }
}
