#![doc = include_str!("../README.md")]

mod client;
mod ports;
pub mod postgres;
mod receiver;
mod server;
mod signing;
pub mod sse;

pub use client::{Client, Connection, Response, read_response, request_bytes};
pub use ports::free_port;
pub use receiver::{Receiver, receiver_binary};
pub use server::{
    Server, ServerBuilder, StartFailure, Store, e2e_store, hookbox_binary, sqlite_only,
};
pub use signing::{SECRET, sign};
