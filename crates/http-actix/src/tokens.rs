//! Read tokens (a leaf, no actix): with `API_TOKENS` set, reads need `Authorization: Bearer
//! <token>`. Tokens are kept only as SHA-256 digests and compared in
//! constant time, each against every configured one, so neither the time
//! taken nor a log line says which part of a guess was right.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
    /// Accepts the tokens of both sets (admin tokens may also read).
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        let mut digests = self.digests.clone();
        digests.extend_from_slice(&other.digests);
        Self { digests }
    }

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

/// A short, stable name for a token in logs: the first 12 hex digits of
/// its SHA-256. It tells two tokens apart without revealing either.
#[must_use]
pub fn fingerprint(token: &str) -> String {
    digest(token.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The token of an `Authorization: Bearer <token>` header value.
#[must_use]
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let header = authorization.map(str::trim)?;
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
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

impl ReadTokens {
    /// Checks an `Authorization` header's value (`None` when absent):
    /// `Bearer <token>` with one of the accepted tokens.
    ///
    /// # Errors
    /// [`Refusal::Missing`] without a bearer token, [`Refusal::Invalid`]
    /// for a token that is not accepted.
    pub fn check(&self, authorization: Option<&str>) -> Result<(), Refusal> {
        let Some(token) = bearer(authorization) else {
            return Err(Refusal::Missing);
        };
        if self.accepts(token) {
            Ok(())
        } else {
            Err(Refusal::Invalid)
        }
    }
}
