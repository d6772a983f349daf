//! Decoding a webhook body into the domain's [`MessageInput`], reporting
//! what the JSON holds (missing, null, string, other) and leaving the rules
//! to the domain.

use std::borrow::Cow;
use std::fmt;

use domain::{Field, MessageInput, RawField};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::problem::ErrorDetail;

/// One field's decoded value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum Slot<'a> {
    #[default]
    Missing,
    Null,
    Str(Cow<'a, str>),
    Other,
}

impl Slot<'_> {
    fn raw(&self) -> RawField<'_> {
        match self {
            Self::Missing => RawField::Missing,
            Self::Null => RawField::Null,
            Self::Str(s) => RawField::Str(s),
            Self::Other => RawField::NotAString,
        }
    }
}

/// A decoded body: the known fields, and any of them given twice.
#[derive(Debug, Default)]
pub(crate) struct WebhookBody<'a> {
    slots: [Slot<'a>; Field::ALL.len()],
    duplicates: Vec<Field>,
    not_an_object: bool,
}

impl<'a> WebhookBody<'a> {
    /// Decodes `bytes` as one JSON value.
    ///
    /// # Errors
    /// A 422 detail list when the bytes are not JSON, not an object, or
    /// name a known field twice.
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, Vec<ErrorDetail>> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(vec![ErrorDetail::new(
                &["body"],
                "JSON decode error: the body is empty",
                "json_invalid",
            )]);
        }
        if nesting_depth(bytes) > MAX_DEPTH {
            return Err(vec![ErrorDetail::new(
                &["body"],
                format!("JSON decode error: nesting deeper than {MAX_DEPTH} levels"),
                "json_too_deep",
            )]);
        }
        let body: Self = serde_json::from_slice(bytes).map_err(|e| {
            vec![ErrorDetail::new(
                &["body"],
                format!("JSON decode error: {e}"),
                "json_invalid",
            )]
        })?;
        if body.not_an_object {
            return Err(vec![ErrorDetail::new(
                &["body"],
                "Input should be a valid dictionary or object to extract fields from",
                "model_attributes_type",
            )]);
        }
        if !body.duplicates.is_empty() {
            return Err(body
                .duplicates
                .iter()
                .map(|f| {
                    ErrorDetail::new(
                        &["body", f.name()],
                        "Duplicate key in JSON object",
                        "duplicate_key",
                    )
                })
                .collect());
        }
        Ok(body)
    }

    /// The fields, for [`domain::Message::parse`].
    pub(crate) fn input(&self) -> MessageInput<'_> {
        let [id, from, to, ts, text] = &self.slots;
        MessageInput {
            message_id: id.raw(),
            from: from.raw(),
            to: to.raw(),
            ts: ts.raw(),
            text: text.raw(),
        }
    }

    /// The `message_id`, when the body has one as a string (for logs).
    pub(crate) fn message_id(&self) -> Option<&str> {
        match &self.slots[0] {
            Slot::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The deepest nesting of arrays and objects a body may have. A message
/// needs 1; the margin leaves room for senders' extra fields.
pub(crate) const MAX_DEPTH: usize = 32;

/// The deepest nesting in `bytes`, brackets inside strings not counted. A
/// linear scan, so a hostile body costs no recursion and little time.
fn nesting_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0_usize, 0_usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

impl<'de> de::Deserialize<'de> for WebhookBody<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = WebhookBody<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut body = WebhookBody::default();
        while let Some(key) = map.next_key_seed(StrSeed)? {
            match Field::from_name(&key) {
                Some(field) => {
                    let slot = &mut body.slots[field.index()];
                    let value = map.next_value_seed(SlotSeed)?;
                    if *slot == Slot::Missing {
                        *slot = value;
                    } else if !body.duplicates.contains(&field) {
                        body.duplicates.push(field);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(body)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_an_object())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(not_an_object())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(not_an_object())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(not_an_object())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(not_an_object())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(not_an_object())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(not_an_object())
    }
}

fn not_an_object<'a>() -> WebhookBody<'a> {
    WebhookBody {
        not_an_object: true,
        ..WebhookBody::default()
    }
}

/// A string that borrows from the input when it has no escapes.
struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Any JSON value, classified.
struct SlotSeed;

impl<'de> DeserializeSeed<'de> for SlotSeed {
    type Value = Slot<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(SlotVisitor)
    }
}

struct SlotVisitor;

impl<'de> Visitor<'de> for SlotVisitor {
    type Value = Slot<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Slot::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Slot::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Slot::Str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Slot::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Slot::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Slot::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Slot::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Slot::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Slot::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Slot::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Slot::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Decoded = Result<Vec<RawField<'static>>, Vec<(Vec<String>, String)>>;

    fn kinds(body: &str) -> Decoded {
        match WebhookBody::decode(body.as_bytes()) {
            Ok(b) => {
                let i = b.input();
                Ok([i.message_id, i.from, i.to, i.ts, i.text]
                    .into_iter()
                    .map(|f| match f {
                        RawField::Missing => RawField::Missing,
                        RawField::Null => RawField::Null,
                        RawField::Str(s) => RawField::Str(String::from(s).leak()),
                        _ => RawField::NotAString,
                    })
                    .collect())
            }
            Err(details) => Err(details.into_iter().map(|d| (d.loc, d.kind)).collect()),
        }
    }

    fn err(loc: &[&str], kind: &str) -> (Vec<String>, String) {
        (
            loc.iter().map(|s| (*s).to_owned()).collect(),
            kind.to_owned(),
        )
    }

    #[test]
    fn decodes_what_json_holds() {
        use RawField::{Missing, NotAString, Null, Str};
        let cases: Vec<(&str, Decoded)> = vec![
            (
                r#"{"message_id":"m1","from":"+1","to":"+2","ts":"t","text":"hi"}"#,
                Ok(vec![Str("m1"), Str("+1"), Str("+2"), Str("t"), Str("hi")]),
            ),
            (
                r#"{}"#,
                Ok(vec![Missing, Missing, Missing, Missing, Missing]),
            ),
            (
                r#"{"message_id":1,"from":null,"to":[1,{"a":[]}],"ts":{"x":1},"text":true,"extra":{"deep":[1,2]}}"#,
                Ok(vec![NotAString, Null, NotAString, NotAString, NotAString]),
            ),
            (
                r#"{"message_id":"a\"b\u00e9"}"#,
                Ok(vec![Str("a\"bé"), Missing, Missing, Missing, Missing]),
            ),
            ("", Err(vec![err(&["body"], "json_invalid")])),
            ("  \n", Err(vec![err(&["body"], "json_invalid")])),
            ("{", Err(vec![err(&["body"], "json_invalid")])),
            ("{} x", Err(vec![err(&["body"], "json_invalid")])),
            ("not json", Err(vec![err(&["body"], "json_invalid")])),
            (
                r#"{"message_id":"\ud800"}"#,
                Err(vec![err(&["body"], "json_invalid")]),
            ),
            ("[1,2]", Err(vec![err(&["body"], "model_attributes_type")])),
            (
                "\"str\"",
                Err(vec![err(&["body"], "model_attributes_type")]),
            ),
            ("42", Err(vec![err(&["body"], "model_attributes_type")])),
            ("null", Err(vec![err(&["body"], "model_attributes_type")])),
            (
                r#"{"from":"+1","from":"+2","to":"+3","to":"+4","x":1,"x":2}"#,
                Err(vec![
                    err(&["body", "from"], "duplicate_key"),
                    err(&["body", "to"], "duplicate_key"),
                ]),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(kinds(body), expected, "{body:?}");
        }
    }

    #[test]
    fn invalid_utf8_and_deep_nesting_are_422_not_panics() {
        assert!(WebhookBody::decode(b"{\"message_id\":\"\xff\"}").is_err());
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let nested = |n: usize| format!("{{\"x\":{}1{}}}", open.repeat(n), close.repeat(n));
            assert!(WebhookBody::decode(nested(MAX_DEPTH - 1).as_bytes()).is_ok());
            for n in [MAX_DEPTH, 100_000] {
                let err = WebhookBody::decode(nested(n).as_bytes()).expect_err("too deep");
                assert_eq!(err[0].kind, "json_too_deep");
            }
        }
        // Brackets inside strings do not count.
        let quoted = format!(r#"{{"text":"{}\"{}"}}"#, "[".repeat(100), "{".repeat(100));
        assert!(WebhookBody::decode(quoted.as_bytes()).is_ok());
    }
}

#[cfg(test)]
mod properties {
    use domain::Message;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// What the handler does with a signed body, minus the store.
    fn check(bytes: &[u8]) -> Result<Message, Vec<crate::problem::ErrorDetail>> {
        super::super::decode::validate_webhook_body(bytes)
    }

    fn to_json(m: &Message) -> Vec<u8> {
        let mut v = json!({"message_id": m.id().as_str(), "from": m.from().as_str(), "to": m.to().as_str(), "ts": m.ts().as_str()});
        if let Some(t) = m.text() {
            v["text"] = Value::from(t.as_str());
        }
        serde_json::to_vec(&v).expect("serialize")
    }

    fn assert_consistent(bytes: &[u8]) {
        match check(bytes) {
            Ok(m) => assert_eq!(check(&to_json(&m)).expect("round trip"), m),
            Err(details) => {
                assert!(!details.is_empty());
                for d in details {
                    assert_eq!(d.loc[0], "body");
                    assert!(!d.msg.is_empty() && !d.kind.is_empty());
                }
            }
        }
    }

    /// Values that are sometimes valid, often nearly so.
    fn field() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            "\\+[0-9]{0,17}".prop_map(Value::from),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,10})?(Z|z|\\+05:30)?"
                .prop_map(Value::from),
            Just(json!([1, {"a": null}])),
        ]
    }

    fn object() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            (
                prop_oneof![
                    Just("message_id"),
                    Just("from"),
                    Just("to"),
                    Just("ts"),
                    Just("text"),
                    Just("extra")
                ],
                field(),
            ),
            0..8,
        )
        .prop_map(|pairs| {
            // Written by hand so duplicate keys survive.
            let fields: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{v}", Value::from(*k)))
                .collect();
            format!("{{{}}}", fields.join(",")).into_bytes()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn any_bytes_validate_or_are_refused_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            assert_consistent(&bytes);
        }

        #[test]
        fn any_object_validates_and_round_trips_or_is_refused_cleanly(bytes in object()) {
            assert_consistent(&bytes);
        }

        #[test]
        fn valid_messages_always_round_trip(
            id in "\\PC{1,20}",
            from in "\\+[0-9]{1,15}",
            to in "\\+[0-9]{1,15}",
            (y, mo, d, h, mi, s) in (0_u32..10_000, 1_u32..13, 1_u32..29, 0_u32..24, 0_u32..60, 0_u32..60),
            text in proptest::option::of("\\PC{0,64}"),
        ) {
            let ts = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
            let mut v = json!({"message_id": id, "from": from, "to": to, "ts": ts});
            if let Some(t) = text { v["text"] = Value::from(t); }
            let bytes = serde_json::to_vec(&v).expect("json");
            let m = check(&bytes).expect("valid by construction");
            prop_assert_eq!(check(&to_json(&m)).expect("round trip"), m);
        }
    }
}
