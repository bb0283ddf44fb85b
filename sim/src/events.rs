//! What one half of the simulator tells the other.
//!
//! The OpenStack half owns servers; the Kubernetes half registers a Node when a server
//! boots with a valid k0s worker user_data, and marks it NotReady when the server goes.
//! They meet only here, through a broadcast channel, so each half stays testable alone.

use tokio::sync::broadcast;

/// A change in a simulated server's life, published by the OpenStack half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmEvent {
    /// The server reached ACTIVE (after the boot latency): cloud-init "runs" now.
    Active(VmInfo),
    /// The server was deleted (or went to ERROR after having been ACTIVE): its disk and
    /// whatever ran on it are gone.
    Gone { server_id: String },
    /// An ACTIVE server stopped running but still exists with its disk (stopped, paused,
    /// suspended, shelved): its services are down until it runs again.
    Stopped { server_id: String },
    /// A stopped server runs again (started, unpaused, resumed, unshelved): its services
    /// come back with the data they had (a kubelet with the credentials it joined with).
    Resumed { server_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmInfo {
    pub server_id: String,
    /// Server name.
    pub name: String,
    /// The guest's hostname (the server name, or `<name>.novalocal` on RHEL-family images):
    /// k0s names the Node after it.
    pub hostname: String,
    /// The decoded user_data (None when the server was created without one).
    pub user_data: Option<String>,
    /// First fixed address (in 127.0.0.0/8, reachable on this machine).
    pub ip: String,
    pub flavor: String,
}

/// The channel both halves share.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<VmEvent>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.tx.receiver_count())
            .finish()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(4096);
        Self { tx }
    }
}

impl EventBus {
    pub fn publish(&self, ev: VmEvent) {
        // No subscriber (e.g. the OpenStack half tested alone) is fine.
        let _ = self.tx.send(ev);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<VmEvent> {
        self.tx.subscribe()
    }
}
