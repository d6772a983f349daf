//! `hookbox sign`: the signature header(s) a sender puts on a body, so that
//! curl examples and integration tests need no `openssl`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use domain::{SigningKeys, WebhookSecret};

/// `hookbox sign`'s arguments.
#[derive(Debug, Args)]
#[command(
    after_help = "Prints one header per line. standard-webhooks: --id defaults to \
msg_<time>, --timestamp to now."
)]
pub(crate) struct SignArgs {
    /// The shared secret (default: WEBHOOK_SECRET).
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    secret: String,
    /// The signature scheme.
    #[arg(long, value_enum, default_value_t = Scheme::XSignature)]
    scheme: Scheme,
    /// Standard Webhooks: the webhook-id.
    #[arg(long)]
    id: Option<String>,
    /// Standard Webhooks: the webhook-timestamp, in Unix seconds.
    #[arg(long, allow_negative_numbers = true)]
    timestamp: Option<i64>,
    /// The exact body to send (- for standard input).
    file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scheme {
    /// `X-Signature: <hex>` (the assignment's scheme).
    XSignature,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`.
    StandardWebhooks,
    /// Meta's `X-Hub-Signature-256: sha256=<hex>`.
    Whatsapp,
}

/// Runs the subcommand: the headers on stdout (exit 0), or the error on
/// stderr (exit 2).
#[expect(
    clippy::print_stdout,
    reason = "a command-line helper whose output is the headers"
)]
pub(crate) fn print(args: &SignArgs) -> ExitCode {
    match headers(args) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hookbox sign: {e}");
            ExitCode::from(2)
        }
    }
}

/// The header lines for `args`' body.
fn headers(args: &SignArgs) -> Result<Vec<String>, String> {
    let keys = SigningKeys::new(
        WebhookSecret::new(args.secret.as_str())
            .map_err(|_| "--secret must not be empty".to_owned())?,
    );
    let mut body = Vec::new();
    if args.file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
    } else {
        body = std::fs::read(&args.file)
            .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Ok(match args.scheme {
        Scheme::XSignature => vec![format!("X-Signature: {}", keys.primary().sign(&body))],
        Scheme::Whatsapp => vec![format!(
            "X-Hub-Signature-256: sha256={}",
            keys.primary().sign(&body)
        )],
        Scheme::StandardWebhooks => {
            let timestamp = args.timestamp.unwrap_or(now);
            let id = args.id.clone().unwrap_or_else(|| format!("msg_{now}"));
            vec![
                format!("webhook-id: {id}"),
                format!("webhook-timestamp: {timestamp}"),
                format!(
                    "webhook-signature: {}",
                    keys.sign_standard(&id, timestamp, &body)
                ),
            ]
        }
    })
}
