//! The subscription routes. Each takes `AdminAccess` before anything else,
//! so a request without an admin token is refused before its body is read.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{
    DeadLetterQuery, LAG_CAP, NewSubscription, Seq, Subscription, SubscriptionChange,
    SubscriptionId, SubscriptionSecret, SubscriptionStore,
};
use slog::info;

use super::body;
use super::dto::{DeadLettersDto, ListDto, SubscriptionDto};
use super::state::SubscriptionsState;
use crate::error::ApiError;
use crate::guard::AdminAccess;
use crate::problem::ErrorDetail;

const NOT_FOUND: &str = "no such subscription";
const CREATE_FIELDS: &[&str] = &["url", "from", "q", "kinds", "start"];
const PATCH_FIELDS: &[&str] = &["url", "from", "q", "kinds", "state", "paused"];

fn store(state: &SubscriptionsState) -> Result<Arc<dyn SubscriptionStore>, ApiError> {
    state.subs.clone().ok_or(ApiError::NotConfigured(
        "this store does not keep subscriptions",
    ))
}

fn path_id(req: &HttpRequest) -> Result<SubscriptionId, ApiError> {
    req.match_info()
        .get("id")
        .and_then(SubscriptionId::parse)
        .ok_or(ApiError::Missing(NOT_FOUND))
}

fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0_u8; N];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Blocking(format!("no randomness: {e}")))?;
    Ok(bytes)
}

/// The subscription with its lag, counted on the blocking pool.
async fn with_lag(
    state: &SubscriptionsState,
    sub: Subscription,
) -> Result<(Subscription, u64), ApiError> {
    let messages = Arc::clone(&state.messages);
    Ok(web::block(move || {
        let lag = sub.backlog(messages.as_ref(), LAG_CAP)?;
        Ok::<_, domain::StoreError>((sub, lag))
    })
    .await??)
}

fn audit(state: &SubscriptionsState, admin: &AdminAccess, what: &'static str, id: &SubscriptionId) {
    info!(state.logger, "subscription {}", what; "subscription" => id.as_str(), "token" => &admin.fingerprint);
}

/// `POST /subscriptions`: 201 with the subscription and its secret (shown
/// this once).
pub(crate) async fn create(
    admin: AdminAccess,
    state: web::Data<SubscriptionsState>,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let subs = store(&state)?;
    let fields = body::object(&bytes, CREATE_FIELDS).map_err(ApiError::Validation)?;
    let mut problems = Vec::new();
    let url = match fields.get("url") {
        None => Err(ErrorDetail::new(
            &["body", "url"],
            "Field required",
            "missing",
        )),
        Some(v) => body::url(v, state.allowed_hosts.as_deref()),
    }
    .map_err(|p| problems.push(p))
    .ok();
    let filter = body::filter(&fields, domain::SubscriptionFilter::default())
        .map_err(|p| problems.extend(p))
        .ok();
    let start = body::start(fields.get("start"))
        .map_err(|p| problems.push(p))
        .ok();
    let (Some(url), Some(filter), Some(start)) = (url, filter, start) else {
        return Err(ApiError::Validation(problems));
    };
    let new = NewSubscription {
        id: SubscriptionId::from_random(random()?),
        url,
        secret: SubscriptionSecret::from_random(random()?),
        filter,
        start,
        created_at: time::OffsetDateTime::now_utc(),
    };
    let created = web::block(move || subs.create_subscription(&new)).await??;
    audit(&state, &admin, "created", &created.id);
    let (sub, lag) = with_lag(&state, created).await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/subscriptions/{}", sub.id.as_str())))
        .json(SubscriptionDto::new(&sub, lag).with_secret(&sub)))
}

/// `GET /subscriptions`: every subscription, oldest first.
pub(crate) async fn list(
    _: AdminAccess,
    req: HttpRequest,
    state: web::Data<SubscriptionsState>,
) -> Result<HttpResponse, ApiError> {
    crate::params::strict(req.query_string(), "/subscriptions", &[])
        .map_err(ApiError::Validation)?;
    let subs = store(&state)?;
    let messages = Arc::clone(&state.messages);
    let listed = web::block(move || {
        subs.subscriptions()?
            .into_iter()
            .map(|s| {
                let lag = s.backlog(messages.as_ref(), LAG_CAP)?;
                Ok((s, lag))
            })
            .collect::<Result<Vec<_>, domain::StoreError>>()
    })
    .await??;
    Ok(HttpResponse::Ok().json(ListDto {
        data: listed
            .iter()
            .map(|(s, lag)| SubscriptionDto::new(s, *lag))
            .collect(),
    }))
}

/// `GET /subscriptions/{id}`: position, lag, state and what holds it back.
pub(crate) async fn one(
    _: AdminAccess,
    req: HttpRequest,
    state: web::Data<SubscriptionsState>,
) -> Result<HttpResponse, ApiError> {
    crate::params::strict(req.query_string(), "/subscriptions/{id}", &[])
        .map_err(ApiError::Validation)?;
    let (subs, id) = (store(&state)?, path_id(&req)?);
    let found = web::block(move || subs.subscription(&id)).await??;
    let sub = found.ok_or(ApiError::Missing(NOT_FOUND))?;
    let (sub, lag) = with_lag(&state, sub).await?;
    Ok(HttpResponse::Ok().json(SubscriptionDto::new(&sub, lag)))
}

/// `PATCH /subscriptions/{id}`: pause or resume (`state` or `paused`), a
/// new `url`, new filters (`null` clears one).
pub(crate) async fn patch(
    admin: AdminAccess,
    req: HttpRequest,
    state: web::Data<SubscriptionsState>,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (subs, id) = (store(&state)?, path_id(&req)?);
    let fields = body::object(&bytes, PATCH_FIELDS).map_err(ApiError::Validation)?;
    let reader = Arc::clone(&subs);
    let lookup = id.clone();
    let current = web::block(move || reader.subscription(&lookup))
        .await??
        .ok_or(ApiError::Missing(NOT_FOUND))?;
    let mut problems = Vec::new();
    let url = fields
        .get("url")
        .map(|v| body::url(v, state.allowed_hosts.as_deref()))
        .transpose()
        .map_err(|p| problems.push(p))
        .ok()
        .flatten();
    let touches_filter = ["from", "q", "kinds"]
        .iter()
        .any(|f| fields.contains_key(*f));
    let filter = if touches_filter {
        body::filter(&fields, current.filter.clone())
            .map_err(|p| problems.extend(p))
            .ok()
    } else {
        None
    };
    let new_state = body::state(&fields)
        .map_err(|p| problems.push(p))
        .ok()
        .flatten();
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let change = SubscriptionChange {
        url,
        filter,
        state: new_state,
    };
    let changed = web::block(move || subs.change_subscription(&id, &change))
        .await??
        .ok_or(ApiError::Missing(NOT_FOUND))?;
    audit(&state, &admin, "changed", &changed.id);
    let (sub, lag) = with_lag(&state, changed).await?;
    Ok(HttpResponse::Ok().json(SubscriptionDto::new(&sub, lag)))
}

/// `DELETE /subscriptions/{id}`: 204, or 404.
pub(crate) async fn delete(
    admin: AdminAccess,
    req: HttpRequest,
    state: web::Data<SubscriptionsState>,
) -> Result<HttpResponse, ApiError> {
    crate::params::strict(req.query_string(), "/subscriptions/{id}", &[])
        .map_err(ApiError::Validation)?;
    let (subs, id) = (store(&state)?, path_id(&req)?);
    let gone = id.clone();
    if !web::block(move || subs.delete_subscription(&gone)).await?? {
        return Err(ApiError::Missing(NOT_FOUND));
    }
    audit(&state, &admin, "deleted", &id);
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /subscriptions/{id}/dead-letters?after=&limit=`.
pub(crate) async fn dead_letters(
    _: AdminAccess,
    req: HttpRequest,
    state: web::Data<SubscriptionsState>,
) -> Result<HttpResponse, ApiError> {
    crate::params::strict(
        req.query_string(),
        "/subscriptions/{id}/dead-letters",
        &["after", "limit"],
    )
    .map_err(ApiError::Validation)?;
    let (subs, id) = (store(&state)?, path_id(&req)?);
    let (after, limit) = paging(req.query_string())?;
    let items = web::block(move || {
        if subs.subscription(&id)?.is_none() {
            return Ok(None);
        }
        let query = DeadLetterQuery {
            after,
            limit,
            requested_only: false,
        };
        subs.dead_letters(&id, &query).map(Some)
    })
    .await??
    .ok_or(ApiError::Missing(NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(DeadLettersDto::new(&items, limit as usize)))
}

fn paging(query: &str) -> Result<(Seq, u32), ApiError> {
    let mut after = Seq::START;
    let mut limit = 100;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let bad = |msg: &str| {
            ApiError::Validation(vec![
                ErrorDetail::new(&["query", &k], msg, "int_parsing").with_input(v.to_string()),
            ])
        };
        match &*k {
            "after" => after = Seq::parse(&v).map_err(|_| bad("must be a feed position"))?,
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|l| (1..=1000).contains(l))
                    .ok_or_else(|| bad("must be a whole number from 1 to 1000"))?;
            }
            _ => {}
        }
    }
    Ok((after, limit))
}

/// `POST /subscriptions/{id}/dead-letters/{seq}/retry`: 202; the worker
/// delivering the subscription makes one more attempt within a second or
/// so (while the subscription is active).
pub(crate) async fn retry_dead_letter(
    admin: AdminAccess,
    req: HttpRequest,
    state: web::Data<SubscriptionsState>,
) -> Result<HttpResponse, ApiError> {
    let (subs, id) = (store(&state)?, path_id(&req)?);
    let seq = req
        .match_info()
        .get("seq")
        .and_then(|s| Seq::parse(s).ok())
        .ok_or(ApiError::Missing("no such dead letter"))?;
    let asked = id.clone();
    if !web::block(move || subs.request_retry(&asked, seq)).await?? {
        return Err(ApiError::Missing("no such dead letter"));
    }
    audit(&state, &admin, "dead letter retry requested", &id);
    Ok(HttpResponse::Accepted().json(serde_json::json!({
        "seq": seq.get(),
        "retry_requested": true,
    })))
}

/// `POST /subscriptions/{id}/replay {"from_seq"}`: delivery goes on with
/// that position (inclusive), again or for the first time.
pub(crate) async fn replay(
    admin: AdminAccess,
    req: HttpRequest,
    state: web::Data<SubscriptionsState>,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (subs, id) = (store(&state)?, path_id(&req)?);
    let fields = body::object(&bytes, &["from_seq"]).map_err(ApiError::Validation)?;
    let from = body::seq(&fields, "from_seq").map_err(|p| ApiError::Validation(vec![p]))?;
    let replayed = web::block(move || subs.replay(&id, from))
        .await??
        .ok_or(ApiError::Missing(NOT_FOUND))?;
    audit(&state, &admin, "replayed", &replayed.id);
    let (sub, lag) = with_lag(&state, replayed).await?;
    Ok(HttpResponse::Ok().json(SubscriptionDto::new(&sub, lag)))
}
