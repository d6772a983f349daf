//! The request decoders on their own, for fuzzing and for other services
//! that accept the same webhooks: exactly what the handlers run, minus I/O.

use domain::{Message, MessageQuery, ValidationErrors};

use crate::error::ErrorDetail;
use crate::webhook_body::WebhookBody;

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

/// Parses `GET /messages`'s query string as the endpoint does.
///
/// # Errors
/// The 422 detail list the endpoint would answer.
pub fn parse_messages_query(query_string: &str) -> Result<MessageQuery, Vec<ErrorDetail>> {
    crate::messages_query::parse(query_string)
}
