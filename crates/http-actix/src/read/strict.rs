//! Every read route's query string is checked against the parameters it
//! takes before it is read (see [`crate::params::strict`]).

use actix_web::HttpRequest;

use crate::error::ApiError;

/// Refuses an unknown or repeated query parameter of `route`.
pub(super) fn strict(req: &HttpRequest, route: &str, known: &[&str]) -> Result<(), ApiError> {
    crate::params::strict(req.query_string(), route, known).map_err(ApiError::Validation)
}
