//! `HEAD` on every `GET` route: the request is routed as a `GET`, and the
//! response keeps its status and headers without a body. A body of known
//! size keeps its `Content-Length` (the connection sends none of it); a
//! streamed one (the live stream, an export) is dropped unread, so a
//! `HEAD` never holds the connection open.

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// The middleware function; innermost, so the log line and metrics still
/// say `HEAD`.
///
/// # Errors
/// Passes on the inner service's errors.
pub async fn head(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() != Method::HEAD {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    req.head_mut().method = Method::GET;
    let response = next.call(req).await?;
    Ok(response.map_body(|_, body| match body.size() {
        BodySize::Stream => BoxBody::new(actix_web::body::None::new()),
        _ => body.boxed(),
    }))
}
