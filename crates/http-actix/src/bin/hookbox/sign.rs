//! `hookbox sign`: the signature header(s) a sender puts on a body, so that
//! curl examples and integration tests need no `openssl`.

use std::io::Read;

use domain::{SigningKeys, WebhookSecret};

const USAGE: &str = "usage: hookbox sign --secret SECRET [--scheme x-signature|standard-webhooks|whatsapp] [--id ID] [--timestamp UNIX_SECONDS] FILE
  FILE is the exact body to send (- for standard input). Prints one header per line.
  standard-webhooks: --id defaults to msg_<time>, --timestamp to now.";

/// Runs the subcommand on `args` (after `sign`); the output lines, or a
/// usage error.
pub(crate) fn run(args: &[String]) -> Result<Vec<String>, String> {
    let mut secret = None;
    let mut scheme = "x-signature".to_owned();
    let mut id = None;
    let mut timestamp = None;
    let mut file = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--secret" => secret = Some(value("--secret")?),
            "--scheme" => scheme = value("--scheme")?,
            "--id" => id = Some(value("--id")?),
            "--timestamp" => timestamp = Some(value("--timestamp")?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other if file.is_none() && (!other.starts_with('-') || other == "-") => {
                file = Some(other.to_owned());
            }
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    let secret = secret
        .or_else(|| std::env::var("WEBHOOK_SECRET").ok())
        .ok_or_else(|| format!("--secret is required (or WEBHOOK_SECRET)\n{USAGE}"))?;
    let keys = SigningKeys::new(
        WebhookSecret::new(secret).map_err(|_| "--secret must not be empty".to_owned())?,
    );
    let file = file.ok_or_else(|| format!("FILE is required\n{USAGE}"))?;
    let mut body = Vec::new();
    if file == "-" {
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
    } else {
        body = std::fs::read(&file).map_err(|e| format!("cannot read {file}: {e}"))?;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    match scheme.as_str() {
        "x-signature" => Ok(vec![format!("X-Signature: {}", keys.primary().sign(&body))]),
        "whatsapp" => Ok(vec![format!(
            "X-Hub-Signature-256: sha256={}",
            keys.primary().sign(&body)
        )]),
        "standard-webhooks" => {
            let timestamp = match timestamp {
                Some(t) => t
                    .parse::<i64>()
                    .map_err(|_| format!("--timestamp must be Unix seconds, got {t:?}"))?,
                None => now,
            };
            let id = id.unwrap_or_else(|| format!("msg_{now}"));
            Ok(vec![
                format!("webhook-id: {id}"),
                format!("webhook-timestamp: {timestamp}"),
                format!(
                    "webhook-signature: {}",
                    keys.sign_standard(&id, timestamp, &body)
                ),
            ])
        }
        other => Err(format!(
            "--scheme must be x-signature, standard-webhooks or whatsapp, got {other:?}"
        )),
    }
}
