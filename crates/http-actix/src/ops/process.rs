//! The process's own series, read from `/proc/self` at each scrape, in the
//! names and types Prometheus' client libraries use:
//! `process_resident_memory_bytes`, `process_cpu_seconds_total`,
//! `process_open_fds`, `process_start_time_seconds`. Rendered as text
//! (a CPU-seconds counter is fractional, which the `metrics` facade's
//! counters are not). Nothing is written where `/proc` is missing.

use std::fmt::Write as _;

/// Clock ticks per second of `/proc/<pid>/stat`'s times: 100 on every
/// Linux that hookbox's images run on (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

/// The four families, each with `# HELP` and `# TYPE`.
pub(crate) fn render() -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(v) = value {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            );
        }
    };
    family(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        cpu_seconds(),
    );
    family(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        open_fds(),
    );
    family(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        resident_bytes(),
    );
    family(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        start_time(),
    );
    out
}

/// The fields of `/proc/self/stat` after the command name (which may hold
/// spaces and parentheses): field 3 (state) is index 0.
fn stat_fields() -> Option<Vec<String>> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.get(stat.rfind(')')? + 1..)?;
    Some(after.split_whitespace().map(str::to_owned).collect())
}

fn field(fields: &[String], number: usize) -> Option<f64> {
    // `number` is the 1-based field of proc(5); index 0 is field 3.
    fields.get(number.checked_sub(3)?)?.parse().ok()
}

fn cpu_seconds() -> Option<f64> {
    let f = stat_fields()?;
    Some((field(&f, 14)? + field(&f, 15)?) / TICKS_PER_SECOND)
}

/// Worked out once, so every scrape shows the same value: a start time
/// that moved would read as a restart (`changes()`, `resets()`).
fn start_time() -> Option<f64> {
    static START: std::sync::OnceLock<Option<f64>> = std::sync::OnceLock::new();
    *START.get_or_init(started_at)
}

/// The clock now, less how long ago the process started (`/proc/uptime`
/// against field 22, both to the hundredth of a second). `btime` plus
/// field 22 would be simpler, but `btime` is whole seconds, which can put
/// the start up to a second in the future.
fn started_at() -> Option<f64> {
    let after_boot = field(&stat_fields()?, 22)? / TICKS_PER_SECOND;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(now - (uptime - after_boot).max(0.0))
}

fn open_fds() -> Option<f64> {
    let n = std::fs::read_dir("/proc/self/fd").ok()?.count();
    // The directory handle read_dir holds is one of them.
    #[expect(clippy::cast_precision_loss, reason = "a count of descriptors")]
    Some(n.saturating_sub(1) as f64)
}

fn resident_bytes() -> Option<f64> {
    let kb: f64 = std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_family_is_there_with_a_sane_value() {
        let text = super::render();
        for name in [
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
        ] {
            let value: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} in {text}"));
            assert!(value >= 0.0, "{name} {value}");
        }
        let start = text
            .lines()
            .find_map(|l| l.strip_prefix("process_start_time_seconds "))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        // Never ahead of the clock (both are read to a hundredth of a
        // second), and the same at every scrape.
        assert!(
            start <= now + 0.02 && start > now - 86_400.0 * 365.0,
            "start {start}, now {now}"
        );
        let again = super::render();
        assert!(
            again.contains(&format!("process_start_time_seconds {start}\n")),
            "{again}"
        );
    }
}
