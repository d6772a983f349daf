//! One delivery attempt: the signed `POST` of one message's full record,
//! on a per-subscription `ureq` agent (kept-alive connections, no
//! redirects, no proxy, the platform's root certificates).

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{FeedItem, Subscription, Verdict};

use crate::names::{DELIVERIES, DELIVERY_LATENCY};
use crate::settings::ForwardSettings;

/// The longest part of a consumer's answer read (and dropped) so that its
/// connection can be reused.
const ANSWER_LIMIT: u64 = 64 * 1024;

/// An agent for one subscription's deliveries.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    let mut roots = Vec::new();
    for cert in rustls_native_certs::load_native_certs().certs {
        roots.push(ureq::tls::Certificate::from_der(cert.as_ref()).to_owned());
    }
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        // A 3xx comes back as an answer (a failed attempt naming its
        // status), not as a transport error.
        .max_redirects_will_error(false)
        .timeout_global(Some(timeout))
        .proxy(None)
        .user_agent(concat!("hookbox/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build()
        .new_agent()
}

/// The `webhook-id` of a delivery: the same on every attempt, so that
/// consumers dedupe on it.
pub(crate) fn webhook_id(sub: &Subscription, item: &FeedItem) -> String {
    format!("{}:{}", sub.id.as_str(), item.seq)
}

/// Sends one message once and says what came of it.
pub(crate) fn attempt(
    agent: &ureq::Agent,
    settings: &ForwardSettings,
    sub: &Subscription,
    item: &FeedItem,
) -> Verdict {
    if !settings.allows(&sub.url) {
        return Verdict::Failed {
            error: "host not allowed by FORWARD_ALLOWED_HOSTS".into(),
            after: None,
        };
    }
    let body = (settings.render)(item);
    let id = webhook_id(sub, item);
    let now = time::OffsetDateTime::now_utc();
    let signature =
        sub.secret
            .signing_keys()
            .sign_standard(&id, now.unix_timestamp(), body.as_bytes());
    let started = Instant::now();
    let sent = agent
        .post(sub.url.as_str())
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", now.unix_timestamp().to_string())
        .header("webhook-signature", &signature)
        .send(body.as_bytes());
    let verdict = match sent {
        Ok(mut answer) => {
            // Drain a little of the answer so the connection can be reused.
            let _ = answer
                .body_mut()
                .with_config()
                .limit(ANSWER_LIMIT)
                .read_to_vec();
            let retry_after = answer
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok());
            Verdict::from_status(answer.status().as_u16(), retry_after, now)
        }
        Err(e) => Verdict::Failed {
            error: describe(&e, settings.timeout),
            after: None,
        },
    };
    metrics::histogram!(DELIVERY_LATENCY).record(started.elapsed().as_secs_f64() * 1000.0);
    let result = if verdict == Verdict::Delivered {
        "success"
    } else {
        "failure"
    };
    metrics::counter!(DELIVERIES, "result" => result).increment(1);
    verdict
}

/// A transport error in a few words (no URL: it may hold credentials).
fn describe(e: &ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("timed out after {}s", timeout.as_secs_f64()),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::ConnectionReset => "connection reset".into(),
            std::io::ErrorKind::TimedOut => format!("timed out after {}s", timeout.as_secs_f64()),
            kind => format!("I/O error ({kind})"),
        },
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS error".into(),
        ureq::Error::Protocol(_) => "the answer was not HTTP".into(),
        _ => "request failed".into(),
    }
}
