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
//!
//! A word in more rows than a needle may keep (a common one, or a short
//! one inside many words) keeps only its number of matches at the mark:
//! its page is found early in index order, and the count, a visit of
//! every match (125 ms for a word in 24,000 of a million rows), becomes
//! that number plus the matches past the mark, under the same check, and
//! rolls forward to each statement's counter.

use std::sync::{Arc, Mutex};

use domain::{FeedPage, FeedQuery, MessageQuery, Order, Page, StoreError};
use postgres::Row;
use postgres::types::Type;
use store_kit::lru::Lru;

use crate::error::store_error;
use crate::reads;

/// Most matches one needle keeps by default
/// ([`crate::PostgresConfig::search_keep`]): a word in more rows keeps
/// only their number.
pub(crate) const MAX_SET: usize = 20_000;

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

/// How many rows matched a needle at a mark, when they are too many to keep.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counted {
    mark: i64,
    /// Rows at or below `mark` when counted.
    live: i64,
    /// Of those, the matches.
    matched: i64,
}

/// What is kept of one needle.
#[derive(Debug, Clone)]
pub(crate) enum Held {
    Keys(Matches),
    Count(Counted),
}

/// Per needle, what is kept of its matches.
#[derive(Debug)]
pub(crate) struct MatchCache {
    kept: Lru<Held>,
    /// Most matches one needle keeps as keys.
    max_set: usize,
}

impl MatchCache {
    /// Keeping at most `max_set` keys a needle.
    pub(crate) fn new(max_set: usize) -> Self {
        Self {
            kept: Lru::new(MAX_HELD, MAX_NEEDLES),
            max_set,
        }
    }

    fn get(&mut self, needle: &str) -> Option<Held> {
        self.kept.get_mut(needle).map(|m| m.clone())
    }

    fn put(&mut self, needle: &str, held: Held) {
        let size = match &held {
            Held::Keys(m) => m.keys.len(),
            Held::Count(_) => 1,
        };
        self.kept.insert(needle, held, size);
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

/// What is kept of `needle` (folded), brought up to the feed counter now:
/// the kept keys, checked and extended past their mark, or taken afresh;
/// a count when it matches more rows than a needle keeps (a kept count is
/// checked by the statement that uses it).
///
/// # Errors
/// A failed statement or an unreadable row.
pub(crate) fn matching(
    client: &mut postgres::Client,
    needle: &str,
    cache: &Mutex<MatchCache>,
) -> Result<Held, StoreError> {
    let (held, max_set) = match cache.lock() {
        Ok(mut c) => (c.get(needle), c.max_set),
        Err(_) => (None, MAX_SET),
    };
    let known = match held {
        Some(Held::Keys(m)) => Some(m),
        Some(count @ Held::Count(_)) => return Ok(count),
        None => None,
    };
    let from = known.as_ref().map_or(0, |m| m.mark);
    let room = max_set.saturating_sub(known.as_ref().map_or(0, |m| m.keys.len()));
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
    let past = match keys_of(&row, 3)? {
        // Too many to keep, or a `ts_key` that is not 23 digits: counted.
        Some(past) if past.len() <= room => past,
        _ => return count(client, needle, cache),
    };
    let keys = match known {
        // None of the kept rows went: extend them.
        Some(m) if total - past_all == m.live => {
            if past.is_empty() {
                m.keys
            } else {
                Arc::new(m.keys.iter().cloned().chain(past).collect())
            }
        }
        // Some went: take them all again.
        Some(_) => {
            forget(cache, needle);
            return matching(client, needle, cache);
        }
        None => Arc::new(past),
    };
    let held = Held::Keys(Matches {
        mark: mark.max(from),
        live: total,
        keys,
    });
    remember(cache, needle, held.clone());
    Ok(held)
}

/// Counts the matches of `needle` at the feed counter now, and keeps that.
fn count(
    client: &mut postgres::Client,
    needle: &str,
    cache: &Mutex<MatchCache>,
) -> Result<Held, StoreError> {
    // Every row one statement sees is numbered at or below the counter it
    // sees (numbers commit in order): all are counted at that mark.
    let row = client
        .query_typed_one(
            "SELECT (SELECT last_seq FROM feed_counter WHERE id = 1), \
               (SELECT COALESCE(SUM(messages), 0)::int8 FROM totals), \
               (SELECT count(*) FROM messages WHERE text_folded LIKE $1 ESCAPE '\\')",
            &[(&reads::like_pattern(needle), Type::TEXT)],
        )
        .map_err(store_error)?;
    let held = Held::Count(Counted {
        mark: row.try_get(0).map_err(store_error)?,
        live: row.try_get(1).map_err(store_error)?,
        matched: row.try_get(2).map_err(store_error)?,
    });
    remember(cache, needle, held.clone());
    Ok(held)
}

fn remember(cache: &Mutex<MatchCache>, needle: &str, held: Held) {
    if let Ok(mut c) = cache.lock() {
        c.put(needle, held);
    }
}

fn forget(cache: &Mutex<MatchCache>, needle: &str) {
    if let Ok(mut c) = cache.lock() {
        c.remove(needle);
    }
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
    let unbounded = query.since.is_none() && query.until.is_none();
    attempts(client, needle, cache, |client, held| match held {
        Held::Keys(matches) => Ok(match keyed(client, &matches, &columns, 6, choose)? {
            Some((rows, total)) => Step::Done(reads::page_of(rows.iter(), limit, total)?),
            None => Step::Again,
        }),
        Held::Count(counted) if unbounded => {
            Ok(match counted_list(client, query, needle, counted, cache)? {
                Some(page) => Step::Done(page),
                None => Step::Again,
            })
        }
        // A count at the mark says nothing of a time range.
        Held::Count(_) => Ok(Step::Plain),
    })
}

/// Most rows a counted word's page may be expected to step through in
/// the order's index before the planner's plan is left to find it.
const WALK: i64 = 50_000;

/// How a counted word's page is found: along the order's index when the
/// rows before it (offset and page) are expected within [`WALK`] rows,
/// the matches being spread through them; else as the planner chooses.
fn scan_for(query: &MessageQuery, counted: Counted) -> reads::Scan {
    let wanted = i64::try_from(query.offset.get())
        .unwrap_or(i64::MAX)
        .saturating_add(i64::from(query.limit.get()) + 1);
    let expected = wanted.saturating_mul(counted.live) / counted.matched.max(1);
    if expected <= WALK {
        reads::Scan::InOrder
    } else {
        reads::Scan::Planner
    }
}

/// What one attempt at a page from the kept matches came to.
enum Step<T> {
    Done(T),
    /// A row went between the look and the fetch: look again.
    Again,
    /// The plain plan answers.
    Plain,
}

/// Up to [`ATTEMPTS`] of `attempt` on what is kept of `needle`; `None`
/// when the plain plan answers.
fn attempts<T>(
    client: &mut postgres::Client,
    needle: &str,
    cache: &Mutex<MatchCache>,
    mut attempt: impl FnMut(&mut postgres::Client, Held) -> Result<Step<T>, StoreError>,
) -> Result<Option<T>, StoreError> {
    for _ in 0..ATTEMPTS {
        let held = matching(client, needle, cache)?;
        match attempt(client, held)? {
            Step::Done(found) => return Ok(Some(found)),
            Step::Again => {}
            Step::Plain => return Ok(None),
        }
    }
    Ok(None)
}

/// A page of `/messages` for a needle whose matches are counted: the page
/// by the plain plan, in one statement with the matches past the count's
/// mark and the check that none at or below it went. `None` when one went
/// (the count is taken again, without looking for keys first). Each
/// answer moves the count to its mark.
fn counted_list(
    client: &mut postgres::Client,
    query: &MessageQuery,
    needle: &str,
    counted: Counted,
    cache: &Mutex<MatchCache>,
) -> Result<Option<Page>, StoreError> {
    let rows = reads::rows_beside(client, query, scan_for(query, counted), |sql| {
        let m = sql.bind(counted.mark);
        let p = sql.bind(reads::like_pattern(needle));
        // The rows past the mark (few: it moves at every answer) along
        // `seq`, never by the trigram index (all matches, then filtered).
        format!(
            "SELECT (SELECT count(*) FROM messages \
               WHERE seq > {m} AND {} LIKE {p} ESCAPE '\\') AS total, \
             (SELECT COALESCE(SUM(messages), 0)::int8 FROM totals) AS live, \
             (SELECT count(*) FROM messages WHERE seq > {m}) AS past, \
             (SELECT last_seq FROM feed_counter WHERE id = 1) AS mark",
            reads::Scan::InOrder.column()
        )
    })?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let column = |at: usize| first.try_get::<_, i64>(at).map_err(store_error);
    let (past_matched, total, past_all, mark) = (column(5)?, column(6)?, column(7)?, column(8)?);
    if total - past_all != counted.live {
        // Rows went (a purge, an erasure): count again, straight away.
        count(client, needle, cache)?;
        return Ok(None);
    }
    let matched = counted.matched + past_matched;
    let now = Counted {
        mark: mark.max(counted.mark),
        live: total,
        matched,
    };
    remember(cache, needle, Held::Count(now));
    reads::page_from(rows, i64::from(query.limit.get()), matched).map(Some)
}

/// The rows of the page `choose` picks from `matches` (with what else it
/// worked out); `None` when a row went between the look and the fetch.
fn keyed<T>(
    client: &mut postgres::Client,
    matches: &Matches,
    columns: &str,
    at: usize,
    choose: impl Fn(&Matches) -> (Vec<i64>, T),
) -> Result<Option<(Vec<Row>, T)>, StoreError> {
    let (page, extra) = choose(matches);
    let wanted = page.len();
    Ok(fetch(client, matches, columns, page, at)?
        .filter(|rows| rows.len() == wanted)
        .map(|rows| (rows, extra)))
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
    reads::present(rows).map(Some)
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
    let found = attempts(client, needle, cache, |client, held| match held {
        Held::Keys(matches) => Ok(
            match keyed(client, &matches, &columns, reads::ITEM_COUNT, choose)? {
                Some((rows, ())) => Step::Done(rows),
                None => Step::Again,
            },
        ),
        // Many matches: the plain plan finds a page early in `seq` order.
        Held::Count(_) => Ok(Step::Plain),
    })?;
    let Some(rows) = found else {
        return Ok(None);
    };
    let items = rows
        .iter()
        .map(reads::item_from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let next = items.last().map_or(query.after, |item| item.seq);
    Ok(Some(FeedPage { items, next }))
}
