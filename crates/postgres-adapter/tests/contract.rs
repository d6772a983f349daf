//! The `MessageStore` contract suite against a real PostgreSQL database
//! (a fresh one per check), with the trigram index on and off. Skips with
//! one line when no server can be had (see `testkit::postgres`).

use postgres_adapter::{PostgresConfig, PostgresStore};

/// A store on a fresh database, or `None` (skipped).
fn fresh(search_index: bool) -> Option<PostgresStore> {
    fresh_keeping(search_index, None)
}

/// The same, keeping the keys of at most `keep` matches a searched word.
fn fresh_keeping(search_index: bool, keep: Option<usize>) -> Option<PostgresStore> {
    let url = testkit::postgres::fresh_database("postgres contract")?;
    let mut config = PostgresConfig::from_lookup(&url, |name| {
        (name == "SEARCH_INDEX").then(|| if search_index { "on" } else { "off" }.to_owned())
    })
    .expect("config");
    if let Some(keep) = keep {
        config.search_keep = keep;
    }
    Some(PostgresStore::open(&config).expect("open store"))
}

mod search_index_on {
    domain::message_store_contract!(|| super::fresh(true));
}

mod search_index_off {
    domain::message_store_contract!(|| super::fresh(false));
}

/// Words in more than two rows keep only their count: the counted path.
mod few_keys_kept {
    domain::message_store_contract!(|| super::fresh_keeping(true, Some(2)));
}

mod subscriptions {
    domain::subscription_store_contract!(|| super::fresh(true));
}
