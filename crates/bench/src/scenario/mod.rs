//! One run of the standard benchmark, a module per scenario, in the order
//! they run: the ceilings (the adapter alone, PostgreSQL's own batched
//! insert), ingest over HTTP with its checks, seeding to the read size and a
//! restart, the read mix, ingest beside retention, ingest beside an
//! erasure with the export, and ingest beside forwarding.

mod ceilings;
mod commits;
mod connections;
mod context;
mod erasing;
mod floors;
mod forwarding;
mod ingest;
mod purging;
mod read_ratio;
mod reads;
mod searching;
mod seeding;
mod spent;
mod variants;

use std::time::Duration;

use serde_json::{Value, json};

use crate::options::Options;
use crate::report::{Report, Rss, RunReport};

use crate::traffic::{Rng, Senders};
pub(crate) use commits::Commits;
pub(crate) use connections::Connections;
use context::Ctx;
pub(crate) use floors::Floors;

/// Runs every scenario once; the failed checks and the run's report.
pub(crate) fn run(o: &Options) -> Result<(Vec<String>, Value), String> {
    let mut rng = Rng::new(0x0068_6f6f_6b62_6f78);
    let senders = Senders::new(o.senders, &mut rng);
    let mut ctx = Ctx {
        o,
        rng,
        senders,
        deadline: Duration::from_secs(o.max_seconds),
        report: Report::default(),
    };
    print_header(&ctx);
    let ceilings = ceilings::measure(&mut ctx)?;
    let ingested = ingest::run(&mut ctx)?;
    if o.ingest_only {
        print_ratios(&ceilings, &ingested);
        if let Some(keep) = &o.keep_db {
            crate::files::keep_files(ingested.dir.path(), std::path::Path::new(keep))?;
            println!("database files copied to {keep}");
        }
        return Ok((
            ctx.report.failures.clone(),
            ingest_report(&ctx, &ceilings, &ingested),
        ));
    }
    let seeded = seeding::run(&mut ctx, &ingested)?;
    let read = reads::run(&mut ctx, &ingested, &seeded)?;
    let compared_reads = match &o.compare_reads {
        Some(file) => Some(read_ratio::compare(&read.rows, file)?),
        None => None,
    };
    let ingest_rate = ingested.rate;
    print_ratios(&ceilings, &ingested);
    drop(seeded);
    let purge = purging::run(&mut ctx, &ingested)?;
    let erasing = erasing::run(&mut ctx, &ingested)?;
    let forwarding = forwarding::run(&mut ctx, &ingested)?;
    if let Some(keep) = &o.keep_db {
        crate::files::keep_files(ingested.dir.path(), std::path::Path::new(keep))?;
        println!("database files copied to {keep}");
    }
    let report = RunReport {
        options: json!({"messages": o.messages, "concurrency": o.concurrency, "senders": o.senders,
                    "seed_rows": o.seed_rows, "read_concurrency": o.read_concurrency, "reads": o.reads}),
        cores: cores(),
        adapter_rows_per_second: ceilings.adapter_rate,
        ingest: ingested.row.clone(),
        ingest_disk_bytes_per_row: ingested.disk_bytes_per_row,
        ingest_wal_bytes_per_row: ingested.wal_bytes_per_row,
        ingest_cpu_us_per_row: ingested.cpu_us_per_row,
        ingest_postgres_cpu_us_per_row: ingested.postgres_cpu_us_per_row,
        ingest_load_cpu_us_per_row: ingested.load_cpu_us_per_row,
        postgres_batched_insert_cost: ceilings.postgres_cost,
        postgres_connections: ingested.connections,
        ingest_commits: ingested.commits,
        ingest_stored_bytes_per_row: ingested.stored_bytes_per_row,
        ingest_variants: ingested.variants.clone(),
        ingest_to_adapter_ratio: ingest_rate / ceilings.adapter_rate.max(1e-9),
        verify_only_per_second: ingested.verify_only_rate,
        after_burst_reads: ingested.after_burst,
        purge,
        erasing,
        forwarding,
        ingest_to_verify_only_ratio: ingest_rate / ingested.verify_only_rate.max(1e-9),
        store: if ingested.database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        replicas: ingested.replicas,
        postgres_batched_insert_rows_per_second: ceilings.postgres,
        sqlite_floors: ceilings.floors,
        ingest_to_durable_floor_ratio: ceilings
            .floors
            .map(|f| ingest_rate / f.durable_rows_per_second.max(1e-9)),
        ingest_to_postgres_ratio: ceilings.postgres.map(|c| ingest_rate / c.max(1e-9)),
        phases: ctx.report.rows.clone(),
        reads: read.rows,
        rows_for_reads: read.rows_for_reads,
        startup_to_ready_ms: read.startup_ms,
        peak_rss_mb: Rss {
            ingest: ingested.rss_mb,
            reads: read.rss_mb,
        },
        database_mb: read.database_mb,
        failures: ctx.report.failures.clone(),
        compared_reads,
    };
    let value = serde_json::to_value(&report).map_err(|e| e.to_string())?;
    Ok((ctx.report.failures, value))
}

/// The report of an `--ingest-only` run: the write side's figures alone.
fn ingest_report(
    ctx: &Ctx<'_>,
    ceilings: &ceilings::Ceilings,
    ingested: &ingest::Ingested,
) -> Value {
    let rate = ingested.rate;
    json!({
        "options": {"messages": ctx.o.messages, "concurrency": ctx.o.concurrency,
                    "senders": ctx.o.senders, "ingest_only": true},
        "cores": cores(),
        "adapter_rows_per_second": ceilings.adapter_rate,
        "ingest": ingested.row,
        "ingest_disk_bytes_per_row": ingested.disk_bytes_per_row,
        "ingest_wal_bytes_per_row": ingested.wal_bytes_per_row,
        "ingest_cpu_us_per_row": ingested.cpu_us_per_row,
        "ingest_postgres_cpu_us_per_row": ingested.postgres_cpu_us_per_row,
        "ingest_load_cpu_us_per_row": ingested.load_cpu_us_per_row,
        "postgres_batched_insert_cost": ceilings.postgres_cost,
        "postgres_connections": ingested.connections,
        "ingest_commits": ingested.commits,
        "ingest_stored_bytes_per_row": ingested.stored_bytes_per_row,
        "ingest_variants": ingested.variants,
        "ingest_to_adapter_ratio": rate / ceilings.adapter_rate.max(1e-9),
        "verify_only_per_second": ingested.verify_only_rate,
        "sqlite_floors": ceilings.floors,
        "ingest_to_durable_floor_ratio": ceilings.floors.map(|f| rate / f.durable_rows_per_second.max(1e-9)),
        "postgres_batched_insert_rows_per_second": ceilings.postgres,
        "ingest_to_postgres_ratio": ceilings.postgres.map(|c| rate / c.max(1e-9)),
        "phases": ctx.report.rows,
        "failures": ctx.report.failures,
    })
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
}

fn print_header(ctx: &Ctx<'_>) {
    let o = ctx.o;
    println!(
        "hookbox-bench: {} messages at concurrency {}, {} senders, reads at {} rows, concurrency {}; {} cores",
        o.messages,
        o.concurrency,
        ctx.senders.len(),
        o.seed_rows,
        o.read_concurrency,
        cores()
    );
    println!(
        "{:<28} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}  statuses",
        "phase", "requests", "per sec", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
}

fn print_ratios(ceilings: &ceilings::Ceilings, ingested: &ingest::Ingested) {
    let (ingest_rate, verify_only_rate) = (ingested.rate, ingested.verify_only_rate);
    let adapter_rate = ceilings.adapter_rate;
    println!(
        "ingest {ingest_rate:.0}/s = {:.2} x the adapter's {adapter_rate:.0} rows/s",
        ingest_rate / adapter_rate.max(1e-9)
    );
    println!(
        "ingest {ingest_rate:.0}/s = {:.2} x the verify-only actix server's {verify_only_rate:.0}/s",
        ingest_rate / verify_only_rate.max(1e-9)
    );
    if let Some(f) = ceilings.floors {
        println!(
            "ingest {ingest_rate:.0}/s = {:.2} x the durable floor's {:.0} rows/s, {:.2} x the indexed floor's {:.0}",
            ingest_rate / f.durable_rows_per_second.max(1e-9),
            f.durable_rows_per_second,
            ingest_rate / f.indexed_rows_per_second.max(1e-9),
            f.indexed_rows_per_second
        );
        print_cpu_budget(
            "0.3 x the durable floor",
            0.3 * f.durable_rows_per_second,
            ingested,
        );
    }
    if let Some(ceiling) = ceilings.postgres {
        println!(
            "ingest {ingest_rate:.0}/s = {:.2} x PostgreSQL's own {ceiling:.0} rows/s ({} replica(s))",
            ingest_rate / ceiling.max(1e-9),
            ingested.replicas
        );
        print_cpu_budget("0.6 x PostgreSQL's own rate", 0.6 * ceiling, ingested);
        if let Some(floor) = ceilings.postgres_cost {
            print_cpu_bound(&floor, ingested);
        }
    }
}

/// While PostgreSQL's own insert keeps the cores busy, the most hookbox's
/// ingest can reach of its rate is the floor's CPU per row over the whole
/// path's (server, hookbox, load generator) on the same cores.
fn print_cpu_bound(floor: &crate::postgres_direct::FloorCost, ingested: &ingest::Ingested) {
    let (Some(server), Some(floor_server), Some(busy)) = (
        ingested.postgres_cpu_us_per_row,
        floor.server_cpu_us_per_row,
        floor.cores_busy,
    ) else {
        return;
    };
    let floor_per_row = floor_server + floor.client_cpu_us_per_row;
    let path_per_row = server + ingested.cpu_us_per_row + ingested.load_cpu_us_per_row;
    println!(
        "PostgreSQL's own insert: {floor_per_row:.0} us of CPU per row with {busy:.2} of {} cores busy; while both are CPU-bound, ingest ({path_per_row:.0} us per row) reaches at most {:.2} x its rate",
        cores(),
        floor_per_row / path_per_row.max(1e-9)
    );
}

/// An ingest target in cores: what hookbox, the PostgreSQL server (on
/// PostgreSQL) and the load generator each spent per stored row in this
/// run, times the target's rate, against the cores this machine has. Above
/// them, the target is out of reach here at these costs, however the work
/// is scheduled or locked.
fn print_cpu_budget(target: &str, rate: f64, ingested: &ingest::Ingested) {
    let server = ingested.postgres_cpu_us_per_row;
    let per_row = server.unwrap_or(0.0) + ingested.cpu_us_per_row + ingested.load_cpu_us_per_row;
    println!(
        "{target} is {rate:.0} rows/s; at this run's CPU per row ({}hookbox {:.0} us, the load generator {:.0}: {per_row:.0} us) it needs {:.2} cores of {}",
        server.map_or(String::new(), |s| format!(
            "the PostgreSQL server {s:.0} us, "
        )),
        ingested.cpu_us_per_row,
        ingested.load_cpu_us_per_row,
        rate * per_row / 1e6,
        cores()
    );
}
