//! The command line of `hookbox-bench`.

pub(crate) const HELP: &str =
    "hookbox-bench: load and consistency benchmark for hookbox (loopback only)

USAGE: hookbox-bench [OPTIONS]

  --messages N          unique webhooks to ingest            [100000]
  --concurrency N       requests in flight during ingest     [64]
  --senders N           distinct senders                     [5000]
  --seed-rows N         rows in the database for the reads   [1000000]
  --read-concurrency N  requests in flight during reads      [8]
  --reads N             requests per read shape              [2000]
  --rejects N           forged and invalid webhooks, each    [5000]
  --max-seconds N       time limit of each load phase        [120]
  --out FILE            JSON report                          [bench-results/latest.json]
  --no-search-index     run hookbox with SEARCH_INDEX=off
  --runs N              repeat the scenario, report per-figure medians  [3]
  --keep-db DIR         afterwards, copy the read-phase database files to DIR
                        (with --ingest-only: the ingest database)
  --soak-ids N          in a soak, draw webhook ids from N only: once all are
                        stored, writes are replays and the data stops growing
  --soak SECONDS        instead: mixed writes (70 %) and reads at --concurrency
                        for SECONDS, sampling RSS; fails on any 5xx
  --quick               one small run (CI): 2000 messages, 5000 rows, 100 reads
  --database-url URL    run on PostgreSQL instead of SQLite: URL names a server
                        and a role that may CREATE DATABASE; each phase gets a
                        fresh database. Adds PostgreSQL's own batched insert
                        rate into the same schema (the ceiling) to the report
  --replicas N          hookbox processes sharing that database      [1]
  --erase-rows N        messages of the sender erased beside ingest  [1000]
  --ingest-only         stop after the floors, the ceilings and ingest (with its
                        variants): the quick way to weigh a write-path change
  --server-env K=V      pass setting K=V to every hookbox the bench starts (and
                        to the adapter it measures alone); repeatable
  --compare-bin PATH    also run the same ingest on this hookbox binary (another
                        build, e.g. the previous commit's), between two more
                        runs of this build, and report the ratio to their mean
  --compare-reads FILE  print each read shape's throughput beside the same
                        shape in FILE (an earlier one-run report, e.g. SQLite's
                        at the same size), with the ratio, and the mix's
";

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) messages: u64,
    pub(crate) concurrency: usize,
    pub(crate) senders: usize,
    pub(crate) seed_rows: u64,
    pub(crate) read_concurrency: usize,
    pub(crate) reads: usize,
    pub(crate) rejects: usize,
    pub(crate) max_seconds: u64,
    pub(crate) out: String,
    pub(crate) search_index: bool,
    pub(crate) soak_seconds: Option<u64>,
    pub(crate) soak_ids: Option<u64>,
    pub(crate) keep_db: Option<String>,
    pub(crate) runs: usize,
    pub(crate) database_url: Option<String>,
    pub(crate) replicas: usize,
    pub(crate) compare_bin: Option<String>,
    pub(crate) compare_reads: Option<String>,
    pub(crate) erase_rows: u64,
    pub(crate) quick: bool,
    pub(crate) ingest_only: bool,
    pub(crate) server_env: Vec<(String, String)>,
}

impl Options {
    /// `builder` with every `--server-env` setting.
    pub(crate) fn with_server_env(
        &self,
        builder: testkit::ServerBuilder,
    ) -> testkit::ServerBuilder {
        self.server_env
            .iter()
            .fold(builder, |b, (k, v)| b.env(k, v))
    }

    /// A `--server-env` setting's value, as a store reads its settings.
    pub(crate) fn server_setting(&self, name: &str) -> Option<String> {
        self.server_env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            messages: 100_000,
            concurrency: 64,
            senders: 5000,
            seed_rows: 1_000_000,
            read_concurrency: 8,
            reads: 2000,
            rejects: 5000,
            max_seconds: 120,
            out: "bench-results/latest.json".to_owned(),
            search_index: true,
            soak_seconds: None,
            soak_ids: None,
            keep_db: None,
            runs: 3,
            database_url: None,
            replicas: 1,
            compare_bin: None,
            compare_reads: None,
            erase_rows: 1000,
            quick: false,
            ingest_only: false,
            server_env: Vec::new(),
        }
    }
}

pub(crate) fn parse_args() -> Result<Options, String> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        macro_rules! num {
            ($field:ident, $name:expr) => {
                o.$field = value($name)?
                    .parse()
                    .map_err(|_| format!("{} needs a number", $name))?
            };
        }
        match arg.as_str() {
            "--messages" => num!(messages, "--messages"),
            "--concurrency" => num!(concurrency, "--concurrency"),
            "--senders" => num!(senders, "--senders"),
            "--seed-rows" => num!(seed_rows, "--seed-rows"),
            "--read-concurrency" => num!(read_concurrency, "--read-concurrency"),
            "--reads" => num!(reads, "--reads"),
            "--rejects" => num!(rejects, "--rejects"),
            "--max-seconds" => num!(max_seconds, "--max-seconds"),
            "--runs" => num!(runs, "--runs"),
            "--replicas" => num!(replicas, "--replicas"),
            "--erase-rows" => num!(erase_rows, "--erase-rows"),
            "--database-url" => o.database_url = Some(value("--database-url")?),
            // Absolute: each hookbox starts in a folder of its own.
            "--compare-bin" => {
                let path = value("--compare-bin")?;
                let absolute =
                    std::path::absolute(&path).map_err(|e| format!("--compare-bin {path}: {e}"))?;
                o.compare_bin = Some(absolute.to_string_lossy().into_owned());
            }
            "--compare-reads" => o.compare_reads = Some(value("--compare-reads")?),
            "--out" => o.out = value("--out")?,
            "--no-search-index" => o.search_index = false,
            "--ingest-only" => o.ingest_only = true,
            "--server-env" => {
                let pair = value("--server-env")?;
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--server-env needs NAME=VALUE, got {pair:?}"))?;
                o.server_env.push((k.to_owned(), v.to_owned()));
            }
            "--keep-db" => o.keep_db = Some(value("--keep-db")?),
            "--soak-ids" => {
                o.soak_ids = Some(
                    value("--soak-ids")?
                        .parse()
                        .map_err(|_| "--soak-ids needs a number".to_owned())?,
                );
            }
            "--soak" => {
                o.soak_seconds = Some(
                    value("--soak")?
                        .parse()
                        .map_err(|_| "--soak needs seconds".to_owned())?,
                );
            }
            "--quick" => {
                o.messages = 2000;
                o.seed_rows = 5000;
                o.reads = 100;
                o.rejects = 200;
                o.senders = 200;
                o.concurrency = 16;
                o.runs = 1;
                o.erase_rows = 200;
                o.quick = true;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}
