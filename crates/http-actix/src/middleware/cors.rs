//! CORS for browser apps on other origins (`CORS_ALLOWED_ORIGINS`): exact
//! origins only. A preflight from an allowed origin is answered here (204,
//! before any token check: browsers send none with it); every other
//! response to an allowed origin gets `Access-Control-Allow-Origin`. The
//! webhook routes are for servers and get neither. With no origins
//! configured nothing changes.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

/// The allowed origins, as app data.
#[derive(Debug, Clone, Default)]
pub struct CorsOrigins(pub Vec<String>);

/// Methods a browser may use cross-origin.
const METHODS: &str = "GET, HEAD, DELETE, OPTIONS";
/// Request headers a browser may send cross-origin.
const HEADERS: &str = "Authorization, Content-Type, Last-Event-ID, X-Request-Id";
/// Response headers a browser app may read.
const EXPOSED: &str = "Link, X-Next-Cursor, X-Request-Id, Retry-After, WWW-Authenticate";
/// How long a browser may cache a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

/// The middleware function.
///
/// # Errors
/// Passes on the inner service's errors.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let allowed = req
        .app_data::<web::Data<CorsOrigins>>()
        .filter(|o| !o.0.is_empty() && !req.path().starts_with("/webhook"))
        .and_then(|origins| {
            let origin = req.headers().get(header::ORIGIN)?.to_str().ok()?;
            origins
                .0
                .iter()
                .any(|o| o == origin)
                .then(|| origin.to_owned())
        });
    let Some(origin) = allowed else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let origin = HeaderValue::from_str(&origin).ok();
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut answer = HttpResponse::build(StatusCode::NO_CONTENT);
        answer
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, HEADERS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE));
        req.into_response(answer.finish())
    } else {
        let mut response = next.call(req).await?.map_into_boxed_body();
        response.headers_mut().insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED),
        );
        response
    };
    let headers = response.headers_mut();
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    Ok(response)
}
