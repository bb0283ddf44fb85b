//! Server actions as Nova answers them (nova/compute/api.py `check_instance_state`,
//! nova/api/openstack/compute/servers.py): 202 then an asynchronous transition, 409 from a
//! state the action does not start from or while a task runs, 400 for an unknown action,
//! and the events the Kubernetes half sees (stopped / resumed, never gone).

mod support;

use std::time::Duration;

use k0stack_sim::openstack::OpenStackOptions;
use k0stack_sim::{EventBus, VmEvent};
use serde_json::{json, Value};
use support::{private_net, ubuntu, Cloud};

async fn action(c: &Cloud, id: &str, body: Value) -> (u16, Value) {
    let a = c
        .post(
            &format!("/compute/v2.1/servers/{id}/action"),
            body,
            Some("2.90"),
        )
        .await;
    (a.status, a.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_pause_suspend_and_shelve_follow_novas_state_machine() {
    let bus = EventBus::default();
    let mut rx = bus.subscribe();
    let c = Cloud::start(OpenStackOptions {
        bus,
        boot_latency: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let body = json!({"server": {"name": "w", "flavorRef": "2", "imageRef": ubuntu(), "networks": [{"uuid": private_net()}]}});
    let id = c
        .post("/compute/v2.1/servers", body, Some("2.90"))
        .await
        .body["server"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.wait_status(&id, "ACTIVE").await;
    let _ = rx.recv().await; // Active

    // Start from ACTIVE: 409 with Nova's message, in Nova's body shape.
    let (code, b) = action(&c, &id, json!({"os-start": null})).await;
    assert_eq!(code, 409, "{b}");
    assert_eq!(
        b["conflictingRequest"]["message"],
        format!("Cannot 'start' instance {id} while it is in vm_state active")
    );

    // Stop: 202, task powering-off (a second action is refused meanwhile), then SHUTOFF.
    let (code, _) = action(&c, &id, json!({"os-stop": null})).await;
    assert_eq!(code, 202);
    let s = c.server(&id).await.body;
    assert_eq!(s["server"]["OS-EXT-STS:task_state"], "powering-off");
    let (code, b) = action(&c, &id, json!({"os-stop": null})).await;
    assert_eq!(code, 409);
    assert!(b["conflictingRequest"]["message"]
        .as_str()
        .unwrap()
        .ends_with("while it is in task_state powering-off"));
    let s = c.wait_status(&id, "SHUTOFF").await;
    assert_eq!(s["OS-EXT-STS:vm_state"], "stopped");
    assert_eq!(s["OS-EXT-STS:power_state"], 4);
    let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ev,
        VmEvent::Stopped {
            server_id: id.clone()
        }
    );

    // Pause needs ACTIVE.
    let (code, b) = action(&c, &id, json!({"pause": null})).await;
    assert_eq!(code, 409);
    assert!(b["conflictingRequest"]["message"]
        .as_str()
        .unwrap()
        .ends_with("while it is in vm_state stopped"));

    // Start: back to ACTIVE, announced as resumed (not as a new boot).
    assert_eq!(action(&c, &id, json!({"os-start": null})).await.0, 202);
    c.wait_status(&id, "ACTIVE").await;
    let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ev,
        VmEvent::Resumed {
            server_id: id.clone()
        }
    );

    // Pause / unpause, suspend / resume.
    for (off, state, on) in [
        ("pause", "PAUSED", "unpause"),
        ("suspend", "SUSPENDED", "resume"),
    ] {
        assert_eq!(action(&c, &id, json!({ off: null })).await.0, 202, "{off}");
        c.wait_status(&id, state).await;
        assert_eq!(action(&c, &id, json!({ on: null })).await.0, 202, "{on}");
        c.wait_status(&id, "ACTIVE").await;
    }

    // Shelve offloads at once (shelved_offload_time = 0); unshelve brings it back.
    assert_eq!(action(&c, &id, json!({"shelve": null})).await.0, 202);
    let s = c.wait_status(&id, "SHELVED_OFFLOADED").await;
    assert_eq!(s["OS-EXT-STS:vm_state"], "shelved_offloaded");
    assert_eq!(action(&c, &id, json!({"unshelve": null})).await.0, 202);
    c.wait_status(&id, "ACTIVE").await;

    // Unknown action: 400.
    let (code, b) = action(&c, &id, json!({"explode": null})).await;
    assert_eq!(code, 400);
    assert_eq!(
        b["badRequest"]["message"],
        "There is no such action: explode"
    );
    // Unknown server: 404.
    let (code, _) = action(&c, "no-such-id", json!({"os-stop": null})).await;
    assert_eq!(code, 404);
    let kinds: Vec<String> = c.sim.history().iter().map(|e| e.kind.clone()).collect();
    assert!(
        kinds.contains(&"server.stop".to_string()) && kinds.contains(&"server.start".to_string()),
        "{kinds:?}"
    );
}
