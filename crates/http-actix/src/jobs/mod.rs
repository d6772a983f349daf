//! Work that runs beside the requests: retention's purger.

mod retention;

pub(crate) use retention::Purger;
