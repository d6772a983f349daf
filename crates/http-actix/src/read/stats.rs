//! `GET /stats` and `GET /stats/daily`.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use super::dto::{DailyDto, StatsDto};
use super::feed_query;
use super::state::ReadState;
use crate::error::ApiError;
use crate::guard::ReadAccess;

/// `GET /stats`.
pub(crate) async fn stats(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    super::strict::strict(&req, "/stats", &[])?;
    let store = Arc::clone(&state.store);
    let stats = web::block(move || store.stats()).await??;
    Ok(HttpResponse::Ok().json(StatsDto::from(&stats)))
}

/// `GET /stats/daily`: messages per UTC day of `ts`, every day of the
/// range listed (zero when none).
pub(crate) async fn daily(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<ReadState>,
) -> Result<HttpResponse, ApiError> {
    super::strict::strict(&req, "/stats/daily", &["days", "until"])?;
    let today = time::OffsetDateTime::now_utc().date();
    let range = feed_query::days(req.query_string(), today).map_err(ApiError::Validation)?;
    let (first, last) = (range.first(), range.last());
    let store = Arc::clone(&state.store);
    let counts = web::block(move || store.daily_counts(first, last)).await??;
    Ok(HttpResponse::Ok().json(DailyDto::new(&domain::every_day(first, last, &counts))))
}
