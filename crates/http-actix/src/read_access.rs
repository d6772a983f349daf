//! Read tokens: with `API_TOKENS` set, reads need `Authorization: Bearer
//! <token>`. Tokens are kept only as SHA-256 digests and compared in
//! constant time, each against every configured one, so neither the time
//! taken nor a log line says which part of a guess was right.

use std::future::{Ready, ready};

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::routes::AppState;

/// The accepted tokens, as digests; `Debug` shows only how many.
#[derive(Clone)]
pub struct ReadTokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ReadTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadTokens")
            .field("count", &self.digests.len())
            .finish()
    }
}

impl ReadTokens {
    /// Accepts each of `tokens` (several, so they can be rotated).
    #[must_use]
    pub fn new(tokens: impl IntoIterator<Item = String>) -> Self {
        Self {
            digests: tokens.into_iter().map(|t| digest(t.as_bytes())).collect(),
        }
    }

    /// Whether `presented` is one of the tokens, in constant time.
    #[must_use]
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = digest(presented.as_bytes());
        let mut found = subtle::Choice::from(0);
        for d in &self.digests {
            found |= d.ct_eq(&presented);
        }
        found.into()
    }

    /// How many tokens are accepted.
    #[must_use]
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Whether no token is accepted (never, once configured).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Why a read was refused; the 401's detail. Never holds the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization: Bearer …` header.
    Missing,
    /// A bearer token that is not one of `API_TOKENS`.
    Invalid,
}

/// Proof that the request may read: an extractor on every read handler.
/// With no tokens configured every request may.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadAccess;

impl FromRequest for ReadAccess {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tokens = req
            .app_data::<web::Data<AppState>>()
            .and_then(|s| s.read_tokens.clone());
        ready(match tokens {
            None => Ok(Self),
            Some(tokens) => check(req, &tokens).map(|()| Self),
        })
    }
}

fn check(req: &HttpRequest, tokens: &ReadTokens) -> Result<(), ApiError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let Some(header) = header else {
        return Err(ApiError::Unauthorized(Refusal::Missing));
    };
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(Refusal::Missing));
    }
    if tokens.accepts(token.trim()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(Refusal::Invalid))
    }
}
