//! What the bench reads and writes on disk: the JSON report, the database
//! files it keeps, their size, and a process's peak memory.

use serde_json::Value;

/// Writes a JSON report, creating its folder.
pub(crate) fn write_report(path: &str, report: &Value) -> Result<(), String> {
    if let Some(parent) = std::path::Path::new(path).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(path, serde_json::to_vec_pretty(report).unwrap_or_default())
        .map_err(|e| format!("{path}: {e}"))?;
    println!("report: {path}");
    Ok(())
}

/// Copies the files of `from` (the database and its WAL) into `to`.
pub(crate) fn keep_files(from: &std::path::Path, to: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if let Some(name) = path.file_name()
            && path.is_file()
        {
            std::fs::copy(&path, to.join(name)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

pub(crate) fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
        .sum()
}

pub(crate) fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Bytes process `pid` has caused to be written to storage so far
/// (`/proc/<pid>/io`, `write_bytes`); 0 where that is not available.
pub(crate) fn written_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time process `pid` has used so far, user and system, in seconds
/// (`/proc/<pid>/stat`; 0 where that is not available). Far steadier than
/// a rate on a noisy machine: what a change costs per row, whatever the
/// scheduler did meanwhile.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    // Linux reports these in USER_HZ, which is 100 on every architecture.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    #[expect(clippy::cast_precision_loss, reason = "clock ticks")]
    let seconds = cpu_ticks(&stat) as f64 / TICKS_PER_SECOND;
    seconds
}

/// utime + stime from a `/proc/<pid>/stat` line.
fn cpu_ticks(stat: &str) -> u64 {
    stat_ticks(stat, 2)
}

/// utime + stime + cutime + cstime: with the children the process has
/// waited for (a server's exited connections).
pub(crate) fn cpu_ticks_with_children(stat: &str) -> u64 {
    stat_ticks(stat, 4)
}

/// The sum of `fields` clock-tick fields from utime on. The command name,
/// in parentheses, may hold spaces: count after it, where field 3 (the
/// state) comes first, so utime (field 14) is the 12th.
fn stat_ticks(stat: &str, fields: usize) -> u64 {
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after_name
        .split_whitespace()
        .skip(11)
        .take(fields)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum()
}

/// The command name of a `/proc/<pid>/stat` line (what is in parentheses).
pub(crate) fn command(stat: &str) -> Option<&str> {
    let (_, rest) = stat.split_once('(')?;
    Some(rest.rsplit_once(')')?.0)
}

/// `hookbox_wal_bytes_total` from `server`'s `/metrics`: bytes its writer
/// appended to the WAL (`None` on a store without one, or on no answer).
pub(crate) fn wal_bytes(server: &testkit::Server) -> Option<u64> {
    let body = server.client().get("/metrics").ok()?.text();
    metric(&body, "hookbox_wal_bytes_total").map(|v| v as u64)
}

/// The value of the unlabelled series `name` in a `/metrics` text.
pub(crate) fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_series_is_read_by_its_whole_name() {
        let text = "# TYPE x_count counter\nx_count_total 9\nx{a=\"b\"} 7\nx 3.5\nx_count 2\n";
        assert_eq!(super::metric(text, "x"), Some(3.5));
        assert_eq!(super::metric(text, "x_count"), Some(2.0));
        assert_eq!(super::metric(text, "y"), None);
    }

    #[test]
    fn cpu_ticks_are_utime_plus_stime_whatever_the_name() {
        let line = "4242 (hookbox (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    150 37 0 0 20 0 9 0 1000 70000000 5000";
        assert_eq!(super::cpu_ticks(line), 187);
        assert_eq!(super::cpu_ticks(""), 0);
        assert_eq!(super::cpu_ticks_with_children(line), 187);
        let reaped = line.replace("150 37 0 0 20", "150 37 5 15 20");
        assert_eq!(super::cpu_ticks(&reaped), 187);
        assert_eq!(super::cpu_ticks_with_children(&reaped), 207);
        assert_eq!(super::command(line), Some("hookbox (x) y"));
        assert_eq!(super::command("garbage"), None);
    }
}
