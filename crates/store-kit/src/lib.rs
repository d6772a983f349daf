#![doc = include_str!("../README.md")]

pub mod keys;
pub mod lru;
pub mod numbers;
pub mod rows;
pub mod settings;
pub mod subscriptions;
pub mod tally;
pub mod writers;
