//! The [`Forwarder`]: one supervising thread per process that keeps a
//! heartbeat, claims this process's share of the active subscriptions
//! under leases, and runs one delivery thread per leased subscription.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use domain::{Claim, MessageStore, SubscriptionId, SubscriptionStore};
use slog::{Logger, info, warn};

use crate::names::LEASED;
use crate::settings::ForwardSettings;
use crate::shared::{Control, Shared, now_micros};
use crate::worker::Delivery;

/// The running forwarder; dropping it stops every delivery (after the
/// attempt in flight), records the positions reached and gives the leases
/// back, so another replica takes over at once.
pub struct Forwarder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder").finish_non_exhaustive()
    }
}

impl Forwarder {
    /// Starts forwarding.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start(
        messages: Arc<dyn MessageStore>,
        subs: Arc<dyn SubscriptionStore>,
        settings: ForwardSettings,
        logger: Logger,
    ) -> std::io::Result<Self> {
        let owner = format!("{}-{}", std::process::id(), now_micros());
        let shared = Arc::new(Shared {
            messages,
            subs,
            settings,
            logger,
            owner,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("hookbox-forward".into())
            .spawn(move || supervise(&shared, &stopped))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The longest time between two claims (heartbeats).
const CLAIM_EVERY: Duration = Duration::from_secs(1);

type Running = HashMap<SubscriptionId, (Arc<Control>, JoinHandle<()>)>;

fn supervise(shared: &Arc<Shared>, stop: &AtomicBool) {
    let lease = shared.settings.lease;
    // Often enough that a new subscription starts within a second.
    let beat = (lease / 3).clamp(Duration::from_millis(100), CLAIM_EVERY);
    let mut running: Running = HashMap::new();
    let mut failing = false;
    while !stop.load(Ordering::Relaxed) {
        let now = time::OffsetDateTime::now_utc();
        match shared.subs.claim(&Claim {
            owner: &shared.owner,
            now,
            ttl: lease,
        }) {
            Ok(leased) => {
                failing = false;
                let until = now_micros() + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
                let ids: Vec<_> = leased.iter().map(|s| s.id.clone()).collect();
                for sub in leased {
                    start_or_renew(shared, &mut running, sub, until);
                }
                for (id, (control, _)) in &running {
                    if !ids.contains(id) {
                        control.stop.store(true, Ordering::Relaxed);
                    }
                }
                metrics::gauge!(LEASED).set(ids.len() as f64);
            }
            Err(e) if !failing => {
                failing = true;
                warn!(shared.logger, "forwarding cannot renew its leases";
                    "error" => %e, "cause" => std::error::Error::source(&e).map(ToString::to_string));
            }
            Err(_) => {}
        }
        running.retain(|_, (_, thread)| !thread.is_finished());
        let mut slept = Duration::ZERO;
        while slept < beat && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            slept += Duration::from_millis(50);
        }
    }
    for (control, _) in running.values() {
        control.stop.store(true, Ordering::Relaxed);
    }
    for (_, (_, thread)) in running {
        let _ = thread.join();
    }
    if let Err(e) = shared.subs.release(&shared.owner) {
        warn!(shared.logger, "forwarding could not give its leases back"; "error" => %e);
    }
}

fn start_or_renew(
    shared: &Arc<Shared>,
    running: &mut Running,
    sub: domain::Subscription,
    until: i64,
) {
    if let Some((control, thread)) = running.get(&sub.id)
        && !thread.is_finished()
    {
        control.lease_until.store(until, Ordering::Relaxed);
        return;
    }
    let control = Arc::new(Control::default());
    control.lease_until.store(until, Ordering::Relaxed);
    let id = sub.id.clone();
    info!(shared.logger, "subscription leased"; "subscription" => id.as_str(), "owner" => &shared.owner);
    let delivery = Delivery::new(Arc::clone(shared), Arc::clone(&control), sub);
    match std::thread::Builder::new()
        .name("hookbox-deliver".into())
        .spawn(move || delivery.run())
    {
        Ok(thread) => {
            running.insert(id, (control, thread));
        }
        Err(e) => warn!(shared.logger, "cannot start a delivery thread"; "error" => %e),
    }
}
