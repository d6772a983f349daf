//! `hookbox export` and `hookbox import`: every record of a store as
//! NDJSON, store-neutral, to move between stores (SQLite to PostgreSQL) or
//! keep a portable copy.
//!
//! One JSON object per line, each with `record`: `message` (the full record
//! `GET /messages/export` writes, in feed order), `status` (a kept report of
//! a sent message) and `event` (any other WhatsApp change, in its order). An
//! import stores them through the port, in the file's order, so the ids,
//! the records, the raw bytes, the statuses, the events and the feed order
//! are kept; what is already stored is skipped, so importing twice changes
//! nothing. The importing store gives new feed numbers (above every number
//! it gave before) and its own `received_at`. A line without `record` is a
//! message: an export of `GET /messages/export` imports as well.

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use domain::{
    DeliveryState, Envelope, Event, EventQuery, FeedLimit, FeedQuery, Kind, MAX_FEED_LIMIT, Media,
    Message, MessageInput, MessageStore, RawField, Source, StatusReportQuery, StatusUpdate,
    Timestamp,
};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::shell::{environment, fatal};
use crate::wiring::StoreSettings;

/// `hookbox export`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// Write here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// `hookbox import`.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// Read from here instead of stdin.
    #[arg(long = "in", value_name = "FILE")]
    input: Option<PathBuf>,
}

/// Records per write: one transaction each.
const BATCH: usize = 500;

fn open() -> Result<std::sync::Arc<dyn MessageStore>, ExitCode> {
    let settings = StoreSettings::from_lookup(environment)
        .map_err(|e| fatal(&format!("invalid configuration: {e}")))?;
    settings
        .open()
        .map(|(store, _)| store)
        .map_err(|e| fatal(&format!("cannot open the store: {e}")))
}

/// Runs `hookbox export`.
pub(crate) fn export(args: &ExportArgs) -> ExitCode {
    let store = match open() {
        Ok(store) => store,
        Err(code) => return code,
    };
    let out: Box<dyn Write> = match &args.out {
        None => Box::new(std::io::stdout().lock()),
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Box::new(file),
            Err(e) => return fatal(&format!("cannot create {}: {e}", path.display())),
        },
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    match write_all(store.as_ref(), &mut out).and_then(|n| {
        out.flush().map_err(|e| e.to_string())?;
        Ok(n)
    }) {
        Ok(counts) => {
            eprintln!(
                "{}",
                json!({"status": "ok", "messages": counts[0], "statuses": counts[1], "events": counts[2]})
            );
            ExitCode::SUCCESS
        }
        Err(e) => fatal(&format!("export failed: {e}")),
    }
}

fn line(out: &mut impl Write, text: &str) -> Result<(), String> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|e| e.to_string())
}

/// Messages in feed order, then the status reports, then the events.
fn write_all(store: &dyn MessageStore, out: &mut impl Write) -> Result<[u64; 3], String> {
    let limit = FeedLimit::new(i64::from(MAX_FEED_LIMIT)).map_err(|e| e.to_string())?;
    let mut counts = [0_u64; 3];
    let mut feed = FeedQuery {
        limit,
        ..FeedQuery::default()
    };
    loop {
        let page = store.feed(&feed).map_err(|e| e.to_string())?;
        for item in &page.items {
            let record = http_actix::wire::record_line(item);
            // `{"seq":…` becomes `{"record":"message","seq":…`.
            line(out, &format!("{{\"record\":\"message\",{}", &record[1..]))?;
            counts[0] += 1;
        }
        if page.items.len() < usize::try_from(MAX_FEED_LIMIT).unwrap_or(usize::MAX) {
            break;
        }
        feed.after = page.next;
    }
    let mut reports = StatusReportQuery { after: None, limit };
    loop {
        let page = store.status_reports(&reports).map_err(|e| e.to_string())?;
        for u in &page.items {
            let errors: Vec<Box<RawValue>> = u
                .errors()
                .iter()
                .filter_map(|e| RawValue::from_string(String::from_utf8_lossy(e).into_owned()).ok())
                .collect();
            let record = json!({"record": "status", "message_id": u.message_id(),
                "status": u.state().as_str(), "ts": u.ts().as_str(), "recipient": u.recipient(),
                "errors": errors});
            line(out, &record.to_string())?;
            counts[1] += 1;
        }
        match page.next {
            Some(next) => reports.after = Some(next),
            None => break,
        }
    }
    let mut events = EventQuery {
        limit,
        ..EventQuery::default()
    };
    loop {
        let page = store.events(&events).map_err(|e| e.to_string())?;
        for e in &page.items {
            let raw = RawValue::from_string(String::from_utf8_lossy(e.event.raw()).into_owned())
                .map_err(|err| format!("event {}: {err}", e.seq))?;
            let record = json!({"record": "event", "field": e.event.field(), "raw": raw});
            line(out, &record.to_string())?;
            counts[2] += 1;
        }
        if page.items.len() < usize::try_from(MAX_FEED_LIMIT).unwrap_or(usize::MAX) {
            break;
        }
        events.after = page.next;
    }
    Ok(counts)
}

/// Runs `hookbox import`.
pub(crate) fn import(args: &ImportArgs) -> ExitCode {
    let store = match open() {
        Ok(store) => store,
        Err(code) => return code,
    };
    let input: Box<dyn BufRead> = match &args.input {
        None => Box::new(std::io::stdin().lock()),
        Some(path) => match std::fs::File::open(path) {
            Ok(file) => Box::new(std::io::BufReader::with_capacity(1 << 20, file)),
            Err(e) => return fatal(&format!("cannot read {}: {e}", path.display())),
        },
    };
    match read_all(store.as_ref(), input) {
        Ok(tally) => {
            eprintln!("{}", tally.summary());
            ExitCode::SUCCESS
        }
        Err(e) => fatal(&format!("import failed: {e}")),
    }
}

/// What an import did.
#[derive(Debug, Default)]
struct Tally {
    created: u64,
    duplicates: u64,
    statuses: u64,
    events: u64,
}

impl Tally {
    fn summary(&self) -> Value {
        json!({"status": "ok", "messages_created": self.created,
               "messages_already_stored": self.duplicates,
               "statuses_new": self.statuses, "events_new": self.events})
    }
}

/// What is read and not yet written.
#[derive(Default)]
struct Pending {
    messages: Vec<Message>,
    statuses: Vec<StatusUpdate>,
    events: Vec<Event>,
}

fn read_all(store: &dyn MessageStore, input: impl BufRead) -> Result<Tally, String> {
    let mut tally = Tally::default();
    let mut pending = Pending::default();
    for (number, text) in input.lines().enumerate() {
        let text = text.map_err(|e| e.to_string())?;
        if text.trim().is_empty() {
            continue;
        }
        let at = |e: String| format!("line {}: {e}", number + 1);
        let fields: HashMap<String, Box<RawValue>> =
            serde_json::from_str(&text).map_err(|e| at(e.to_string()))?;
        match text_of(&fields, "record").map_err(at)?.as_deref() {
            None | Some("message") => pending.messages.push(message(&fields).map_err(at)?),
            Some("status") => pending.statuses.push(status(&fields).map_err(at)?),
            Some("event") => pending.events.push(event(&fields).map_err(at)?),
            Some(other) => return Err(at(format!("unknown record {other:?}"))),
        }
        if pending.messages.len() + pending.statuses.len() + pending.events.len() >= BATCH {
            flush(store, &mut pending, &mut tally)?;
        }
    }
    flush(store, &mut pending, &mut tally)?;
    Ok(tally)
}

fn flush(store: &dyn MessageStore, p: &mut Pending, tally: &mut Tally) -> Result<(), String> {
    if !p.messages.is_empty() {
        for outcome in store
            .insert_all(std::mem::take(&mut p.messages))
            .map_err(|e| e.to_string())?
        {
            match outcome {
                domain::InsertOutcome::Created => tally.created += 1,
                _ => tally.duplicates += 1,
            }
        }
    }
    if !p.statuses.is_empty() {
        tally.statuses += store
            .record_statuses(std::mem::take(&mut p.statuses))
            .map_err(|e| e.to_string())?;
    }
    if !p.events.is_empty() {
        let outcomes = store
            .record_events(std::mem::take(&mut p.events))
            .map_err(|e| e.to_string())?;
        tally.events += outcomes
            .iter()
            .filter(|o| **o == domain::InsertOutcome::Created)
            .count() as u64;
    }
    Ok(())
}

/// A field's JSON value, `None` when absent or `null`.
fn value_of(fields: &HashMap<String, Box<RawValue>>, name: &str) -> Option<Value> {
    fields
        .get(name)
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
        .filter(|v| !v.is_null())
}

/// A string field; an error when present and not a string.
fn text_of(fields: &HashMap<String, Box<RawValue>>, name: &str) -> Result<Option<String>, String> {
    match value_of(fields, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

/// A message record back into a [`Message`] with its envelope, through the
/// domain's rules (an invalid record is an error, never a stored message).
fn message(fields: &HashMap<String, Box<RawValue>>) -> Result<Message, String> {
    let values = ["message_id", "from", "to", "ts", "text"].map(|name| {
        fields
            .get(name)
            .map(|raw| serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Bool(false)))
    });
    let field = |i: usize| match &values[i] {
        None => RawField::Missing,
        Some(Value::Null) => RawField::Null,
        Some(Value::String(s)) => RawField::Str(s),
        Some(_) => RawField::NotAString,
    };
    let message = Message::parse(MessageInput {
        message_id: field(0),
        from: field(1),
        to: field(2),
        ts: field(3),
        text: field(4),
    })
    .map_err(|e| format!("not a valid message: {e}"))?;
    let source = text_of(fields, "source")?
        .map(|s| Source::from_name(&s).ok_or(format!("unknown source {s:?}")))
        .transpose()?;
    let kind = match text_of(fields, "kind")? {
        None => Kind::text(),
        Some(k) => Kind::new(&k).ok_or("kind is not a valid kind")?,
    };
    let media = value_of(fields, "media").and_then(|m| {
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
        Media::new(&s("id")?).map(|media| {
            media
                .with_mime_type(s("mime_type").as_deref())
                .with_sha256(s("sha256").as_deref())
                .with_filename(s("filename").as_deref())
                .with_voice(m.get("voice").and_then(Value::as_bool))
        })
    });
    let raw = fields.get("raw").map(|r| r.get()).filter(|r| *r != "null");
    let raw = match raw {
        // Carried as a string when the bytes held a line break.
        Some(r) if r.starts_with('"') => Some(
            serde_json::from_str::<String>(r)
                .map_err(|e| e.to_string())?
                .into_bytes(),
        ),
        Some(r) => Some(r.as_bytes().to_vec()),
        None => None,
    };
    let envelope = Envelope::stored(source, kind)
        .with_sender_name(text_of(fields, "sender_name")?.as_deref())
        .with_media(media)
        .with_reply_to(text_of(fields, "reply_to")?.as_deref())
        .with_business_number_id(text_of(fields, "business_number_id")?.as_deref())
        .with_delivery_id(text_of(fields, "delivery_id")?.as_deref())
        .with_raw(raw);
    Ok(message.with_envelope(envelope))
}

fn status(fields: &HashMap<String, Box<RawValue>>) -> Result<StatusUpdate, String> {
    let id = text_of(fields, "message_id")?.ok_or("message_id is missing")?;
    let state = text_of(fields, "status")?.ok_or("status is missing")?;
    let state = DeliveryState::from_name(&state).ok_or(format!("unknown status {state:?}"))?;
    let ts = text_of(fields, "ts")?.ok_or("ts is missing")?;
    let ts = Timestamp::parse(&ts).map_err(|e| e.to_string())?;
    let errors = match fields.get("errors") {
        None => Vec::new(),
        Some(raw) => serde_json::from_str::<Vec<Box<RawValue>>>(raw.get())
            .map_err(|e| format!("errors: {e}"))?
            .into_iter()
            .map(|e| e.get().as_bytes().to_vec())
            .collect(),
    };
    Ok(StatusUpdate::new(&id, state, ts)
        .ok_or("message_id is not valid")?
        .with_recipient(text_of(fields, "recipient")?.as_deref())
        .with_errors(errors))
}

fn event(fields: &HashMap<String, Box<RawValue>>) -> Result<Event, String> {
    let field = text_of(fields, "field")?.ok_or("field is missing")?;
    let raw = fields.get("raw").ok_or("raw is missing")?;
    Ok(Event::new(&field, raw.get().as_bytes().to_vec()))
}
