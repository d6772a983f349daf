//! [`ReadAccess`]: the extractor every read handler takes. With read tokens
//! configured it checks the bearer token; without, every request may read.

use std::future::{Ready, ready};

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::error::ApiError;
use crate::tokens::ReadTokens;

/// The tokens reads require, as app data; `None` leaves reads open.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadGuard(pub(crate) Option<ReadTokens>);

/// Proof that the request may read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadAccess;

impl FromRequest for ReadAccess {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let guard = req.app_data::<web::Data<ReadGuard>>();
        ready(match guard.and_then(|g| g.0.as_ref()) {
            None => Ok(Self),
            Some(tokens) => {
                let header = req
                    .headers()
                    .get(AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                tokens
                    .check(header)
                    .map(|()| Self)
                    .map_err(ApiError::Unauthorized)
            }
        })
    }
}
