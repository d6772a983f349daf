//! One measured load: the requests, and what they cost the servers (disk
//! and WAL bytes written, CPU time), for the main ingest and its variants.

use std::net::SocketAddr;
use std::sync::Arc;

use testkit::Server;

use super::context::Ctx;
use crate::files::{cpu_seconds, written_bytes};
use crate::load;

/// Bytes a load wrote: to disk (all replicas), and to the WAL (SQLite);
/// and the CPU seconds the servers used meanwhile.
pub(super) struct Written {
    pub(super) disk: u64,
    pub(super) wal: Option<u64>,
    pub(super) cpu: f64,
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
    let (disk_before, wal_before) = (disk(), crate::files::wal_bytes(&servers[0]));
    let cpu_before = cpu();
    let r = load::run(addrs, requests, ctx.o.concurrency, ctx.deadline);
    let cpu = cpu() - cpu_before;
    let wal = crate::files::wal_bytes(&servers[0])
        .zip(wal_before)
        .map(|(after, before)| after.saturating_sub(before));
    let disk = disk().saturating_sub(disk_before);
    (r, Written { disk, wal, cpu })
}
