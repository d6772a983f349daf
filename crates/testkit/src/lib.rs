#![doc = include_str!("../README.md")]

mod client;
pub mod postgres;
mod server;
pub mod sse;

pub use client::{Client, Connection, Response, read_response, request_bytes};
pub use server::{
    SECRET, Server, ServerBuilder, StartFailure, Store, e2e_store, free_port, hookbox_binary, sign,
    sqlite_only,
};
