//! HMAC-SHA256 webhook signatures: the secrets that sign and the check.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

type HmacSha256 = Hmac<Sha256>;

/// Length of an HMAC-SHA256 tag in bytes.
const TAG_LEN: usize = 32;

/// A shared signing secret. Its `Debug` and `Display` print `[redacted]`, so
/// it cannot leak through a log line or an error message by accident.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

/// The secret was empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the webhook secret must not be empty")]
pub struct EmptySecret;

impl WebhookSecret {
    /// # Errors
    /// [`EmptySecret`] for an empty key: HMAC would accept it, but anyone
    /// could then sign.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, EmptySecret> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(EmptySecret);
        }
        Ok(Self(secret))
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_LEN] {
        hmac_tag(&self.0, &[body])
    }

    /// The key Standard Webhooks signs with: for a `whsec_…` secret, the
    /// base64 after the prefix, decoded; for any other secret (or one whose
    /// rest is not base64), the secret's bytes as they are.
    pub(crate) fn standard_webhooks_key(&self) -> Vec<u8> {
        use base64::Engine as _;
        self.0
            .strip_prefix(b"whsec_")
            .and_then(|rest| base64::engine::general_purpose::STANDARD.decode(rest).ok())
            .filter(|key| !key.is_empty())
            .unwrap_or_else(|| self.0.clone())
    }

    /// The lower-case hex signature of `body`, as a sender puts it in
    /// `X-Signature`.
    #[must_use]
    pub fn sign(&self, body: &[u8]) -> String {
        let mut out = String::with_capacity(TAG_LEN * 2);
        for b in self.tag(body) {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// HMAC-SHA256 of the concatenated `parts` under `key`.
pub(crate) fn hmac_tag(key: &[u8], parts: &[&[u8]]) -> [u8; TAG_LEN] {
    // HMAC takes keys of any length; an error here is impossible.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which secret verified a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretSlot {
    /// The current secret.
    Primary,
    /// One of the older secrets still accepted during a rotation.
    Previous,
}

impl SecretSlot {
    /// A stable label (`primary` or `previous`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Previous => "previous",
        }
    }
}

/// Why a signature was refused. Callers should answer every variant the
/// same way; the distinction is for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No signature, or an empty one.
    #[error("signature missing")]
    Missing,
    /// Not 64 hex digits (after an optional `sha256=` prefix).
    #[error("signature malformed")]
    Malformed,
    /// Well formed, but made with another key or over other bytes.
    #[error("signature mismatch")]
    Mismatch,
}

/// The secrets a service accepts: one primary and, during a rotation, any
/// number of previous ones.
#[derive(Debug, Clone)]
pub struct SigningKeys {
    primary: WebhookSecret,
    previous: Vec<WebhookSecret>,
}

impl SigningKeys {
    /// Keys that accept only `primary`.
    #[must_use]
    pub fn new(primary: WebhookSecret) -> Self {
        Self {
            primary,
            previous: Vec::new(),
        }
    }

    /// Also accepts each of `previous`, so senders can move to the new
    /// secret without downtime.
    #[must_use]
    pub fn with_previous(mut self, previous: Vec<WebhookSecret>) -> Self {
        self.previous = previous;
        self
    }

    /// The secret new signatures are made with.
    #[must_use]
    pub fn primary(&self) -> &WebhookSecret {
        &self.primary
    }

    /// How many older secrets are still accepted.
    #[must_use]
    pub fn previous_count(&self) -> usize {
        self.previous.len()
    }

    /// Every accepted secret with its slot, the primary first.
    pub(crate) fn all(&self) -> impl Iterator<Item = (SecretSlot, &WebhookSecret)> {
        std::iter::once((SecretSlot::Primary, &self.primary))
            .chain(self.previous.iter().map(|s| (SecretSlot::Previous, s)))
    }

    /// Checks an `X-Signature` header value against the raw body.
    ///
    /// The value is 64 hex digits, either case, optionally prefixed
    /// `sha256=`, with surrounding white space ignored. Every accepted secret
    /// is tried and compared in constant time, so the time taken says nothing
    /// about how close a guess was nor which secret matched.
    ///
    /// # Errors
    /// [`SignatureError`] when the header is absent, malformed or matches
    /// no accepted secret.
    pub fn verify(&self, body: &[u8], header: Option<&[u8]>) -> Result<SecretSlot, SignatureError> {
        let given = parse_header(header)?;
        let primary = self.primary.tag(body).ct_eq(&given);
        let mut previous = Choice::from(0);
        for secret in &self.previous {
            previous |= secret.tag(body).ct_eq(&given);
        }
        if bool::from(primary) {
            Ok(SecretSlot::Primary)
        } else if bool::from(previous) {
            Ok(SecretSlot::Previous)
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

impl SigningKeys {
    /// Checks Meta's `X-Hub-Signature-256` header value against the raw
    /// body. Meta always writes the `sha256=` prefix, so, unlike
    /// [`Self::verify`], a bare hex digest is [`SignatureError::Malformed`]:
    /// without the prefix, the header is not one of Meta's.
    ///
    /// # Errors
    /// [`SignatureError`] when the header is absent, lacks the prefix, is
    /// malformed or matches no accepted secret.
    pub fn verify_meta(
        &self,
        body: &[u8],
        header: Option<&[u8]>,
    ) -> Result<SecretSlot, SignatureError> {
        match header.map(<[u8]>::trim_ascii).filter(|h| !h.is_empty()) {
            None => Err(SignatureError::Missing),
            Some(h)
                if !h
                    .get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"sha256=")) =>
            {
                Err(SignatureError::Malformed)
            }
            Some(h) => self.verify(body, Some(h)),
        }
    }
}

fn parse_header(header: Option<&[u8]>) -> Result<[u8; TAG_LEN], SignatureError> {
    let raw = header.map(<[u8]>::trim_ascii).unwrap_or_default();
    if raw.is_empty() {
        return Err(SignatureError::Missing);
    }
    let hex = match raw.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case(b"sha256=") => &raw[7..],
        _ => raw,
    };
    if hex.len() != TAG_LEN * 2 {
        return Err(SignatureError::Malformed);
    }
    let mut tag = [0_u8; TAG_LEN];
    for (out, pair) in tag.iter_mut().zip(hex.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (nibble(pair[0]), nibble(pair[1])) else {
            return Err(SignatureError::Malformed);
        };
        *out = (hi << 4) | lo;
    }
    Ok(tag)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"message_id":"m1","from":"+919876543210","to":"+14155550100","ts":"2025-01-15T10:00:00Z","text":"Hello"}"#;

    fn keys() -> SigningKeys {
        SigningKeys::new(WebhookSecret::new("testsecret").expect("non-empty"))
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        let secret = WebhookSecret::new("Jefe").expect("non-empty");
        assert_eq!(
            secret.sign(b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn meta_requires_the_prefix() {
        let k = keys();
        let hex = k.primary().sign(BODY);
        let with = format!("sha256={hex}");
        assert_eq!(
            k.verify_meta(BODY, Some(with.as_bytes())),
            Ok(SecretSlot::Primary)
        );
        let upper = format!("SHA256={hex}");
        assert!(k.verify_meta(BODY, Some(upper.as_bytes())).is_ok());
        assert_eq!(
            k.verify_meta(BODY, Some(hex.as_bytes())),
            Err(SignatureError::Malformed)
        );
        assert_eq!(k.verify_meta(BODY, None), Err(SignatureError::Missing));
        assert_eq!(
            k.verify_meta(BODY, Some(b"  ")),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            k.verify_meta(b"other", Some(with.as_bytes())),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn verify_table() {
        use SignatureError::*;
        let good = keys().primary().sign(BODY);
        let other = WebhookSecret::new("other").expect("non-empty").sign(BODY);
        let s = |v: &str| Some(v.to_owned());
        let cases: Vec<(&str, Option<String>, Result<SecretSlot, SignatureError>)> = vec![
            ("valid lower-case", s(&good), Ok(SecretSlot::Primary)),
            (
                "valid upper-case",
                s(&good.to_uppercase()),
                Ok(SecretSlot::Primary),
            ),
            (
                "prefixed",
                s(&format!("sha256={good}")),
                Ok(SecretSlot::Primary),
            ),
            (
                "prefix upper",
                s(&format!("SHA256={good}")),
                Ok(SecretSlot::Primary),
            ),
            ("padded", s(&format!("  {good} ")), Ok(SecretSlot::Primary)),
            ("absent", None, Err(Missing)),
            ("empty", s(""), Err(Missing)),
            ("blank", s("   "), Err(Missing)),
            ("assignment's 123", s("123"), Err(Malformed)),
            ("truncated", s(&good[..63]), Err(Malformed)),
            ("too long", s(&format!("{good}0")), Err(Malformed)),
            ("not hex", s(&format!("{}zz", &good[..62])), Err(Malformed)),
            ("prefix only", s("sha256="), Err(Malformed)),
            ("other prefix", s(&format!("sha1={good}")), Err(Malformed)),
            ("wrong key", s(&other), Err(Mismatch)),
            ("one bit off", s(&flip_last(&good)), Err(Mismatch)),
        ];
        for (name, header, expected) in cases {
            assert_eq!(
                keys().verify(BODY, header.as_deref().map(str::as_bytes)),
                expected,
                "{name}"
            );
        }
    }

    fn flip_last(hex: &str) -> String {
        let mut s = hex.to_owned();
        let last = s.pop().expect("non-empty");
        s.push(if last == '0' { '1' } else { '0' });
        s
    }

    #[test]
    fn signature_covers_exact_bytes() {
        let sig = keys().primary().sign(BODY);
        let mut spaced = BODY.to_vec();
        spaced.push(b' ');
        assert_eq!(
            keys().verify(&spaced, Some(sig.as_bytes())),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn previous_secrets_verify_during_rotation() {
        let old = WebhookSecret::new("old").expect("non-empty");
        let keys = keys().with_previous(vec![old.clone()]);
        let sig = old.sign(BODY);
        assert_eq!(
            keys.verify(BODY, Some(sig.as_bytes())),
            Ok(SecretSlot::Previous)
        );
        let sig = keys.primary().sign(BODY);
        assert_eq!(
            keys.verify(BODY, Some(sig.as_bytes())),
            Ok(SecretSlot::Primary)
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = WebhookSecret::new("hunter2").expect("non-empty");
        assert!(!format!("{s} {s:?} {:?}", SigningKeys::new(s.clone())).contains("hunter2"));
    }

    #[test]
    fn empty_secret_is_refused() {
        assert_eq!(WebhookSecret::new("").map(|_| ()), Err(EmptySecret));
    }
}
