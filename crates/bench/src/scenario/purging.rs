//! Ingest while retention purges the seeded rows: the same load without
//! purging first (the baseline), then with `RETENTION=1s`, which makes every
//! seeded row old enough to go.

use std::sync::Arc;

use testkit::sign;

use super::context::Ctx;
use super::ingest::Ingested;
use crate::load;
use crate::report::Purge;
use crate::requests::webhook_request;
use crate::traffic::fields;

pub(super) fn run(ctx: &mut Ctx<'_>, ingested: &Ingested) -> Result<Purge, String> {
    let (p99_plain, _) = ingest_once(ctx, ingested, "ingest, no purge (baseline)", "b", None)?;
    let (p99_purging, purged) =
        ingest_once(ctx, ingested, "ingest while purging", "p", Some("1s"))?;
    let ratio = p99_purging / p99_plain.max(1e-9);
    println!(
        "ingest p99 while purging {p99_purging:.2} ms = {ratio:.2} x without ({p99_plain:.2} ms); {purged} rows purged meanwhile"
    );
    Ok(Purge {
        ingest_p99_ms_without: p99_plain,
        ingest_p99_ms_while_purging: p99_purging,
        ratio,
        rows_purged_during_ingest: purged,
    })
}

/// One ingest load on a fresh server over the seeded store: its p99 and
/// how many rows retention purged meanwhile.
fn ingest_once(
    ctx: &mut Ctx<'_>,
    ingested: &Ingested,
    name: &str,
    prefix: &str,
    retention: Option<&str>,
) -> Result<(f64, u64), String> {
    let o = ctx.o;
    let mut b = ingested.builder.clone().without("PORT").discard_stdout();
    if let Some(r) = retention {
        b = b.env("RETENTION", r);
    }
    let server = b
        .try_start()
        .map_err(|e| format!("hookbox did not start: {e:?}"))?;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..o.messages)
            .map(|n| {
                let b = fields(prefix, n, &ctx.senders, &mut ctx.rng).json();
                webhook_request(&b, &sign(&b))
            })
            .collect(),
    );
    let r = load::run(
        &[server.client().addr()],
        &bodies,
        o.concurrency,
        ctx.deadline,
    );
    ctx.report.phase(name, &r, Some(200));
    let metrics = server
        .client()
        .get("/metrics")
        .map_err(|e| e.to_string())?
        .text();
    let purged = crate::files::metric(&metrics, "hookbox_purged_messages_total").unwrap_or(0.0);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a count"
    )]
    Ok((r.percentile_ms(99.0), purged as u64))
}
