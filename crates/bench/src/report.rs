//! The report: each phase's figures as they are measured, the checks that
//! failed, and the run's summary ([`RunReport`]) as written to JSON.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::load::LoadResult;

/// The phases measured so far and the checks that failed.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) rows: Vec<Phase>,
    pub(crate) failures: Vec<String>,
}

/// One load phase's figures, as printed and as written to the JSON report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Phase {
    pub(crate) phase: String,
    pub(crate) requests: usize,
    pub(crate) per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) statuses: BTreeMap<String, u64>,
    pub(crate) io_errors: u64,
}

impl Report {
    pub(crate) fn phase(&mut self, name: &str, r: &LoadResult, expect_status: Option<u16>) {
        println!(
            "{name:<28} {:>8} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2}  {:?}{}",
            r.sent,
            r.rate(),
            r.percentile_ms(50.0),
            r.percentile_ms(95.0),
            r.percentile_ms(99.0),
            r.percentile_ms(100.0),
            r.statuses,
            if r.io_errors > 0 {
                format!(" io_errors={}", r.io_errors)
            } else {
                String::new()
            },
        );
        self.rows.push(Phase {
            phase: name.to_owned(),
            requests: r.sent,
            per_second: r.rate(),
            p50_ms: r.percentile_ms(50.0),
            p95_ms: r.percentile_ms(95.0),
            p99_ms: r.percentile_ms(99.0),
            max_ms: r.percentile_ms(100.0),
            statuses: r
                .statuses
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            io_errors: r.io_errors,
        });
        if let Some(status) = expect_status {
            self.check(
                r.only(status),
                format!(
                    "{name}: expected every answer {status}, got {:?} io_errors={}",
                    r.statuses, r.io_errors
                ),
            );
        }
    }

    pub(crate) fn check(&mut self, ok: bool, what: String) {
        if !ok {
            self.failures.push(what);
        }
    }
}

/// One run's report, as `bench-results/*.json` holds it.
#[derive(Debug, Serialize)]
pub(crate) struct RunReport {
    pub(crate) options: Value,
    pub(crate) cores: usize,
    pub(crate) adapter_rows_per_second: f64,
    pub(crate) ingest: Option<Phase>,
    /// Bytes the server wrote to disk per stored row during ingest.
    pub(crate) ingest_disk_bytes_per_row: f64,
    pub(crate) ingest_wal_bytes_per_row: Option<f64>,
    /// The servers' CPU time per stored row during ingest, in µs.
    pub(crate) ingest_cpu_us_per_row: f64,
    /// The PostgreSQL server's and the load generator's, in µs.
    pub(crate) ingest_postgres_cpu_us_per_row: Option<f64>,
    pub(crate) ingest_load_cpu_us_per_row: f64,
    /// PostgreSQL's own batched insert: what it costs the server per row.
    pub(crate) postgres_batched_insert_cost: Option<crate::postgres_direct::FloorCost>,
    pub(crate) postgres_connections: Option<crate::scenario::Connections>,
    /// How the writers committed during ingest (rows per commit; on
    /// PostgreSQL, where the writers waited).
    pub(crate) ingest_commits: crate::scenario::Commits,
    /// The store's size on disk per row right after ingest.
    pub(crate) ingest_stored_bytes_per_row: f64,
    /// The same ingest with `KEEP_RAW=off`, and on `--compare-bin`.
    pub(crate) ingest_variants: Vec<Variant>,
    pub(crate) ingest_to_adapter_ratio: f64,
    pub(crate) verify_only_per_second: f64,
    pub(crate) after_burst_reads: AfterBurst,
    pub(crate) purge: Purge,
    pub(crate) erasing: Erasing,
    pub(crate) forwarding: Forwarding,
    pub(crate) ingest_to_verify_only_ratio: f64,
    pub(crate) store: &'static str,
    pub(crate) replicas: usize,
    pub(crate) postgres_batched_insert_rows_per_second: Option<f64>,
    /// SQLite: the disk's floors for the same rows (see `scenario/floors.rs`).
    pub(crate) sqlite_floors: Option<crate::scenario::Floors>,
    pub(crate) ingest_to_durable_floor_ratio: Option<f64>,
    pub(crate) ingest_to_postgres_ratio: Option<f64>,
    pub(crate) phases: Vec<Phase>,
    pub(crate) reads: Vec<Phase>,
    pub(crate) rows_for_reads: u64,
    pub(crate) startup_to_ready_ms: f64,
    pub(crate) peak_rss_mb: Rss,
    pub(crate) database_mb: f64,
    pub(crate) failures: Vec<String>,
    /// With `--compare-reads`: each shape beside the other report's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compared_reads: Option<serde_json::Value>,
}

/// Every read shape at the ingest's concurrency right after the burst.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct AfterBurst {
    pub(crate) worst_p99_ms: f64,
    pub(crate) worst_cheap_p99_ms: f64,
}

/// Ingest with and without retention purging beside it.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Purge {
    pub(crate) ingest_p99_ms_without: f64,
    pub(crate) ingest_p99_ms_while_purging: f64,
    pub(crate) ratio: f64,
    pub(crate) rows_purged_during_ingest: u64,
}

/// What erasure and export measured.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Erasing {
    pub(crate) ingest_p99_ms_without: f64,
    pub(crate) ingest_p99_ms_while_erasing: f64,
    pub(crate) ratio: f64,
    pub(crate) erased: u64,
    pub(crate) erase_ms: f64,
    pub(crate) export_rows: u64,
    pub(crate) export_rows_per_second: f64,
    pub(crate) export_rss_mb_before: f64,
    pub(crate) export_rss_mb_peak: f64,
}

/// What forwarding beside ingest measured.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Forwarding {
    pub(crate) deliveries_per_second: f64,
    pub(crate) delivered: u64,
    pub(crate) max_lag: u64,
    pub(crate) drain_ms: f64,
    pub(crate) ingest_p99_ms_without: f64,
    pub(crate) ingest_p99_ms_with_fast_subscription: f64,
    pub(crate) ingest_p99_ms_with_failing_subscription: f64,
    pub(crate) failing_ratio: f64,
}

/// Peak resident memory of the first replica, in MB.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Rss {
    pub(crate) ingest: f64,
    pub(crate) reads: f64,
}

/// One variant's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Variant {
    pub(crate) name: String,
    pub(crate) per_second: f64,
    pub(crate) p99_ms: f64,
    pub(crate) disk_bytes_per_row: f64,
    pub(crate) wal_bytes_per_row: Option<f64>,
    /// The store's size on disk per stored row after the load (SQLite: the
    /// database and its WAL; PostgreSQL: the database).
    pub(crate) stored_bytes_per_row: f64,
    /// The server's CPU time (user and system) per stored row, in µs.
    pub(crate) cpu_us_per_row: f64,
    /// The PostgreSQL server's meanwhile, per stored row (on this machine).
    pub(crate) postgres_cpu_us_per_row: Option<f64>,
    /// How its writer committed.
    pub(crate) commits: crate::scenario::Commits,
    /// Its rate over the main ingest's, in this run; the `--compare-bin`
    /// build's over this build's mean just before and after it.
    pub(crate) ratio_to_main: f64,
}
