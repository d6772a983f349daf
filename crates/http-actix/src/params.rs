//! Strict query strings (a leaf): every read route names the parameters
//! it takes, and anything else is a 422 rather than silently ignored (a
//! filter that quietly does nothing is a hazard to every client), as is a
//! parameter given twice (which value would win is a guess).

use crate::problem::ErrorDetail;

/// Checks `query_string` against `known`, the parameters of `route`.
///
/// # Errors
/// One 422 detail per unknown parameter (`unknown_parameter`, naming the
/// known ones) and per repeated one (`repeated_parameter`).
pub(crate) fn strict(
    query_string: &str,
    route: &str,
    known: &[&str],
) -> Result<(), Vec<ErrorDetail>> {
    let mut seen: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        if !known.contains(&&*key) {
            let takes = if known.is_empty() {
                "takes no query parameters".to_owned()
            } else {
                format!("takes {}", known.join(", "))
            };
            errors.push(
                ErrorDetail::new(
                    &["query", &key],
                    format!("Unknown query parameter {key:?}: {route} {takes}"),
                    "unknown_parameter",
                )
                .with_input(value.into_owned()),
            );
        } else if seen.iter().any(|k| *k == *key) {
            if !errors
                .iter()
                .any(|e: &ErrorDetail| e.kind == "repeated_parameter" && e.loc[1] == *key)
            {
                errors.push(
                    ErrorDetail::new(
                        &["query", &key],
                        format!("Query parameter {key:?} is given more than once; give it once"),
                        "repeated_parameter",
                    )
                    .with_input(value.into_owned()),
                );
            }
        } else {
            seen.push(key.into_owned());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::strict;

    fn kinds(qs: &str) -> Vec<String> {
        strict(qs, "/messages", &["from", "limit"]).map_or_else(
            |e| {
                e.into_iter()
                    .map(|d| format!("{}:{}", d.loc.join("."), d.kind))
                    .collect()
            },
            |()| vec![],
        )
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        assert!(kinds("").is_empty());
        assert!(kinds("from=%2B1&limit=2").is_empty());
        assert_eq!(kinds("form=%2B1"), ["query.form:unknown_parameter"]);
        assert_eq!(
            kinds("limit=1&limit=2&limit=3"),
            ["query.limit:repeated_parameter"]
        );
        assert_eq!(
            kinds("to=x&from=1&from=2"),
            [
                "query.to:unknown_parameter",
                "query.from:repeated_parameter"
            ]
        );
        let e = strict("form=a", "/messages", &["from"]).expect_err("unknown");
        assert!(e[0].msg.contains("from"), "{}", e[0].msg);
        assert_eq!(e[0].input.as_deref(), Some("a"));
        let none = strict("x=1", "/stats", &[]).expect_err("unknown");
        assert!(none[0].msg.contains("no query parameters"));
    }
}
