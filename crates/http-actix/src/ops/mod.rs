//! What operators and people look at: health probes, `/metrics`, the
//! OpenAPI document and the inbox page.

mod health;
mod openapi;
mod process;
mod scrape;
mod state;
pub(crate) mod ui;

pub(crate) use health::{live, ready};
pub(crate) use openapi::openapi;
pub(crate) use scrape::metrics;
pub(crate) use state::OpsState;
