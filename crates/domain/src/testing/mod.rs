//! What every [`MessageStore`](crate::MessageStore) must do, as checks any
//! adapter's tests can run (feature `testing`), and a small in-memory
//! reference store that keeps the port's rules in the plainest way.
//!
//! ```ignore
//! // In an adapter's tests/contract.rs:
//! domain::message_store_contract!(|| my_adapter::open_fresh_store());
//! ```
//!
//! The factory is called once per check and must return an empty store.
//! Each check panics with a message naming the rule it found broken.

pub mod contract;
mod memory;

pub use memory::MemoryStore;
