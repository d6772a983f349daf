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
}

impl ErrorDetail {
    /// An entry at `loc`.
    #[must_use]
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            loc: loc.iter().map(|s| (*s).to_owned()).collect(),
            msg: msg.into(),
            kind: kind.into(),
        }
    }
}
