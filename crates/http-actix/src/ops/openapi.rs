//! `GET /openapi.json`: the OpenAPI 3 document of this API, kept beside the
//! crate.

use actix_web::HttpResponse;

/// The document.
pub(crate) const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /openapi.json`.
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}
