//! Server actions (`POST /servers/{id}/action`): stop/start, pause/unpause, suspend/resume,
//! shelve/unshelve, with Nova's state checks and its asynchronous transitions.
//!
//! As Nova (openstack/nova `nova/compute/api.py`, `check_instance_state` on each method;
//! `nova/api/openstack/compute/servers.py` `_start`/`_stop`; master of 2026-08):
//! - `os-stop` from ACTIVE or ERROR → SHUTOFF; `os-start` from SHUTOFF → ACTIVE;
//! - `pause` from ACTIVE → PAUSED; `unpause` from PAUSED → ACTIVE;
//! - `suspend` from ACTIVE → SUSPENDED; `resume` from SUSPENDED → ACTIVE;
//! - `shelve` from ACTIVE, SHUTOFF, PAUSED or SUSPENDED → SHELVED_OFFLOADED (the default
//!   `[DEFAULT] shelved_offload_time = 0` offloads at once); `unshelve` from SHELVED or
//!   SHELVED_OFFLOADED → ACTIVE;
//! - any action while another task runs (task_state set) or from another state: 409
//!   `Cannot '<action>' instance <id> while it is in vm_state <state>` (or task_state);
//! - the answer is 202 with no body; the state changes when the task ends
//!   (`action_latency_ms`), with task_state `powering-off`, `powering-on`, ... meanwhile.
//!
//! A server leaving ACTIVE is announced as stopped (its kubelet stops posting status: the
//! Node turns NotReady; a controller stops serving but keeps its data); one coming back is
//! announced as resumed (the kubelet posts again with the credentials it got when it
//! joined, no join token needed; a controller serves its data again).

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::http::{self, Resp, Service};
use super::nova::{bad_request, Call};
use super::store::Status;
use crate::events::VmEvent;

/// One action: the states it starts from, the task it runs, the state it ends in.
struct Action {
    name: &'static str,
    from: &'static [Status],
    task: &'static str,
    to: Status,
}

const ACTIONS: &[Action] = &[
    Action {
        name: "os-stop",
        from: &[Status::Active, Status::Error],
        task: "powering-off",
        to: Status::Shutoff,
    },
    Action {
        name: "os-start",
        from: &[Status::Shutoff],
        task: "powering-on",
        to: Status::Active,
    },
    Action {
        name: "pause",
        from: &[Status::Active],
        task: "pausing",
        to: Status::Paused,
    },
    Action {
        name: "unpause",
        from: &[Status::Paused],
        task: "unpausing",
        to: Status::Active,
    },
    Action {
        name: "suspend",
        from: &[Status::Active],
        task: "suspending",
        to: Status::Suspended,
    },
    Action {
        name: "resume",
        from: &[Status::Suspended],
        task: "resuming",
        to: Status::Active,
    },
    Action {
        name: "shelve",
        from: &[
            Status::Active,
            Status::Shutoff,
            Status::Paused,
            Status::Suspended,
        ],
        task: "shelving",
        to: Status::ShelvedOffloaded,
    },
    Action {
        name: "unshelve",
        from: &[Status::Shelved, Status::ShelvedOffloaded],
        task: "spawning",
        to: Status::Active,
    },
];

fn conflict(message: &str) -> Resp {
    http::error(Service::Compute, 409, message)
}

/// `POST /servers/{id}/action`.
pub fn route(c: &Call, id: &str) -> Resp {
    let body = match c.body() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some((key, _args)) = body.as_object().and_then(|o| o.iter().next()) else {
        return bad_request("Malformed request body");
    };
    let Some(action) = ACTIONS.iter().find(|a| a.name == key.as_str()) else {
        return bad_request(&format!("There is no such action: {key}"));
    };
    let mut st = c.ctx.state.lock().expect("state");
    let project = c.project_id().to_string();
    let Some(s) = st.servers.get_mut(id).filter(|s| s.project_id == project) else {
        return http::error(
            Service::Compute,
            404,
            &format!("Instance {id} could not be found."),
        );
    };
    let verb = action.name.trim_start_matches("os-");
    if s.deleting {
        return conflict(&format!(
            "Cannot '{verb}' instance {id} while it is in task_state deleting"
        ));
    }
    if let Some(task) = s.task {
        return conflict(&format!(
            "Cannot '{verb}' instance {id} while it is in task_state {task}"
        ));
    }
    if !action.from.contains(&s.status) {
        return conflict(&format!(
            "Cannot '{verb}' instance {id} while it is in vm_state {}",
            s.status.vm_state()
        ));
    }
    s.task = Some(action.task);
    s.updated = SystemTime::now();
    let name = s.name.clone();
    st.record(&format!("server.{verb}"), id, &name);
    let latency = Duration::from_millis(c.ctx.faults.get().action_latency_ms);
    let (ctx, id, to) = (c.ctx.clone(), id.to_string(), action.to);
    tokio::spawn(async move {
        tokio::time::sleep(latency).await;
        finish(&ctx, &id, to);
    });
    http::empty(202)
}

/// The end of an action's task.
fn finish(ctx: &super::Ctx, id: &str, to: Status) {
    let mut st = ctx.state.lock().expect("state");
    let Some(s) = st.servers.get_mut(id) else {
        return;
    };
    if s.deleting {
        return;
    }
    let was_active = s.status == Status::Active;
    s.status = to;
    s.task = None;
    s.updated = SystemTime::now();
    let now_active = to == Status::Active;
    drop(st);
    match (was_active, now_active) {
        (true, false) => ctx.bus.publish(VmEvent::Stopped {
            server_id: id.into(),
        }),
        (false, true) => ctx.bus.publish(VmEvent::Resumed {
            server_id: id.into(),
        }),
        _ => {}
    }
}

/// The `OS-EXT-STS:task_state` of a server (None: no task).
pub fn task_state(task: Option<&'static str>) -> Value {
    task.map(Value::from).unwrap_or(Value::Null)
}
