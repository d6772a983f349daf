//! The `MessageStore` contract suite against real temporary SQLite files,
//! with the search index on and off (`q` then takes two different paths).

fn fresh(search_index: bool) -> (sqlite_adapter::SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = sqlite_adapter::SqliteConfig {
        search_index,
        ..sqlite_adapter::SqliteConfig::new(dir.path().join("contract.db"))
    };
    let store = sqlite_adapter::SqliteStore::open(&config).expect("open store");
    (store, dir)
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
