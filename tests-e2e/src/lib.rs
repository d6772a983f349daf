#![doc = include_str!("../README.md")]

mod client;
mod server;

pub use client::{Client, Response, read_response};
pub use server::{SECRET, Server, ServerBuilder, StartFailure, free_port, hookbox_binary, sign};
