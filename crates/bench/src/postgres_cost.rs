//! What a load costs the PostgreSQL server: the WAL it wrote (how far its
//! insert position moved) and, for a server on this machine, the CPU time
//! of its processes. With hookbox's CPU and the load generator's counted
//! apart, a run shows where each stored row's work is done, and how many
//! cores a target rate would need at those costs.

use std::str::FromStr;

use crate::files::{command, cpu_ticks_with_children};

/// Where the server stood before a load.
pub(crate) struct Mark {
    lsn: i64,
    cpu: Option<f64>,
}

/// What the server spent between a [`Mark`] and now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spent {
    pub(crate) wal_bytes: u64,
    /// `None` for a server on another machine, or whose processes this
    /// machine does not show.
    pub(crate) cpu_seconds: Option<f64>,
}

pub(crate) fn mark(url: &str) -> Mark {
    Mark {
        lsn: wal_position(url),
        cpu: if is_local(url) {
            server_cpu_seconds()
        } else {
            None
        },
    }
}

pub(crate) fn since(url: &str, mark: &Mark) -> Spent {
    let lsn = wal_position(url);
    Spent {
        wal_bytes: u64::try_from(lsn - mark.lsn).unwrap_or(0),
        cpu_seconds: mark
            .cpu
            .zip(server_cpu_seconds())
            .map(|(before, now)| now - before),
    }
}

/// The WAL's insert position, in bytes: the whole cluster's WAL, so the
/// load should be all that writes meanwhile (as in the bench).
fn wal_position(url: &str) -> i64 {
    testkit::postgres::query_i64(
        url,
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::int8",
    )
}

/// Whether `url` names a server on this machine, whose processes the
/// bench can see.
pub(crate) fn is_local(url: &str) -> bool {
    postgres::Config::from_str(url).is_ok_and(|config| {
        config.get_hosts().iter().all(|host| match host {
            postgres::config::Host::Tcp(name) => {
                name == "localhost" || name == "::1" || name.starts_with("127.")
            }
            postgres::config::Host::Unix(_) => true,
        })
    })
}

/// CPU seconds used so far by every `postgres` process: each one's own,
/// and what the postmaster counts for backends it has reaped, so a
/// connection that closed during the load still counts. `None` when no
/// such process is visible (a server in another container, say).
fn server_cpu_seconds() -> Option<f64> {
    const TICKS_PER_SECOND: f64 = 100.0;
    let ticks: Vec<u64> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| command(stat) == Some("postgres"))
        .map(|stat| cpu_ticks_with_children(&stat))
        .collect();
    #[expect(clippy::cast_precision_loss, reason = "clock ticks")]
    let seconds = ticks.iter().sum::<u64>() as f64 / TICKS_PER_SECOND;
    (!ticks.is_empty()).then_some(seconds)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_loopback_and_socket_servers_are_local() {
        assert!(super::is_local("postgres://u:p@127.0.0.1:5432/db"));
        assert!(super::is_local("postgres://u@localhost/db"));
        assert!(super::is_local("host=/var/run/postgresql user=u"));
        assert!(!super::is_local("postgres://u@db.example.com/db"));
        assert!(!super::is_local("postgres://u@10.0.0.5/db"));
    }
}
