//! Kept matches of `q`, per needle: for every row whose folded text holds
//! it, its feed number and its place in both orders (`ts_key` as a number,
//! `message_id`), as of a feed mark. A
//! repeated word then costs a look at the rows numbered past the mark and
//! the fetch of one page's rows: the count, the filters and the order are
//! worked out from the kept keys, not from a visit of every match's heap
//! block (4 buffers a match, 50 ms for a word in 4,000 of a million rows).
//!
//! Why it stays exact: rows are never changed, and numbers commit in order
//! (a batch holds `feed_counter` through its commit), so every row
//! numbered at or below the counter a statement reads is visible to it,
//! and no row at or below a mark can appear later. Rows can only go
//! (retention, erasure), and the store's counters are exact, so in any
//! snapshot `total − (rows past the mark)` is the number of rows at or
//! below the mark still there: while it equals the number when the keys
//! were taken, none of them is gone. Each statement checks that; when it
//! fails the keys are dropped and taken again. Each replica keeps its own,
//! bounded in keys held. Searches that also name a sender or recipient
//! use the plain plans (their indexes narrow them first).

use std::sync::{Arc, Mutex};

use domain::{FeedPage, FeedQuery, MessageQuery, Order, Page, StoreError};
use postgres::Row;
use postgres::types::Type;
use store_kit::lru::Lru;

use crate::error::store_error;
use crate::reads;

/// Most matches one needle keeps: a word in more rows is served by the
/// plain plans (its first page is found early in index order).
const MAX_SET: usize = 20_000;

/// Most keys kept in all (about 80 bytes each: 20 MB), and most needles;
/// the least recently used needle goes first.
const MAX_HELD: usize = 300_000;
const MAX_NEEDLES: usize = 10_000;

/// How many times a page is read again when a row went between the look
/// and the fetch, before the plain plan answers.
const ATTEMPTS: usize = 3;

/// One matching row's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    seq: i64,
    /// `ts_key`'s fixed-width digits as a number: the same order.
    ts: u128,
    id: Box<str>,
}

/// A needle's matches at a mark, in `seq` order.
#[derive(Debug, Clone)]
pub(crate) struct Matches {
    mark: i64,
    /// Rows at or below `mark` when taken (all of them were there).
    live: i64,
    keys: Arc<Vec<Key>>,
}

/// Per needle, its matches, or `None`: more than [`MAX_SET`] when last
/// looked (weighing nothing).
#[derive(Debug)]
pub(crate) struct MatchCache {
    kept: Lru<Option<Matches>>,
}

impl Default for MatchCache {
    fn default() -> Self {
        Self {
            kept: Lru::new(MAX_HELD, MAX_NEEDLES),
        }
    }
}

impl MatchCache {
    fn get(&mut self, needle: &str) -> Option<Option<Matches>> {
        self.kept.get_mut(needle).map(|m| m.clone())
    }

    fn put(&mut self, needle: &str, matches: Option<Matches>) {
        let size = matches.as_ref().map_or(0, |m| m.keys.len());
        self.kept.insert(needle, matches, size);
    }

    fn remove(&mut self, needle: &str) {
        self.kept.remove(needle);
    }
}

/// The counters a statement checks the kept keys against: the store's
/// total and the rows past `mark`, in one snapshot.
const CHECK: &str = "(SELECT COALESCE(SUM(messages), 0)::int8 FROM totals), \
                     (SELECT count(*) FROM messages WHERE seq > $1)";

/// The same when nothing is kept: every row is new, none is counted.
const NO_CHECK: &str = "(SELECT COALESCE(SUM(messages), 0)::int8 FROM totals), 0::int8";

/// The matches of `needle` (folded) as of the feed counter now: the kept
/// keys, checked and extended past their mark, or taken afresh. `None`
/// when it matches more than [`MAX_SET`] rows: the caller uses the plain
/// plan.
///
/// # Errors
/// A failed statement or an unreadable row.
pub(crate) fn matching(
    client: &mut postgres::Client,
    needle: &str,
    cache: &Mutex<MatchCache>,
) -> Result<Option<Matches>, StoreError> {
    let held = cache.lock().ok().and_then(|mut c| c.get(needle));
    let known = match held {
        Some(Some(m)) => Some(m),
        // Too many when last looked: the plain plans are exact anyway.
        Some(None) => return Ok(None),
        None => None,
    };
    let from = known.as_ref().map_or(0, |m| m.mark);
    let room = MAX_SET.saturating_sub(known.as_ref().map_or(0, |m| m.keys.len()));
    let row = client
        .query_typed_one(
            &format!(
                "WITH past AS (SELECT seq, ts_key, message_id \
                   FROM messages WHERE seq > $1 AND text_folded LIKE $2 ESCAPE '\\' \
                   ORDER BY seq LIMIT $3) \
                 SELECT (SELECT last_seq FROM feed_counter WHERE id = 1), {}, \
                   ARRAY(SELECT seq FROM past ORDER BY seq), \
                   ARRAY(SELECT ts_key FROM past ORDER BY seq), \
                   ARRAY(SELECT message_id FROM past ORDER BY seq)",
                if known.is_some() { CHECK } else { NO_CHECK }
            ),
            &[
                (&from, Type::INT8),
                (&reads::like_pattern(needle), Type::TEXT),
                (&i64::try_from(room + 1).unwrap_or(i64::MAX), Type::INT8),
            ],
        )
        .map_err(store_error)?;
    let mark: i64 = row.try_get(0).map_err(store_error)?;
    let (total, past_all): (i64, i64) = (
        row.try_get(1).map_err(store_error)?,
        row.try_get(2).map_err(store_error)?,
    );
    let Some(past) = keys_of(&row, 3)? else {
        // A `ts_key` that is not 23 digits: leave this needle to the plain plans.
        if let Ok(mut c) = cache.lock() {
            c.put(needle, None);
        }
        return Ok(None);
    };
    let kept = match known {
        // None of the kept rows went: extend them.
        Some(m) if total - past_all == m.live => Some(m),
        // Some went (or nothing was kept): take them all again.
        Some(_) => {
            if let Ok(mut c) = cache.lock() {
                c.remove(needle);
            }
            return matching(client, needle, cache);
        }
        None => None,
    };
    if past.len() > room {
        if let Ok(mut c) = cache.lock() {
            c.put(needle, None);
        }
        return Ok(None);
    }
    let keys = match kept {
        Some(m) if past.is_empty() => m.keys,
        Some(m) => Arc::new(m.keys.iter().cloned().chain(past).collect()),
        None => Arc::new(past),
    };
    let matches = Matches {
        mark: mark.max(from),
        live: total,
        keys,
    };
    if let Ok(mut c) = cache.lock() {
        c.put(needle, Some(matches.clone()));
    }
    Ok(Some(matches))
}

/// The keys in columns `at..at + 3` (parallel arrays); `None` when a
/// `ts_key` is not the 23 digits this build writes.
fn keys_of(row: &Row, at: usize) -> Result<Option<Vec<Key>>, StoreError> {
    let seqs: Vec<i64> = row.try_get(at).map_err(store_error)?;
    let ts: Vec<String> = row.try_get(at + 1).map_err(store_error)?;
    let ids: Vec<String> = row.try_get(at + 2).map_err(store_error)?;
    let mut keys = Vec::with_capacity(seqs.len());
    for ((seq, ts_key), id) in seqs.into_iter().zip(ts).zip(ids) {
        let Some(ts) = ts_number(&ts_key) else {
            return Ok(None);
        };
        keys.push(Key {
            seq,
            ts,
            id: id.into(),
        });
    }
    Ok(Some(keys))
}

/// A sort key's digits as a number, when it has the fixed width (so that
/// numbers order as the text does).
fn ts_number(ts_key: &str) -> Option<u128> {
    (ts_key.len() == 23 && ts_key.bytes().all(|b| b.is_ascii_digit()))
        .then(|| ts_key.parse().ok())
        .flatten()
}

/// Whether `key` is within `since..until` (sort keys as numbers; a bound
/// that is not one keeps nothing, so the caller's plain plan answers).
fn within(key: &Key, since: Option<u128>, until: Option<u128>) -> bool {
    since.is_none_or(|s| key.ts >= s) && until.is_none_or(|u| key.ts < u)
}

/// `since` and `until` as numbers; `None` when one does not convert.
fn bounds(
    since: Option<&domain::Timestamp>,
    until: Option<&domain::Timestamp>,
) -> Option<(Option<u128>, Option<u128>)> {
    let number = |t: Option<&domain::Timestamp>| match t {
        Some(t) => ts_number(&t.sort_key()).map(Some),
        None => Some(None),
    };
    Some((number(since)?, number(until)?))
}

/// A page of `/messages` with `q`: the total, the time filters and the
/// order from the kept keys; only the page's rows are read. `None`: the
/// plain plan answers (a sender or recipient filter, too many matches).
///
/// # Errors
/// A failed statement or a corrupted row.
pub(crate) fn list(
    client: &mut postgres::Client,
    query: &MessageQuery,
    needle: &str,
    cache: &Mutex<MatchCache>,
) -> Result<Option<Page>, StoreError> {
    if query.from.is_some() || query.to.is_some() {
        return Ok(None);
    }
    let Some((since, until)) = bounds(query.since.as_ref(), query.until.as_ref()) else {
        return Ok(None);
    };
    let after = match &query.after {
        Some(c) => match ts_number(&c.ts().sort_key()) {
            Some(ts) => Some((ts, c.id().as_str().to_owned())),
            None => return Ok(None),
        },
        None => None,
    };
    let desc = query.order == Order::Desc;
    let limit = i64::from(query.limit.get());
    let order = if desc {
        "m.ts_key DESC, m.message_id DESC"
    } else {
        "m.ts_key, m.message_id"
    };
    let columns = format!(
        "x.message_id, x.from_msisdn, x.to_msisdn, x.ts, x.text, x.ts_key FROM messages x \
         WHERE x.seq = ANY($2)) AS m ON true ORDER BY {order}"
    );
    let choose = |matches: &Matches| {
        let mut chosen: Vec<&Key> = matches
            .keys
            .iter()
            .filter(|k| within(k, since, until))
            .collect();
        let total = i64::try_from(chosen.len()).unwrap_or(i64::MAX);
        chosen.sort_unstable_by(|a, b| {
            let o = (a.ts, &*a.id).cmp(&(b.ts, &*b.id));
            if desc { o.reverse() } else { o }
        });
        if let Some((ts, id)) = &after {
            chosen.retain(|k| {
                let o = (k.ts, &*k.id).cmp(&(*ts, id.as_str()));
                if desc { o.is_lt() } else { o.is_gt() }
            });
        }
        let skip = usize::try_from(query.offset.get()).unwrap_or(usize::MAX);
        let take = usize::try_from(limit + 1).unwrap_or(usize::MAX);
        let page = chosen.iter().skip(skip).take(take).map(|k| k.seq).collect();
        (page, total)
    };
    match kept_page(client, needle, cache, &columns, 6, choose)? {
        Some((rows, total)) => reads::page_of(rows.iter(), limit, total).map(Some),
        None => Ok(None),
    }
}

/// The rows of the page `choose` picks from the kept matches (with what
/// else it worked out), read again when a row went between the look and
/// the fetch; `None` after [`ATTEMPTS`] or when the plain plan answers.
fn kept_page<T>(
    client: &mut postgres::Client,
    needle: &str,
    cache: &Mutex<MatchCache>,
    columns: &str,
    at: usize,
    choose: impl Fn(&Matches) -> (Vec<i64>, T),
) -> Result<Option<(Vec<Row>, T)>, StoreError> {
    for _ in 0..ATTEMPTS {
        let Some(matches) = matching(client, needle, cache)? else {
            return Ok(None);
        };
        let (page, extra) = choose(&matches);
        let wanted = page.len();
        if let Some(rows) = fetch(client, &matches, columns, page, at)?
            && rows.len() == wanted
        {
            return Ok(Some((rows, extra)));
        }
    }
    Ok(None)
}

/// Reads the rows `page` names, with the check that no kept row went
/// since `matches` was taken: `None` when one did. `columns` is the
/// lateral select after `SELECT`, whose first column is `message_id`; the
/// check follows in columns `at` and `at + 1`. The rows returned are
/// those present.
fn fetch(
    client: &mut postgres::Client,
    matches: &Matches,
    columns: &str,
    page: Vec<i64>,
    at: usize,
) -> Result<Option<Vec<Row>>, StoreError> {
    let sql =
        format!("SELECT m.*, c.* FROM (SELECT {CHECK}) AS c LEFT JOIN LATERAL (SELECT {columns}");
    let rows = client
        .query_typed(
            &sql,
            &[(&matches.mark, Type::INT8), (&page, Type::INT8_ARRAY)],
        )
        .map_err(store_error)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (total, past_all): (i64, i64) = (
        first.try_get(at).map_err(store_error)?,
        first.try_get(at + 1).map_err(store_error)?,
    );
    if total - past_all != matches.live {
        return Ok(None);
    }
    let mut present = Vec::with_capacity(rows.len());
    for row in rows {
        if row
            .try_get::<_, Option<&str>>(0)
            .map_err(store_error)?
            .is_some()
        {
            present.push(row);
        }
    }
    Ok(Some(present))
}

/// A feed page with `q`: the kept keys past the position within the time
/// filters, in `seq` order, and only the page's rows read. `None`: the
/// plain plan answers (a sender filter, too many matches).
///
/// # Errors
/// A failed statement or a corrupted row.
pub(crate) fn feed(
    client: &mut postgres::Client,
    query: &FeedQuery,
    needle: &str,
    cache: &Mutex<MatchCache>,
) -> Result<Option<FeedPage>, StoreError> {
    if query.from.is_some() {
        return Ok(None);
    }
    let Some((since, until)) = bounds(query.since.as_ref(), query.until.as_ref()) else {
        return Ok(None);
    };
    let limit = usize::try_from(query.limit.get()).unwrap_or(usize::MAX);
    let columns = format!(
        "{} FROM messages x WHERE x.seq = ANY($2)) AS m ON true ORDER BY m.seq",
        reads::item_columns("x.")
    );
    let choose = |matches: &Matches| {
        let start = matches
            .keys
            .partition_point(|k| k.seq <= query.after.as_i64());
        let page = matches.keys[start..]
            .iter()
            .filter(|k| within(k, since, until))
            .take(limit)
            .map(|k| k.seq)
            .collect();
        (page, ())
    };
    let Some((rows, ())) = kept_page(client, needle, cache, &columns, reads::ITEM_COUNT, choose)?
    else {
        return Ok(None);
    };
    let items = rows
        .iter()
        .map(reads::item_from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let next = items.last().map_or(query.after, |item| item.seq);
    Ok(Some(FeedPage { items, next }))
}
