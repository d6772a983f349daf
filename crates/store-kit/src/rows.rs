//! Row mapping: a stored row becomes a [`Message`] through the same rules a
//! webhook passes ([`Message::parse`]), so a corrupt row is a
//! [`StoreError`], never an invalid message.

use domain::{Message, MessageInput, RawField, StoreError};

/// The stored columns of one message.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    /// `message_id`.
    pub id: &'a str,
    /// `from`, as stored (`+` and digits).
    pub from: &'a str,
    /// `to`, as stored.
    pub to: &'a str,
    /// `ts`, as received.
    pub ts: &'a str,
    /// `text`, when the message has one.
    pub text: Option<&'a str>,
}

/// The message a row holds.
///
/// # Errors
/// [`StoreError::Internal`] naming the fields that break the rules (the
/// values are not shown: they are personal data).
pub fn message(columns: Columns<'_>) -> Result<Message, StoreError> {
    Message::parse(MessageInput {
        message_id: RawField::Str(columns.id),
        from: RawField::Str(columns.from),
        to: RawField::Str(columns.to),
        ts: RawField::Str(columns.ts),
        text: columns.text.map_or(RawField::Null, RawField::Str),
    })
    .map_err(|errors| {
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.name()).collect();
        StoreError::Internal(format!("stored row has an invalid {}", fields.join(", ")).into())
    })
}

#[cfg(test)]
mod tests {
    use super::{Columns, message};

    #[test]
    fn a_valid_row_is_a_message_and_a_corrupt_one_an_error() {
        let row = Columns {
            id: "m1",
            from: "+911",
            to: "+14155550100",
            ts: "2025-01-15T10:00:00.5Z",
            text: None,
        };
        let m = message(row).expect("valid");
        assert_eq!(
            (m.id().as_str(), m.ts().as_str()),
            ("m1", "2025-01-15T10:00:00.5Z")
        );
        let e = message(Columns {
            from: "911",
            ts: "never",
            ..row
        })
        .expect_err("corrupt");
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("stored row has an invalid from, ts"));
    }
}
