#![doc = include_str!("../README.md")]

mod client;
pub mod names;
mod settings;
mod shared;
mod supervisor;
mod worker;

pub use settings::{ForwardSettings, Render};
pub use supervisor::Forwarder;
