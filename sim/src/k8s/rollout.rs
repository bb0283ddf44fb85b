//! The control plane `StatefulSet` k0smotron writes for a `Cluster`, rolled as the
//! Kubernetes StatefulSet controller rolls it: `RollingUpdate`, one pod at a time from the
//! highest ordinal, each replacement waiting until the one before is Ready
//! (kubernetes/kubernetes `pkg/controller/statefulset/stateful_set_control.go`,
//! `updateStatefulSet`; v1.32). Pure state; `k0smotron.rs` stores it as an object.
//!
//! What k0smotron reads back from it is the *status as last written* by that controller:
//! right after k0smotron patches the template, `updatedReplicas` still counts the pods of
//! the previous revision as updated until the controller has observed the new generation.
//! That lag is modelled (a reader that trusts `ControlPlaneUpToDate` alone, before the
//! StatefulSet's `observedGeneration` caught up, is wrong on a real cluster too).

use std::time::{Duration, Instant};

/// One pod of the StatefulSet.
#[derive(Debug, Clone)]
struct Pod {
    revision: u64,
    ready: bool,
    since: Instant,
}

/// The StatefulSet's `status`, as the controller writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    pub observed_generation: i64,
    pub replicas: i64,
    pub ready_replicas: i64,
    pub updated_replicas: i64,
    pub current_replicas: i64,
    pub current_revision: u64,
    pub update_revision: u64,
}

impl Status {
    /// Every replica runs the current template and is Ready, at the current generation.
    pub fn rolled(&self, generation: i64, desired: i64) -> bool {
        self.observed_generation >= generation
            && self.current_revision == self.update_revision
            && self.replicas == desired
            && self.ready_replicas == desired
            && self.updated_replicas == desired
    }
}

/// Spec and pods of one StatefulSet.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// `metadata.generation` of the spec k0smotron wrote last.
    pub generation: i64,
    pub replicas: i64,
    template: String,
    /// Revisions are numbered; `revision_template` is the template of `update_revision`
    /// (`template` once the controller observed the spec).
    revision_template: String,
    update_revision: u64,
    current_revision: u64,
    pods: Vec<Pod>,
    status: Status,
}

impl Default for Rollout {
    fn default() -> Self {
        Self::new()
    }
}

impl Rollout {
    pub fn new() -> Self {
        Self {
            generation: 0,
            replicas: 0,
            template: String::new(),
            revision_template: String::new(),
            update_revision: 0,
            current_revision: 0,
            pods: Vec::new(),
            status: Status::default(),
        }
    }

    /// k0smotron writes the spec (`template`: its hash of the pod template). True when
    /// it changed, so the caller stores it (and the apiserver bumps the generation).
    pub fn set_spec(&mut self, template: &str, replicas: i64) -> bool {
        if self.generation > 0 && self.template == template && self.replicas == replicas {
            return false;
        }
        self.generation += 1;
        self.replicas = replicas;
        self.template = template.to_string();
        true
    }

    /// The status as the controller last wrote it (stale right after [`Self::set_spec`]).
    pub fn status(&self) -> Status {
        self.status
    }

    /// One pass of the StatefulSet controller at `now`: a pod is Ready `start` after it
    /// was (re)created, never when `can_start` is false (image pull back-off).
    pub fn step(&mut self, now: Instant, start: Duration, can_start: bool) {
        if self.status.observed_generation < self.generation {
            // A new template gets a new revision (a scale alone keeps it).
            if self.update_revision == 0 || self.template != self.revision_template {
                self.update_revision += 1;
                self.revision_template = self.template.clone();
            }
        }
        for p in &mut self.pods {
            if !p.ready && can_start && now.duration_since(p.since) >= start {
                p.ready = true;
            }
        }
        self.act(now);
        if self
            .pods
            .iter()
            .all(|p| p.ready && p.revision == self.update_revision)
            && self.pods.len() as i64 == self.replicas
        {
            self.current_revision = self.update_revision;
        }
        self.status = self.observe();
    }

    /// At most one pod created, deleted or replaced per pass, and only while every pod is
    /// Ready (OrderedReady creation, RollingUpdate with maxUnavailable 1).
    fn act(&mut self, now: Instant) {
        if self.pods.iter().any(|p| !p.ready) {
            return;
        }
        let fresh = Pod {
            revision: self.update_revision,
            ready: false,
            since: now,
        };
        if (self.pods.len() as i64) < self.replicas {
            self.pods.push(fresh);
        } else if self.pods.len() as i64 > self.replicas {
            self.pods.pop();
        } else if let Some(p) = self
            .pods
            .iter_mut()
            .rev()
            .find(|p| p.revision != fresh.revision)
        {
            *p = fresh;
        }
    }

    fn observe(&self) -> Status {
        let count = |f: &dyn Fn(&Pod) -> bool| self.pods.iter().filter(|p| f(p)).count() as i64;
        Status {
            observed_generation: self.generation,
            replicas: self.pods.len() as i64,
            ready_replicas: count(&|p| p.ready),
            updated_replicas: count(&|p| p.revision == self.update_revision),
            current_replicas: count(&|p| p.revision == self.current_revision),
            current_revision: self.current_revision,
            update_revision: self.update_revision,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: Duration = Duration::from_millis(10);

    /// Steps until nothing changes or `limit` passes; returns every status seen.
    fn run(r: &mut Rollout, t: &mut Instant, limit: usize) -> Vec<Status> {
        let mut seen = Vec::new();
        for _ in 0..limit {
            *t += START;
            r.step(*t, START, true);
            seen.push(r.status());
        }
        seen
    }

    #[test]
    fn a_template_change_rolls_one_pod_at_a_time_after_a_stale_status() {
        let mut r = Rollout::new();
        let mut t = Instant::now();
        assert!(r.set_spec("v1", 3));
        run(&mut r, &mut t, 10);
        assert!(r.status().rolled(r.generation, 3), "{:?}", r.status());
        assert!(!r.set_spec("v1", 3), "same spec: nothing written");
        assert!(r.set_spec("v2", 3));
        // Before the controller's next pass the status is the old one: every pod counts
        // as updated, at the previous generation.
        let stale = r.status();
        assert_eq!(stale.updated_replicas, 3);
        assert!(stale.observed_generation < r.generation);
        assert!(!stale.rolled(r.generation, 3));
        let seen = run(&mut r, &mut t, 12);
        // Never more than one pod down, and the update counts up one by one.
        assert!(seen.iter().all(|s| s.ready_replicas >= 2), "{seen:?}");
        let updated: Vec<i64> = seen.iter().map(|s| s.updated_replicas).collect();
        assert!(
            updated.windows(2).all(|w| w[1] >= w[0] && w[1] - w[0] <= 1),
            "{updated:?}"
        );
        assert!(seen.iter().any(|s| !s.rolled(r.generation, 3)));
        assert!(r.status().rolled(r.generation, 3), "{:?}", r.status());
        assert_eq!(r.status().current_revision, 2);
    }

    #[test]
    fn a_scale_keeps_the_revision_and_a_pod_that_never_starts_blocks_the_roll() {
        let mut r = Rollout::new();
        let mut t = Instant::now();
        r.set_spec("v1", 1);
        run(&mut r, &mut t, 4);
        r.set_spec("v1", 2);
        run(&mut r, &mut t, 4);
        assert_eq!(r.status().update_revision, 1);
        assert!(r.status().rolled(r.generation, 2));
        r.set_spec("v2", 2);
        for _ in 0..5 {
            t += START;
            r.step(t, START, false);
        }
        let s = r.status();
        assert_eq!((s.ready_replicas, s.updated_replicas), (1, 1), "{s:?}");
        assert!(!s.rolled(r.generation, 2));
    }
}
