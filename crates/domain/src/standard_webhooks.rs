//! Standard Webhooks (and Svix, its origin): the signed content is
//! `{webhook-id}.{webhook-timestamp}.{raw body}`, the header a space-separated
//! list of `v1,<base64 HMAC-SHA256>`, and the timestamp must be recent, so a
//! captured request cannot be replayed later.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::{Choice, ConstantTimeEq};

use crate::signature::{SecretSlot, SigningKeys, hmac_tag};

/// The default tolerance between `webhook-timestamp` and the server's clock.
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

/// The three headers, as received (`webhook-*` or their `svix-*` aliases).
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardHeaders<'a> {
    /// `webhook-id`.
    pub id: Option<&'a [u8]>,
    /// `webhook-timestamp`: Unix seconds.
    pub timestamp: Option<&'a [u8]>,
    /// `webhook-signature`.
    pub signature: Option<&'a [u8]>,
}

/// Why a Standard Webhooks signature was refused. Every variant is a 401;
/// the distinction is for the detail, logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StandardSignatureError {
    /// A required header is absent or empty.
    #[error("{0} header missing")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not a whole number of seconds.
    #[error("webhook-timestamp is not Unix seconds")]
    MalformedTimestamp,
    /// The timestamp is further than the tolerance from the server's clock.
    #[error("webhook-timestamp is outside the tolerance of {tolerance} s")]
    OutsideTolerance {
        /// The tolerance, in seconds.
        tolerance: u64,
    },
    /// No entry is a well-formed `v1,<base64 of 32 bytes>`.
    #[error("signature malformed")]
    Malformed,
    /// Well-formed entries, none made with an accepted key over this content.
    #[error("signature mismatch")]
    Mismatch,
}

/// One `v1` entry's tag, or why the entry cannot be one.
fn parse_entry(entry: &[u8]) -> Option<[u8; 32]> {
    let tag = entry.strip_prefix(b"v1,")?;
    let bytes = STANDARD.decode(tag).ok()?;
    bytes.try_into().ok()
}

/// Parses the signature header into its `v1` tags. Entries of other
/// versions are skipped (a sender may add new schemes); `v1,` with nothing,
/// truncated or padded tags, and bad base64 never match.
///
/// # Errors
/// [`StandardSignatureError::MissingHeader`] for an empty header,
/// [`StandardSignatureError::Malformed`] when no entry is a usable `v1`.
pub fn parse_signatures(header: &[u8]) -> Result<Vec<[u8; 32]>, StandardSignatureError> {
    let header = header.trim_ascii();
    if header.is_empty() {
        return Err(StandardSignatureError::MissingHeader("webhook-signature"));
    }
    let tags: Vec<[u8; 32]> = header
        .split(|b| *b == b' ')
        .filter(|e| !e.is_empty())
        .filter_map(parse_entry)
        .collect();
    if tags.is_empty() {
        Err(StandardSignatureError::Malformed)
    } else {
        Ok(tags)
    }
}

fn nonempty(h: Option<&[u8]>) -> Option<&[u8]> {
    h.map(<[u8]>::trim_ascii).filter(|h| !h.is_empty())
}

fn parse_timestamp(raw: &[u8]) -> Result<i64, StandardSignatureError> {
    let raw = raw.trim_ascii();
    if raw.is_empty() || raw.len() > 18 || !raw.iter().all(u8::is_ascii_digit) {
        return Err(StandardSignatureError::MalformedTimestamp);
    }
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(StandardSignatureError::MalformedTimestamp)
}

impl SigningKeys {
    /// Checks a Standard Webhooks request: every header present, the
    /// timestamp within `tolerance_seconds` of `now_unix` (either way), and
    /// one `v1` entry matching `{id}.{timestamp}.{body}` under an accepted
    /// key (see [`crate::WebhookSecret`] for how a `whsec_` secret becomes
    /// the key). Every key and entry is compared in constant time.
    ///
    /// # Errors
    /// [`StandardSignatureError`] naming what was wrong.
    pub fn verify_standard(
        &self,
        headers: StandardHeaders<'_>,
        body: &[u8],
        now_unix: i64,
        tolerance_seconds: u64,
    ) -> Result<SecretSlot, StandardSignatureError> {
        let id = nonempty(headers.id).ok_or(StandardSignatureError::MissingHeader("webhook-id"))?;
        let raw_ts = nonempty(headers.timestamp)
            .ok_or(StandardSignatureError::MissingHeader("webhook-timestamp"))?;
        let signature = nonempty(headers.signature)
            .ok_or(StandardSignatureError::MissingHeader("webhook-signature"))?;
        let tags = parse_signatures(signature)?;
        let ts = parse_timestamp(raw_ts)?;
        if now_unix.abs_diff(ts) > tolerance_seconds {
            return Err(StandardSignatureError::OutsideTolerance {
                tolerance: tolerance_seconds,
            });
        }
        let mut found: Option<SecretSlot> = None;
        for (slot, secret) in self.all() {
            let key = secret.standard_webhooks_key();
            let expected = hmac_tag(&key, &[id, b".", raw_ts, b".", body]);
            let mut matched = Choice::from(0);
            for tag in &tags {
                matched |= expected.ct_eq(tag);
            }
            if bool::from(matched) && found.is_none() {
                found = Some(slot);
            }
        }
        found.ok_or(StandardSignatureError::Mismatch)
    }

    /// The `webhook-signature` value a sender puts on `body` with the
    /// primary secret: `v1,<base64>`.
    #[must_use]
    pub fn sign_standard(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = self.primary().standard_webhooks_key();
        let ts = timestamp.to_string();
        let tag = hmac_tag(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
        format!("v1,{}", STANDARD.encode(tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WebhookSecret;

    fn keys(secret: &str) -> SigningKeys {
        SigningKeys::new(WebhookSecret::new(secret).expect("non-empty"))
    }

    // The specification's reference libraries (Python, JavaScript, PHP, …)
    // all test this vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &[u8] = b"msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers<'a>(id: &'a [u8], ts: &'a [u8], sig: &'a [u8]) -> StandardHeaders<'a> {
        StandardHeaders {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn reference_vector_signs_and_verifies() {
        let k = keys(SECRET);
        assert_eq!(
            k.sign_standard("msg_p5jXN8AQM9LWM0D4loKWxJek", TS, BODY),
            SIG
        );
        let ts = TS.to_string();
        assert_eq!(
            k.verify_standard(headers(ID, ts.as_bytes(), SIG.as_bytes()), BODY, TS, 300),
            Ok(SecretSlot::Primary)
        );
        // The reference libraries' multi-signature test: one of several.
        let many =
            format!("v1,bm9wZQ== v2,abc {SIG} v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q=");
        assert!(
            k.verify_standard(headers(ID, ts.as_bytes(), many.as_bytes()), BODY, TS, 300)
                .is_ok()
        );
    }

    #[test]
    fn refusals() {
        let k = keys(SECRET);
        let ts = TS.to_string();
        let check = |id: &[u8], t: &[u8], sig: &[u8], body: &[u8], now: i64| {
            k.verify_standard(headers(id, t, sig), body, now, 300)
        };
        let t = ts.as_bytes();
        let sig = SIG.as_bytes();
        use StandardSignatureError as E;
        assert_eq!(
            check(ID, t, sig, b"{\"test\": 2432232315}", TS),
            Err(E::Mismatch),
            "tampered body"
        );
        assert_eq!(
            check(b"msg_other", t, sig, BODY, TS),
            Err(E::Mismatch),
            "wrong id"
        );
        assert_eq!(
            check(ID, t, sig, BODY, TS + 301),
            Err(E::OutsideTolerance { tolerance: 300 }),
            "stale"
        );
        assert_eq!(
            check(ID, t, sig, BODY, TS - 301),
            Err(E::OutsideTolerance { tolerance: 300 }),
            "future"
        );
        assert!(check(ID, t, sig, BODY, TS + 300).is_ok(), "at the edge");
        assert_eq!(
            check(ID, t, b"v1,", BODY, TS),
            Err(E::Malformed),
            "empty v1"
        );
        assert_eq!(
            check(ID, t, &sig[..sig.len() - 4], BODY, TS),
            Err(E::Malformed),
            "truncated"
        );
        assert_eq!(
            check(
                ID,
                t,
                b"v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                BODY,
                TS
            ),
            Err(E::Malformed),
            "unknown version"
        );
        assert_eq!(
            check(ID, b"16142653x0", sig, BODY, TS),
            Err(E::MalformedTimestamp)
        );
        assert_eq!(
            check(ID, b"-1614265330", sig, BODY, TS),
            Err(E::MalformedTimestamp)
        );
        assert_eq!(
            k.verify_standard(
                StandardHeaders {
                    id: None,
                    ..headers(ID, t, sig)
                },
                BODY,
                TS,
                300
            ),
            Err(E::MissingHeader("webhook-id"))
        );
        assert_eq!(
            check(ID, t, b"  ", BODY, TS),
            Err(E::MissingHeader("webhook-signature"))
        );
    }

    #[test]
    fn keys_from_plain_secrets_and_rotation() {
        let plain = keys("plain-text-key");
        let sig = plain.sign_standard("id1", 10, b"{}");
        assert!(
            plain
                .verify_standard(headers(b"id1", b"10", sig.as_bytes()), b"{}", 10, 5)
                .is_ok()
        );
        // The key is the secret's bytes: the same HMAC the X-Signature uses.
        let rotated = SigningKeys::new(WebhookSecret::new("new").expect("non-empty"))
            .with_previous(vec![
                WebhookSecret::new("plain-text-key").expect("non-empty"),
            ]);
        assert_eq!(
            rotated.verify_standard(headers(b"id1", b"10", sig.as_bytes()), b"{}", 10, 5),
            Ok(SecretSlot::Previous)
        );
        // `whsec_` with a rest that is not base64: the whole secret is the key.
        let odd = keys("whsec_not base64!");
        let sig = odd.sign_standard("id1", 10, b"{}");
        assert!(
            odd.verify_standard(headers(b"id1", b"10", sig.as_bytes()), b"{}", 10, 5)
                .is_ok()
        );
    }
}
