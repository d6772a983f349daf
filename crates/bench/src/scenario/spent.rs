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
}

impl Written {
    /// CPU µs per row: hookbox's, the PostgreSQL server's, the load
    /// generator's.
    pub(super) fn cpu_us_per_row(&self, rows: f64) -> (f64, Option<f64>, f64) {
        let per_row = |seconds: f64| seconds * 1e6 / rows.max(1.0);
        (
            per_row(self.cpu),
            self.postgres_cpu.map(per_row),
            per_row(self.load_cpu),
        )
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
    let (cpu_before, load_before) = (cpu(), own_cpu());
    let r = load::run(addrs, requests, ctx.o.concurrency, ctx.deadline);
    let (cpu, load_cpu) = (cpu() - cpu_before, own_cpu() - load_before);
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
    };
    (r, written)
}
