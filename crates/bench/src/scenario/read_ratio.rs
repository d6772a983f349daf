//! `--compare-reads FILE`: this run's read shapes beside the same shapes in
//! an earlier one-run report (PostgreSQL's reads against SQLite's at the
//! same size, say), each with its ratio, and the mix's: the time the
//! other run took for its requests of every shared shape over this run's.

use serde_json::{Value, json};

use crate::report::Phase;

/// Prints the comparison and returns it for the JSON report.
pub(super) fn compare(rows: &[Phase], file: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("--compare-reads {file}: {e}"))?;
    let other: Value =
        serde_json::from_str(&text).map_err(|e| format!("--compare-reads {file}: {e}"))?;
    let Some(theirs) = other.get("reads").and_then(Value::as_array) else {
        return Err(format!(
            "--compare-reads {file}: no \"reads\" (a report of one run, --runs 1, is needed)"
        ));
    };
    let rate_of = |phase: &str| {
        theirs
            .iter()
            .find(|r| r.get("phase").and_then(Value::as_str) == Some(phase))
            .and_then(|r| r.get("per_second").and_then(Value::as_f64))
    };
    println!("reads beside {file}:");
    println!(
        "{:<40} {:>10} {:>10} {:>7}",
        "shape", "this /s", "other /s", "ratio"
    );
    let (mut this_s, mut other_s) = (0.0, 0.0);
    let mut shapes = Vec::new();
    for row in rows.iter().filter(|r| r.phase.starts_with("read:")) {
        let Some(other_rate) = rate_of(&row.phase).filter(|r| *r > 0.0) else {
            continue;
        };
        let ratio = row.per_second / other_rate;
        println!(
            "{:<40} {:>10.0} {:>10.0} {:>7.2}",
            row.phase, row.per_second, other_rate, ratio
        );
        #[expect(clippy::cast_precision_loss, reason = "request counts")]
        let n = row.requests as f64;
        this_s += n / row.per_second.max(1e-9);
        other_s += n / other_rate;
        shapes.push(json!({"phase": row.phase, "per_second": row.per_second,
                           "other_per_second": other_rate, "ratio": ratio}));
    }
    let mix = if this_s > 0.0 { other_s / this_s } else { 0.0 };
    println!(
        "{:<40} {:>29.3}",
        "the mix (the same requests of each)", mix
    );
    Ok(json!({"file": file, "shapes": shapes, "mix_ratio": mix}))
}
