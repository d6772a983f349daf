//! The webhook body decoder on its own, for fuzzing and for other services
//! that accept the same webhooks: exactly what the handler runs, minus I/O.

use domain::{Message, ValidationErrors};

use super::webhook_body::WebhookBody;
use crate::problem::ErrorDetail;

/// Decodes and validates a webhook body as `POST /webhook` does once the
/// signature has been checked.
///
/// # Errors
/// The 422 detail list the endpoint would answer.
pub fn validate_webhook_body(bytes: &[u8]) -> Result<Message, Vec<ErrorDetail>> {
    let body = WebhookBody::decode(bytes)?;
    Message::parse(body.input()).map_err(|e| body_details(&e))
}

/// The 422 entries for a body's field problems (`loc` `["body", field]`).
#[must_use]
pub fn body_details(errors: &ValidationErrors) -> Vec<ErrorDetail> {
    errors
        .errors()
        .iter()
        .map(|e| {
            ErrorDetail::new(
                &["body", e.field.name()],
                e.problem.to_string(),
                e.problem.code(),
            )
        })
        .collect()
}
