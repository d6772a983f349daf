//! The writer: group commit over one connection per replica.
//!
//! Every insert is queued to one thread, which takes what has queued up (up
//! to a batch limit, waiting a moment for more), inserts it with the
//! counters in one statement that is its own transaction (one round trip:
//! the server commits it at the protocol's `Sync`, before it answers), and
//! answers each caller after the commit. Senders share commits; a 200
//! means committed, with `synchronous_commit` as the server sets it.
//!
//! Across replicas, batches cannot deadlock: every transaction first takes
//! the feed counter's row (purges and erasures too), then its row locks in
//! one order (messages by id, senders by number, its own day and total
//! counter rows), and the few conflicts a race can still bring
//! (serialization failure, deadlock) are retried at once.

use std::collections::HashSet;
use std::sync::mpsc::TryRecvError;
use std::time::{SystemTime, UNIX_EPOCH};

use domain::{InsertOutcome, Message, StoreError};
use postgres::types::Type;
use postgres::{Client, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use store_kit::tally::Tally;
use store_kit::writers::{Job, Queue, Writers};

use crate::error::{WriteError, connect_error, retry_at_once, write_error};
use crate::schema::COUNTER_SHARDS;
use crate::settings::PostgresConfig;

/// Handle to the writer threads; dropping it drains the queue and joins.
#[derive(Debug)]
pub(crate) struct Writer {
    threads: Writers<Job>,
}

/// Writer connections per replica: one. Every batch holds the feed
/// counter's row from its first statement to its commit (that is what
/// keeps feed numbers in commit order), so batches never commit side by
/// side; more writers only split the queue into smaller batches. Measured
/// in one bench run: one writer ingested 1.67 x what four did.
pub(crate) const WRITER_CONNECTIONS: usize = 1;

/// How many times a batch that lost a race is run again before its callers
/// hear 503.
const RETRIES: usize = 5;

impl Writer {
    /// Writes queued and not yet taken, and how many the queue holds.
    pub(crate) fn queue_gauges(&self) -> (u64, u64) {
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        (n(self.threads.depth()), n(self.threads.capacity()))
    }

    pub(crate) fn start(config: &PostgresConfig, tls: MakeRustlsConnect) -> std::io::Result<Self> {
        let (tx, rx) = store_kit::writers::queue(config.write_queue);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let max_batch = config.max_batch.max(1);
        let first_shard = pick_shard();
        let mut threads = Vec::with_capacity(WRITER_CONNECTIONS);
        for i in 0..WRITER_CONNECTIONS {
            let mut connection = Connection {
                config: config.client_config("write"),
                tls: tls.clone(),
                connect_timeout: config.connect_timeout,
                client: None,
                prepared: None,
                last_used: std::time::Instant::now(),
            };
            let rx = std::sync::Arc::clone(&rx);
            // Each writer its own counter shard: no two wait on one row.
            let shard = (first_shard + i32::try_from(i).unwrap_or(0)) % COUNTER_SHARDS;
            threads.push(
                std::thread::Builder::new()
                    .name(format!("hookbox-pg-writer-{i}"))
                    .spawn(move || run(&mut connection, &rx, max_batch, shard))?,
            );
        }
        Ok(Self {
            threads: Writers::new(tx, threads),
        })
    }

    /// Queues `messages` and waits for their commit; one outcome each.
    pub(crate) fn insert(&self, messages: Vec<Message>) -> Result<Vec<InsertOutcome>, StoreError> {
        store_kit::writers::wait(self.submit(messages))
    }

    /// Queues `messages`; the receipt resolves after their commit. A full
    /// queue answers at once with `Overloaded`.
    pub(crate) fn submit(&self, messages: Vec<Message>) -> domain::Receipt<domain::SubmitResult> {
        self.threads.submit(messages, |job| job)
    }
}

/// How long the writer waits for one more insert to join a batch, and
/// for how long in all, after a batch of more than one row: the callers
/// answered by the last commit are sending their next webhooks, and a
/// commit's fixed cost (its round trips, the WAL flush) is shared by
/// every row in it.
const GATHER: std::time::Duration = std::time::Duration::from_micros(300);
const GATHER_AT_MOST: std::time::Duration = std::time::Duration::from_millis(2);

/// A writer connection unused this long is closed.
const CLOSE_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(20);
/// How long one writer waits at the queue before letting another look.
const TURN: std::time::Duration = std::time::Duration::from_secs(1);
/// How long a writer that found no work stays away from the queue.
const STEP_BACK: std::time::Duration = std::time::Duration::from_millis(20);

/// The writer's connection, opened on first use and again after it breaks
/// (a server restart), so the replica recovers by itself.
struct Connection {
    config: postgres::Config,
    tls: MakeRustlsConnect,
    connect_timeout: std::time::Duration,
    client: Option<Client>,
    /// [`INSERT_BATCH`], prepared on this connection (planned once).
    prepared: Option<Statement>,
    last_used: std::time::Instant,
}

impl Connection {
    /// The connection, and the batch statement prepared on it.
    fn get(&mut self) -> Result<(&mut Client, Statement), StoreError> {
        self.last_used = std::time::Instant::now();
        let mut client = match self.client.take() {
            Some(client) if !client.is_closed() => client,
            _ => {
                self.prepared = None;
                crate::connect::connect(&self.config, &self.tls, self.connect_timeout)
                    .map_err(connect_error)?
            }
        };
        let statement = match &self.prepared {
            Some(statement) => statement.clone(),
            None => {
                let statement = match client.prepare_typed(INSERT_BATCH, &BATCH_TYPES) {
                    Ok(statement) => statement,
                    Err(e) => return Err(write_error(refusal_or(&mut client, e))),
                };
                self.prepared.insert(statement).clone()
            }
        };
        Ok((self.client.insert(client), statement))
    }
}

/// A counter shard for this writer: spread over replicas by process id and
/// start time, so two replicas rarely share one.
fn pick_shard() -> i32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mixed = std::process::id().wrapping_mul(2_654_435_761) ^ nanos;
    i32::try_from(mixed % u32::try_from(COUNTER_SHARDS).unwrap_or(16)).unwrap_or(0)
}

fn run(
    connection: &mut Connection,
    rx: &std::sync::Mutex<Queue<Job>>,
    max_batch: usize,
    shard: i32,
) {
    let mut batch: Vec<Job> = Vec::new();
    let mut last_rows = 0;
    loop {
        // Take a batch while holding the queue; commit it without.
        {
            let Ok(rx) = rx.lock() else { return };
            // Idle: give the connection back to the server; the next batch
            // opens one again. The wait is short so that the writers take
            // turns at the queue and each notices its own idleness.
            if connection.last_used.elapsed() >= CLOSE_IDLE_AFTER {
                connection.client = None;
            }
            let first = match rx.recv_timeout(TURN) {
                Ok(first) => first,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    // Step back from the queue for a moment, outside the
                    // lock: the lock is not fair, and another writer must
                    // get its turn to notice its own idleness.
                    drop(rx);
                    std::thread::sleep(STEP_BACK);
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let mut rows = first.messages.len();
            batch.push(first);
            let gathering = std::time::Instant::now();
            while rows < max_batch {
                let next = match rx.try_recv() {
                    Ok(job) => Some(job),
                    // Inserts that arrive within a moment share the commit,
                    // when the last batch was shared: a lone caller waits
                    // for nothing.
                    Err(TryRecvError::Empty)
                        if last_rows > 1 && gathering.elapsed() < GATHER_AT_MOST =>
                    {
                        rx.recv_timeout(GATHER).ok()
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
                };
                let Some(job) = next else { break };
                rows += job.messages.len();
                batch.push(job);
            }
            last_rows = rows;
        }
        let messages: Vec<&Message> = batch.iter().flat_map(|j| j.messages.iter()).collect();
        let result = commit_with_retries(connection, &messages, shard);
        let mut outcomes = result.map(Vec::into_iter);
        for job in batch.drain(..) {
            let answer = match &mut outcomes {
                Ok(all) => Ok(all.by_ref().take(job.messages.len()).collect()),
                Err(e) => Err(e.duplicate()),
            };
            job.reply.complete(answer);
        }
    }
}

fn commit_with_retries(
    connection: &mut Connection,
    messages: &[&Message],
    shard: i32,
) -> Result<Vec<InsertOutcome>, StoreError> {
    let mut attempt = 0;
    loop {
        let (client, statement) = connection.get()?;
        let started = std::time::Instant::now();
        match commit(client, &statement, messages, shard) {
            Ok(outcomes) => {
                store_kit::writers::record_commit(outcomes.len(), started.elapsed());
                return Ok(outcomes);
            }
            Err(WriteError::Db(e)) if retry_at_once(&e) && attempt < RETRIES => attempt += 1,
            Err(e) => {
                // Prepared again next time: the schema may have moved.
                connection.prepared = None;
                let e = match (e, connection.client.as_mut()) {
                    (WriteError::Db(e), Some(client)) => refusal_or(client, e),
                    (e, _) => e,
                };
                if connection.client.as_ref().is_some_and(Client::is_closed) {
                    connection.client = None;
                }
                return Err(write_error(e));
            }
        }
    }
}

/// What a failed batch statement means: when it failed on the schema's
/// shape (SQLSTATE class 42: a table or column gone, a type changed) and
/// the schema is one this build may not write, the refusal the batch's
/// own check would have given, had a newer build's contract step not made
/// the statement unplannable first; otherwise the error itself.
fn refusal_or(client: &mut Client, e: postgres::Error) -> WriteError {
    if !e.code().is_some_and(|c| c.code().starts_with("42")) || client.is_closed() {
        return WriteError::Db(e);
    }
    let guard = client
        .transaction()
        .and_then(|mut tx| crate::schema::guard_writes(&mut tx));
    match guard {
        Ok(Err(found)) => WriteError::Refused(found),
        _ => WriteError::Db(e),
    }
}

/// Milliseconds since the Unix epoch: when hookbox stored the message.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Inserts `messages` and their counters in one transaction; one outcome
/// each, in order. Within a batch the first message under an id is the one
/// inserted; later ones are duplicates of it.
fn commit(
    client: &mut Client,
    statement: &Statement,
    messages: &[&Message],
    shard: i32,
) -> Result<Vec<InsertOutcome>, WriteError> {
    // Candidates: the first of each id, sorted by id (the lock order); each
    // keeps its place in the callers' order for its feed number.
    let mut seen = HashSet::new();
    let mut candidates: Vec<(usize, &Message)> = messages
        .iter()
        .copied()
        .filter(|m| seen.insert(m.id().as_str()))
        .enumerate()
        .collect();
    candidates.sort_by(|(_, a), (_, b)| a.id().as_str().cmp(b.id().as_str()));
    // No `BEGIN`/`COMMIT`: one statement is one transaction, committed
    // before its answer ends (`ReadyForQuery`, which `query_one` awaits),
    // so the counter's row is not held across two more round trips. A
    // schema this build may not write made the statement write nothing.
    let (found, compatible_from, created) = insert_batch(client, statement, &candidates, shard)?;
    if !crate::schema::serves(found, compatible_from) {
        return Err(WriteError::Refused(found));
    }

    // Outcomes in the callers' order: Created for the one inserted copy.
    let mut answered = HashSet::new();
    Ok(messages
        .iter()
        .map(|m| {
            let id = m.id().as_str();
            if created.contains(id) && answered.insert(id) {
                InsertOutcome::Created
            } else {
                InsertOutcome::Duplicate
            }
        })
        .collect())
}

/// The batch in one statement, one round trip: the feed counter's row
/// taken, the rows inserted with their numbers, the counters `/stats`,
/// totals and deep offsets read (senders, days, this writer's total shard)
/// and the feed counter moved on. What it found of the schema comes back
/// with the ids that were new; when this build may not write it, nothing
/// was written.
///
/// The feed counter's row stays locked until the commit, so the next batch
/// (here or on another replica) numbers after this one and commits after
/// it: a reader never sees a number before all smaller ones. A batch's
/// numbers follow the clock (`store_kit::numbers::base`) and the callers'
/// order; duplicates skip theirs, rollbacks give theirs back. The schema's
/// row is taken `FOR SHARE`: a newer build's migration waits for this
/// batch (expand/contract). `ok` is `crate::schema::serves` said in SQL,
/// because the version is read in this statement; `commit` applies
/// `serves` itself to what comes back, to name the refusal.
const INSERT_BATCH: &str = "WITH c AS (
       SELECT f.last_seq, s.version, s.compatible_from FROM feed_counter f, hookbox_schema s
        WHERE f.id = 1 AND s.id = 1 FOR UPDATE OF f FOR SHARE OF s),
     ok AS (
       SELECT GREATEST(last_seq, $23) AS base FROM c
        WHERE version = $24 OR (version > $24 AND compatible_from <= $24)),
     ins AS (
       INSERT INTO messages
           (message_id, from_msisdn, to_msisdn, ts, ts_key, text, text_folded, received_at,
            seq, source, kind, sender_name, media_id, media_mime_type, media_sha256,
            media_filename, media_voice, reply_to, business_number_id, delivery_id, raw)
       SELECT u.id, u.from_msisdn, u.to_msisdn, u.ts, u.ts_key, u.text, u.text_folded,
              u.received_at, ok.base + 1 + u.place, u.source, u.kind, u.sender_name,
              u.media_id, u.media_mime_type, u.media_sha256, u.media_filename, u.media_voice,
              u.reply_to, u.business_number_id, u.delivery_id, u.raw
         FROM ok, unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::text[], $8::int8[], $9::int8[], $10::text[],
                         $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                         $16::text[], $17::bool[], $18::text[], $19::text[], $20::text[],
                         $21::bytea[])
           AS u (id, from_msisdn, to_msisdn, ts, ts_key, text, text_folded, received_at,
                 place, source, kind, sender_name, media_id, media_mime_type, media_sha256,
                 media_filename, media_voice, reply_to, business_number_id, delivery_id, raw)
        ORDER BY u.id
       ON CONFLICT (message_id) DO NOTHING
       RETURNING message_id, from_msisdn, substr(ts_key, 1, 8) AS day, seq),
     senders_counted AS (
       INSERT INTO senders (from_msisdn, message_count, last_seq)
       SELECT from_msisdn, count(*), max(seq) FROM ins GROUP BY from_msisdn ORDER BY from_msisdn
       ON CONFLICT (from_msisdn)
       DO UPDATE SET message_count = senders.message_count + excluded.message_count,
                     last_seq = GREATEST(senders.last_seq, excluded.last_seq)),
     days_counted AS (
       INSERT INTO day_counts (day, shard, message_count)
       SELECT day, $22, count(*) FROM ins GROUP BY day ORDER BY day
       ON CONFLICT (day, shard)
       DO UPDATE SET message_count = day_counts.message_count + excluded.message_count),
     total_counted AS (
       UPDATE totals SET messages = messages + (SELECT count(*) FROM ins)
        WHERE shard = $22 AND EXISTS (SELECT 1 FROM ins)),
     numbered AS (
       UPDATE feed_counter SET last_seq = (SELECT base FROM ok) + $25
        WHERE id = 1 AND EXISTS (SELECT 1 FROM ins))
     SELECT c.version, c.compatible_from, ARRAY(SELECT message_id FROM ins) FROM c";

/// The types of [`INSERT_BATCH`]'s parameters, in order.
const BATCH_TYPES: [Type; 25] = [
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::INT8_ARRAY,
    Type::INT8_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::BOOL_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::BYTEA_ARRAY,
    Type::INT4,
    Type::INT8,
    Type::INT4,
    Type::INT8,
];

/// Runs [`INSERT_BATCH`] for `candidates` (each with its place in the
/// callers' order, for its number): the schema version and
/// `compatible_from` found, and the ids that were new.
fn insert_batch(
    client: &mut Client,
    statement: &Statement,
    candidates: &[(usize, &Message)],
    shard: i32,
) -> Result<(i32, i32, HashSet<String>), postgres::Error> {
    let received_at = now_ms();
    let column = |f: fn(&Message) -> Option<String>| -> Vec<Option<String>> {
        candidates.iter().map(|(_, m)| f(m)).collect()
    };
    let ids = column(|m| Some(m.id().as_str().to_owned()));
    let froms = column(|m| Some(m.from().as_str().to_owned()));
    let tos = column(|m| Some(m.to().as_str().to_owned()));
    let tss = column(|m| Some(m.ts().as_str().to_owned()));
    let keys = column(|m| Some(m.ts().sort_key()));
    let texts = column(|m| m.text().map(|t| t.as_str().to_owned()));
    let folded = column(|m| m.text().map(domain::MessageText::folded));
    let received: Vec<i64> = vec![received_at; candidates.len()];
    let places: Vec<i64> = candidates
        .iter()
        .map(|(place, _)| i64::try_from(*place).unwrap_or(i64::MAX))
        .collect();
    let envelopes: Vec<store_kit::rows::EnvelopeColumns<'_>> = candidates
        .iter()
        .map(|(_, m)| store_kit::rows::envelope_columns(m.envelope()))
        .collect();
    let env = |f: for<'e> fn(&store_kit::rows::EnvelopeColumns<'e>) -> Option<&'e str>| {
        envelopes.iter().map(f).collect::<Vec<Option<&str>>>()
    };
    let sources = env(|e| e.source);
    let kinds = env(|e| e.kind);
    let names = env(|e| e.sender_name);
    let media_ids = env(|e| e.media_id);
    let mimes = env(|e| e.media_mime_type);
    let shas = env(|e| e.media_sha256);
    let filenames = env(|e| e.media_filename);
    let voices: Vec<Option<bool>> = envelopes.iter().map(|e| e.media_voice).collect();
    let replies = env(|e| e.reply_to);
    let numbers = env(|e| e.business_number_id);
    let deliveries = env(|e| e.delivery_id);
    let raws: Vec<Option<&[u8]>> = candidates.iter().map(|(_, m)| m.envelope().raw()).collect();
    // Numbers start past both the counter and the clock.
    let clock = store_kit::numbers::base(0);
    let count = i64::try_from(candidates.len()).unwrap_or(i64::MAX);
    let row = client.query_one(
        statement,
        &[
            &ids,
            &froms,
            &tos,
            &tss,
            &keys,
            &texts,
            &folded,
            &received,
            &places,
            &sources,
            &kinds,
            &names,
            &media_ids,
            &mimes,
            &shas,
            &filenames,
            &voices,
            &replies,
            &numbers,
            &deliveries,
            &raws,
            &shard,
            &clock,
            &crate::schema::SCHEMA_VERSION,
            &count,
        ],
    )?;
    let created: Vec<String> = row.try_get(2)?;
    Ok((
        row.try_get(0)?,
        row.try_get(1)?,
        created.into_iter().collect(),
    ))
}

/// Deletes up to `max` of the oldest messages (by `seq`) received before
/// `cutoff_ms`, with their counters, in one transaction. It first takes the
/// feed's counter row, as every batch does: purges and inserts take turns
/// (no lock-order deadlock), and a batch of a few hundred rows holds it
/// for milliseconds.
pub(crate) fn purge(client: &mut Client, cutoff_ms: i64, max: i64) -> Result<u64, WriteError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT 1 FROM feed_counter WHERE id = 1 FOR UPDATE", &[])?;
    if let Err(found) = crate::schema::guard_writes(&mut tx)? {
        return Err(WriteError::Refused(found));
    }
    let gone = tx.query(
        "WITH gone AS (
             DELETE FROM messages WHERE message_id IN (
                 SELECT message_id FROM messages WHERE received_at < $1 ORDER BY seq LIMIT $2)
             RETURNING from_msisdn, substr(ts_key, 1, 8) AS day)
         SELECT from_msisdn, day, count(*)::int8 FROM gone GROUP BY 1, 2 ORDER BY 1, 2",
        &[&cutoff_ms, &max],
    )?;
    let total = uncount(&mut tx, &gone)?;
    tx.commit()?;
    Ok(total)
}

/// What an erasure selects.
pub(crate) enum Selector {
    Message(String),
    Sender(String),
}

/// Erases up to `max` of the rows `selector` names (oldest first), with
/// their counters, in one transaction that first takes the feed's counter
/// row, as purges and batches do.
pub(crate) fn erase(client: &mut Client, selector: &Selector, max: i64) -> Result<u64, WriteError> {
    let (clause, value) = match selector {
        Selector::Message(id) => ("message_id = $1", id),
        Selector::Sender(from) => ("from_msisdn = $1", from),
    };
    let mut tx = client.transaction()?;
    tx.execute("SELECT 1 FROM feed_counter WHERE id = 1 FOR UPDATE", &[])?;
    if let Err(found) = crate::schema::guard_writes(&mut tx)? {
        return Err(WriteError::Refused(found));
    }
    let gone = tx.query(
        &format!(
            "WITH gone AS (
                 DELETE FROM messages WHERE message_id IN (
                     SELECT message_id FROM messages WHERE {clause} ORDER BY seq LIMIT $2)
                 RETURNING from_msisdn, substr(ts_key, 1, 8) AS day)
             SELECT from_msisdn, day, count(*)::int8 FROM gone GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        &[value, &max],
    )?;
    let total = uncount(&mut tx, &gone)?;
    tx.commit()?;
    Ok(total)
}

/// Takes deleted rows (`(sender, day, count)` groups) off the counters: a
/// sender at zero is gone, the others' conversations point at their latest
/// message left. Returns how many rows they hold.
fn uncount(
    tx: &mut postgres::Transaction<'_>,
    gone: &[postgres::Row],
) -> Result<u64, postgres::Error> {
    if gone.is_empty() {
        return Ok(0);
    }
    let mut tally = Tally::default();
    for row in gone {
        tally.add(row.get(0), row.get(1), row.get(2));
    }
    let total = tally.total();
    let (senders, sender_counts) = tally.sender_columns();
    tx.execute(
        "UPDATE senders SET message_count = senders.message_count - g.n,
             last_seq = COALESCE(
                 (SELECT max(seq) FROM messages WHERE messages.from_msisdn = g.s), 0)
         FROM unnest($1::text[], $2::int8[]) AS g (s, n) WHERE senders.from_msisdn = g.s",
        &[&senders, &sender_counts],
    )?;
    tx.execute(
        "DELETE FROM senders WHERE from_msisdn = ANY($1::text[]) AND message_count <= 0",
        &[&senders],
    )?;
    // Counters are sums over shards: deletions subtract in shard 0.
    let (days, day_counts) = tally.day_columns();
    let day_counts: Vec<i64> = day_counts.into_iter().map(|n| -n).collect();
    tx.execute(
        "INSERT INTO day_counts (day, shard, message_count)
         SELECT d, 0, n FROM unnest($1::text[], $2::int8[]) AS t (d, n)
         ON CONFLICT (day, shard)
         DO UPDATE SET message_count = day_counts.message_count + excluded.message_count",
        &[&days, &day_counts],
    )?;
    tx.execute(
        "UPDATE totals SET messages = messages - $1 WHERE shard = 0",
        &[&total],
    )?;
    Ok(u64::try_from(total).unwrap_or(0))
}
