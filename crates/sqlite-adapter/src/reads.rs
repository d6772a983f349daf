//! The read side without the search index: filters as SQL, the kept
//! counters, keyset and offset pages, row mapping, and stats. `search.rs`
//! builds on it; the choice between the two is wholly there.

use domain::{
    Conversation, ConversationPage, ConversationQuery, Cursor, DayCount, FeedItem, FeedPage,
    FeedQuery, Message, MessageId, MessageQuery, Msisdn, Order, Page, SenderCount, Seq, Stats,
    StoreError, TOP_SENDERS, Timestamp,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use crate::error::store_error;

/// The WHERE clause for `query`'s filters, and its parameters; `q` as a
/// plain substring scan (the index's path is in `search.rs`).
pub(crate) fn filters(query: &MessageQuery) -> (Vec<&'static str>, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    if let Some(from) = &query.from {
        clauses.push("from_msisdn = ?");
        params.push(Value::Text(from.clone()));
    }
    if let Some(to) = &query.to {
        clauses.push("to_msisdn = ?");
        params.push(Value::Text(to.clone()));
    }
    if let Some(since) = &query.since {
        clauses.push("ts_key >= ?");
        params.push(Value::Text(since.sort_key()));
    }
    if let Some(until) = &query.until {
        clauses.push("ts_key < ?");
        params.push(Value::Text(until.sort_key()));
    }
    if let Some(q) = &query.q {
        // instr() is a plain substring test: `%` and `_` stay literal.
        clauses.push("instr(text_folded, ?) > 0");
        params.push(Value::Text(q.folded().to_owned()));
    }
    (clauses, params)
}

pub(crate) fn where_sql(clauses: &[&str]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    }
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// All messages, from the kept counter.
pub(crate) fn total_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT messages FROM totals WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Messages from `from`, from the kept per-sender counter.
pub(crate) fn sender_count(conn: &Connection, from: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT message_count FROM senders WHERE from_msisdn = ?")?
        .query_row([from], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Adds the keyset condition "past this cursor, in `order`" to a WHERE
/// clause.
pub(crate) fn push_after(
    cursor: &Cursor,
    order: Order,
    clauses: &mut Vec<&'static str>,
    params: &mut Vec<Value>,
) {
    clauses.push(match order {
        Order::Desc => "(ts_key, message_id) < (?, ?)",
        _ => "(ts_key, message_id) > (?, ?)",
    });
    params.push(Value::Text(cursor.ts().sort_key()));
    params.push(Value::Text(cursor.id().as_str().to_owned()));
}

/// `total` for the filters: kept counters answer the common shapes (no
/// filter, sender only) without counting rows.
fn count(
    conn: &Connection,
    query: &MessageQuery,
    clauses: &[&str],
    params: &[Value],
) -> rusqlite::Result<i64> {
    let by_ts = query.since.is_some() || query.until.is_some();
    match (&query.from, &query.to, &query.q) {
        (None, None, None) => range_count(conn, &query.since, &query.until),
        (Some(from), None, None) if !by_ts => sender_count(conn, from),
        _ => conn
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM messages{}",
                where_sql(clauses)
            ))?
            .query_row(params_from_iter(params.iter()), |r| r.get(0)),
    }
}

/// Messages with `since <= ts < until` (either bound open): rows counted
/// in the ordering index only within the bounds' own days, whole days in
/// between summed from `day_counts`.
pub(crate) fn range_count(
    conn: &Connection,
    since: &Option<Timestamp>,
    until: &Option<Timestamp>,
) -> rusqlite::Result<i64> {
    let since = since.as_ref().map(Timestamp::sort_key);
    let until = until.as_ref().map(Timestamp::sort_key);
    let rows = |low: &str, high: &str| -> rusqlite::Result<i64> {
        conn.prepare_cached("SELECT COUNT(*) FROM messages WHERE ts_key >= ?1 AND ts_key < ?2")?
            .query_row(params![low, high], |r| r.get(0))
    };
    let days = |after: &str, before: &str| -> rusqlite::Result<i64> {
        conn.prepare_cached(
            "SELECT COALESCE(SUM(message_count), 0) FROM day_counts WHERE day > ?1 AND day < ?2",
        )?
        .query_row(params![after, before], |r| r.get(0))
    };
    let day = |key: &str| store_kit::keys::day_of_sort_key(key).to_owned();
    match (since.as_deref(), until.as_deref()) {
        (None, None) => total_count(conn),
        (Some(low), Some(high)) if low >= high => Ok(0),
        (Some(low), Some(high)) if day(low) == day(high) => rows(low, high),
        (Some(low), high) => {
            let first = day(low);
            let start = rows(low, &store_kit::keys::after_day(&first))?;
            let (middle_end, end) = match high {
                Some(high) => (day(high), rows(&day(high), high)?),
                None => ("~".to_owned(), 0),
            };
            Ok(start + days(&first, &middle_end)? + end)
        }
        (None, Some(high)) => {
            let last = day(high);
            Ok(days("", &last)? + rows(&last, high)?)
        }
    }
}

/// [`seek`] from the newest: for a deep `offset` in `desc` with no filter
/// but `until`, an exclusive upper sort key and the (at most one day's
/// worth of) rows to skip below it.
fn seek_desc(
    conn: &Connection,
    until_key: Option<&str>,
    offset: u64,
) -> rusqlite::Result<(String, u64)> {
    let mut skip = offset;
    let mut below_day = "~".to_owned();
    if let Some(key) = until_key {
        let day = store_kit::keys::day_of_sort_key(key);
        let partial: i64 = conn
            .prepare_cached("SELECT COUNT(*) FROM messages WHERE ts_key >= ?1 AND ts_key < ?2")?
            .query_row(params![day, key], |r| r.get(0))?;
        let partial = u64::try_from(partial).unwrap_or(0);
        if skip < partial {
            return Ok((key.to_owned(), skip));
        }
        skip -= partial;
        day.clone_into(&mut below_day);
    }
    let mut days = conn.prepare_cached(
        "SELECT day, message_count FROM day_counts WHERE day < ?1 ORDER BY day DESC",
    )?;
    let mut rows = days.query([&below_day])?;
    while let Some(row) = rows.next()? {
        let (day, n): (String, i64) = (row.get(0)?, row.get(1)?);
        let n = u64::try_from(n).unwrap_or(0);
        if skip < n {
            return Ok((store_kit::keys::after_day(&day), skip));
        }
        skip -= n;
    }
    // Past the end: a key below every day, nothing to skip.
    Ok((String::new(), 0))
}

/// For a deep `offset` with no filter but `since`: a sort key to start
/// from and the (at most one day's worth of) rows to skip after it, found
/// by summing whole days in `day_counts` instead of stepping through rows.
fn seek(
    conn: &Connection,
    since_key: Option<&str>,
    offset: u64,
) -> rusqlite::Result<(String, u64)> {
    let mut skip = offset;
    let mut from_day = String::new();
    if let Some(key) = since_key {
        let day = store_kit::keys::day_of_sort_key(key);
        let partial: i64 = conn
            .prepare_cached("SELECT COUNT(*) FROM messages WHERE ts_key >= ?1 AND ts_key < ?2")?
            .query_row(params![key, store_kit::keys::after_day(day)], |r| r.get(0))?;
        let partial = u64::try_from(partial).unwrap_or(0);
        if skip < partial {
            return Ok((key.to_owned(), skip));
        }
        skip -= partial;
        from_day = day.to_owned();
    }
    let mut days = conn
        .prepare_cached("SELECT day, message_count FROM day_counts WHERE day > ?1 ORDER BY day")?;
    let mut rows = days.query([&from_day])?;
    while let Some(row) = rows.next()? {
        let (day, n): (String, i64) = (row.get(0)?, row.get(1)?);
        let n = u64::try_from(n).unwrap_or(0);
        if skip < n {
            return Ok((day, skip));
        }
        skip -= n;
    }
    // Past the end: a key after every day, nothing to skip.
    Ok(("~".to_owned(), 0))
}

/// `ORDER BY` for `order`.
pub(crate) fn order_sql(order: Order) -> &'static str {
    match order {
        Order::Desc => "ts_key DESC, message_id DESC",
        _ => "ts_key, message_id",
    }
}

/// A page and its total from the table and its ordering indexes alone
/// (`q`, if any, as a substring scan).
pub(crate) fn list_plain(conn: &Connection, query: &MessageQuery) -> Result<Page, StoreError> {
    let (mut clauses, mut params) = filters(query);
    let total = count(conn, query, &clauses, &params).map_err(store_error)?;

    if let Some(after) = &query.after {
        push_after(after, query.order, &mut clauses, &mut params);
    }
    let limit = query.limit.get();
    let offset = query.offset.get();
    let order = order_sql(query.order);
    let desc = query.order == Order::Desc;
    let page_sql = if offset == 0 {
        format!(
            "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages{} \
             ORDER BY {order} LIMIT ?",
            where_sql(&clauses)
        )
    } else if query.from.is_none()
        && query.to.is_none()
        && query.q.is_none()
        && query.after.is_none()
    {
        // Unfiltered (or by `ts` only): whole days are skipped by their
        // counts, then at most a day's rows in the ordering index.
        let (bound, start) = if desc {
            let (key, skip) = seek_desc(
                conn,
                query.until.as_ref().map(Timestamp::sort_key).as_deref(),
                offset,
            )
            .map_err(store_error)?;
            clauses.push(
                "(ts_key, message_id) <= (SELECT ts_key, message_id FROM messages \
                 WHERE ts_key < ? ORDER BY ts_key DESC, message_id DESC LIMIT 1 OFFSET ?)",
            );
            (key, skip)
        } else {
            let (key, skip) = seek(
                conn,
                query.since.as_ref().map(Timestamp::sort_key).as_deref(),
                offset,
            )
            .map_err(store_error)?;
            clauses.push(
                "(ts_key, message_id) >= (SELECT ts_key, message_id FROM messages \
                 WHERE ts_key >= ? ORDER BY ts_key, message_id LIMIT 1 OFFSET ?)",
            );
            (key, skip)
        };
        params.push(Value::Text(bound));
        params.push(Value::Integer(to_i64(start)));
        format!(
            "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages{} \
             ORDER BY {order} LIMIT ?",
            where_sql(&clauses)
        )
    } else {
        // Skip through the (covering) ordering index to the first row of the
        // page, then read only the page's rows, instead of OFFSET stepping
        // through table rows. Parameters in text order: the outer filters,
        // the inner filters, the offset (then the limit, below).
        let inner = format!(
            "SELECT ts_key, message_id FROM messages{} ORDER BY {order} LIMIT 1 OFFSET ?",
            where_sql(&clauses)
        );
        let start = if desc {
            format!("(ts_key, message_id) <= ({inner})")
        } else {
            format!("(ts_key, message_id) >= ({inner})")
        };
        let mut outer = clauses.clone();
        outer.push(&start);
        let sql = format!(
            "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages{} \
             ORDER BY {order} LIMIT ?",
            where_sql(&outer)
        );
        params.extend(params.clone());
        params.push(Value::Integer(to_i64(offset)));
        sql
    };
    // One row more than asked says whether a next page exists.
    params.push(Value::Integer(i64::from(limit) + 1));
    read_page(
        conn,
        &page_sql,
        params_from_iter(params.iter()),
        limit,
        u64::try_from(total).unwrap_or(0),
    )
}

/// Runs a page query asking for `limit + 1` rows: the extra row only says
/// whether a next page exists.
pub(crate) fn read_page<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    limit: u32,
    total: u64,
) -> Result<Page, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(store_error)?;
    let mut rows = stmt.query(params).map_err(store_error)?;
    let mut messages = Vec::with_capacity(usize::try_from(limit).unwrap_or(0));
    let mut more = false;
    while let Some(row) = rows.next().map_err(store_error)? {
        if messages.len() == usize::try_from(limit).unwrap_or(usize::MAX) {
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
        total,
        next,
    })
}

/// Rebuilds a message from its row through the domain's rules
/// (`store_kit::rows`), so a corrupted row is an error rather than an
/// invalid `Message`.
fn message_from_row(row: &Row<'_>) -> Result<Message, StoreError> {
    let get = |i| row.get_ref(i).map_err(store_error);
    let text = |i| -> Result<Option<&str>, StoreError> {
        match get(i)? {
            rusqlite::types::ValueRef::Null => Ok(None),
            v => v.as_str().map(Some).map_err(|e| store_error(e.into())),
        }
    };
    let column =
        |i| -> Result<&str, StoreError> { get(i)?.as_str().map_err(|e| store_error(e.into())) };
    store_kit::rows::message(store_kit::rows::Columns {
        id: column(0)?,
        from: column(1)?,
        to: column(2)?,
        ts: column(3)?,
        text: text(4)?,
    })
}

/// The columns of the full record after the five fields, as
/// [`record_from_row`] reads them.
pub(crate) const RECORD_COLUMNS: &str = "created_at, source, kind, sender_name, media_id, \
     media_mime_type, media_sha256, media_filename, media_voice, reply_to, business_number_id, \
     delivery_id, raw";

/// How many columns [`RECORD_COLUMNS`] names.
const RECORD_COUNT: usize = 13;

/// A message with its envelope and when it was stored: the five fields in
/// columns 0 to 4, [`RECORD_COLUMNS`] from `at` on.
pub(crate) fn record_from_row(
    row: &Row<'_>,
    at: usize,
) -> Result<(Message, time::OffsetDateTime), StoreError> {
    let text = |i: usize| -> Result<Option<&str>, StoreError> {
        match row.get_ref(i).map_err(store_error)? {
            rusqlite::types::ValueRef::Null => Ok(None),
            v => v.as_str().map(Some).map_err(|e| store_error(e.into())),
        }
    };
    let created_at = text(at)?.unwrap_or_default();
    let received_at =
        time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
            .map_err(|_| StoreError::Internal("stored created_at is invalid".into()))?;
    let voice: Option<i64> = row.get(at + 8).map_err(store_error)?;
    let envelope = store_kit::rows::envelope(store_kit::rows::EnvelopeColumns {
        source: text(at + 1)?,
        kind: text(at + 2)?,
        sender_name: text(at + 3)?,
        media_id: text(at + 4)?,
        media_mime_type: text(at + 5)?,
        media_sha256: text(at + 6)?,
        media_filename: text(at + 7)?,
        media_voice: voice.map(|v| v != 0),
        reply_to: text(at + 9)?,
        business_number_id: text(at + 10)?,
        delivery_id: text(at + 11)?,
        raw: row.get(at + 12).map_err(store_error)?,
    })?;
    Ok((message_from_row(row)?.with_envelope(envelope), received_at))
}

pub(crate) fn stats_in(conn: &Connection) -> Result<Stats, StoreError> {
    let (total, senders): (i64, i64) = conn
        .prepare_cached("SELECT messages, senders FROM totals WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(store_error)?;
    let mut top = conn
        .prepare_cached(
            "SELECT from_msisdn, message_count FROM senders \
             ORDER BY message_count DESC, from_msisdn ASC LIMIT ?",
        )
        .map_err(store_error)?;
    let top_senders = top
        .query_map([i64::try_from(TOP_SENDERS).unwrap_or(10)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(store_error)?
        .map(|row| {
            let (from, count) = row.map_err(store_error)?;
            Ok(SenderCount {
                from: Msisdn::new(from).map_err(|_| {
                    StoreError::Internal("stored sender is not a valid number".into())
                })?,
                count: u64::try_from(count).unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let edge = |sql: &str| -> Result<Option<Timestamp>, StoreError> {
        let ts: Option<String> = conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
            .map_err(store_error)?;
        ts.map(|t| Timestamp::parse(&t))
            .transpose()
            .map_err(|_| StoreError::Internal("stored ts is invalid".into()))
    };
    Ok(Stats {
        total_messages: u64::try_from(total).unwrap_or(0),
        senders_count: u64::try_from(senders).unwrap_or(0),
        top_senders,
        first_message_ts: edge(
            "SELECT ts FROM messages ORDER BY ts_key ASC, message_id ASC LIMIT 1",
        )?,
        last_message_ts: edge(
            "SELECT ts FROM messages ORDER BY ts_key DESC, message_id DESC LIMIT 1",
        )?,
    })
}

/// One page of the feed: rows past `after` by rowid (the feed number),
/// `q` as a substring scan along the way.
/// A feed query's `from`, `since` and `until` as clauses and parameters
/// (`after`, `q` and the limit are placed by the caller).
pub(crate) fn feed_filters(query: &FeedQuery) -> (Vec<&'static str>, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    if let Some(from) = &query.from {
        clauses.push("from_msisdn = ?");
        params.push(Value::Text(from.clone()));
    }
    if let Some(since) = &query.since {
        clauses.push("ts_key >= ?");
        params.push(Value::Text(since.sort_key()));
    }
    if let Some(until) = &query.until {
        clauses.push("ts_key < ?");
        params.push(Value::Text(until.sort_key()));
    }
    (clauses, params)
}

pub(crate) fn feed(conn: &Connection, query: &FeedQuery) -> Result<FeedPage, StoreError> {
    let (mut clauses, mut params) = feed_filters(query);
    clauses.push("rowid > ?");
    params.push(Value::Integer(query.after.as_i64()));
    if let Some(q) = &query.q {
        clauses.push("instr(text_folded, ?) > 0");
        params.push(Value::Text(q.folded().to_owned()));
    }
    params.push(Value::Integer(i64::from(query.limit.get())));
    let sql = format!(
        "SELECT message_id, from_msisdn, to_msisdn, ts, text, rowid, {RECORD_COLUMNS} \
         FROM messages{} ORDER BY rowid LIMIT ?",
        where_sql(&clauses)
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(store_error)?;
    let mut rows = stmt.query(params_from_iter(params)).map_err(store_error)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(store_error)? {
        items.push(item_from_row(row)?);
    }
    let next = items.last().map_or(query.after, |item| item.seq);
    Ok(FeedPage { items, next })
}

/// The columns [`item_from_row`] reads.
pub(crate) fn item_columns() -> String {
    format!("message_id, from_msisdn, to_msisdn, ts, text, rowid, {RECORD_COLUMNS}")
}

/// A feed item from [`item_columns`].
pub(crate) fn item_from_row(row: &Row<'_>) -> Result<FeedItem, StoreError> {
    let seq: i64 = row.get(5).map_err(store_error)?;
    let (message, received_at) = record_from_row(row, 6)?;
    Ok(FeedItem {
        seq: Seq::new(seq).map_err(|_| StoreError::Internal("stored rowid is negative".into()))?,
        message,
        received_at,
    })
}

/// The message stored under `id`, with its record and feed number.
pub(crate) fn get(conn: &Connection, id: &MessageId) -> Result<Option<FeedItem>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {} FROM messages WHERE message_id = ?1",
            item_columns()
        ))
        .map_err(store_error)?;
    let mut rows = stmt.query([id.as_str()]).map_err(store_error)?;
    rows.next()
        .map_err(store_error)?
        .map(item_from_row)
        .transpose()
}

/// A page of conversations: senders by their kept latest feed number (the
/// `senders_by_last` index, newest first), each with that message.
pub(crate) fn conversations(
    conn: &Connection,
    query: &ConversationQuery,
) -> Result<ConversationPage, StoreError> {
    let before = query.after.map_or(i64::MAX, |c| c.seq().as_i64());
    let limit = query.limit.get();
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {}, s.message_count FROM senders AS s INDEXED BY senders_by_last \
             JOIN messages AS m ON m.rowid = s.last_seq \
             WHERE s.last_seq < ?1 ORDER BY s.last_seq DESC LIMIT ?2",
            item_columns()
                .split(", ")
                .map(|c| format!("m.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .map_err(store_error)?;
    let mut rows = stmt
        .query(params![before, i64::from(limit) + 1])
        .map_err(store_error)?;
    let mut conversations = Vec::new();
    while let Some(row) = rows.next().map_err(store_error)? {
        // After the item's columns: the five fields, rowid, the record.
        let count: i64 = row.get(6 + RECORD_COUNT).map_err(store_error)?;
        let last = item_from_row(row)?;
        conversations.push(Conversation {
            from: last.message.from().clone(),
            message_count: u64::try_from(count).unwrap_or(0),
            last,
        });
    }
    Ok(ConversationPage::from_overfetch(conversations, query.limit))
}

/// The kept per-day counters between two days (keys `YYYYMMDD`).
pub(crate) fn daily_counts(
    conn: &Connection,
    first: time::Date,
    last: time::Date,
) -> Result<Vec<DayCount>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT day, message_count FROM day_counts
             WHERE day >= ? AND day <= ? AND message_count > 0 ORDER BY day",
        )
        .map_err(store_error)?;
    let rows = stmt
        .query_map(
            params![
                store_kit::keys::day_key(first),
                store_kit::keys::day_key(last)
            ],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )
        .map_err(store_error)?;
    rows.map(|row| {
        let (day, count) = row.map_err(store_error)?;
        Ok(DayCount {
            day: store_kit::keys::date_of_day_key(&day)
                .ok_or_else(|| StoreError::Internal("stored day key is invalid".into()))?,
            count: u64::try_from(count).unwrap_or(0),
        })
    })
    .collect()
}
