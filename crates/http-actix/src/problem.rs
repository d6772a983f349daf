//! [`ErrorDetail`]: one entry of a 422 body. A leaf: the decoders build
//! these without knowing about HTTP responses.

use serde::Serialize;

/// One entry of a 422 body, in FastAPI's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDetail {
    /// Where: `["body", "from"]`, `["query", "limit"]`, `["body"]`…
    pub loc: Vec<String>,
    /// What is wrong, for people.
    pub msg: String,
    /// What is wrong, for programs.
    #[serde(rename = "type")]
    pub kind: String,
    /// What was sent, where it helps (an unknown parameter's value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

impl ErrorDetail {
    /// An entry at `loc`.
    #[must_use]
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            loc: loc.iter().map(|s| (*s).to_owned()).collect(),
            msg: msg.into(),
            kind: kind.into(),
            input: None,
        }
    }

    /// The same entry, saying what was sent.
    #[must_use]
    pub fn with_input(mut self, input: impl Into<String>) -> Self {
        self.input = Some(input.into());
        self
    }
}
