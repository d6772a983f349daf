#![doc = include_str!("../README.md")]

pub mod arenas;
pub mod config;
mod dto;
pub mod error;
pub mod inputs;
pub mod logging;
mod messages_query;
pub mod metrics;
pub mod observe;
mod routes;
pub mod startup;
mod webhook_body;
pub mod webhook_result;
pub mod whatsapp;

pub use config::{Config, ConfigError};
pub use startup::Application;
