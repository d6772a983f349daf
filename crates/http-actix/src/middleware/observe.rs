//! The middleware every request passes through: request id, one JSON log
//! line, and the HTTP metrics.

use crate::proxies::TrustedProxies;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use slog::{Level, Logger};

use crate::error::{ApiError, describe};
use crate::metrics::{HTTP_REQUESTS, REQUEST_LATENCY};
use crate::outcome::{WebhookOutcome, WebhookResult};

/// The request-id header, read and written.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The `path` label of requests that match no route.
pub const UNMATCHED_PATH: &str = "unmatched";
const WEBHOOK_PATH: &str = "/webhook";
const WHATSAPP_PATH: &str = "/webhook/whatsapp";

/// What the middleware needs: the logger and the id source.
#[derive(Debug)]
pub struct Observer {
    logger: Logger,
    ids: RequestIds,
    proxies: TrustedProxies,
}

impl Observer {
    /// Logs through `logger`; the client is the peer.
    #[must_use]
    pub fn new(logger: Logger) -> Self {
        Self::behind(logger, TrustedProxies::default())
    }

    /// Logs through `logger`; behind `proxies`, the client is the first
    /// untrusted `X-Forwarded-For` hop.
    #[must_use]
    pub fn behind(logger: Logger, proxies: TrustedProxies) -> Self {
        Self {
            logger,
            ids: RequestIds::new(),
            proxies,
        }
    }
}

/// Request ids: a random per-process prefix and a counter, 32 hex digits.
#[derive(Debug)]
struct RequestIds {
    prefix: u64,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        // RandomState is seeded from the OS: a random prefix without a crate.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        Self {
            prefix: hasher.finish(),
            next: AtomicU64::new(1),
        }
    }

    fn generate(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}{n:016x}", self.prefix)
    }
}

/// A caller's id is reused when it is 1 to 128 visible ASCII characters.
fn acceptable_request_id(value: &[u8]) -> bool {
    (1..=128).contains(&value.len()) && value.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// The longest `message_id` logged in full; longer ones are cut.
const LOGGED_ID_CHARS: usize = 256;

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

fn level_for(status: StatusCode, result: Option<WebhookResult>) -> Level {
    if status.is_server_error() || result == Some(WebhookResult::InvalidSignature) {
        Level::Error
    } else if status.is_client_error() {
        Level::Warning
    } else {
        Level::Info
    }
}

/// The middleware function (see [`actix_web::middleware::from_fn`]): wrap
/// an `App` with `from_fn(observe)` and give it a `web::Data<Observer>`.
///
/// # Errors
/// Passes on the framework's errors, and a caught panic as a 500.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let start = Instant::now();
    let observer = req.app_data::<web::Data<Observer>>().cloned();
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .map(HeaderValue::as_bytes)
        .filter(|v| acceptable_request_id(v))
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_owned)
        .unwrap_or_else(|| match &observer {
            Some(o) => o.ids.generate(),
            None => RequestIds::new().generate(),
        });
    let method = req.method().clone();
    let path = req.path().to_owned();
    let client_ip = observer.as_ref().and_then(|o| {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        o.proxies
            .client(req.peer_addr().map(|a| a.ip()), &forwarded)
            .map(|ip| ip.to_string())
    });

    // Handlers turn their errors into responses; an `Err` here comes from
    // the framework itself, or from a panic caught below. It is logged and
    // passed on for actix to render.
    let outcome = match CatchUnwind(next.call(req)).await {
        Ok(result) => result,
        Err(panic) => Err(ApiError::Panicked(panic_message(panic.as_ref())).into()),
    };
    let mut res = match outcome {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => {
            if let Some(observer) = &observer {
                log_request(
                    &observer.logger,
                    &RequestLine {
                        request_id: &request_id,
                        method: method.as_str(),
                        path: &path,
                        pattern: UNMATCHED_PATH,
                        status: e.as_response_error().status_code(),
                        latency_ms: start.elapsed().as_secs_f64() * 1000.0,
                        outcome: None,
                        cause: Some(&cause_of(&e)),
                        client_ip: client_ip.as_deref(),
                    },
                );
            }
            return Err(e);
        }
    };

    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    let status = res.status();
    let pattern = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_PATH.to_owned());
    let outcome = res.request().extensions().get::<WebhookOutcome>().cloned();
    let cause = res.response().error().map(cause_of);

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }

    metrics::counter!(
        HTTP_REQUESTS,
        "method" => method_label(&method),
        "path" => pattern.clone(),
        "status" => status.as_u16().to_string(),
    )
    .increment(1);
    metrics::histogram!(REQUEST_LATENCY, "path" => pattern.clone()).record(latency_ms);

    if let Some(observer) = observer {
        log_request(
            &observer.logger,
            &RequestLine {
                request_id: &request_id,
                method: method.as_str(),
                path: &path,
                pattern: &pattern,
                status,
                latency_ms,
                outcome: outcome.as_ref(),
                cause: cause.as_deref(),
                client_ip: client_ip.as_deref(),
            },
        );
    }
    Ok(res)
}

/// The error and its sources, for the log line.
fn cause_of(e: &actix_web::Error) -> String {
    match e.as_error::<ApiError>() {
        Some(api) => describe(api),
        None => e.to_string(),
    }
}

/// Polls a future, turning a panic inside it into an `Err`, so one broken
/// request becomes a 500 and a log line instead of a dropped connection.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a handler panicked".to_owned())
}

struct RequestLine<'a> {
    request_id: &'a str,
    method: &'a str,
    path: &'a str,
    pattern: &'a str,
    status: StatusCode,
    latency_ms: f64,
    outcome: Option<&'a WebhookOutcome>,
    cause: Option<&'a str>,
    client_ip: Option<&'a str>,
}

fn log_request(logger: &Logger, line: &RequestLine<'_>) {
    let result = line.outcome.map(|o| o.result);
    let level = level_for(line.status, result);
    let msg = result.map_or("request", WebhookResult::log_message);
    let latency_ms = (line.latency_ms * 1000.0).round() / 1000.0;
    let logger = logger.new(slog::o!(
        "request_id" => line.request_id.to_owned(),
        "method" => line.method.to_owned(),
        "path" => line.path.to_owned(),
        "status" => line.status.as_u16(),
        "latency_ms" => latency_ms,
    ));
    let logger = match line.client_ip {
        Some(ip) => logger.new(slog::o!("client_ip" => ip.to_owned())),
        None => logger,
    };
    let logger = match line.cause {
        Some(cause) => logger.new(slog::o!("error" => cause.to_owned())),
        None => logger,
    };
    let logger = match line.outcome.and_then(|o| o.source) {
        Some(source) => logger.new(slog::o!("source" => source.as_str())),
        None => logger,
    };
    let logger = match line.outcome.and_then(|o| o.batch) {
        Some(b) if line.pattern == WHATSAPP_PATH => logger.new(slog::o!(
            "stored" => b.stored, "duplicates" => b.duplicates, "skipped" => b.skipped)),
        _ => logger,
    };
    let logger = if line.pattern == WEBHOOK_PATH {
        let dup = result.is_some_and(WebhookResult::is_duplicate);
        let logger = logger.new(slog::o!("dup" => dup));
        let logger = match result {
            Some(result) => logger.new(slog::o!("result" => result.as_str())),
            None => logger,
        };
        match line.outcome.and_then(|o| o.message_id.as_deref()) {
            Some(id) => logger.new(slog::o!("message_id" => truncate(id, LOGGED_ID_CHARS))),
            None => logger,
        }
    } else {
        logger
    };
    // slog's macros need the level at compile time.
    match level {
        Level::Critical | Level::Error => slog::error!(logger, "{}", msg),
        Level::Warning => slog::warn!(logger, "{}", msg),
        _ => slog::info!(logger, "{}", msg),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_acceptance() {
        let cases: &[(&[u8], bool)] = &[
            (b"abc-123", true),
            (b"", false),
            (b"has space", false),
            (b"tab\there", false),
            (b"\x7f", false),
            (&[b'a'; 128], true),
            (&[b'a'; 129], false),
            ("é".as_bytes(), false),
        ];
        for (value, ok) in cases {
            assert_eq!(acceptable_request_id(value), *ok, "{value:?}");
        }
    }

    #[test]
    fn generated_ids_are_unique_and_well_formed() {
        let ids = RequestIds::new();
        let a = ids.generate();
        let b = ids.generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(acceptable_request_id(a.as_bytes()));
    }

    #[test]
    fn levels() {
        let cases = [
            (StatusCode::OK, None, Level::Info),
            (
                StatusCode::UNAUTHORIZED,
                Some(WebhookResult::InvalidSignature),
                Level::Error,
            ),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(WebhookResult::ValidationError),
                Level::Warning,
            ),
            (StatusCode::NOT_FOUND, None, Level::Warning),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some(WebhookResult::Error),
                Level::Error,
            ),
        ];
        for (status, result, level) in cases {
            assert_eq!(level_for(status, result), level, "{status}");
        }
    }

    #[test]
    fn truncation_is_char_safe() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("ééé", 2), "éé…");
    }
}
