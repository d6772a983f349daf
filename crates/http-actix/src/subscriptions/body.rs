//! The JSON bodies the subscription routes take, checked field by field
//! into domain values: unknown fields, wrong types and invalid values are
//! 422s naming the field.

use domain::{
    Kind, Msisdn, SearchText, Seq, Start, SubscriptionFilter, SubscriptionState, TargetUrl,
};
use serde_json::{Map, Value};

use crate::problem::ErrorDetail;

type Fields = Map<String, Value>;
type Problems = Vec<ErrorDetail>;

fn problem(field: &str, msg: impl Into<String>, kind: &str) -> ErrorDetail {
    ErrorDetail::new(&["body", field], msg, kind)
}

/// The body as a JSON object with only `allowed` fields.
pub(crate) fn object(bytes: &[u8], allowed: &[&str]) -> Result<Fields, Problems> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        vec![ErrorDetail::new(
            &["body"],
            format!("the body is not JSON: {e}"),
            "json_invalid",
        )]
    })?;
    let Value::Object(fields) = value else {
        return Err(vec![ErrorDetail::new(
            &["body"],
            "the body must be a JSON object",
            "object_type",
        )]);
    };
    let unknown: Problems = fields
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| {
            problem(
                k,
                format!("unknown field; the fields are {}", allowed.join(", ")),
                "extra_forbidden",
            )
        })
        .collect();
    if unknown.is_empty() {
        Ok(fields)
    } else {
        Err(unknown)
    }
}

/// `url`: an absolute `http(s)` URL, on `FORWARD_ALLOWED_HOSTS` when set.
pub(crate) fn url(value: &Value, allowed: Option<&[String]>) -> Result<TargetUrl, ErrorDetail> {
    let Value::String(text) = value else {
        return Err(problem("url", "must be a string", "string_type"));
    };
    let url = TargetUrl::parse(text)
        .map_err(|e| problem("url", format!("{e}"), "url_parsing").with_input(text.clone()))?;
    if allowed.is_some_and(|hosts| !url.is_allowed(hosts)) {
        return Err(problem(
            "url",
            format!("host {} is not in FORWARD_ALLOWED_HOSTS", url.host()),
            "host_not_allowed",
        )
        .with_input(text.clone()));
    }
    Ok(url)
}

/// The filter fields (`from`, `q`, `kinds`) present in `fields`, applied
/// over `base` (`null` clears one).
pub(crate) fn filter(
    fields: &Fields,
    base: SubscriptionFilter,
) -> Result<SubscriptionFilter, Problems> {
    let mut out = base;
    let mut problems = Vec::new();
    if let Some(v) = fields.get("from") {
        match v {
            Value::Null => out.from = None,
            Value::String(s) => match Msisdn::new(s.clone()) {
                Ok(m) => out.from = Some(m),
                Err(p) => {
                    problems.push(problem("from", p.to_string(), p.code()).with_input(s.clone()))
                }
            },
            _ => problems.push(problem("from", "must be a string", "string_type")),
        }
    }
    if let Some(v) = fields.get("q") {
        match v {
            Value::Null => out.q = None,
            Value::String(s) => match SearchText::new(s) {
                Ok(q) => out.q = Some(q),
                Err(p) => {
                    problems.push(problem("q", p.to_string(), p.code()).with_input(s.clone()))
                }
            },
            _ => problems.push(problem("q", "must be a string", "string_type")),
        }
    }
    if let Some(v) = fields.get("kinds") {
        match kinds(v) {
            Ok(k) => out.kinds = k,
            Err(p) => problems.push(p),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn kinds(value: &Value) -> Result<Vec<Kind>, ErrorDetail> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => {
            return Err(problem(
                "kinds",
                "must be an array of message kinds, like [\"text\",\"image\"]",
                "list_type",
            ));
        }
    };
    items
        .iter()
        .map(|k| {
            k.as_str().and_then(Kind::new).ok_or_else(|| {
                problem(
                    "kinds",
                    "each kind must be a non-empty string",
                    "string_type",
                )
            })
        })
        .collect()
}

/// `start`: `"now"`, `"beginning"`, or a feed position (inclusive).
pub(crate) fn start(value: Option<&Value>) -> Result<Start, ErrorDetail> {
    let bad = || {
        problem(
            "start",
            "must be \"now\", \"beginning\" or a feed position (seq)",
            "start_invalid",
        )
    };
    match value {
        None | Some(Value::Null) => Ok(Start::Now),
        Some(Value::String(s)) if s == "now" => Ok(Start::Now),
        Some(Value::String(s)) if s == "beginning" => Ok(Start::Beginning),
        Some(Value::String(s)) => Seq::parse(s)
            .map(Start::At)
            .map_err(|_| bad().with_input(s.clone())),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|n| Seq::new(n).ok())
            .map(Start::At)
            .ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// A feed position field (`from_seq`), required.
pub(crate) fn seq(fields: &Fields, name: &str) -> Result<Seq, ErrorDetail> {
    let bad = || {
        problem(
            name,
            "must be a feed position: a whole number from 0",
            "seq_invalid",
        )
    };
    match fields.get(name) {
        None => Err(problem(name, "Field required", "missing")),
        Some(Value::Number(n)) => n.as_i64().and_then(|n| Seq::new(n).ok()).ok_or_else(bad),
        Some(Value::String(s)) => Seq::parse(s).map_err(|_| bad().with_input(s.clone())),
        Some(_) => Err(bad()),
    }
}

/// `state` (`"active"`/`"paused"`) or `paused` (a boolean), if given.
pub(crate) fn state(fields: &Fields) -> Result<Option<SubscriptionState>, ErrorDetail> {
    match (fields.get("state"), fields.get("paused")) {
        (Some(_), Some(_)) => Err(problem(
            "paused",
            "give state or paused, not both",
            "conflict",
        )),
        (Some(Value::String(s)), None) => {
            SubscriptionState::from_name(s).map(Some).ok_or_else(|| {
                problem("state", "must be \"active\" or \"paused\"", "enum").with_input(s.clone())
            })
        }
        (Some(_), None) => Err(problem("state", "must be \"active\" or \"paused\"", "enum")),
        (None, Some(Value::Bool(p))) => Ok(Some(if *p {
            SubscriptionState::Paused
        } else {
            SubscriptionState::Active
        })),
        (None, Some(_)) => Err(problem("paused", "must be true or false", "bool_type")),
        (None, None) => Ok(None),
    }
}
