//! `--runs N`: the scenario N times, each figure reported as its median.

use serde_json::{Value, json};

use crate::options::Options;

/// Runs the scenario `--runs` times; with more than one run, every figure
/// is reported as its median over the runs (ratios are taken within each
/// run first), and the JSON keeps each run too.
pub(crate) fn run_many(o: &Options) -> Result<Vec<String>, String> {
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    for i in 0..o.runs.max(1) {
        if o.runs > 1 {
            println!("\n== run {} of {}", i + 1, o.runs);
        }
        let (f, result) = crate::scenario::run(o)?;
        failures.extend(f);
        runs.push(result);
    }
    let report = if runs.len() == 1 {
        runs.pop().unwrap_or_default()
    } else {
        let median = median_of(&runs.iter().collect::<Vec<_>>());
        print_medians(&median, runs.len());
        json!({"runs": runs, "median": median})
    };
    crate::files::write_report(&o.out, &report)?;
    Ok(failures)
}

/// The element-wise median of reports of the same shape: numbers become
/// their median, objects and arrays are matched by key and position.
fn median_of(values: &[&Value]) -> Value {
    match values.first() {
        Some(Value::Object(first)) => Value::Object(
            first
                .keys()
                .map(|k| {
                    let column: Vec<&Value> = values.iter().filter_map(|v| v.get(k)).collect();
                    (k.clone(), median_of(&column))
                })
                .collect(),
        ),
        Some(Value::Array(first)) => Value::Array(
            (0..first.len())
                .map(|i| median_of(&values.iter().filter_map(|v| v.get(i)).collect::<Vec<_>>()))
                .collect(),
        ),
        Some(Value::Number(_)) => {
            let mut nums: Vec<f64> = values.iter().filter_map(|v| v.as_f64()).collect();
            nums.sort_by(f64::total_cmp);
            let mid = nums.len() / 2;
            let m = if nums.len() % 2 == 1 {
                nums[mid]
            } else {
                f64::midpoint(nums[mid - 1], nums[mid])
            };
            json!(m)
        }
        Some(other) => (*other).clone(),
        None => Value::Null,
    }
}

fn print_medians(m: &Value, runs: usize) {
    println!("\n== medians of {runs} runs");
    println!(
        "{:<28} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "phase", "requests", "per sec", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for row in m["phases"].as_array().into_iter().flatten() {
        let f = |k: &str| row[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "{:<28} {:>8.0} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            row["phase"].as_str().unwrap_or("?"),
            f("requests"),
            f("per_second"),
            f("p50_ms"),
            f("p95_ms"),
            f("p99_ms"),
            f("max_ms")
        );
    }
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    println!(
        "adapter insert {:.0} rows/s; ingest/adapter ratio {:.2}; start-up to ready {:.0} ms",
        f(&m["adapter_rows_per_second"]),
        f(&m["ingest_to_adapter_ratio"]),
        f(&m["startup_to_ready_ms"])
    );
    println!(
        "reads right after the burst: worst p99 {:.2} ms, cheap shapes {:.2} ms",
        f(&m["after_burst_reads"]["worst_p99_ms"]),
        f(&m["after_burst_reads"]["worst_cheap_p99_ms"])
    );
    println!(
        "ingest p99 while purging / without: {:.2}; rows purged meanwhile {:.0}",
        f(&m["purge"]["ratio"]),
        f(&m["purge"]["rows_purged_during_ingest"])
    );
    println!(
        "verify-only actix {:.0}/s; ingest/verify-only ratio {:.2}",
        f(&m["verify_only_per_second"]),
        f(&m["ingest_to_verify_only_ratio"])
    );
    println!(
        "ingest wrote {:.0} disk bytes per stored row; {:.0} stored per row",
        f(&m["ingest_disk_bytes_per_row"]),
        f(&m["ingest_stored_bytes_per_row"])
    );
    for v in m["ingest_variants"].as_array().into_iter().flatten() {
        println!(
            "{}: {:.0}/s = {:.2} x this build's ingest; {:.0} disk bytes written, {:.0} stored per row",
            v["name"].as_str().unwrap_or("?"),
            f(&v["per_second"]),
            f(&v["ratio_to_main"]),
            f(&v["disk_bytes_per_row"]),
            f(&v["stored_bytes_per_row"])
        );
    }
    println!(
        "peak RSS: ingest {:.1} MB, reads {:.1} MB; database {:.0} MB",
        f(&m["peak_rss_mb"]["ingest"]),
        f(&m["peak_rss_mb"]["reads"]),
        f(&m["database_mb"])
    );
}
