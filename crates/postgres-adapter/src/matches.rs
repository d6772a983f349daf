//! Kept matches of `q`, per needle: the feed numbers (`seq`) of the rows
//! whose folded text holds it, as of a feed mark. A repeated word then
//! costs one look at the rows past the mark and the lookups of its kept
//! rows, instead of two trigram bitmap scans and rechecks (count, page).
//!
//! Why it stays exact: rows are never changed, and numbers commit in
//! order (a batch holds `feed_counter` through its commit), so every row
//! numbered at or below the counter a statement reads is visible to it,
//! and no row below the mark can appear later. Deletions (retention,
//! erasure) are met by looking the kept numbers up again in the statement
//! that answers: a row that is gone is neither counted nor paged. Each
//! replica keeps its own matches, bounded in numbers held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::{FeedPage, FeedQuery, MessageQuery, Order, Page, StoreError};

use crate::error::store_error;
use crate::reads::{self, Sql};

/// Most matches one needle keeps: a word in more rows is served by the
/// plain plans (its first page is found early in index order).
const MAX_SET: usize = 20_000;

/// Most numbers kept in all, 8 bytes each (16 MB), and most needles; the
/// least recently used needle goes first.
const MAX_HELD: usize = 2_000_000;
const MAX_NEEDLES: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct MatchCache {
    entries: HashMap<String, Kept>,
    held: usize,
    clock: u64,
}

#[derive(Debug)]
struct Kept {
    /// The feed counter the set was taken at.
    mark: i64,
    /// Ascending; `None`: more than [`MAX_SET`] at `mark`.
    seqs: Option<Arc<Vec<i64>>>,
    used: u64,
}

/// A needle's matches at a mark: the kept numbers (some may be gone since).
#[derive(Debug, Clone)]
pub(crate) struct Matches {
    pub(crate) mark: i64,
    pub(crate) seqs: Arc<Vec<i64>>,
}

impl MatchCache {
    fn get(&mut self, needle: &str) -> Option<(i64, Option<Arc<Vec<i64>>>)> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(needle).map(|kept| {
            kept.used = clock;
            (kept.mark, kept.seqs.clone())
        })
    }

    fn put(&mut self, needle: &str, mark: i64, seqs: Option<Arc<Vec<i64>>>) {
        let size = seqs.as_ref().map_or(0, |s| s.len());
        if let Some(old) = self.entries.remove(needle) {
            self.held -= old.seqs.map_or(0, |s| s.len());
        }
        while self.held + size > MAX_HELD || self.entries.len() >= MAX_NEEDLES {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, k)| k.used)
                .map(|(n, _)| n.clone())
            else {
                break;
            };
            if let Some(gone) = self.entries.remove(&oldest) {
                self.held -= gone.seqs.map_or(0, |s| s.len());
            }
        }
        self.clock += 1;
        self.held += size;
        let used = self.clock;
        self.entries
            .insert(needle.to_owned(), Kept { mark, seqs, used });
    }
}

/// The matches of `needle` (folded) as of the feed counter now: the kept
/// ones and those numbered past their mark. `None` when it matches more
/// than [`MAX_SET`] rows: the caller uses the plain plan.
///
/// # Errors
/// A failed statement.
pub(crate) fn matching(
    client: &mut postgres::Client,
    needle: &str,
    cache: &Mutex<MatchCache>,
) -> Result<Option<Matches>, StoreError> {
    let held = cache.lock().ok().and_then(|mut c| c.get(needle));
    let (from, known) = match held {
        Some((mark, Some(seqs))) => (mark, seqs),
        // Too many when last looked: the plain plans are exact anyway.
        Some((_, None)) => return Ok(None),
        None => (0, Arc::new(Vec::new())),
    };
    let room = i64::try_from(MAX_SET.saturating_sub(known.len()) + 1).unwrap_or(i64::MAX);
    let row = client
        .query_typed_one(
            "SELECT (SELECT last_seq FROM feed_counter WHERE id = 1), \
             ARRAY(SELECT seq FROM messages WHERE seq > $1 AND text_folded LIKE $2 ESCAPE '\\' \
                   ORDER BY seq LIMIT $3)",
            &[
                (&from, postgres::types::Type::INT8),
                (&reads::like_pattern(needle), postgres::types::Type::TEXT),
                (&room, postgres::types::Type::INT8),
            ],
        )
        .map_err(store_error)?;
    let mark: i64 = row.try_get(0).map_err(store_error)?;
    let past: Vec<i64> = row.try_get(1).map_err(store_error)?;
    if known.len() + past.len() > MAX_SET {
        if let Ok(mut c) = cache.lock() {
            c.put(needle, mark, None);
        }
        return Ok(None);
    }
    let seqs = if past.is_empty() {
        known
    } else {
        let mut all = Vec::with_capacity(known.len() + past.len());
        all.extend_from_slice(&known);
        all.extend(past);
        Arc::new(all)
    };
    if let Ok(mut c) = cache.lock() {
        c.put(needle, mark.max(from), Some(Arc::clone(&seqs)));
    }
    Ok(Some(Matches {
        mark: mark.max(from),
        seqs,
    }))
}

/// A page of `/messages` with `q` from the kept matches, in one statement:
/// the rows among them (and past their mark) that pass the other filters,
/// counted and paged in one snapshot.
///
/// # Errors
/// A failed statement or a corrupted row.
pub(crate) fn list(
    client: &mut postgres::Client,
    query: &MessageQuery,
    matches: &Matches,
    needle: &str,
) -> Result<Page, StoreError> {
    let mut sql = Sql::default();
    let set = sql.bind(matches.seqs.as_ref().clone());
    let mark = sql.bind(matches.mark);
    let pattern = sql.bind(reads::like_pattern(needle));
    let others = reads::other_filters(
        &mut sql,
        query.from.as_ref(),
        query.to.as_ref(),
        query.since.as_ref(),
        query.until.as_ref(),
    );
    let desc = query.order == Order::Desc;
    let keyset = match &query.after {
        Some(after) => {
            let k = sql.bind(after.ts().sort_key());
            let i = sql.bind(after.id().as_str().to_owned());
            let past = if desc { "<" } else { ">" };
            format!(" WHERE (ts_key, message_id) {past} ({k}, {i})")
        }
        None => String::new(),
    };
    let offset = i64::try_from(query.offset.get()).unwrap_or(i64::MAX);
    let offset_clause = if offset > 0 {
        format!(" OFFSET {}", sql.bind(offset))
    } else {
        String::new()
    };
    let limit = i64::from(query.limit.get());
    let l = sql.bind(limit + 1);
    let (order, outer) = if desc {
        (
            "ts_key DESC, message_id DESC",
            "m.ts_key DESC, m.message_id DESC",
        )
    } else {
        ("ts_key, message_id", "m.ts_key, m.message_id")
    };
    let page_sql = format!(
        "WITH hit AS MATERIALIZED (\
           SELECT seq, ts_key, message_id FROM messages WHERE seq = ANY({set}){others} \
           UNION ALL \
           SELECT seq, ts_key, message_id FROM messages \
            WHERE seq > {mark} AND text_folded LIKE {pattern} ESCAPE '\\'{others}), \
         t AS (SELECT count(*)::int8 AS total FROM hit) \
         SELECT m.message_id, m.from_msisdn, m.to_msisdn, m.ts, m.text, t.total FROM t \
         LEFT JOIN LATERAL (SELECT x.message_id, x.from_msisdn, x.to_msisdn, x.ts, x.text, \
           x.ts_key FROM (SELECT seq FROM hit{keyset} ORDER BY {order}{offset_clause} LIMIT {l}) p \
           JOIN messages x ON x.seq = p.seq) AS m ON true ORDER BY {outer}"
    );
    reads::page_at_once(client, &page_sql, &sql, limit)
}

/// A feed page with `q` from the kept matches: the kept numbers past the
/// position in chunks (growing when the other filters drop most), then the
/// rows past the mark, in `seq` order until the page is full.
///
/// # Errors
/// A failed statement or a corrupted row.
pub(crate) fn feed(
    client: &mut postgres::Client,
    query: &FeedQuery,
    matches: &Matches,
    needle: &str,
) -> Result<FeedPage, StoreError> {
    let limit = usize::try_from(query.limit.get()).unwrap_or(usize::MAX);
    let seqs = &matches.seqs;
    let mut at = seqs.partition_point(|&s| s <= query.after.as_i64());
    let mut chunk = limit.max(16);
    let mut items = Vec::new();
    loop {
        let end = at.saturating_add(chunk).min(seqs.len());
        // The last chunk also takes the rows past the mark.
        let last = end == seqs.len();
        let mut sql = Sql::default();
        let after = sql.bind(query.after.as_i64());
        let set = sql.bind(seqs[at..end].to_vec());
        let mut branch = format!("seq = ANY({set})");
        if last {
            let mark = sql.bind(matches.mark);
            let pattern = sql.bind(reads::like_pattern(needle));
            branch =
                format!("({branch} OR (seq > {mark} AND text_folded LIKE {pattern} ESCAPE '\\'))");
        }
        let others = reads::other_filters(
            &mut sql,
            query.from.as_ref(),
            None,
            query.since.as_ref(),
            query.until.as_ref(),
        );
        let want = i64::try_from(limit - items.len()).unwrap_or(i64::MAX);
        let l = sql.bind(want);
        let page_sql = format!(
            "SELECT {} FROM messages WHERE seq > {after} AND {branch}{others} ORDER BY seq LIMIT {l}",
            reads::item_columns("")
        );
        items.extend(reads::feed_items(client, &page_sql, &sql)?);
        at = end;
        chunk = chunk.saturating_mul(2).min(8192);
        if last || items.len() >= limit {
            break;
        }
    }
    let next = items.last().map_or(query.after, |item| item.seq);
    Ok(FeedPage { items, next })
}
