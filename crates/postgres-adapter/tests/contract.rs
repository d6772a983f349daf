//! The `MessageStore` contract suite against a real PostgreSQL database
//! (a fresh one per check), with the trigram index on and off. Skips with
//! one line when no server can be had (see `testkit::postgres`).

use postgres_adapter::{PostgresConfig, PostgresStore};

/// A store on a fresh database, or `None` (skipped).
fn fresh(search_index: bool) -> Option<PostgresStore> {
    let url = testkit::postgres::fresh_database("postgres contract")?;
    let config = PostgresConfig::from_lookup(&url, |name| {
        (name == "SEARCH_INDEX").then(|| if search_index { "on" } else { "off" }.to_owned())
    })
    .expect("config");
    Some(PostgresStore::open(&config).expect("open store"))
}

mod search_index_on {
    domain::message_store_contract!(|| super::fresh(true));
}

mod search_index_off {
    domain::message_store_contract!(|| super::fresh(false));
}

mod subscriptions {
    domain::subscription_store_contract!(|| super::fresh(true));
}
