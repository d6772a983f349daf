//! The same ingest on fresh stores, beside the main one: with
//! `KEEP_RAW=off` (what keeping the raw bytes costs) and, with
//! `--compare-bin`, on another build (the previous commit, say), so both
//! are measured in one run. Each reports its rate, p99 and the bytes the
//! server wrote to disk per stored row (`/proc/<pid>/io` `write_bytes`:
//! WAL and checkpoints on SQLite; on PostgreSQL the server writes, so this
//! counts only hookbox's own files and is near zero).

use std::net::SocketAddr;
use std::sync::Arc;

use testkit::{Server, ServerBuilder};

use super::context::Ctx;
use crate::files::dir_size;
use crate::report::Variant;

/// Runs `requests` once on a server from `builder`; the phase's figures.
pub(super) fn measure(
    ctx: &mut Ctx<'_>,
    name: &str,
    (builder, store): (ServerBuilder, StoreAt),
    requests: &Arc<Vec<Vec<u8>>>,
) -> Result<(Variant, Server), String> {
    let server = builder
        .without("PORT")
        .discard_stdout()
        .try_start()
        .map_err(|e| format!("{name}: hookbox did not start: {e:?}"))?;
    let addrs: Vec<SocketAddr> = vec![server.client().addr()];
    let (r, spent) =
        super::spent::measured_load(std::slice::from_ref(&server), &addrs, requests, ctx);
    ctx.report.phase(name, &r, Some(200));
    let size = match &store {
        StoreAt::Dir(dir) => dir_size(dir.path()),
        StoreAt::Database(url) => crate::postgres_direct::database_bytes(url),
    };
    let cost = spent.per_row(r.count(200), size);
    Ok((
        Variant {
            name: name.to_owned(),
            per_second: r.rate(),
            p99_ms: r.percentile_ms(99.0),
            disk_bytes_per_row: cost.disk,
            wal_bytes_per_row: cost.wal,
            stored_bytes_per_row: cost.stored,
            cpu_us_per_row: cost.cpu,
            postgres_cpu_us_per_row: cost.postgres_cpu,
            commits: spent.commits,
            ratio_to_main: 0.0,
        },
        server,
    ))
}

/// Where a variant's store is, to measure its size.
pub(super) enum StoreAt {
    Dir(Arc<tempfile::TempDir>),
    Database(String),
}

/// A builder like `main`'s on a fresh store of its own.
pub(super) fn fresh(ctx: &Ctx<'_>) -> Result<(ServerBuilder, StoreAt), String> {
    let dir = Arc::new(tempfile::tempdir().map_err(|e| e.to_string())?);
    let builder = ctx
        .o
        .with_server_env(Server::builder().in_dir(Arc::clone(&dir)).env(
            "SEARCH_INDEX",
            if ctx.o.search_index { "on" } else { "off" },
        ));
    Ok(match &ctx.o.database_url {
        Some(admin) => {
            let url = testkit::postgres::create_database(admin);
            (builder.env("DATABASE_URL", &url), StoreAt::Database(url))
        }
        None => (builder, StoreAt::Dir(dir)),
    })
}

/// `KEEP_RAW=off`, `ts` close to arrival, 1 KiB pages (SQLite), one
/// replica (with `--replicas` 2 or more), and the `--compare-bin` build
/// (between two more runs of this build), each on a fresh store.
pub(super) fn run(
    ctx: &mut Ctx<'_>,
    requests: &Arc<Vec<Vec<u8>>>,
    main_rate: f64,
) -> Result<Vec<Variant>, String> {
    let mut out = Vec::new();
    let (builder, store) = fresh(ctx)?;
    let (mut off, _server) = measure(
        ctx,
        "ingest, KEEP_RAW=off",
        (builder.env("KEEP_RAW", "off"), store),
        requests,
    )?;
    off.ratio_to_main = off.per_second / main_rate.max(1e-9);
    out.push(off);
    // The second traffic shape: `ts` close to the arrival time, as real
    // senders send it (the main traffic spreads it over a year).
    let arrival = arrival_requests(ctx);
    let (builder, store) = fresh(ctx)?;
    let (mut near, _server) = measure(
        ctx,
        "ingest, ts close to arrival",
        (builder, store),
        &arrival,
    )?;
    near.ratio_to_main = near.per_second / main_rate.max(1e-9);
    out.push(near);
    if ctx.o.database_url.is_none() {
        // The other page size: 1 KiB pages write about half the WAL bytes
        // per row of the default 4 KiB (and read slower).
        let (builder, store) = fresh(ctx)?;
        let (mut pages, _server) = measure(
            ctx,
            "ingest, 1 KiB pages",
            (builder.env("SQLITE_PAGE_SIZE", "1024"), store),
            requests,
        )?;
        pages.ratio_to_main = pages.per_second / main_rate.max(1e-9);
        out.push(pages);
    }
    if ctx.o.database_url.is_some() && ctx.o.replicas > 1 {
        // The same requests on one replica: two against one in one run.
        let (builder, store) = fresh(ctx)?;
        let (mut one, _server) = measure(ctx, "ingest, one replica", (builder, store), requests)?;
        one.ratio_to_main = one.per_second / main_rate.max(1e-9);
        println!(
            "ingest on {} replicas {main_rate:.0}/s = {:.2} x one replica's {:.0}/s",
            ctx.o.replicas,
            main_rate / one.per_second.max(1e-9),
            one.per_second
        );
        out.push(one);
    }
    if let Some(bin) = ctx.o.compare_bin.clone() {
        out.extend(bracketed(ctx, &bin, requests, main_rate)?);
    }
    for v in &out {
        println!(
            "{}: {:.0}/s = {:.2} x this build's ingest; p99 {:.2} ms; {:.0} disk bytes written{} and {:.0} stored per row; hookbox's CPU {:.0} us per row{}",
            v.name,
            v.per_second,
            v.ratio_to_main,
            v.p99_ms,
            v.disk_bytes_per_row,
            v.wal_bytes_per_row
                .map_or(String::new(), |w| format!(" ({w:.0} WAL)")),
            v.stored_bytes_per_row,
            v.cpu_us_per_row,
            v.postgres_cpu_us_per_row.map_or(String::new(), |p| format!(
                ", the PostgreSQL server's {p:.0}"
            ))
        );
        v.commits.print(&v.name);
    }
    Ok(out)
}

/// The `--compare-bin` build between two more runs of this build: this
/// machine drifts (the same build's figures moved 1.6x within an hour), so
/// the other build is weighed against the mean of this build's runs just
/// before and just after it, not against the main ingest minutes earlier.
fn bracketed(
    ctx: &mut Ctx<'_>,
    bin: &str,
    requests: &Arc<Vec<Vec<u8>>>,
    main_rate: f64,
) -> Result<Vec<Variant>, String> {
    let this_build = |ctx: &mut Ctx<'_>, name: &str| -> Result<Variant, String> {
        let (builder, store) = fresh(ctx)?;
        let (mut v, _server) = measure(ctx, name, (builder, store), requests)?;
        v.ratio_to_main = v.per_second / main_rate.max(1e-9);
        Ok(v)
    };
    let before = this_build(ctx, "ingest, this build before --compare-bin")?;
    let (builder, store) = fresh(ctx)?;
    let (mut other, _server) = measure(
        ctx,
        "ingest, --compare-bin build",
        (builder.binary(bin), store),
        requests,
    )?;
    let after = this_build(ctx, "ingest, this build after --compare-bin")?;
    let mean = f64::midpoint(before.per_second, after.per_second);
    other.ratio_to_main = other.per_second / mean.max(1e-9);
    let cpu = f64::midpoint(before.cpu_us_per_row, after.cpu_us_per_row);
    println!(
        "--compare-bin build: {:.0}/s = {:.2} x this build's {mean:.0}/s (the mean of {:.0} just before and {:.0} just after it); CPU per row {:.0} us = {:.2} x this build's {cpu:.0}",
        other.per_second,
        other.ratio_to_main,
        before.per_second,
        after.per_second,
        other.cpu_us_per_row,
        other.cpu_us_per_row / cpu.max(1e-9)
    );
    if let (Some(a), Some(o), Some(b)) = (
        before.postgres_cpu_us_per_row,
        other.postgres_cpu_us_per_row,
        after.postgres_cpu_us_per_row,
    ) {
        let mean = f64::midpoint(a, b);
        println!(
            "--compare-bin build: the PostgreSQL server's CPU per row {o:.0} us = {:.2} x this build's {mean:.0}",
            o / mean.max(1e-9)
        );
    }
    Ok(vec![before, other, after])
}

/// As many new webhooks as the main ingest, their `ts` a millisecond apart
/// from now on (signed like the main traffic).
fn arrival_requests(ctx: &mut Ctx<'_>) -> Arc<Vec<Vec<u8>>> {
    let start = time::OffsetDateTime::now_utc();
    Arc::new(
        (0..ctx.o.messages)
            .map(|n| {
                let mut f = crate::traffic::fields("n", n, &ctx.senders, &mut ctx.rng);
                let at = start + time::Duration::milliseconds(i64::try_from(n).unwrap_or(0));
                f.ts = at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or(f.ts);
                let body = f.json();
                crate::requests::webhook_request(&body, &testkit::sign(&body))
            })
            .collect(),
    )
}
