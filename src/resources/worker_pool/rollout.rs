//! The worker pool's reconciliation, as a pure step function: given what exists now, what
//! to create and what to drain and delete next. Apply calls it in a loop (observe → step →
//! act) until it returns nothing to do; so a crash at any moment is repaired by the next
//! apply from whatever state the cloud is in.
//!
//! Rules, as a Kubernetes Deployment rolls:
//! - failed members (server in ERROR or gone, node gone) are removed and replaced at once;
//! - stopped members are live but not Ready (they are being started again);
//! - the pool never has more than `size + max_surge` members;
//! - Ready members never drop below `size - max_unavailable` because of us;
//! - members built from an old template are replaced, unready ones first;
//! - scaling down removes unhealthy members first, then the newest.

/// How a member is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    /// Server ERROR, deleted out of band, or its node vanished: replace.
    Failed,
    /// Server stopped out of band (SHUTOFF, SHELVED, SUSPENDED, PAUSED): not broken, and
    /// not Ready; apply starts it again (the `start` policy; `observe::views` maps the
    /// other policies to `Failed` or `Ready`). Removed first when scaling down.
    Stopped,
    /// Server building (BUILD) — not Ready yet.
    Building,
    /// Server ACTIVE, node not Ready yet.
    Joining,
    /// Node Ready.
    Ready,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub id: String,
    pub template_hash: String,
    pub health: Health,
    /// Creation order (larger = newer).
    pub seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub max_surge: u32,
    pub max_unavailable: u32,
}

/// What to do next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// Members to create from the desired template.
    pub create: u32,
    /// Members to remove (drain, delete node, delete server), in order.
    pub remove: Vec<String>,
}

impl Step {
    pub fn is_empty(&self) -> bool {
        self.create == 0 && self.remove.is_empty()
    }
}

/// True when the pool is exactly what was asked: `size` members, all on `hash`, all Ready.
pub fn converged(members: &[MemberView], size: u32, hash: &str) -> bool {
    members.len() == size as usize
        && members
            .iter()
            .all(|m| m.template_hash == hash && m.health == Health::Ready)
}

/// The next step toward `size` Ready members on template `hash`.
pub fn next_step(members: &[MemberView], size: u32, hash: &str, policy: Policy) -> Step {
    let size = size as usize;
    let mut step = Step::default();
    // 1. Failed members go now; they are unavailable anyway.
    let (failed, live): (Vec<&MemberView>, Vec<&MemberView>) =
        members.iter().partition(|m| m.health == Health::Failed);
    step.remove.extend(failed.iter().map(|m| m.id.clone()));

    let (new, old): (Vec<&MemberView>, Vec<&MemberView>) =
        live.iter().partition(|m| m.template_hash == hash);
    let ready_total = live.iter().filter(|m| m.health == Health::Ready).count();
    let min_available = size.saturating_sub(policy.max_unavailable as usize);

    if old.is_empty() {
        // Plain scaling.
        if new.len() < size {
            step.create = (size - new.len()) as u32;
        } else if new.len() > size {
            step.remove.extend(
                victims(&new, new.len() - size)
                    .into_iter()
                    .map(|m| m.id.clone()),
            );
        }
        return step;
    }

    // 2. Rolling replacement. Remove old members: unready ones cost no availability and go now; Ready ones
    //    only while more than `size - max_unavailable` members stay Ready (new ones count).
    let mut old_sorted: Vec<&MemberView> = old.clone();
    old_sorted.sort_by_key(|m| (m.health, m.seq));
    let mut ready_left = ready_total;
    for m in old_sorted {
        if m.health == Health::Ready {
            if ready_left <= min_available {
                break;
            }
            ready_left -= 1;
        }
        step.remove.push(m.id.clone());
    }
    // 3. Surge new members within the cap, counting the room the removals make.
    let cap = size + policy.max_surge as usize;
    let remaining = live.len() - (step.remove.len() - failed.len());
    step.create = size
        .saturating_sub(new.len())
        .min(cap.saturating_sub(remaining)) as u32;
    step
}

/// Members to remove when scaling down: unhealthy first, then newest.
fn victims<'a>(members: &[&'a MemberView], n: usize) -> Vec<&'a MemberView> {
    let mut sorted: Vec<&MemberView> = members.to_vec();
    sorted.sort_by_key(|m| (m.health, std::cmp::Reverse(m.seq)));
    sorted.into_iter().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, hash: &str, health: Health, seq: u64) -> MemberView {
        MemberView {
            id: id.into(),
            template_hash: hash.into(),
            health,
            seq,
        }
    }

    const P: Policy = Policy {
        max_surge: 1,
        max_unavailable: 0,
    };

    #[test]
    fn scale_up_from_zero() {
        assert_eq!(
            next_step(&[], 5, "h", P),
            Step {
                create: 5,
                remove: vec![]
            }
        );
    }

    #[test]
    fn scale_down_removes_unhealthy_then_newest() {
        let ms = vec![
            m("a", "h", Health::Ready, 1),
            m("b", "h", Health::Joining, 2),
            m("c", "h", Health::Ready, 3),
            m("d", "h", Health::Ready, 4),
        ];
        assert_eq!(next_step(&ms, 2, "h", P).remove, vec!["b", "d"]);
    }

    #[test]
    fn failed_members_are_replaced() {
        let ms = vec![
            m("a", "h", Health::Ready, 1),
            m("b", "h", Health::Failed, 2),
        ];
        assert_eq!(
            next_step(&ms, 2, "h", P),
            Step {
                create: 1,
                remove: vec!["b".into()]
            }
        );
    }

    #[test]
    fn converged_pool_has_nothing_to_do() {
        let ms = vec![m("a", "h", Health::Ready, 1), m("b", "h", Health::Ready, 2)];
        assert!(next_step(&ms, 2, "h", P).is_empty());
        assert!(converged(&ms, 2, "h"));
    }

    /// Drives a simulated pool through a full roll and checks the invariants at every step.
    fn simulate(size: u32, policy: Policy, start_old: usize) -> usize {
        let mut members: Vec<MemberView> = (0..start_old)
            .map(|i| m(&format!("old{i}"), "old", Health::Ready, i as u64))
            .collect();
        let mut seq = 100;
        for round in 0..100 {
            if converged(&members, size, "new") {
                return round;
            }
            let step = next_step(&members, size, "new", policy);
            assert!(!step.is_empty(), "stuck at round {round}: {members:?}");
            let ready_before = members.iter().filter(|x| x.health == Health::Ready).count();
            members.retain(|x| !step.remove.contains(&x.id));
            let ready_after_removal = members.iter().filter(|x| x.health == Health::Ready).count();
            let min = (size as usize).saturating_sub(policy.max_unavailable as usize);
            assert!(
                ready_after_removal >= min.min(ready_before),
                "availability broken at round {round}"
            );
            for _ in 0..step.create {
                seq += 1;
                members.push(m(&format!("new{seq}"), "new", Health::Building, seq));
            }
            assert!(
                members.len() <= (size + policy.max_surge) as usize,
                "surge exceeded at round {round}"
            );
            // Everything created becomes Ready before the next observation.
            for x in members.iter_mut() {
                x.health = Health::Ready;
            }
        }
        panic!("no convergence");
    }

    #[test]
    fn rolling_update_keeps_availability_and_surge() {
        for (size, surge, unavail) in [
            (5, 1, 0),
            (5, 2, 0),
            (5, 0, 1),
            (3, 1, 1),
            (1, 1, 0),
            (8, 3, 2),
        ] {
            let rounds = simulate(
                size,
                Policy {
                    max_surge: surge,
                    max_unavailable: unavail,
                },
                size as usize,
            );
            assert!(
                rounds <= 2 * size as usize + 2,
                "{size}/{surge}/{unavail} took {rounds} rounds"
            );
        }
    }

    #[test]
    fn roll_and_scale_at_once() {
        simulate(5, P, 3);
        simulate(3, P, 5);
    }
}
