//! What wraps every request: the request id, the one JSON log line, the
//! HTTP metrics and the panic guard (`observe`); CORS (`cors`); `HEAD` as
//! `GET` without a body (`head`).

mod cors;
mod head;
mod observe;

pub use cors::{CorsOrigins, cors};
pub use head::head;
pub use observe::{Observer, REQUEST_ID_HEADER, UNMATCHED_PATH, observe};
