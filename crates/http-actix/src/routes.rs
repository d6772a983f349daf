//! The route table: each path with the methods it serves (any other method
//! is a 405 naming the allowed ones). With the app factory, the only module
//! that names the feature modules.

use actix_web::http::Method;
use actix_web::{HttpResponse, web};

use crate::error::ApiError;
use crate::{ingest, ops, read, subscriptions as subs};

/// Every route. Unknown paths are the app's default service, [`not_found`].
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(only("/webhook", Method::POST, ingest::webhook))
        .service(
            web::resource("/webhook/whatsapp")
                .route(web::get().to(ingest::whatsapp_verify))
                .route(web::post().to(ingest::whatsapp_notify))
                .default_service(method_not_allowed("GET, HEAD, POST")),
        )
        .service(
            web::resource("/messages")
                .route(web::get().to(read::messages))
                .route(web::delete().to(read::erase_sender))
                .default_service(method_not_allowed("GET, HEAD, DELETE")),
        )
        // Before `/messages/{message_id}`: these names win over an id.
        .service(only("/messages/feed", Method::GET, read::feed))
        .service(only("/messages/stream", Method::GET, read::message_stream))
        .service(only("/messages/export", Method::GET, read::export))
        .service(
            web::resource("/messages/{message_id}")
                .route(web::get().to(read::message))
                .route(web::delete().to(read::erase_message))
                .default_service(method_not_allowed("GET, HEAD, DELETE")),
        )
        .service(only("/messages/{message_id}/raw", Method::GET, read::raw))
        .service(only("/conversations", Method::GET, read::conversations))
        .service(only("/statuses/{message_id}", Method::GET, read::status))
        .service(only("/whatsapp/events", Method::GET, read::events))
        .service(only("/stats", Method::GET, read::stats))
        .service(only("/stats/daily", Method::GET, read::daily))
        .service(
            web::resource("/subscriptions")
                .route(web::get().to(subs::list))
                .route(web::post().to(subs::create))
                .default_service(method_not_allowed("GET, HEAD, POST")),
        )
        .service(
            web::resource("/subscriptions/{id}")
                .route(web::get().to(subs::one))
                .route(web::patch().to(subs::patch))
                .route(web::delete().to(subs::delete))
                .default_service(method_not_allowed("GET, HEAD, PATCH, DELETE")),
        )
        .service(only(
            "/subscriptions/{id}/dead-letters",
            Method::GET,
            subs::dead_letters,
        ))
        .service(only(
            "/subscriptions/{id}/dead-letters/{seq}/retry",
            Method::POST,
            subs::retry_dead_letter,
        ))
        .service(only(
            "/subscriptions/{id}/replay",
            Method::POST,
            subs::replay,
        ))
        .service(only("/ui", Method::GET, ops::ui::page))
        .service(only("/ui/app.js", Method::GET, ops::ui::script))
        .service(only("/ui/app.css", Method::GET, ops::ui::style))
        .service(only("/ui/icon.svg", Method::GET, ops::ui::icon))
        .service(only("/health/live", Method::GET, ops::live))
        .service(only("/health/ready", Method::GET, ops::ready))
        .service(only("/metrics", Method::GET, ops::metrics))
        .service(only("/openapi.json", Method::GET, ops::openapi));
}

/// `path`, served for `method` alone.
fn only<F, Args>(path: &str, method: Method, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    // HEAD reaches every GET route as a GET (see `middleware::head`).
    let allow = if method == Method::POST {
        "POST"
    } else {
        "GET, HEAD"
    };
    web::resource(path)
        .route(web::method(method).to(handler))
        .default_service(method_not_allowed(allow))
}

/// Unknown paths.
pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// A known path with a method it does not serve.
fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed(allow)) })
}
