//! `q` through the trigram index: the matching rows are found once per
//! request, then counted and paged under a plan picked from their number.
//!
//! The trigram phrase is the expensive part (milliseconds at a million
//! rows), so it runs once, into a set of rowids; `total` is the set's size
//! (or its overlap with the other filters) and the page is read in order
//! either by stepping through an ordering index and testing membership, or
//! by looking every member up and sorting. Which one is cheaper depends on
//! how many rows match, so the choice is made per request.

use std::rc::Rc;
use std::sync::{Arc, Mutex};
use store_kit::lru::Lru;

use domain::{FeedPage, FeedQuery, MessageQuery, Order, Page, StoreError};
use rusqlite::types::{ToSql, Value};
use rusqlite::vtab::array::Array;
use rusqlite::{Connection, params_from_iter};

use crate::deletes::ERASED_EPOCH;
use crate::error::store_error;
use crate::reads::{
    filters, item_columns, item_from_row, list_plain, order_sql, push_after, range_count,
    read_page, sender_count, to_i64, where_sql,
};
use crate::schema::SEARCH_MARK;

/// The shortest needle the trigram index can answer.
const MIN_INDEXED_NEEDLE: usize = 3;

/// A page for `query`: through the search index when there is a `q` it can
/// answer, otherwise from the table alone. The one place this is decided.
pub(crate) fn list(
    conn: &Connection,
    query: &MessageQuery,
    search_index: bool,
    matches: &Mutex<MatchCache>,
) -> Result<Page, StoreError> {
    match &query.q {
        Some(q) if search_index && q.folded().chars().count() >= MIN_INDEXED_NEEDLE => {
            list_matching(conn, query, q.folded(), matches)
        }
        _ => list_plain(conn, query),
    }
}

/// A feed page for `query`: with a `q` the index can answer, from the
/// matching rows (the same kept sets `list` uses), read in `seq` order in
/// chunks until the page is full; otherwise by scanning in `seq` order.
/// A rare word costs a lookup per match instead of a scan of the feed.
pub(crate) fn feed(
    conn: &Connection,
    query: &FeedQuery,
    search_index: bool,
    matches: &Mutex<MatchCache>,
) -> Result<FeedPage, StoreError> {
    match &query.q {
        Some(q) if search_index && q.folded().chars().count() >= MIN_INDEXED_NEEDLE => {
            feed_matching(conn, query, q.folded(), matches)
        }
        _ => crate::reads::feed(conn, query),
    }
}

fn feed_matching(
    conn: &Connection,
    query: &FeedQuery,
    needle: &str,
    cache: &Mutex<MatchCache>,
) -> Result<FeedPage, StoreError> {
    let set = matching_rowids(conn, needle, cache).map_err(store_error)?;
    let limit = usize::try_from(query.limit.get()).unwrap_or(usize::MAX);
    // The set is bound after the filters' parameters, then the limit.
    let (mut clauses, params) = crate::reads::feed_filters(query);
    clauses.push("rowid IN rarray(?)");
    let sql = format!(
        "SELECT {} FROM messages NOT INDEXED{} ORDER BY rowid LIMIT ?",
        item_columns(),
        where_sql(&clauses)
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(store_error)?;
    let mut items = Vec::new();
    let mut at = set.partition_point(|&r| r <= query.after.as_i64());
    // Chunks grow when the other filters drop most candidates.
    let mut chunk = limit.max(16);
    while at < set.len() && items.len() < limit {
        let end = at.saturating_add(chunk).min(set.len());
        let ids: Array = Rc::new(set[at..end].iter().copied().map(Value::Integer).collect());
        let want = Value::Integer(i64::try_from(limit - items.len()).unwrap_or(i64::MAX));
        let mut all = bound(&params, &ids);
        all.push(&want);
        let mut rows = stmt.query(params_from_iter(all)).map_err(store_error)?;
        while let Some(row) = rows.next().map_err(store_error)? {
            items.push(item_from_row(row)?);
        }
        at = end;
        chunk = chunk.saturating_mul(2).min(8192);
    }
    let next = items.last().map_or(query.after, |item| item.seq);
    Ok(FeedPage { items, next })
}

/// What reading one row by rowid costs, in index entries stepped through in
/// order. Measured at a million rows: about 1.7 µs against 57 ns.
const LOOKUP_COST: u64 = 30;

/// Indexed matches kept from earlier requests, per folded needle.
///
/// Rows are never changed, the index only grows past its high-water mark,
/// and retention only deletes the oldest rows (a rowid prefix). So the
/// indexed matches at or below a mark stay exact once the purged prefix is
/// cut off: a later request reuses them, drops those below its snapshot's
/// first row, and asks the index only for rows past the mark they were
/// taken at. Erasure deletes rows anywhere, so it moves the erasure epoch
/// on (in the same transaction); a set is reused only by a snapshot of
/// the epoch it was taken at. Bounded by the rowids held; the least
/// recently used needle goes first.
#[derive(Debug)]
pub(crate) struct MatchCache {
    kept: Lru<CachedMatches>,
}

impl Default for MatchCache {
    fn default() -> Self {
        Self {
            kept: Lru::new(CACHE_ROWIDS, usize::MAX),
        }
    }
}

#[derive(Debug)]
struct CachedMatches {
    /// The high-water mark the set is complete up to.
    upto: i64,
    /// The first live rowid when it was taken: every row below was purged.
    floor: i64,
    /// The erasure epoch it was taken at.
    epoch: i64,
    rowids: Arc<Vec<i64>>,
}

/// Rowids the cache may hold in all: 8 MB.
const CACHE_ROWIDS: usize = 1 << 20;

impl MatchCache {
    /// The matches a snapshot whose index reaches `mark` and whose first
    /// live row is `floor` can reuse: the set, and the mark it is complete
    /// up to. None when nothing is held, or the set was taken after a purge
    /// this snapshot does not see (it lacks rows the snapshot still has).
    fn get(&mut self, needle: &str, at: Snapshot) -> Option<(Arc<Vec<i64>>, i64)> {
        let Snapshot { mark, floor, epoch } = at;
        let entry = self.kept.get_mut(needle)?;
        if entry.floor > floor || entry.epoch != epoch {
            return None;
        }
        let start = entry.rowids.partition_point(|&r| r < floor);
        // Taken by a newer snapshot than this reader's: its prefix up to
        // this reader's mark is what this snapshot's index holds.
        let upto = entry.upto.min(mark);
        let end = entry.rowids.partition_point(|&r| r <= upto);
        if start == 0 && end == entry.rowids.len() {
            return Some((Arc::clone(&entry.rowids), upto));
        }
        Some((Arc::new(entry.rowids[start..end].to_vec()), upto))
    }

    fn put(&mut self, needle: &str, at: Snapshot, rowids: &Arc<Vec<i64>>) {
        let Snapshot {
            mark: upto,
            floor,
            epoch,
        } = at;
        if rowids.len() > CACHE_ROWIDS / 4 {
            return;
        }
        if let Some(old) = self.kept.peek(needle) {
            let newer = old.epoch > epoch;
            if newer || (old.epoch == epoch && old.upto >= upto && old.floor >= floor) {
                return;
            }
        }
        let kept = CachedMatches {
            upto,
            floor,
            epoch,
            rowids: Arc::clone(rowids),
        };
        self.kept.insert(needle, kept, rowids.len());
    }
}

/// What a reader's snapshot says about the kept matches it may reuse.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    /// The search index's high-water mark.
    mark: i64,
    /// The first live rowid.
    floor: i64,
    /// The erasure epoch.
    epoch: i64,
}

/// How `q` is evaluated: the indexed rows matching the quoted needle (a
/// phrase of its trigrams, every character literal), then a scan of the
/// rows the index has not reached. Index and mark come from the same read
/// snapshot, so nothing is missed or counted twice. Ascending: known
/// matches lie at or below `from`, the index's others above it, the
/// scanned rows above the mark.
fn matching_rowids(
    conn: &Connection,
    needle: &str,
    cache: &Mutex<MatchCache>,
) -> rusqlite::Result<Vec<i64>> {
    // The index's mark, and the first live row: retention deletes a rowid
    // prefix, so every row below it is gone.
    let at: Snapshot = conn
        .prepare_cached(&format!(
            "SELECT COALESCE({SEARCH_MARK}, 0), COALESCE(MIN(rowid), 9223372036854775807), \
             COALESCE({ERASED_EPOCH}, 0) FROM messages"
        ))?
        .query_row([], |r| {
            Ok(Snapshot {
                mark: r.get(0)?,
                floor: r.get(1)?,
                epoch: r.get(2)?,
            })
        })?;
    let mark = at.mark;
    let held = cache.lock().ok().and_then(|mut c| c.get(needle, at));
    let (known, from) = held.unwrap_or_else(|| (Arc::new(Vec::new()), 0));
    // The index's matches past what is known (all of them when nothing is).
    // Asked only when the index has grown past them: even an empty answer
    // costs a seek in every segment of every trigram (milliseconds at a
    // million rows).
    let mut rowids = if from < mark {
        let mut indexed = Vec::with_capacity(known.len());
        indexed.extend_from_slice(&known);
        let phrase = format!("\"{}\"", needle.replace('"', "\"\""));
        let mut past = conn.prepare_cached(
            "SELECT rowid FROM messages_search WHERE messages_search MATCH ?1 AND rowid > ?2 \
             ORDER BY rowid",
        )?;
        for rowid in past.query_map(rusqlite::params![phrase, from], |r| r.get::<_, i64>(0))? {
            indexed.push(rowid?);
        }
        let indexed = Arc::new(indexed);
        if let Ok(mut c) = cache.lock() {
            c.put(needle, at, &indexed);
        }
        Arc::unwrap_or_clone(indexed)
    } else {
        Arc::unwrap_or_clone(known)
    };
    // Rows the index has not reached, by scan.
    let mut tail = conn.prepare_cached(
        "SELECT rowid FROM messages WHERE rowid > ?1 AND instr(text_folded, ?2) > 0 \
         ORDER BY rowid",
    )?;
    for rowid in tail.query_map(rusqlite::params![mark, needle], |r| r.get::<_, i64>(0))? {
        rowids.push(rowid?);
    }
    Ok(rowids)
}

/// The rows the filters other than `q` select, roughly: only the choice of
/// plan depends on it.
fn range_size(conn: &Connection, query: &MessageQuery) -> rusqlite::Result<u64> {
    let n = match &query.from {
        Some(from) => sender_count(conn, from)?,
        None => range_count(conn, &query.since, &query.until)?,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The WHERE clause for the filters other than `q` (and the cursor).
fn other_filters(query: &MessageQuery) -> (Vec<&'static str>, Vec<Value>) {
    filters(&MessageQuery {
        q: None,
        after: None,
        ..query.clone()
    })
}

/// The ordering index that serves the other filters: stepping through it
/// visits their range in page order.
fn ordering_index(query: &MessageQuery) -> &'static str {
    if query.from.is_some() {
        "INDEXED BY messages_by_sender"
    } else {
        "INDEXED BY messages_by_ts"
    }
}

/// What one pass over a range found: how many members it holds (all of
/// them when counted to the end) and the rowids of the page, in order.
struct Walk {
    members: u64,
    page: Vec<i64>,
}

/// Steps through the other filters' range in page order (from the index
/// alone), testing each rowid against the set: the page is the members past
/// the cursor, after `skip` of them. Unless `count_all`, the walk starts at
/// the cursor and stops once the page is full; with it, every member of the
/// range is counted (`total` ignores the cursor) and the cursor is applied
/// row by row.
fn walk_range(
    conn: &Connection,
    query: &MessageQuery,
    set: &[i64],
    skip: u64,
    take: usize,
    count_all: bool,
) -> rusqlite::Result<Walk> {
    let (mut clauses, mut params) = other_filters(query);
    let cursor = query
        .after
        .as_ref()
        .map(|after| (after.ts().sort_key(), after.id().as_str().to_owned()));
    if let Some(after) = query.after.as_ref().filter(|_| !count_all) {
        push_after(after, query.order, &mut clauses, &mut params);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT rowid, ts_key, message_id FROM messages {}{} ORDER BY {}",
        ordering_index(query),
        where_sql(&clauses),
        order_sql(query.order)
    ))?;
    let mut rows = stmt.query(params_from_iter(params.iter()))?;
    let mut walk = Walk {
        members: 0,
        page: Vec::with_capacity(take),
    };
    let mut past_cursor = 0_u64;
    while let Some(row) = rows.next()? {
        let rowid: i64 = row.get(0)?;
        if set.binary_search(&rowid).is_err() {
            continue;
        }
        walk.members += 1;
        if let Some((ts_key, id)) = cursor.as_ref().filter(|_| count_all) {
            // Text compares bytewise in SQLite's BINARY collation, as here.
            let key = (row.get_ref(1)?.as_str()?, row.get_ref(2)?.as_str()?);
            let cut = (ts_key.as_str(), id.as_str());
            let behind = match query.order {
                Order::Desc => key >= cut,
                _ => key <= cut,
            };
            if behind {
                continue;
            }
        }
        past_cursor += 1;
        if past_cursor > skip && walk.page.len() < take {
            walk.page.push(rowid);
        } else if walk.page.len() == take && !count_all {
            break;
        }
    }
    Ok(walk)
}

/// `list` for a query whose `q` the index can answer (`needle` is its
/// folded text).
fn list_matching(
    conn: &Connection,
    query: &MessageQuery,
    needle: &str,
    cache: &Mutex<MatchCache>,
) -> Result<Page, StoreError> {
    let set = matching_rowids(conn, needle, cache).map_err(store_error)?;
    let found = u64::try_from(set.len()).unwrap_or(u64::MAX);
    let range = range_size(conn, query).map_err(store_error)?;
    let filtered = query.from.is_some()
        || query.to.is_some()
        || query.since.is_some()
        || query.until.is_some();
    let limit = query.limit.get();
    // One row more than asked says whether a next page exists.
    let take = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let skip = query.offset.get();

    // Looking every member up costs `found` lookups; walking the range in
    // order costs the whole range when the total must be counted there, or
    // else about (offset + limit) * range / found steps.
    let lookups = found.saturating_mul(LOOKUP_COST);
    let steps = if filtered {
        range
    } else {
        (skip.saturating_add(take as u64).saturating_mul(range) / found.max(1)).min(range)
    };
    if steps <= lookups {
        let walk = walk_range(conn, query, &set, skip, take, filtered).map_err(store_error)?;
        let total = if filtered { walk.members } else { found };
        let ids: Array = Rc::new(walk.page.into_iter().map(Value::Integer).collect());
        return read_page(
            conn,
            &format!(
                "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages \
                 WHERE rowid IN rarray(?) ORDER BY {}",
                order_sql(query.order)
            ),
            [&ids],
            limit,
            total,
        );
    }

    // Few members: read each by rowid, filter and sort them.
    let ids: Array = Rc::new(set.into_iter().map(Value::Integer).collect());
    let (mut clauses, params) = other_filters(query);
    clauses.push("rowid IN rarray(?)");
    let total = if filtered {
        let n: i64 = conn
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM messages NOT INDEXED{}",
                where_sql(&clauses)
            ))
            .and_then(|mut s| s.query_row(params_from_iter(bound(&params, &ids)), |r| r.get(0)))
            .map_err(store_error)?;
        u64::try_from(n).unwrap_or(0)
    } else {
        found
    };
    // The set is bound after the other filters, then the cursor and paging.
    let mut tail = Vec::new();
    if let Some(after) = &query.after {
        push_after(after, query.order, &mut clauses, &mut tail);
    }
    tail.push(Value::Integer(i64::from(limit) + 1));
    tail.push(Value::Integer(to_i64(skip)));
    let mut all = bound(&params, &ids);
    all.extend(tail.iter().map(|p| p as &dyn ToSql));
    let sql = format!(
        "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages NOT INDEXED{} \
         ORDER BY {} LIMIT ? OFFSET ?",
        where_sql(&clauses),
        order_sql(query.order)
    );
    read_page(conn, &sql, params_from_iter(all), limit, total)
}

/// The filters' parameters followed by the set.
fn bound<'a>(params: &'a [Value], set: &'a Array) -> Vec<&'a dyn ToSql> {
    let mut all: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
    all.push(set);
    all
}
