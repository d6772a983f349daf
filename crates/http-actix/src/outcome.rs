//! [`WebhookResult`] and [`WebhookOutcome`]: how a webhook request ended. One enum serves the
//! handler that decides it, the `webhook_requests_total{result}` label and
//! the request's log line, so the three cannot disagree.

/// How a webhook request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    /// Stored now.
    Created,
    /// Already stored under this id; nothing changed.
    Duplicate,
    /// Signature missing, malformed or wrong.
    InvalidSignature,
    /// Content type, JSON or field rules refused the body.
    ValidationError,
    /// The body is larger than the limit.
    PayloadTooLarge,
    /// Anything else (storage faults, a broken connection).
    Error,
}

impl WebhookResult {
    /// Every result, in the order they are pre-registered as metric series.
    pub const ALL: [Self; 6] = [
        Self::Created,
        Self::Duplicate,
        Self::InvalidSignature,
        Self::ValidationError,
        Self::PayloadTooLarge,
        Self::Error,
    ];

    /// The `result` label and log field.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Duplicate => "duplicate",
            Self::InvalidSignature => "invalid_signature",
            Self::ValidationError => "validation_error",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Error => "error",
        }
    }

    /// The log line's `dup` field.
    #[must_use]
    pub fn is_duplicate(self) -> bool {
        self == Self::Duplicate
    }

    /// The log line's `msg`.
    #[must_use]
    pub fn log_message(self) -> &'static str {
        match self {
            Self::InvalidSignature => "invalid signature",
            Self::ValidationError => "webhook validation failed",
            _ => "webhook",
        }
    }
}

/// Who signed a message: the scheme its request was verified by (the
/// domain's, so the stored record and the metric label agree).
pub use domain::Source;

/// How a webhook request ended, left in the request's extensions by the
/// handler for the log line and the metrics.
#[derive(Debug, Clone)]
pub(crate) struct WebhookOutcome {
    pub(crate) result: WebhookResult,
    pub(crate) message_id: Option<String>,
    /// The scheme that verified the request, once known.
    pub(crate) source: Option<Source>,
    /// For a notification of many messages: what became of them.
    pub(crate) batch: Option<BatchCounts>,
}

/// What became of the messages of one notification.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BatchCounts {
    pub(crate) stored: usize,
    pub(crate) duplicates: usize,
    pub(crate) skipped: usize,
}
