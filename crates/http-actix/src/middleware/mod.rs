//! What wraps every request: the request id, the one JSON log line, the
//! HTTP metrics and the panic guard.

mod observe;

pub use observe::{Observer, REQUEST_ID_HEADER, UNMATCHED_PATH, observe};
