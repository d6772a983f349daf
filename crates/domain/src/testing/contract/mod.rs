//! The port's promises, one check each. [`message_store_contract!`]
//! (crate::message_store_contract) turns them into `#[test]`s for a store
//! factory; adapters with settings that change how they answer (an index on
//! or off) run it once per setting.

mod feed;
mod listing;
mod reading;
mod records;
mod reference;
mod retention;
mod searching;
pub mod seeds;
mod stats;
mod subscriptions;
mod writes;

pub use feed::{feed_follows_the_order_of_storage, feed_walk_misses_nothing_while_writers_commit};
pub use listing::{
    filters_alone_and_combined, limit_offset_and_total, orders_by_instant_then_id,
    walks_visit_every_row_once,
};
pub use reading::{
    conversations_by_latest_activity, erasure_is_complete_and_keeps_every_count_exact,
    get_returns_the_full_record, newest_first_is_the_exact_reverse, to_and_until_filter,
};
pub use records::{
    events_are_kept_once_in_order, full_records_round_trip,
    retention_covers_raw_bytes_statuses_and_events,
    statuses_move_forward_and_replays_change_nothing, voice_note,
};
pub use reference::agrees_with_the_reference;
pub use retention::purge_removes_the_oldest_received_and_keeps_the_rest_exact;
pub use searching::repeated_searches_see_new_and_erased_rows;
pub use seeds::message;
pub use stats::{
    daily_counts_by_utc_day, empty_store, readiness, stats_edges_compare_instants_and_keep_text,
    stats_ties_cut_and_edges,
};
pub use subscriptions::{
    FreshSubscriptionStore, claims_share_the_work_and_expire, dead_letters_retry_and_replay,
    lag_counts_the_feed_after_the_position, steps_are_fenced_by_lease_and_generation,
    subscriptions_start_where_asked_and_change_with_a_generation,
};
pub use writes::{
    concurrent_identical_inserts_store_one_row, first_write_wins,
    insert_all_reports_each_outcome_in_order, submitted_inserts_resolve_like_insert_all,
};

use crate::store::MessageStore;

/// What a store factory returns: a store, a store with a guard that must
/// live as long as it (a temporary folder, a throwaway database), or
/// `None` when the store's server cannot be had (the factory has said so
/// in one line; the check then runs nothing).
pub trait FreshStore {
    /// The store under test, if there is one.
    fn store(&self) -> Option<&dyn MessageStore>;
}

impl<T: MessageStore> FreshStore for T {
    fn store(&self) -> Option<&dyn MessageStore> {
        Some(self)
    }
}

impl<T: MessageStore, G> FreshStore for (T, G) {
    fn store(&self) -> Option<&dyn MessageStore> {
        Some(&self.0)
    }
}

impl<T: MessageStore> FreshStore for Option<T> {
    fn store(&self) -> Option<&dyn MessageStore> {
        self.as_ref().map(|s| s as &dyn MessageStore)
    }
}

/// Generates one `#[test]` per contract check, each on a fresh store from
/// `$factory` (an expression callable with no arguments that returns a
/// [`FreshStore`]: a store, or `(store, guard)`).
#[macro_export]
macro_rules! message_store_contract {
    ($factory:expr) => {
        $crate::message_store_contract!(@tests $factory;
            first_write_wins,
            insert_all_reports_each_outcome_in_order,
            concurrent_identical_inserts_store_one_row,
            orders_by_instant_then_id,
            filters_alone_and_combined,
            limit_offset_and_total,
            walks_visit_every_row_once,
            stats_ties_cut_and_edges,
            stats_edges_compare_instants_and_keep_text,
            empty_store,
            readiness,
            feed_follows_the_order_of_storage,
            feed_walk_misses_nothing_while_writers_commit,
            daily_counts_by_utc_day,
            purge_removes_the_oldest_received_and_keeps_the_rest_exact,
            submitted_inserts_resolve_like_insert_all,
            full_records_round_trip,
            statuses_move_forward_and_replays_change_nothing,
            events_are_kept_once_in_order,
            retention_covers_raw_bytes_statuses_and_events,
            get_returns_the_full_record,
            newest_first_is_the_exact_reverse,
            to_and_until_filter,
            erasure_is_complete_and_keeps_every_count_exact,
            conversations_by_latest_activity,
            repeated_searches_see_new_and_erased_rows,
        );
        #[test]
        fn agrees_with_the_reference_on_random_inputs() {
            for seed in [1_u64, 0x5eed, 0xdead_beef] {
                let fresh = ($factory)();
                if let Some(store) = $crate::testing::contract::FreshStore::store(&fresh) {
                    $crate::testing::contract::agrees_with_the_reference(store, seed);
                }
            }
        }
    };
    (@tests $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let fresh = ($factory)();
                if let Some(store) = $crate::testing::contract::FreshStore::store(&fresh) {
                    $crate::testing::contract::$check(store);
                }
            }
        )*
    };
}

/// Generates one `#[test]` per subscription contract check.
#[macro_export]
macro_rules! subscription_store_contract {
    ($factory:expr) => {
        $crate::subscription_store_contract!(@tests $factory;
            subscriptions_start_where_asked_and_change_with_a_generation,
            claims_share_the_work_and_expire,
            steps_are_fenced_by_lease_and_generation,
            dead_letters_retry_and_replay,
            lag_counts_the_feed_after_the_position,
        );
    };
    (@tests $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let fresh = ($factory)();
                if let Some((messages, subs)) =
                    $crate::testing::contract::FreshSubscriptionStore::stores(&fresh)
                {
                    $crate::testing::contract::$check(messages, subs);
                }
            }
        )*
    };
}
