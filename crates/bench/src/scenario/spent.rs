//! One measured load: the requests, and what they cost the servers (disk
//! and WAL bytes written, CPU time), for the main ingest and its variants.

use std::net::SocketAddr;
use std::sync::Arc;

use testkit::Server;

use super::context::Ctx;
use crate::files::{cpu_seconds, written_bytes};
use crate::load;

/// Bytes a load wrote: to disk (all replicas), and to the WAL (SQLite's
/// writer, or PostgreSQL's whole server); and the CPU seconds hookbox's
/// servers, the PostgreSQL server (on this machine) and the load generator
/// used meanwhile.
pub(super) struct Written {
    pub(super) disk: u64,
    pub(super) wal: Option<u64>,
    pub(super) cpu: f64,
    pub(super) postgres_cpu: Option<f64>,
    pub(super) load_cpu: f64,
    /// How the writers committed meanwhile.
    pub(super) commits: super::commits::Commits,
}

impl Written {
    /// What the load cost per stored row, for `rows` stored and a store
    /// of `size` bytes after it.
    pub(super) fn per_row(&self, rows: u64, size: u64) -> PerRow {
        #[expect(clippy::cast_precision_loss, reason = "byte and row counts")]
        let (rows, disk, size) = (rows.max(1) as f64, self.disk as f64, size as f64);
        #[expect(clippy::cast_precision_loss, reason = "byte counts")]
        let wal = self.wal.map(|w| w as f64 / rows);
        let cpu_us = |seconds: f64| seconds * 1e6 / rows;
        PerRow {
            disk: disk / rows,
            stored: size / rows,
            wal,
            cpu: cpu_us(self.cpu),
            postgres_cpu: self.postgres_cpu.map(cpu_us),
            load_cpu: cpu_us(self.load_cpu),
        }
    }
}

/// What a load cost per stored row: bytes written to disk, held by the
/// store and appended to the WAL; CPU µs of hookbox, the PostgreSQL server
/// (on this machine) and the load generator.
pub(super) struct PerRow {
    pub(super) disk: f64,
    pub(super) stored: f64,
    pub(super) wal: Option<f64>,
    pub(super) cpu: f64,
    pub(super) postgres_cpu: Option<f64>,
    pub(super) load_cpu: f64,
}

impl PerRow {
    /// The main ingest's line.
    pub(super) fn print(&self, on_postgres: bool) {
        let whose = if on_postgres { " (PostgreSQL's)" } else { "" };
        println!(
            "ingest wrote {:.0} disk bytes per stored row{}; the store holds {:.0} bytes per row; CPU per row: hookbox {:.0} us{}, the load generator {:.0} us",
            self.disk,
            self.wal
                .map_or(String::new(), |w| format!(", {w:.0} WAL bytes{whose}")),
            self.stored,
            self.cpu,
            self.postgres_cpu.map_or(String::new(), |p| format!(
                ", the PostgreSQL server {p:.0} us"
            )),
            self.load_cpu
        );
    }
}

/// Runs an ingest load (the main one, or a variant's), counting the bytes
/// it makes the servers write and the CPU they use.
pub(super) fn measured_load(
    servers: &[Server],
    addrs: &[SocketAddr],
    requests: &Arc<Vec<Vec<u8>>>,
    ctx: &Ctx<'_>,
) -> (load::LoadResult, Written) {
    let disk = || servers.iter().map(|s| written_bytes(s.pid())).sum::<u64>();
    let cpu = || servers.iter().map(|s| cpu_seconds(s.pid())).sum::<f64>();
    let own_cpu = || cpu_seconds(std::process::id());
    let (disk_before, wal_before) = (disk(), crate::files::wal_bytes(&servers[0]));
    let postgres = ctx.o.database_url.as_deref();
    let mark = postgres.map(crate::postgres_cost::mark);
    let commits_before = super::commits::before(servers);
    let sampler = postgres.and_then(super::commits::WriterSampler::start);
    let (cpu_before, load_before) = (cpu(), own_cpu());
    let r = load::run(addrs, requests, ctx.o.concurrency, ctx.deadline);
    let (cpu, load_cpu) = (cpu() - cpu_before, own_cpu() - load_before);
    let commits = super::commits::since(servers, commits_before, sampler);
    let server = postgres
        .zip(mark)
        .map(|(url, mark)| crate::postgres_cost::since(url, &mark));
    let wal = crate::files::wal_bytes(&servers[0])
        .zip(wal_before)
        .map(|(after, before)| after.saturating_sub(before))
        .or(server.map(|s| s.wal_bytes));
    let disk = disk().saturating_sub(disk_before);
    let written = Written {
        disk,
        wal,
        cpu,
        postgres_cpu: server.and_then(|s| s.cpu_seconds),
        load_cpu,
        commits,
    };
    (r, written)
}
