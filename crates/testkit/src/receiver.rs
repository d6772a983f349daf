//! A real consumer process for forwarding tests ([`Receiver`]): the
//! `hookbox-receiver` binary on a loopback port, answering by script.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The `hookbox-receiver` binary, built (or found up to date) by cargo.
///
/// # Panics
/// When the build fails.
pub fn receiver_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("own binary path");
            let mut dir = exe.parent().expect("binary folder").to_path_buf();
            if dir.file_name().is_some_and(|n| n == "deps") {
                dir.pop();
            }
            let release = dir.file_name().is_some_and(|n| n == "release");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut build = Command::new(cargo);
            build.args([
                "build",
                "--quiet",
                "-p",
                "hookbox-testkit",
                "--bin",
                "hookbox-receiver",
            ]);
            if release {
                build.arg("--release");
            }
            assert!(
                build.status().expect("run cargo build").success(),
                "build receiver"
            );
            dir.join(format!("hookbox-receiver{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// A running receiver; killed on drop.
#[derive(Debug)]
pub struct Receiver {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Receiver {
    /// Starts one that answers with `statuses` in turn (the last repeats),
    /// with `Retry-After: retry_after` on each 429.
    ///
    /// # Panics
    /// When it cannot start.
    #[must_use]
    pub fn start(statuses: &[u16], retry_after: Option<u32>) -> Self {
        Self::start_with(statuses, retry_after, &[])
    }

    /// [`Receiver::start`], holding the `n`-th answer back `delays_ms[n]`
    /// milliseconds (the last delay repeats).
    ///
    /// # Panics
    /// When it cannot start.
    #[must_use]
    pub fn start_with(statuses: &[u16], retry_after: Option<u32>, delays_ms: &[u64]) -> Self {
        let list: Vec<String> = statuses.iter().map(ToString::to_string).collect();
        let mut cmd = Command::new(receiver_binary());
        cmd.args(["--statuses", &list.join(",")]);
        if !delays_ms.is_empty() {
            let delays: Vec<String> = delays_ms.iter().map(ToString::to_string).collect();
            cmd.args(["--delays-ms", &delays.join(",")]);
        }
        if let Some(s) = retry_after {
            cmd.args(["--retry-after", &s.to_string()]);
        }
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start receiver");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first).expect("receiver port");
        let port = serde_json::from_str::<serde_json::Value>(&first).expect("port line")["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .expect("port");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    sink.lock().expect("lines").push(v);
                }
            }
        });
        Self { child, port, lines }
    }

    /// `http://127.0.0.1:<port><path>`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request so far: `{"n","status","at_ms","request","headers",
    /// "body"}` (`at_ms`: when it arrived, in Unix milliseconds).
    ///
    /// # Panics
    /// When a reader thread panicked.
    #[must_use]
    pub fn requests(&self) -> Vec<serde_json::Value> {
        self.lines.lock().expect("lines").clone()
    }

    /// Waits until `n` requests came (or `timeout`), and returns them all.
    #[must_use]
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let started = Instant::now();
        loop {
            let got = self.requests();
            if got.len() >= n || started.elapsed() > timeout {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
