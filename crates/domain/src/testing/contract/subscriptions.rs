//! The [`SubscriptionStore`] port's promises: creation and its start,
//! changes and generations, fair-share leases that expire, fenced steps,
//! dead letters, retries and replay.

use std::time::Duration;

use time::OffsetDateTime;

use super::seeds::{insert, message};
use crate::feed::Seq;
use crate::message::Msisdn;
use crate::store::MessageStore;
use crate::subscription::{
    Claim, DeadLetter, DeadLetterQuery, Fence, HeadFailure, NewSubscription, RetryOutcome, Start,
    Step, SubscriptionChange, SubscriptionFilter, SubscriptionId, SubscriptionSecret,
    SubscriptionState, SubscriptionStore, TargetUrl,
};

/// What a subscription contract check runs on.
pub trait FreshSubscriptionStore {
    /// The message store and the subscription store it holds, if any.
    fn stores(&self) -> Option<(&dyn MessageStore, &dyn SubscriptionStore)>;
}

impl<T: MessageStore + SubscriptionStore> FreshSubscriptionStore for T {
    fn stores(&self) -> Option<(&dyn MessageStore, &dyn SubscriptionStore)> {
        Some((self, self))
    }
}

impl<T: MessageStore + SubscriptionStore, G> FreshSubscriptionStore for (T, G) {
    fn stores(&self) -> Option<(&dyn MessageStore, &dyn SubscriptionStore)> {
        Some((&self.0, &self.0))
    }
}

impl<T: MessageStore + SubscriptionStore> FreshSubscriptionStore for Option<T> {
    fn stores(&self) -> Option<(&dyn MessageStore, &dyn SubscriptionStore)> {
        self.as_ref()
            .map(|s| (s as &dyn MessageStore, s as &dyn SubscriptionStore))
    }
}

fn now() -> OffsetDateTime {
    // Whole microseconds, as every store keeps them.
    let n = OffsetDateTime::now_utc();
    n.replace_nanosecond(n.nanosecond() / 1000 * 1000)
        .expect("nanos")
}

fn new_sub(n: u8, start: Start) -> NewSubscription {
    NewSubscription {
        id: SubscriptionId::from_random([n; 16]),
        url: TargetUrl::parse(&format!("http://127.0.0.1:9/{n}")).expect("url"),
        secret: SubscriptionSecret::from_random([n; 32]),
        filter: SubscriptionFilter::default(),
        start,
        created_at: now() + time::Duration::milliseconds(i64::from(n)),
    }
}

fn seed(messages: &dyn MessageStore, n: usize) -> Vec<Seq> {
    for i in 0..n {
        insert(
            messages,
            message(&format!("s{i}"), "+111", "2026-01-01T00:00:00Z", None),
        );
    }
    let page = messages.feed(&crate::FeedQuery::default()).expect("feed");
    page.items.iter().map(|i| i.seq).collect()
}

/// `count_after` counts what the feed holds after a position, by sender
/// too, up to the cap; a subscription's lag is that count.
pub fn lag_counts_the_feed_after_the_position(
    messages: &dyn MessageStore,
    subs: &dyn SubscriptionStore,
) {
    let seqs = seed(messages, 3);
    insert(
        messages,
        message("other", "+222", "2026-01-01T00:00:00Z", None),
    );
    assert_eq!(
        messages.count_after(Seq::START, None, 100).expect("count"),
        4
    );
    assert_eq!(messages.count_after(seqs[0], None, 100).expect("count"), 3);
    assert_eq!(
        messages
            .count_after(seqs[0], Some("+111"), 100)
            .expect("count"),
        2
    );
    assert_eq!(
        messages.count_after(Seq::START, None, 2).expect("count"),
        2,
        "capped"
    );
    let sub = subs
        .create_subscription(&new_sub(1, Start::At(seqs[1])))
        .expect("create");
    assert_eq!(sub.backlog(messages, 100).expect("lag"), 3);
    let mut by_sender = new_sub(2, Start::Beginning);
    by_sender.filter.from = Some(Msisdn::new("+222").expect("msisdn"));
    let by_sender = subs.create_subscription(&by_sender).expect("create");
    assert_eq!(by_sender.backlog(messages, 100).expect("lag"), 1);
}

/// Creation resolves the start; a change moves the generation; deletion
/// removes; unknown ids answer `None`/`false`.
pub fn subscriptions_start_where_asked_and_change_with_a_generation(
    messages: &dyn MessageStore,
    subs: &dyn SubscriptionStore,
) {
    let seqs = seed(messages, 3);
    let now_sub = subs
        .create_subscription(&new_sub(1, Start::Now))
        .expect("create");
    assert_eq!(now_sub.position, seqs[2]);
    assert_eq!(now_sub.state, SubscriptionState::Active);
    let begin = subs
        .create_subscription(&new_sub(2, Start::Beginning))
        .expect("create");
    assert_eq!(begin.position, Seq::START);
    let at = subs
        .create_subscription(&new_sub(3, Start::At(seqs[1])))
        .expect("create");
    assert_eq!(at.position.get(), seqs[1].get() - 1);
    let mut filtered = new_sub(4, Start::Now);
    filtered.filter = SubscriptionFilter {
        from: Some(Msisdn::new("+111").expect("msisdn")),
        q: Some(crate::SearchText::new("hi").expect("q")),
        kinds: vec![crate::Kind::new("image").expect("kind")],
    };
    let filtered = subs.create_subscription(&filtered).expect("create");
    let listed = subs.subscriptions().expect("list");
    let ids: Vec<_> = listed.iter().map(|s| s.id.clone()).collect();
    assert_eq!(
        ids,
        [&now_sub, &begin, &at, &filtered].map(|s| s.id.clone())
    );
    assert_eq!(listed[3], filtered, "every part round-trips");
    assert_eq!(listed[0].secret, new_sub(1, Start::Now).secret);

    let change = SubscriptionChange {
        url: Some(TargetUrl::parse("https://example.com/x").expect("url")),
        filter: Some(SubscriptionFilter::default()),
        state: Some(SubscriptionState::Paused),
    };
    let changed = subs
        .change_subscription(&filtered.id, &change)
        .expect("change")
        .expect("some");
    assert_eq!(changed.url.as_str(), "https://example.com/x");
    assert_eq!(changed.filter, SubscriptionFilter::default());
    assert_eq!(changed.state, SubscriptionState::Paused);
    assert!(changed.generation > filtered.generation);
    assert_eq!(
        subs.subscription(&filtered.id).expect("get"),
        Some(changed.clone())
    );
    let resumed = SubscriptionChange {
        state: Some(SubscriptionState::Active),
        ..Default::default()
    };
    let resumed = subs
        .change_subscription(&filtered.id, &resumed)
        .expect("change")
        .expect("some");
    assert_eq!(
        (resumed.state, resumed.paused_reason.clone()),
        (SubscriptionState::Active, None)
    );
    assert!(resumed.generation > changed.generation);

    assert!(subs.delete_subscription(&begin.id).expect("delete"));
    assert!(!subs.delete_subscription(&begin.id).expect("delete"));
    assert_eq!(subs.subscription(&begin.id).expect("get"), None);
    let ghost = SubscriptionId::from_random([9; 16]);
    assert!(
        subs.change_subscription(&ghost, &change)
            .expect("change")
            .is_none()
    );
    assert!(subs.replay(&ghost, Seq::START).expect("replay").is_none());
    assert_eq!(subs.subscriptions().expect("list").len(), 3);
}

fn claimed(subs: &dyn SubscriptionStore, owner: &str, now: OffsetDateTime) -> Vec<SubscriptionId> {
    let claim = Claim {
        owner,
        now,
        ttl: Duration::from_secs(10),
    };
    let mut ids: Vec<_> = subs
        .claim(&claim)
        .expect("claim")
        .into_iter()
        .map(|s| s.id)
        .collect();
    ids.sort();
    ids
}

/// One worker takes every active subscription; a second one gets its share
/// once the first lets go of its excess; leases expire; paused ones are
/// never leased; `release` frees at once.
pub fn claims_share_the_work_and_expire(
    _messages: &dyn MessageStore,
    subs: &dyn SubscriptionStore,
) {
    let t0 = now();
    let ids: Vec<_> = (1..=4)
        .map(|n| {
            subs.create_subscription(&new_sub(n, Start::Now))
                .expect("create")
                .id
        })
        .collect();
    let paused = SubscriptionChange {
        state: Some(SubscriptionState::Paused),
        ..Default::default()
    };
    subs.change_subscription(&ids[3], &paused).expect("pause");
    assert_eq!(
        claimed(subs, "a", t0),
        ids[..3].to_vec(),
        "alone: every active one"
    );
    assert!(
        claimed(subs, "b", t0).is_empty(),
        "leased ones are not taken"
    );
    let a = claimed(subs, "a", t0 + time::Duration::seconds(1));
    assert_eq!(
        a.len(),
        2,
        "two live workers: a keeps its share, ceil(3 / 2)"
    );
    let b = claimed(subs, "b", t0 + time::Duration::seconds(1));
    assert_eq!(b.len(), 1);
    assert!(!a.contains(&b[0]), "one worker per subscription");
    let lease = subs
        .subscription(&b[0])
        .expect("get")
        .expect("some")
        .lease
        .expect("leased");
    assert_eq!(lease.0, "b");
    // a stops renewing: after its lease, b takes everything.
    let later = t0 + time::Duration::seconds(12);
    assert_eq!(claimed(subs, "b", later), ids[..3].to_vec());
    subs.release("b").expect("release");
    assert_eq!(
        claimed(subs, "c", later),
        ids[..3].to_vec(),
        "released: free at once"
    );
}

/// Steps change nothing once the lease or the generation has moved.
pub fn steps_are_fenced_by_lease_and_generation(
    messages: &dyn MessageStore,
    subs: &dyn SubscriptionStore,
) {
    let seqs = seed(messages, 3);
    let sub = subs
        .create_subscription(&new_sub(1, Start::Beginning))
        .expect("create");
    let t0 = now();
    claimed(subs, "a", t0);
    let fence = Fence {
        id: &sub.id,
        owner: "a",
        generation: sub.generation,
    };
    let step = Step::Delivered {
        position: seqs[0],
        count: 1,
    };
    assert!(
        !subs
            .record_step(
                &Fence {
                    owner: "b",
                    ..fence
                },
                &step
            )
            .expect("step")
    );
    assert!(subs.record_step(&fence, &step).expect("step"));
    let head = HeadFailure {
        seq: seqs[1],
        message_id: "s1".into(),
        attempts: 2,
        last_error: "HTTP 500".into(),
        next_attempt: t0 + time::Duration::seconds(2),
    };
    assert!(
        subs.record_step(&fence, &Step::Failing(head.clone()))
            .expect("step")
    );
    let got = subs.subscription(&sub.id).expect("get").expect("some");
    assert_eq!(
        (got.position, got.delivered, got.head),
        (seqs[0], 1, Some(head))
    );
    let replayed = subs
        .replay(&sub.id, seqs[0])
        .expect("replay")
        .expect("some");
    assert_eq!(
        (replayed.position.get(), replayed.head.clone()),
        (seqs[0].get() - 1, None)
    );
    let stale = Step::Delivered {
        position: seqs[2],
        count: 2,
    };
    assert!(
        !subs.record_step(&fence, &stale).expect("step"),
        "an old generation"
    );
    let fence = Fence {
        generation: replayed.generation,
        ..fence
    };
    assert!(subs.record_step(&fence, &stale).expect("step"));
    let gone = Step::Paused {
        reason: "gone".into(),
    };
    assert!(subs.record_step(&fence, &gone).expect("step"));
    let got = subs.subscription(&sub.id).expect("get").expect("some");
    assert_eq!((got.position, got.delivered), (seqs[2], 3));
    assert_eq!(
        (got.state, got.paused_reason.as_deref()),
        (SubscriptionState::Paused, Some("gone"))
    );
    subs.delete_subscription(&sub.id).expect("delete");
    assert!(
        !subs
            .record_step(
                &Fence {
                    generation: got.generation,
                    ..fence
                },
                &stale
            )
            .expect("step")
    );
}

/// Buried messages are listed in order; a retry is requested, then
/// settled; deleting a subscription drops its dead letters.
pub fn dead_letters_retry_and_replay(messages: &dyn MessageStore, subs: &dyn SubscriptionStore) {
    let seqs = seed(messages, 3);
    let sub = subs
        .create_subscription(&new_sub(1, Start::Beginning))
        .expect("create");
    let t0 = now();
    claimed(subs, "a", t0);
    let fence = Fence {
        id: &sub.id,
        owner: "a",
        generation: sub.generation,
    };
    let dead = |i: usize| DeadLetter {
        seq: seqs[i],
        message_id: format!("s{i}"),
        attempts: 3,
        last_error: "HTTP 503".into(),
        failed_at: t0,
        retry_requested: false,
    };
    for i in [2, 0] {
        assert!(
            subs.record_step(&fence, &Step::Buried(dead(i)))
                .expect("bury")
        );
    }
    let all = DeadLetterQuery {
        after: Seq::START,
        limit: 10,
        requested_only: false,
    };
    assert_eq!(
        subs.dead_letters(&sub.id, &all).expect("list"),
        vec![dead(0), dead(2)]
    );
    let got = subs.subscription(&sub.id).expect("get").expect("some");
    assert_eq!(
        (got.position, got.dead_letters),
        (seqs[0], 2),
        "the position is the last buried"
    );
    let after = DeadLetterQuery {
        after: seqs[0],
        limit: 1,
        ..all
    };
    assert_eq!(
        subs.dead_letters(&sub.id, &after).expect("list"),
        vec![dead(2)]
    );

    assert!(subs.request_retry(&sub.id, seqs[2]).expect("retry"));
    assert!(
        !subs.request_retry(&sub.id, seqs[1]).expect("retry"),
        "not a dead letter"
    );
    let requested = DeadLetterQuery {
        requested_only: true,
        ..all
    };
    let wanted = subs.dead_letters(&sub.id, &requested).expect("list");
    assert_eq!(wanted.iter().map(|d| d.seq).collect::<Vec<_>>(), [seqs[2]]);
    assert!(wanted[0].retry_requested);
    let failed = RetryOutcome::Failed {
        last_error: "HTTP 502".into(),
    };
    subs.settle_retry(&sub.id, seqs[2], &failed, t0)
        .expect("settle");
    let again = &subs.dead_letters(&sub.id, &all).expect("list")[1];
    assert_eq!(
        (
            again.attempts,
            again.last_error.as_str(),
            again.retry_requested
        ),
        (4, "HTTP 502", false)
    );
    subs.settle_retry(&sub.id, seqs[2], &RetryOutcome::Delivered, t0)
        .expect("settle");
    subs.settle_retry(&sub.id, seqs[0], &RetryOutcome::Dropped, t0)
        .expect("settle");
    assert!(subs.dead_letters(&sub.id, &all).expect("list").is_empty());
    let got = subs.subscription(&sub.id).expect("get").expect("some");
    assert_eq!((got.delivered, got.dead_letters), (1, 0));

    assert!(
        subs.record_step(&fence, &Step::Buried(dead(1)))
            .expect("bury")
    );
    assert!(subs.delete_subscription(&sub.id).expect("delete"));
    let again = subs
        .create_subscription(&new_sub(1, Start::Now))
        .expect("create");
    assert!(subs.dead_letters(&again.id, &all).expect("list").is_empty());
}
