//! `k0stack-sim up --openstack-from <clouds.yaml>`: the Kubernetes half joined from a
//! real OpenStack instead of the simulated one.
//!
//! The poller lists the real Nova's servers of every project (an admin's view shows their
//! user_data) once per interval, and publishes on the [`EventBus`] what the simulated
//! Nova would for the same changes, so a server booted there with a k0s worker user_data
//! joins a hosted cluster exactly like a simulated one. One listing per poll (its pages),
//! never a GET per server; an image's `os_distro` is asked once, for the hostname rule.

pub mod client;
pub mod clouds;
pub mod poll;

use std::time::Duration;

use tokio::task::JoinHandle;

pub use self::client::{Client, ClientError};
pub use self::clouds::{Cloud, CloudsError};
use self::poll::SeenSet;
use crate::events::EventBus;

/// What the poller needs.
#[derive(Debug, Clone)]
pub struct PollOptions {
    pub interval: Duration,
    pub bus: EventBus,
}

/// Authenticates once (so bad credentials fail `up` at once), then polls until aborted.
pub async fn start(cloud: Cloud, opts: PollOptions) -> Result<JoinHandle<()>, ClientError> {
    let mut client = Client::new(cloud)?;
    client.authenticate().await?;
    Ok(tokio::spawn(run(client, opts)))
}

/// The poll loop: a failed listing changes nothing (no partial diff: a missing page must
/// not read as deleted servers) and is reported once until the next success.
pub async fn run(mut client: Client, opts: PollOptions) {
    let mut seen = SeenSet::new();
    let mut last_error: Option<String> = None;
    let mut warned_user_data = false;
    loop {
        match poll_once(&mut client, &mut seen, &opts.bus).await {
            Ok(hidden) => {
                if last_error.take().is_some() {
                    eprintln!("k0stack-sim: listing Nova servers works again");
                }
                if hidden && !warned_user_data {
                    warned_user_data = true;
                    eprintln!("k0stack-sim: Nova does not show OS-EXT-SRV-ATTR:user_data (cloud {:?} is not an admin?): its servers cannot join", client.cloud().name);
                }
            }
            Err(e) => {
                let e = e.to_string();
                if last_error.as_deref() != Some(e.as_str()) {
                    eprintln!("k0stack-sim: listing Nova servers: {e}");
                }
                last_error = Some(e);
            }
        }
        tokio::time::sleep(opts.interval).await;
    }
}

/// One poll: list, learn the images of servers about to be announced, publish the diff.
/// True when some ACTIVE server's user_data was hidden (the credentials are no admin's).
pub async fn poll_once(
    client: &mut Client,
    seen: &mut SeenSet,
    bus: &EventBus,
) -> Result<bool, ClientError> {
    let list = client.list_servers().await?;
    let fresh: Vec<&str> = list
        .iter()
        .filter(|s| s.status == "ACTIVE" && !seen.contains_key(&s.id))
        .filter_map(|s| s.image_id())
        .collect();
    let distros = client.learn_distros(&fresh).await;
    let hidden = list
        .iter()
        .any(|s| s.status == "ACTIVE" && s.user_data.is_none());
    for ev in poll::diff(seen, &list, distros) {
        bus.publish(ev);
    }
    Ok(hidden)
}
