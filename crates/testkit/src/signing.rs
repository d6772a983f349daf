//! The secret test servers start with, and signing under it.

use domain::WebhookSecret;

/// The secret every test server is started with.
pub const SECRET: &str = "e2e-secret-7f3a9c";

/// The `X-Signature` value for `body` under [`SECRET`].
///
/// # Panics
/// Never: the secret is a non-empty constant.
#[must_use]
pub fn sign(body: &[u8]) -> String {
    WebhookSecret::new(SECRET)
        .map(|s| s.sign(body))
        .unwrap_or_else(|_| unreachable!("SECRET is not empty"))
}
