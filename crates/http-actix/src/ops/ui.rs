//! `GET /ui`: the inbox page. Its HTML, script and style are compiled into
//! the binary and served under a strict Content-Security-Policy: nothing
//! inline, nothing from elsewhere. The page reads through the same public
//! endpoints as any client (`/messages`, `/stats`, `/stats/daily`,
//! `/messages/stream`), sending the read token when one is needed.

use actix_web::HttpResponse;

const PAGE: &str = include_str!("../../ui/index.html");
const SCRIPT: &str = include_str!("../../ui/app.js");
const STYLE: &str = include_str!("../../ui/app.css");
const ICON: &str = include_str!("../../ui/icon.svg");

/// Only this origin's script, style and requests; no frames, no forms
/// posted elsewhere, no plugins.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("content-security-policy", CONTENT_SECURITY_POLICY))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("referrer-policy", "no-referrer"))
        .insert_header(("cache-control", "no-cache"))
        .body(body)
}

/// `GET /ui`.
pub(crate) async fn page() -> HttpResponse {
    asset("text/html; charset=utf-8", PAGE)
}

/// `GET /ui/app.js`.
pub(crate) async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /ui/icon.svg`.
pub(crate) async fn icon() -> HttpResponse {
    asset("image/svg+xml", ICON)
}

/// `GET /ui/app.css`.
pub(crate) async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}
