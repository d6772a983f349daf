#![doc = include_str!("../README.md")]

pub mod arenas;
pub mod config;
mod dto;
pub mod error;
mod feed_query;
pub mod inputs;
pub mod logging;
mod messages_query;
pub mod metrics;
pub mod observe;
mod peer;
pub mod read_access;
pub mod retention;
mod routes;
pub mod startup;
mod stream;
mod ui;
mod webhook_body;
pub mod webhook_result;
pub mod whatsapp;

pub use config::{Config, ConfigError};
pub use startup::Application;
