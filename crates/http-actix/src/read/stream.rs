//! `GET /messages/stream`: the feed as Server-Sent Events.
//!
//! One [`Hub`] per process polls the store's feed (every [`POLL_EVERY`],
//! or at once when this process stored a message) and broadcasts each new
//! message, rendered once, to every open stream. Polling the store rather
//! than listening to this process's own writes is what makes a message
//! stored by any replica reach every stream.
//!
//! A stream first replays from its position (`Last-Event-ID` or `after=`)
//! straight from the store, then joins the broadcast; numbers at or below
//! what it already sent are skipped, so the seam has no gap and no
//! duplicate. Each client has a bounded buffer of events; one that falls
//! further behind gets a final `resume` event naming the last id it got,
//! and is closed.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::web::Bytes;
use domain::{FeedItem, FeedLimit, FeedQuery, MAX_FEED_LIMIT, MessageStore, Seq};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, watch};

use super::dto::FeedItemDto;
use crate::config::StreamConfig;
use crate::peer::PeerSocket;

/// How often the hub asks the store for messages other replicas stored.
pub(crate) const POLL_EVERY: Duration = Duration::from_millis(200);

/// Erasures the hub remembers: more than the broadcast can hold events
/// of, in any realistic case.
const ERASURES_KEPT: usize = 1024;

/// Events the broadcast keeps for clients that have not taken them yet.
const BROADCAST_CAPACITY: usize = 4096;

/// One new message, rendered once as its SSE frame for every stream.
#[derive(Debug)]
pub(crate) struct Event {
    item: FeedItem,
    frame: Bytes,
}

impl Event {
    fn new(item: &FeedItem) -> Self {
        Self {
            item: item.clone(),
            frame: frame(item),
        }
    }
}

/// `id: <seq>` and `data: <the message as JSON>`.
fn frame(item: &FeedItem) -> Bytes {
    let json = serde_json::to_string(&FeedItemDto::from(item)).unwrap_or_default();
    Bytes::from(format!("id: {}\ndata: {json}\n\n", item.seq))
}

/// What the poller thread and the streams share.
pub(crate) struct Hub {
    store: Arc<dyn MessageStore>,
    config: StreamConfig,
    events: broadcast::Sender<Arc<Event>>,
    /// Held while subscribing, and while the idle poller moves its
    /// position without publishing (see [`poll`]).
    subscribing: Mutex<()>,
    /// Set when a local write may have stored something.
    wake: (Mutex<bool>, Condvar),
    open: AtomicUsize,
    /// Erasures since start, newest last (bounded): events already in the
    /// broadcast when one commits are not sent.
    erased: Mutex<std::collections::VecDeque<domain::Erasure>>,
    any_erased: AtomicBool,
    stopping: watch::Sender<bool>,
    stopped: AtomicBool,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.config)
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// The hub, with its poller thread (which ends when the hub is dropped
    /// or stopped).
    pub(crate) fn start(store: Arc<dyn MessageStore>, config: StreamConfig) -> Arc<Self> {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        let hub = Arc::new(Self {
            store,
            config,
            events,
            subscribing: Mutex::new(()),
            wake: (Mutex::new(false), Condvar::new()),
            open: AtomicUsize::new(0),
            erased: Mutex::new(std::collections::VecDeque::new()),
            any_erased: AtomicBool::new(false),
            stopping: watch::channel(false).0,
            stopped: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&hub);
        let spawned = std::thread::Builder::new()
            .name("hookbox-stream-hub".into())
            .spawn(move || poll(&weak));
        if spawned.is_err() {
            // Without a poller, streams still replay; say so by refusing them.
            hub.stopped.store(true, Ordering::SeqCst);
        }
        hub
    }

    /// A message was stored here: look now rather than at the next tick.
    /// With no stream open there is nobody to tell: the poller's next tick
    /// moves its position, and ingest pays nothing.
    pub(crate) fn notify(&self) {
        if self.events.receiver_count() == 0 {
            return;
        }
        if let Ok(mut woken) = self.wake.0.lock() {
            *woken = true;
            self.wake.1.notify_one();
        }
    }

    /// An erasure is about to run: from now on no stream sends a message
    /// it covers from the broadcast (the store's pages no longer hold them
    /// once it commits).
    pub(crate) fn forget(&self, erasure: domain::Erasure) {
        if let Ok(mut erased) = self.erased.lock() {
            if erased.len() == ERASURES_KEPT {
                erased.pop_front();
            }
            erased.push_back(erasure);
            self.any_erased.store(true, Ordering::SeqCst);
        }
    }

    /// Whether an erasure covers `message`.
    fn is_erased(&self, message: &domain::Message) -> bool {
        self.any_erased.load(Ordering::SeqCst)
            && self
                .erased
                .lock()
                .is_ok_and(|erased| erased.iter().any(|e| e.covers(message)))
    }

    /// Ends every open stream (cleanly, after what is buffered) and
    /// refuses new ones: the server is shutting down.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = self.stopping.send(true);
        self.notify();
    }

    /// A slot for one more stream, unless `STREAM_MAX_CLIENTS` are open or
    /// the server is stopping.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Slot> {
        if self.stopped.load(Ordering::SeqCst) {
            return None;
        }
        let max = self.config.max_clients;
        self.open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| {
                metrics::gauge!(crate::metrics::OPEN_STREAMS).increment(1.0);
                Slot(Arc::clone(self))
            })
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        let _guard = self.subscribing.lock();
        self.events.subscribe()
    }
}

/// One admitted stream; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot(Arc<Hub>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
        // Counted up and down, never set from a read of `open`: a set racing
        // an admission on another worker could write a stale count last.
        metrics::gauge!(crate::metrics::OPEN_STREAMS).decrement(1.0);
    }
}

/// The poller: publishes what the store committed past its position.
/// While no stream listens it only moves its position to the store's end,
/// under the subscription lock, so a stream that subscribes meanwhile
/// replays everything up to where publishing resumes.
fn poll(hub: &std::sync::Weak<Hub>) {
    let mut head: Option<Seq> = None;
    loop {
        let Some(hub) = hub.upgrade() else { return };
        if hub.stopped.load(Ordering::SeqCst) {
            return;
        }
        let idle = {
            let _guard = hub.subscribing.lock();
            if hub.events.receiver_count() == 0 {
                if let Ok(last) = hub.store.last_seq() {
                    head = Some(last);
                }
                true
            } else {
                false
            }
        };
        if !idle {
            publish(&hub, &mut head);
        }
        let (lock, cvar) = &hub.wake;
        if let Ok(mut woken) = lock.lock() {
            if !*woken {
                woken = cvar
                    .wait_timeout(woken, POLL_EVERY)
                    .map_or_else(|e| e.into_inner().0, |(g, _)| g);
            }
            *woken = false;
        }
    }
}

/// Broadcasts every message past `head`, page by page.
fn publish(hub: &Hub, head: &mut Option<Seq>) {
    let Some(after) = *head else {
        // Never positioned (the store was down at first): start at its end.
        *head = hub.store.last_seq().ok();
        return;
    };
    let mut query = FeedQuery {
        after,
        limit: FeedLimit::new(i64::from(MAX_FEED_LIMIT)).unwrap_or_default(),
        ..FeedQuery::default()
    };
    while let Ok(page) = hub.store.feed(&query) {
        let full = page.items.len() == usize::try_from(MAX_FEED_LIMIT).unwrap_or(usize::MAX);
        for item in &page.items {
            let _ = hub.events.send(Arc::new(Event::new(item)));
        }
        query.after = page.next;
        *head = Some(page.next);
        if !full {
            break;
        }
    }
}

/// The final event of a stream that fell behind.
#[derive(Serialize)]
struct Resume {
    detail: &'static str,
    last_event_id: u64,
}

/// `event: resume` with the last id the client got.
fn resume_frame(last_sent: Seq) -> Bytes {
    let resume = Resume {
        detail: "this client fell too far behind; reconnect with Last-Event-ID",
        last_event_id: last_sent.get(),
    };
    let data = serde_json::to_string(&resume).unwrap_or_default();
    Bytes::from(format!("event: resume\ndata: {data}\n\n"))
}

/// The body of one stream: frames from its task, until the task ends.
pub(crate) struct Body {
    frames: mpsc::Receiver<Bytes>,
    _slot: Slot,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body").finish_non_exhaustive()
    }
}

impl futures_core::Stream for Body {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.frames.poll_recv(cx).map(|f| f.map(Ok))
    }
}

/// Starts the task feeding one stream from `query.after`, filtered as the
/// feed filters (`from`, `q`), and returns its body. The store filters the
/// replay and [`FeedQuery::admits`] the live events: one rule. With
/// `follow` false the stream ends once it has replayed what is stored.
/// `peer` tells the task when the client hangs up, so its slot is freed
/// then rather than at the next heartbeat.
pub(crate) fn open(slot: Slot, query: FeedQuery, follow: bool, peer: Option<PeerSocket>) -> Body {
    // Replay pages are as large as the feed allows, whatever was asked.
    let query = FeedQuery {
        limit: FeedLimit::new(i64::from(MAX_FEED_LIMIT)).unwrap_or_default(),
        ..query
    };
    let hub = Arc::clone(&slot.0);
    // One slot more than the buffer: the final `resume` event always fits.
    let (tx, rx) = mpsc::channel(hub.config.client_buffer + 1);
    actix_web::rt::spawn(feed_client(hub, query, follow, peer, tx));
    Body {
        frames: rx,
        _slot: slot,
    }
}

/// What one stream's task does with a frame.
enum Sent {
    Ok,
    /// The client's buffer is full: it was told to resume.
    Behind,
    /// The client is gone.
    Gone,
}

struct Client {
    tx: mpsc::Sender<Bytes>,
    last_sent: Seq,
}

impl Client {
    fn send(&mut self, seq: Seq, frame: Bytes) -> Sent {
        // Keep the last slot for the final event.
        if self.tx.capacity() <= 1 {
            let _ = self.tx.try_send(resume_frame(self.last_sent));
            return Sent::Behind;
        }
        match self.tx.try_send(frame) {
            Ok(()) => {
                self.last_sent = seq;
                Sent::Ok
            }
            Err(mpsc::error::TrySendError::Full(_)) => Sent::Behind,
            Err(mpsc::error::TrySendError::Closed(_)) => Sent::Gone,
        }
    }
}

/// Replays from the store until a short page, so the position is close to
/// the end before (and again after) joining the broadcast.
async fn replay(hub: &Arc<Hub>, client: &mut Client, filter: &FeedQuery) -> Result<(), ()> {
    loop {
        let store = Arc::clone(&hub.store);
        let query = FeedQuery {
            after: client.last_sent,
            ..filter.clone()
        };
        let page = actix_web::web::block(move || store.feed(&query))
            .await
            .map_err(|_| ())?
            .map_err(|_| ())?;
        let full = page.items.len() == usize::try_from(MAX_FEED_LIMIT).unwrap_or(usize::MAX);
        for item in &page.items {
            // Wait for room: a replay goes at the client's pace.
            while client.tx.capacity() <= 1 {
                if client.tx.is_closed() || *hub.stopping.borrow() {
                    return Err(());
                }
                actix_web::rt::time::sleep(Duration::from_millis(20)).await;
            }
            match client.send(item.seq, frame(item)) {
                Sent::Ok => {}
                Sent::Behind | Sent::Gone => return Err(()),
            }
        }
        if !full {
            return Ok(());
        }
    }
}

async fn feed_client(
    hub: Arc<Hub>,
    filter: FeedQuery,
    follow: bool,
    peer: Option<PeerSocket>,
    tx: mpsc::Sender<Bytes>,
) {
    let mut stopping = hub.stopping.subscribe();
    let mut client = Client {
        tx,
        last_sent: filter.after,
    };
    // Browsers reconnect after this many milliseconds if the stream drops.
    let _ = client.tx.try_send(Bytes::from_static(b"retry: 1000\n\n"));
    if replay(&hub, &mut client, &filter).await.is_err() || !follow {
        return;
    }
    let mut events = hub.subscribe();
    if replay(&hub, &mut client, &filter).await.is_err() {
        return;
    }
    let heartbeat = hub.config.heartbeat;
    let mut beat = actix_web::rt::time::interval_at(
        actix_web::rt::time::Instant::now() + heartbeat,
        heartbeat,
    );
    let hung_up = async {
        match &peer {
            Some(peer) => peer.closed().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(hung_up);
    loop {
        if *stopping.borrow() {
            return;
        }
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => {
                    if event.item.seq <= client.last_sent
                        || !filter.admits(&event.item.message)
                        || hub.is_erased(&event.item.message)
                    {
                        continue;
                    }
                    match client.send(event.item.seq, event.frame.clone()) {
                        Sent::Ok => {}
                        Sent::Behind | Sent::Gone => return,
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Even the broadcast moved past this client.
                    let _ = client.tx.try_send(resume_frame(client.last_sent));
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = beat.tick() => {
                if client.tx.try_send(Bytes::from_static(b": heartbeat\n\n")).is_err()
                    && client.tx.is_closed()
                {
                    return;
                }
            }
            _ = stopping.changed() => return,
            () = client.tx.closed() => return,
            () = &mut hung_up => return,
        }
    }
}
