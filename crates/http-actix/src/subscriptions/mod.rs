//! Subscriptions: `POST/GET /subscriptions`, `GET/PATCH/DELETE
//! /subscriptions/{id}`, the dead-letter list, retry and replay. Every
//! route takes [`AdminAccess`](crate::guard::AdminAccess) first, before it
//! reads a body: subscriptions make hookbox send requests to any URL they
//! name (see the README on SSRF), so only admin tokens manage them.

mod body;
mod dto;
mod handlers;
mod state;

pub(crate) use handlers::{
    create, dead_letters, delete, list, one, patch, replay, retry_dead_letter,
};
pub(crate) use state::SubscriptionsState;
