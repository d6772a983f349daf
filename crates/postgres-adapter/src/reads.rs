//! Listing and stats: filters as SQL, the kept counters for the common
//! totals, keyset and offset pages, and row mapping through `domain`'s
//! constructors (a corrupted row is an error, never an invalid `Message`).

use domain::{
    Conversation, ConversationPage, ConversationQuery, Cursor, DayCount, FeedItem, FeedPage,
    FeedQuery, Message, MessageId, MessageQuery, Msisdn, Order, Page, SenderCount, Seq, Stats,
    StoreError, TOP_SENDERS, Timestamp,
};
use postgres::types::{ToSql, Type};
use postgres::{Row, Transaction};

use crate::error::store_error;

/// SQL text with numbered parameters, built clause by clause.
#[derive(Default)]
pub(crate) struct Sql {
    clauses: Vec<String>,
    params: Vec<(Box<dyn ToSql + Sync>, Type)>,
}

/// A parameter's type, declared with it: a statement is then sent with
/// its parameters in one round trip (`query_typed`), instead of being
/// prepared first.
pub(crate) trait Typed: ToSql + Sync + 'static {
    const TYPE: Type;
}

impl Typed for i64 {
    const TYPE: Type = Type::INT8;
}

impl Typed for String {
    const TYPE: Type = Type::TEXT;
}

impl Sql {
    /// Adds `value` as the next parameter and returns its placeholder.
    pub(crate) fn bind<T: Typed>(&mut self, value: T) -> String {
        self.params.push((Box::new(value), T::TYPE));
        format!("${}", self.params.len())
    }

    fn filter(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    fn typed(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.params
            .iter()
            .map(|(p, t)| (p.as_ref() as &(dyn ToSql + Sync), t.clone()))
            .collect()
    }
}

/// `q` as a `LIKE` pattern: `%`, `_` and the escape itself made literal.
pub(crate) fn like_pattern(folded: &str) -> String {
    let mut pattern = String::with_capacity(folded.len() + 2);
    pattern.push('%');
    for c in folded.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// How `q` is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// As the planner chooses (the trigram index, usually).
    Planner,
    /// Row by row along the order being read: for a word known to be in
    /// many rows, whose page is found early that way. The planner cannot
    /// know it: its estimate of a trigram's rows can be 200 times too low.
    InOrder,
}

impl Scan {
    /// The folded text as `LIKE` should see it for this scan.
    pub(crate) fn column(self) -> &'static str {
        match self {
            Self::Planner => "text_folded",
            Self::InOrder => "(text_folded || '')",
        }
    }
}

fn filters(query: &MessageQuery, scan: Scan) -> Sql {
    let mut sql = Sql::default();
    if let Some(from) = &query.from {
        let p = sql.bind(from.clone());
        sql.filter(format!("from_msisdn = {p}"));
    }
    if let Some(to) = &query.to {
        let p = sql.bind(to.clone());
        sql.filter(format!("to_msisdn = {p}"));
    }
    ts_filters(&mut sql, query.since.as_ref(), query.until.as_ref());
    if let Some(q) = &query.q {
        // LIKE, not strpos(): the trigram index serves LIKE. An
        // expression the index does not cover leaves only the order's.
        let p = sql.bind(like_pattern(q.folded()));
        sql.filter(format!("{} LIKE {p} ESCAPE '\\'", scan.column()));
    }
    sql
}

/// `since <= ts < until`, either bound open.
fn ts_filters(sql: &mut Sql, since: Option<&Timestamp>, until: Option<&Timestamp>) {
    if let Some(since) = since {
        let p = sql.bind(since.sort_key());
        sql.filter(format!("ts_key >= {p}"));
    }
    if let Some(until) = until {
        let p = sql.bind(until.sort_key());
        sql.filter(format!("ts_key < {p}"));
    }
}

const COLUMNS: &str = "message_id, from_msisdn, to_msisdn, ts, text";

/// Messages with `since <= ts < until` (either bound open): rows counted
/// in the ordering index only within the bounds' own days, whole days in
/// between summed from `day_counts`.
fn range_count(
    tx: &mut Transaction<'_>,
    since: Option<&Timestamp>,
    until: Option<&Timestamp>,
) -> Result<i64, postgres::Error> {
    let since = since.map(Timestamp::sort_key);
    let until = until.map(Timestamp::sort_key);
    let rows = |tx: &mut Transaction<'_>, low: &str, high: &str| -> Result<i64, postgres::Error> {
        Ok(tx
            .query_typed_one(
                "SELECT count(*) FROM messages WHERE ts_key >= $1 AND ts_key < $2",
                &[(&low, Type::TEXT), (&high, Type::TEXT)],
            )?
            .get(0))
    };
    let days =
        |tx: &mut Transaction<'_>, after: &str, before: &str| -> Result<i64, postgres::Error> {
            Ok(tx
                .query_typed_one(
                    "SELECT COALESCE(SUM(message_count), 0)::int8 FROM day_counts \
                 WHERE day > $1 AND day < $2",
                    &[(&after, Type::TEXT), (&before, Type::TEXT)],
                )?
                .get(0))
        };
    let day = |key: &str| store_kit::keys::day_of_sort_key(key).to_owned();
    match (since.as_deref(), until.as_deref()) {
        (None, None) => total_count(tx),
        (Some(low), Some(high)) if low >= high => Ok(0),
        (Some(low), Some(high)) if day(low) == day(high) => rows(tx, low, high),
        (Some(low), high) => {
            let first = day(low);
            let start = rows(tx, low, &store_kit::keys::after_day(&first))?;
            let (middle_end, end) = match high {
                Some(high) => (day(high), rows(tx, &day(high), high)?),
                None => ("~".to_owned(), 0),
            };
            Ok(start + days(tx, &first, &middle_end)? + end)
        }
        (None, Some(high)) => {
            let last = day(high);
            Ok(days(tx, "", &last)? + rows(tx, &last, high)?)
        }
    }
}

fn total_count(tx: &mut Transaction<'_>) -> Result<i64, postgres::Error> {
    Ok(tx
        .query_typed_one("SELECT COALESCE(SUM(messages), 0)::int8 FROM totals", &[])?
        .get(0))
}

fn count(
    tx: &mut Transaction<'_>,
    query: &MessageQuery,
    sql: &Sql,
) -> Result<i64, postgres::Error> {
    let by_ts = query.since.is_some() || query.until.is_some();
    match (&query.from, &query.to, &query.q) {
        (None, None, None) => range_count(tx, query.since.as_ref(), query.until.as_ref()),
        (Some(from), None, None) if !by_ts => Ok(tx
            .query_typed_opt(
                "SELECT message_count FROM senders WHERE from_msisdn = $1",
                &[(from, Type::TEXT)],
            )?
            .map_or(0, |r| r.get(0))),
        _ => Ok(tx
            .query_typed_one(
                &format!("SELECT count(*) FROM messages{}", sql.where_sql()),
                &sql.typed(),
            )?
            .get(0)),
    }
}

/// For a deep `offset` with no filter but `since`: a sort key to start from
/// and the (at most one day's worth of) rows to skip after it, found by
/// summing whole days instead of stepping through rows.
fn seek(
    tx: &mut Transaction<'_>,
    since_key: Option<&str>,
    offset: i64,
) -> Result<(String, i64), postgres::Error> {
    let mut skip = offset;
    let mut from_day = String::new();
    if let Some(key) = since_key {
        let day = store_kit::keys::day_of_sort_key(key);
        let partial: i64 = tx
            .query_one(
                "SELECT count(*) FROM messages WHERE ts_key >= $1 AND ts_key < $2",
                &[&key, &store_kit::keys::after_day(day)],
            )?
            .get(0);
        if skip < partial {
            return Ok((key.to_owned(), skip));
        }
        skip -= partial;
        from_day = day.to_owned();
    }
    let days = tx.query(
        "SELECT day, SUM(message_count)::int8 FROM day_counts WHERE day > $1 GROUP BY day ORDER BY day",
        &[&from_day],
    )?;
    for row in days {
        let (day, n): (String, i64) = (row.get(0), row.get(1));
        if skip < n {
            return Ok((day, skip));
        }
        skip -= n;
    }
    Ok(("~".to_owned(), 0))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One page and its exact total, in the caller's (repeatable-read)
/// transaction, so both see one snapshot.
pub(crate) fn list(tx: &mut Transaction<'_>, query: &MessageQuery) -> Result<Page, StoreError> {
    let mut sql = filters(query, Scan::Planner);
    let total = count(tx, query, &sql).map_err(store_error)?;
    let desc = query.order == Order::Desc;
    if let Some(after) = &query.after {
        let k = sql.bind(after.ts().sort_key());
        let i = sql.bind(after.id().as_str().to_owned());
        let past = if desc { "<" } else { ">" };
        sql.filter(format!("(ts_key, message_id) {past} ({k}, {i})"));
    }
    let offset = to_i64(query.offset.get());
    let limit = i64::from(query.limit.get());
    let mut offset_clause = String::new();
    let seekable = query.from.is_none()
        && query.to.is_none()
        && query.q.is_none()
        && query.after.is_none()
        && !desc;
    if offset > 0 && seekable {
        // Unfiltered (or `since` only): whole days are skipped by their
        // counts, then at most a day's rows in the ordering index.
        let since_key = query.since.as_ref().map(Timestamp::sort_key);
        let (start, skip) = seek(tx, since_key.as_deref(), offset).map_err(store_error)?;
        let s = sql.bind(start);
        let o = sql.bind(skip);
        sql.filter(format!(
            "(ts_key, message_id) >= (SELECT ts_key, message_id FROM messages \
             WHERE ts_key >= {s} ORDER BY ts_key, message_id OFFSET {o} LIMIT 1)"
        ));
    } else if offset > 0 {
        offset_clause = format!(" OFFSET {}", sql.bind(offset));
    }
    // One row more than asked says whether a next page exists.
    let l = sql.bind(limit + 1);
    let order = if desc {
        "ts_key DESC, message_id DESC"
    } else {
        "ts_key, message_id"
    };
    let page_sql = format!(
        "SELECT {COLUMNS} FROM messages{} ORDER BY {order}{offset_clause} LIMIT {l}",
        sql.where_sql()
    );
    let rows = tx
        .query_typed(&page_sql, &sql.typed())
        .map_err(store_error)?;
    page_of(rows.iter(), limit, total)
}

/// A page from rows read one past `limit` (the extra one says a next page
/// exists) and its total.
pub(crate) fn page_of<'a>(
    rows: impl Iterator<Item = &'a Row>,
    limit: i64,
    total: i64,
) -> Result<Page, StoreError> {
    let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut messages = Vec::new();
    let mut more = false;
    for row in rows {
        if messages.len() == wanted {
            more = true;
            break;
        }
        messages.push(message_from_row(row)?);
    }
    let next = if more {
        messages.last().map(Cursor::after)
    } else {
        None
    };
    Ok(Page {
        messages,
        total: u64::try_from(total).unwrap_or(0),
        next,
    })
}

/// A page and its total in one statement (one statement sees one snapshot,
/// so no transaction is needed): one round trip instead of four. The total
/// comes from the counters (no filter, or `from` alone) or from a count
/// beside the page. `None` for the queries whose count or offset takes
/// several statements: `since`/`until` with no other filter (summed from
/// day counts) and deep offsets of the unfiltered order (sought by day).
pub(crate) fn list_at_once(
    client: &mut postgres::Client,
    query: &MessageQuery,
) -> Option<Result<Page, StoreError>> {
    let filtered = query.from.is_some() || query.to.is_some() || query.q.is_some();
    let by_ts = query.since.is_some() || query.until.is_some();
    if !filtered && (by_ts || query.offset.get() > 0) {
        return None;
    }
    let rows = rows_beside(client, query, Scan::Planner, |sql| {
        match (&query.from, &query.to, &query.q) {
            (None, None, None) => {
                "SELECT COALESCE(SUM(messages), 0)::int8 AS total FROM totals".to_owned()
            }
            // `filters` binds `from` first: it is $1.
            (Some(_), None, None) if !by_ts => {
                "SELECT COALESCE((SELECT message_count FROM senders \
             WHERE from_msisdn = $1), 0)::int8 AS total"
                    .to_owned()
            }
            _ => format!(
                "SELECT count(*)::int8 AS total FROM messages{}",
                sql.where_sql()
            ),
        }
    });
    Some(rows.and_then(|rows| {
        let total: i64 = match rows.first() {
            Some(row) => row.try_get(5).map_err(store_error)?,
            None => 0,
        };
        page_from(rows, i64::from(query.limit.get()), total)
    }))
}

/// The rows of a `/messages` page (`query`'s filters, order, cursor,
/// offset, one row past the limit) in one statement, each beside the one
/// row `beside` selects (given the filters' parameters, it binds its own):
/// its columns follow the page's five from column 5 on. An empty page is
/// one row of nulls beside it.
///
/// # Errors
/// A failed statement.
pub(crate) fn rows_beside(
    client: &mut postgres::Client,
    query: &MessageQuery,
    scan: Scan,
    beside: impl FnOnce(&mut Sql) -> String,
) -> Result<Vec<Row>, StoreError> {
    let mut sql = filters(query, scan);
    let beside_sql = beside(&mut sql);
    let desc = query.order == Order::Desc;
    if let Some(after) = &query.after {
        let k = sql.bind(after.ts().sort_key());
        let i = sql.bind(after.id().as_str().to_owned());
        let past = if desc { "<" } else { ">" };
        sql.filter(format!("(ts_key, message_id) {past} ({k}, {i})"));
    }
    let offset = to_i64(query.offset.get());
    let offset_clause = if offset > 0 {
        format!(" OFFSET {}", sql.bind(offset))
    } else {
        String::new()
    };
    let l = sql.bind(i64::from(query.limit.get()) + 1);
    let (order, outer) = if desc {
        (
            "ts_key DESC, message_id DESC",
            "m.ts_key DESC, m.message_id DESC",
        )
    } else {
        ("ts_key, message_id", "m.ts_key, m.message_id")
    };
    let page_sql = format!(
        "WITH t AS ({beside_sql}) SELECT m.message_id, m.from_msisdn, m.to_msisdn, m.ts, m.text, \
         t.* FROM t LEFT JOIN LATERAL (SELECT {COLUMNS}, ts_key FROM messages{} \
         ORDER BY {order}{offset_clause} LIMIT {l}) AS m ON true ORDER BY {outer}",
        sql.where_sql()
    );
    client
        .query_typed(&page_sql, &sql.typed())
        .map_err(store_error)
}

/// The page in rows from [`rows_beside`], with its total.
///
/// # Errors
/// A corrupted row.
pub(crate) fn page_from(rows: Vec<Row>, limit: i64, total: i64) -> Result<Page, StoreError> {
    page_of(present(rows)?.iter(), limit, total)
}

/// The rows of a `LEFT JOIN LATERAL` answer that hold a message (first
/// column set): an empty page is one row of nulls beside the columns the
/// statement selects with it.
///
/// # Errors
/// A corrupted row.
pub(crate) fn present(rows: Vec<Row>) -> Result<Vec<Row>, StoreError> {
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
    Ok(present)
}

/// Rebuilds a message from its row through the domain's rules
/// (`store_kit::rows`), so a corrupted row is an error rather than an
/// invalid `Message`.
fn message_from_row(row: &Row) -> Result<Message, StoreError> {
    let get = |i: usize| row.try_get::<_, &str>(i).map_err(store_error);
    let text: Option<&str> = row.try_get(4).map_err(store_error)?;
    store_kit::rows::message(store_kit::rows::Columns {
        id: get(0)?,
        from: get(1)?,
        to: get(2)?,
        ts: get(3)?,
        text,
    })
}

/// The columns of the full record after the five fields, as
/// [`record_from_row`] reads them.
pub(crate) const RECORD_COLUMNS: &str = "received_at, source, kind, sender_name, media_id, \
     media_mime_type, media_sha256, media_filename, media_voice, reply_to, business_number_id, \
     delivery_id, raw";

/// A message with its envelope and when it was stored (`received_at` is
/// milliseconds since the epoch): the five fields in columns 0 to 4,
/// [`RECORD_COLUMNS`] from `at` on.
pub(crate) fn record_from_row(
    row: &Row,
    at: usize,
) -> Result<(Message, time::OffsetDateTime), StoreError> {
    let text = |i: usize| row.try_get::<_, Option<&str>>(i).map_err(store_error);
    let received_ms: i64 = row.try_get(at).map_err(store_error)?;
    let received_at = store_kit::rows::from_micros(received_ms.saturating_mul(1000))?;
    let envelope = store_kit::rows::envelope(store_kit::rows::EnvelopeColumns {
        source: text(at + 1)?,
        kind: text(at + 2)?,
        sender_name: text(at + 3)?,
        media_id: text(at + 4)?,
        media_mime_type: text(at + 5)?,
        media_sha256: text(at + 6)?,
        media_filename: text(at + 7)?,
        media_voice: row.try_get(at + 8).map_err(store_error)?,
        reply_to: text(at + 9)?,
        business_number_id: text(at + 10)?,
        delivery_id: text(at + 11)?,
        raw: row.try_get(at + 12).map_err(store_error)?,
    })?;
    Ok((message_from_row(row)?.with_envelope(envelope), received_at))
}

/// `/stats` in one statement (one snapshot, one round trip): the counters,
/// the top senders, and both ends of the ordering index.
pub(crate) fn stats_at_once(client: &mut postgres::Client) -> Result<Stats, StoreError> {
    let top = i64::try_from(TOP_SENDERS).unwrap_or(10);
    let row = client
        .query_typed_one(
            // The top senders are read once (a CTE used twice is
            // materialized), from `senders_by_count`.
            "WITH top AS (SELECT from_msisdn, message_count FROM senders \
                          ORDER BY message_count DESC, from_msisdn ASC LIMIT $1) \
             SELECT (SELECT COALESCE(SUM(messages), 0)::int8 FROM totals), \
             (SELECT count(*) FROM senders), \
             (SELECT ts FROM messages ORDER BY ts_key ASC, message_id ASC LIMIT 1), \
             (SELECT ts FROM messages ORDER BY ts_key DESC, message_id DESC LIMIT 1), \
             ARRAY(SELECT from_msisdn FROM top ORDER BY message_count DESC, from_msisdn ASC), \
             ARRAY(SELECT message_count::int8 FROM top \
                   ORDER BY message_count DESC, from_msisdn ASC)",
            &[(&top, Type::INT8)],
        )
        .map_err(store_error)?;
    let edge = |i: usize| -> Result<Option<Timestamp>, StoreError> {
        row.try_get::<_, Option<String>>(i)
            .map_err(store_error)?
            .map(|ts| Timestamp::parse(&ts))
            .transpose()
            .map_err(|_| StoreError::Internal("stored ts is invalid".into()))
    };
    let from: Vec<String> = row.try_get(4).map_err(store_error)?;
    let counts: Vec<i64> = row.try_get(5).map_err(store_error)?;
    let top_senders = from
        .into_iter()
        .zip(counts)
        .map(|(from, count)| {
            Ok(SenderCount {
                from: Msisdn::new(from).map_err(|_| {
                    StoreError::Internal("stored sender is not a valid number".into())
                })?,
                count: u64::try_from(count).unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Stats {
        total_messages: u64::try_from(row.try_get::<_, i64>(0).map_err(store_error)?).unwrap_or(0),
        senders_count: u64::try_from(row.try_get::<_, i64>(1).map_err(store_error)?).unwrap_or(0),
        top_senders,
        first_message_ts: edge(2)?,
        last_message_ts: edge(3)?,
    })
}

/// One page of the feed: rows past `after` by `seq`, at read committed
/// (numbers commit in order, so what is visible is a prefix of the feed).
pub(crate) fn feed(
    client: &mut postgres::Client,
    query: &FeedQuery,
) -> Result<FeedPage, StoreError> {
    let mut sql = Sql::default();
    let after = sql.bind(query.after.as_i64());
    sql.filter(format!("seq > {after}"));
    if let Some(from) = &query.from {
        let p = sql.bind(from.clone());
        sql.filter(format!("from_msisdn = {p}"));
    }
    if let Some(q) = &query.q {
        let p = sql.bind(like_pattern(q.folded()));
        sql.filter(format!("text_folded LIKE {p} ESCAPE '\\'"));
    }
    ts_filters(&mut sql, query.since.as_ref(), query.until.as_ref());
    let l = sql.bind(i64::from(query.limit.get()));
    let page_sql = format!(
        "SELECT {COLUMNS}, seq, {RECORD_COLUMNS} FROM messages{} ORDER BY seq LIMIT {l}",
        sql.where_sql()
    );
    let items = feed_items(client, &page_sql, &sql)?;
    let next = items.last().map_or(query.after, |item| item.seq);
    Ok(FeedPage { items, next })
}

/// The feed items a statement over [`item_columns`] returns.
fn feed_items(
    client: &mut postgres::Client,
    page_sql: &str,
    sql: &Sql,
) -> Result<Vec<FeedItem>, StoreError> {
    client
        .query_typed(page_sql, &sql.typed())
        .map_err(store_error)?
        .iter()
        .map(item_from_row)
        .collect()
}

/// The columns [`item_from_row`] reads, each prefixed by `table`.
pub(crate) fn item_columns(table: &str) -> String {
    format!("{COLUMNS}, seq, {RECORD_COLUMNS}")
        .split(", ")
        .map(|c| format!("{table}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many columns [`item_columns`] names.
pub(crate) const ITEM_COUNT: usize = 19;

/// A feed item from [`item_columns`].
pub(crate) fn item_from_row(row: &Row) -> Result<FeedItem, StoreError> {
    let seq: i64 = row.try_get(5).map_err(store_error)?;
    let (message, received_at) = record_from_row(row, 6)?;
    Ok(FeedItem {
        seq: Seq::new(seq).map_err(|_| StoreError::Internal("stored seq is negative".into()))?,
        message,
        received_at,
    })
}

/// The message stored under `id`, with its record and feed number.
pub(crate) fn get(
    client: &mut impl postgres::GenericClient,
    id: &MessageId,
) -> Result<Option<FeedItem>, StoreError> {
    let sql = format!(
        "SELECT {} FROM messages WHERE message_id = $1",
        item_columns("")
    );
    client
        .query_typed_opt(&sql, &[(&id.as_str(), Type::TEXT)])
        .map_err(store_error)?
        .as_ref()
        .map(item_from_row)
        .transpose()
}

/// A page of conversations: senders by their kept latest `seq`
/// (`senders_by_last`, newest first), each with that message, in the
/// caller's snapshot.
pub(crate) fn conversations(
    tx: &mut Transaction<'_>,
    query: &ConversationQuery,
) -> Result<ConversationPage, StoreError> {
    let before = query.after.map_or(i64::MAX, |c| c.seq().as_i64());
    let limit = query.limit.get();
    let sql = format!(
        "SELECT {}, s.message_count FROM senders AS s JOIN messages AS m ON m.seq = s.last_seq \
         WHERE s.last_seq < $1 ORDER BY s.last_seq DESC LIMIT $2",
        item_columns("m.")
    );
    let rows = tx
        .query_typed(
            &sql,
            &[(&before, Type::INT8), (&(i64::from(limit) + 1), Type::INT8)],
        )
        .map_err(store_error)?;
    let conversations = rows
        .iter()
        .map(|row| {
            let count: i64 = row.try_get(ITEM_COUNT).map_err(store_error)?;
            let last = item_from_row(row)?;
            Ok(Conversation {
                from: last.message.from().clone(),
                message_count: u64::try_from(count).unwrap_or(0),
                last,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(ConversationPage::from_overfetch(conversations, query.limit))
}

/// The kept per-day counters (summed over shards) between two days.
pub(crate) fn daily_counts(
    client: &mut postgres::Client,
    first: time::Date,
    last: time::Date,
) -> Result<Vec<DayCount>, StoreError> {
    let rows = client
        .query(
            "SELECT day, SUM(message_count)::int8 FROM day_counts
             WHERE day >= $1 AND day <= $2 GROUP BY day HAVING SUM(message_count) > 0
             ORDER BY day",
            &[
                &store_kit::keys::day_key(first),
                &store_kit::keys::day_key(last),
            ],
        )
        .map_err(store_error)?;
    rows.iter()
        .map(|row| {
            let day: String = row.try_get(0).map_err(store_error)?;
            let count: i64 = row.try_get(1).map_err(store_error)?;
            Ok(DayCount {
                day: store_kit::keys::date_of_day_key(&day)
                    .ok_or_else(|| StoreError::Internal("stored day key is invalid".into()))?,
                count: u64::try_from(count).unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_are_literal() {
        assert_eq!(like_pattern("100%"), "%100\\%%");
        assert_eq!(like_pattern("a_b"), "%a\\_b%");
        assert_eq!(like_pattern("c:\\x"), "%c:\\\\x%");
        assert_eq!(like_pattern("école"), "%école%");
    }
}
