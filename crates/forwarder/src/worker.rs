//! One subscription's delivery thread: reads its feed after the position,
//! sends each matching message until the consumer takes it (or the
//! attempts run out), and records the position every few deliveries. One
//! message at a time, so order is kept; a failing one holds back the rest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{
    DeadLetter, DeadLetterQuery, FeedItem, FeedLimit, Fence, HeadFailure, LAG_CAP, MessageId,
    RetryOutcome, Seq, Step, Subscription, SubscriptionState, Verdict,
};
use slog::{o, warn};

use crate::client;
use crate::names::{DEAD_LETTERS, LAG};
use crate::shared::{Control, Shared, now_micros};

/// Deliveries between two position writes (at most): the at-least-once
/// window after a crash.
const COMMIT_EVERY: u64 = 100;
/// The longest time a delivered position stays unwritten.
const COMMIT_AFTER: Duration = Duration::from_millis(200);
/// How often the subscription is read again (changes, lag, retries).
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// A non-empty page is sent only after the subscription was read at most
/// this long ago.
const REFRESH_EVERY: Duration = Duration::from_millis(100);
/// A page older than this is checked against erasures before each send.
const FRESH_PAGE: Duration = Duration::from_millis(250);
const PAGE: u32 = 100;

enum Outcome {
    Delivered,
    Skipped,
    Buried(DeadLetter),
    Paused,
    Interrupted,
}

pub(crate) struct Delivery {
    shared: Arc<Shared>,
    control: Arc<Control>,
    agent: ureq::Agent,
    sub: Subscription,
    position: Seq,
    committed: Seq,
    pending: u64,
    last_commit: Instant,
    last_check: Instant,
    last_refresh: Instant,
    seed: u64,
    logger: slog::Logger,
}

impl Delivery {
    pub(crate) fn new(shared: Arc<Shared>, control: Arc<Control>, sub: Subscription) -> Self {
        let logger = shared
            .logger
            .new(o!("subscription" => sub.id.as_str().to_owned()));
        Self {
            agent: client::agent(shared.settings.timeout),
            position: sub.position,
            committed: sub.position,
            pending: 0,
            last_commit: Instant::now(),
            last_check: Instant::now(),
            last_refresh: Instant::now(),
            seed: u64::try_from(now_micros()).unwrap_or(1) | 1,
            logger,
            shared,
            control,
            sub,
        }
    }

    pub(crate) fn run(mut self) {
        while self.control.live() {
            if self.last_check.elapsed() >= CHECK_EVERY && !self.check() {
                break;
            }
            let query = self.sub.filter.feed_query(self.position, page_limit());
            let page = match self.shared.messages.feed(&query) {
                Ok(page) => page,
                Err(e) => {
                    warn!(self.logger, "forwarding cannot read the feed"; "error" => %e);
                    self.nap(CHECK_EVERY);
                    continue;
                }
            };
            let read_at = Instant::now();
            if page.items.is_empty() {
                self.flush();
                self.nap(self.shared.settings.poll);
                continue;
            }
            // A change (or a deletion) made before these messages were
            // stored is seen before any of them is sent.
            if self.last_refresh.elapsed() >= REFRESH_EVERY && !self.refresh() {
                break;
            }
            if !self.deliver_page(&page.items, read_at) {
                break;
            }
        }
        self.flush();
        metrics::gauge!(LAG, "subscription" => self.sub.id.as_str().to_owned()).set(0.0);
    }

    /// `false` when the thread must end (paused or gone).
    fn deliver_page(&mut self, items: &[FeedItem], read_at: Instant) -> bool {
        for item in items {
            if !self.control.live() {
                return true;
            }
            if !self.sub.filter.admits(item) {
                self.position = item.seq;
                continue;
            }
            match self.deliver(item, read_at) {
                Outcome::Delivered => {
                    self.position = item.seq;
                    self.pending += 1;
                    if self.pending >= COMMIT_EVERY || self.last_commit.elapsed() >= COMMIT_AFTER {
                        self.flush();
                    }
                }
                Outcome::Skipped => self.position = item.seq,
                Outcome::Buried(dead) => {
                    let seq = dead.seq;
                    if !self.flush() || !self.step(&Step::Buried(dead)) {
                        return true;
                    }
                    metrics::counter!(DEAD_LETTERS).increment(1);
                    (self.position, self.committed) = (seq, seq);
                }
                Outcome::Paused => {
                    self.flush();
                    self.step(&Step::Paused {
                        reason: "gone".into(),
                    });
                    warn!(
                        self.logger,
                        "subscription paused: the consumer answered 410 Gone"
                    );
                    return false;
                }
                Outcome::Interrupted => return true,
            }
        }
        true
    }

    fn deliver(&mut self, item: &FeedItem, read_at: Instant) -> Outcome {
        let (mut attempts, mut due) = match &self.sub.head {
            Some(head) if head.seq == item.seq => (head.attempts, head.next_attempt),
            _ => (0, time::OffsetDateTime::UNIX_EPOCH),
        };
        loop {
            while time::OffsetDateTime::now_utc() < due {
                if !self.control.live() {
                    return Outcome::Interrupted;
                }
                if self.last_check.elapsed() >= CHECK_EVERY {
                    let generation = self.sub.generation;
                    if !self.check() || self.sub.generation != generation {
                        return Outcome::Interrupted;
                    }
                }
                self.nap(Duration::from_millis(100));
            }
            if (attempts > 0 || read_at.elapsed() > FRESH_PAGE) && !self.still_stored(item) {
                return Outcome::Skipped;
            }
            attempts += 1;
            let (error, after) =
                match client::attempt(&self.agent, &self.shared.settings, &self.sub, item) {
                    Verdict::Delivered => return Outcome::Delivered,
                    Verdict::Gone => return Outcome::Paused,
                    Verdict::Failed { error, after } => (error, after),
                    _ => ("unknown verdict".to_owned(), None),
                };
            warn!(self.logger, "delivery failed";
                "seq" => item.seq.get(), "message_id" => item.message.id().as_str(),
                "attempt" => attempts, "error" => &error, "target" => self.sub.url.origin());
            let now = time::OffsetDateTime::now_utc();
            let jitter = self.jitter();
            let Some(wait) = self.shared.settings.policy.wait(attempts, jitter, after) else {
                return Outcome::Buried(DeadLetter {
                    seq: item.seq,
                    message_id: item.message.id().as_str().to_owned(),
                    attempts,
                    last_error: error,
                    failed_at: now,
                    retry_requested: false,
                });
            };
            due = now + wait;
            let head = HeadFailure {
                seq: item.seq,
                message_id: item.message.id().as_str().to_owned(),
                attempts,
                last_error: error,
                next_attempt: due,
            };
            if !self.flush() || !self.step(&Step::Failing(head.clone())) {
                return Outcome::Interrupted;
            }
            self.sub.head = Some(head);
        }
    }

    /// Whether the message is still stored at the same position (not
    /// erased or purged since the page was read).
    fn still_stored(&self, item: &FeedItem) -> bool {
        match self.shared.messages.get(item.message.id()) {
            Ok(found) => found.is_some_and(|f| f.seq == item.seq),
            // Unknown: deliver; a store that cannot answer will say so again.
            Err(_) => true,
        }
    }

    /// Writes the delivered position; `false` when the fence failed (the
    /// subscription then is read again).
    fn flush(&mut self) -> bool {
        if self.position == self.committed {
            return true;
        }
        let step = Step::Delivered {
            position: self.position,
            count: self.pending,
        };
        if self.step(&step) {
            self.committed = self.position;
            self.pending = 0;
            self.last_commit = Instant::now();
            true
        } else {
            false
        }
    }

    /// Records a step under the fence; on a failed fence, reads the
    /// subscription again. `false` unless it was written.
    fn step(&mut self, step: &Step) -> bool {
        let fence = Fence {
            id: &self.sub.id,
            owner: &self.shared.owner,
            generation: self.sub.generation,
        };
        match self.shared.subs.record_step(&fence, step) {
            Ok(true) => true,
            Ok(false) => {
                self.check();
                false
            }
            Err(e) => {
                warn!(self.logger, "forwarding cannot record its position"; "error" => %e);
                false
            }
        }
    }

    /// Reads the subscription again: adopts a change (a new generation
    /// restarts from its stored position), runs requested retries and
    /// publishes the lag. `false` when this thread must end: deleted,
    /// paused, or leased elsewhere.
    fn check(&mut self) -> bool {
        self.last_check = Instant::now();
        if !self.refresh() {
            return false;
        }
        self.retry_requested();
        let mut at = self.sub.clone();
        at.position = self.position;
        if let Ok(lag) = at.backlog(self.shared.messages.as_ref(), LAG_CAP) {
            metrics::gauge!(LAG, "subscription" => self.sub.id.as_str().to_owned()).set(lag as f64);
        }
        true
    }

    /// Reads the subscription again and adopts a change; `false` when this
    /// thread must end: deleted, paused, or leased elsewhere.
    fn refresh(&mut self) -> bool {
        self.last_refresh = Instant::now();
        let fresh = match self.shared.subs.subscription(&self.sub.id) {
            Ok(Some(fresh)) => fresh,
            Ok(None) => return false,
            Err(_) => return true,
        };
        let mine = fresh
            .lease
            .as_ref()
            .is_some_and(|(o, _)| *o == self.shared.owner);
        if !mine || fresh.state != SubscriptionState::Active {
            return false;
        }
        if fresh.generation != self.sub.generation {
            (self.position, self.committed, self.pending) = (fresh.position, fresh.position, 0);
            self.sub = fresh;
        }
        true
    }

    /// One more attempt at each dead letter a client asked to retry.
    fn retry_requested(&mut self) {
        let query = DeadLetterQuery {
            after: Seq::START,
            limit: 20,
            requested_only: true,
        };
        let Ok(wanted) = self.shared.subs.dead_letters(&self.sub.id, &query) else {
            return;
        };
        for dead in wanted {
            let found = MessageId::new(dead.message_id.clone())
                .ok()
                .and_then(|id| self.shared.messages.get(&id).ok().flatten())
                .filter(|f| f.seq == dead.seq);
            let outcome = match found {
                None => RetryOutcome::Dropped,
                Some(item) => {
                    match client::attempt(&self.agent, &self.shared.settings, &self.sub, &item) {
                        Verdict::Delivered => RetryOutcome::Delivered,
                        Verdict::Gone => RetryOutcome::Failed {
                            last_error: "HTTP 410".into(),
                        },
                        Verdict::Failed { error, .. } => RetryOutcome::Failed { last_error: error },
                        _ => RetryOutcome::Failed {
                            last_error: "unknown verdict".into(),
                        },
                    }
                }
            };
            let now = time::OffsetDateTime::now_utc();
            if let Err(e) = self
                .shared
                .subs
                .settle_retry(&self.sub.id, dead.seq, &outcome, now)
            {
                warn!(self.logger, "forwarding cannot record a retry"; "error" => %e);
            }
        }
    }

    fn nap(&self, total: Duration) {
        let started = Instant::now();
        while started.elapsed() < total && self.control.live() {
            std::thread::sleep(total.min(Duration::from_millis(20)));
        }
    }

    /// A number in `[0, 1)` (xorshift: jitter needs spread, not secrecy).
    fn jitter(&mut self) -> f64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed >> 11) as f64 / (1_u64 << 53) as f64
    }
}

fn page_limit() -> FeedLimit {
    FeedLimit::new(i64::from(PAGE)).unwrap_or_default()
}
