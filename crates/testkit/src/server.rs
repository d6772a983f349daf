//! Spawning the real `hookbox` binary.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::ports::free_port;
use crate::signing::SECRET;

/// The `hookbox` binary: `HOOKBOX_BIN` when set, otherwise built (or found
/// up to date) by cargo in the profile these tests run in.
///
/// # Panics
/// When the build fails.
pub fn hookbox_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("HOOKBOX_BIN") {
                return PathBuf::from(path);
            }
            // Tests live in target/<profile>/deps, other binaries in target/<profile>.
            let exe = std::env::current_exe().expect("own binary path");
            let mut profile_dir = exe.parent().expect("binary folder").to_path_buf();
            if profile_dir.file_name().is_some_and(|n| n == "deps") {
                profile_dir.pop();
            }
            let release = profile_dir.file_name().is_some_and(|n| n == "release");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "--quiet", "-p", "hookbox", "--bin", "hookbox"]);
            if release {
                build.arg("--release");
            }
            let status = build.status().expect("run cargo build");
            assert!(status.success(), "cargo build --bin hookbox failed");
            profile_dir.join(format!("hookbox{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// The store the end-to-end suite runs against: `HOOKBOX_E2E_STORE`
/// (`sqlite`, the default, or `postgres`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// A SQLite file in the server's temporary folder.
    Sqlite,
    /// A fresh database on the test PostgreSQL (see [`crate::postgres`]).
    Postgres,
}

/// Which [`Store`] this run uses.
///
/// # Panics
/// On an unknown `HOOKBOX_E2E_STORE`.
#[must_use]
pub fn e2e_store() -> Store {
    match std::env::var("HOOKBOX_E2E_STORE").as_deref() {
        Err(_) | Ok("" | "sqlite") => Store::Sqlite,
        Ok("postgres") => Store::Postgres,
        Ok(other) => panic!("HOOKBOX_E2E_STORE must be sqlite or postgres, got {other:?}"),
    }
}

/// For tests of what only the SQLite store has: whether to run, printing
/// one line when not.
#[must_use]
pub fn sqlite_only(test: &str) -> bool {
    let sqlite = e2e_store() == Store::Sqlite;
    if !sqlite {
        eprintln!(
            "SKIPPED {test}: SQLite only; this run uses {:?}",
            e2e_store()
        );
    }
    sqlite
}

/// Lines a server printed, shared with the threads that read them.
type Lines = Arc<Mutex<Vec<String>>>;

fn collect(stream: impl Read + Send + 'static, lines: Lines) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            lines.lock().expect("lines lock").push(line);
        }
    });
}

/// How a server that should have started did not.
#[derive(Debug)]
pub struct StartFailure {
    /// How it exited (`None`: it hung and was killed).
    pub status: Option<ExitStatus>,
    /// What it printed on stdout.
    pub stdout: Vec<String>,
    /// What it printed on stderr.
    pub stderr: Vec<String>,
}

/// Settings for a [`Server`].
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    env: Vec<(String, Option<String>)>,
    dir: Option<Arc<tempfile::TempDir>>,
    discard_stdout: bool,
    binary: Option<PathBuf>,
}

impl ServerBuilder {
    /// Runs this `hookbox` binary instead of [`hookbox_binary`] (another
    /// build, to compare with).
    #[must_use]
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Sets a variable (overriding the defaults).
    #[must_use]
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), Some(value.to_owned())));
        self
    }

    /// Removes a variable.
    #[must_use]
    pub fn without(mut self, name: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), None));
        self
    }

    /// Sends the server's stdout to /dev/null (for load tests, where the
    /// test process should not spend time collecting logs). Needs a fixed
    /// `PORT`; one is picked when none is set.
    #[must_use]
    pub fn discard_stdout(mut self) -> Self {
        self.discard_stdout = true;
        if !self
            .env
            .iter()
            .any(|(n, v)| n == "PORT" && v.as_deref().is_some_and(|p| p != "0"))
        {
            self = self.env("PORT", &free_port().to_string());
        }
        self
    }

    /// Uses this folder (which must outlive the server) instead of a fresh one.
    #[must_use]
    pub fn in_dir(mut self, dir: Arc<tempfile::TempDir>) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Starts the server and waits for its start-up log line.
    ///
    /// # Errors
    /// [`StartFailure`] when it exits or stays silent for 30 s.
    pub fn try_start(mut self) -> Result<Server, StartFailure> {
        if e2e_store() == Store::Postgres && !self.env.iter().any(|(n, _)| n == "DATABASE_URL") {
            let url = crate::postgres::fresh_database("the end-to-end suite")
                .unwrap_or_else(|| panic!("HOOKBOX_E2E_STORE=postgres needs a PostgreSQL server"));
            self = self.env("DATABASE_URL", &url);
        }
        let dir = match &self.dir {
            Some(dir) => Arc::clone(dir),
            None => Arc::new(tempfile::tempdir().expect("temp dir")),
        };
        let mut cmd = Command::new(self.binary.clone().unwrap_or_else(hookbox_binary));
        cmd.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("WEBHOOK_SECRET", SECRET)
            .env(
                "DATABASE_URL",
                format!("sqlite:///{}", dir.path().join("hookbox.db").display()),
            )
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LOG_LEVEL", "INFO")
            .stdin(Stdio::null())
            .stdout(if self.discard_stdout {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stderr(Stdio::piped());
        for (name, value) in &self.env {
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            };
        }
        let mut child = cmd.spawn().expect("spawn hookbox");
        let stdout: Lines = Arc::default();
        let stderr: Lines = Arc::default();
        if let Some(out) = child.stdout.take() {
            collect(out, Arc::clone(&stdout));
        }
        collect(child.stderr.take().expect("stderr"), Arc::clone(&stderr));

        // With a fixed port the start-up line may be filtered out by
        // LOG_LEVEL: readiness is then a successful connection.
        let fixed_port = self
            .env
            .iter()
            .find(|(n, _)| n == "PORT")
            .and_then(|(_, v)| v.as_deref()?.parse::<u16>().ok())
            .filter(|p| *p != 0);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let port = match fixed_port {
                Some(p) => Client::new(p).get("/health/live").is_ok().then_some(p),
                None => stdout
                    .lock()
                    .expect("lock")
                    .iter()
                    .find_map(|line| started_port(line)),
            };
            if let Some(port) = port {
                return Ok(Server {
                    child,
                    port,
                    stdout,
                    stderr,
                    builder: ServerBuilder {
                        dir: Some(dir),
                        ..self
                    },
                });
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                if exited.is_none() {
                    let _ = child.kill();
                }
                let status = child.wait().ok();
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return Err(StartFailure {
                    status,
                    stdout: stdout.lock().expect("lock").clone(),
                    stderr: stderr.lock().expect("lock").clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts the server.
    ///
    /// # Panics
    /// When it does not start.
    #[must_use]
    pub fn start(self) -> Server {
        self.try_start()
            .unwrap_or_else(|e| panic!("hookbox did not start: {e:?}"))
    }
}

fn started_port(line: &str) -> Option<u16> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    (v["msg"] == "hookbox started")
        .then(|| v["port"].as_u64().and_then(|p| u16::try_from(p).ok()))
        .flatten()
}

/// A running `hookbox` on `127.0.0.1` with its own temporary folder and
/// database. Killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    port: u16,
    stdout: Lines,
    stderr: Lines,
    builder: ServerBuilder,
}

impl Server {
    /// Settings starting from the defaults: the test secret, a fresh
    /// database, `127.0.0.1`, a free port.
    #[must_use]
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            env: Vec::new(),
            dir: None,
            discard_stdout: false,
            binary: None,
        }
    }

    /// A server with the defaults.
    #[must_use]
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client for it.
    #[must_use]
    pub fn client(&self) -> Client {
        Client::new(self.port)
    }

    /// The database file (SQLite).
    #[must_use]
    pub fn database(&self) -> PathBuf {
        self.dir().join("hookbox.db")
    }

    /// The `DATABASE_URL` it was started with.
    #[must_use]
    pub fn database_url(&self) -> String {
        self.builder
            .env
            .iter()
            .find(|(n, _)| n == "DATABASE_URL")
            .and_then(|(_, v)| v.clone())
            .unwrap_or_else(|| format!("sqlite:///{}", self.database().display()))
    }

    /// Its temporary folder.
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.builder
            .dir
            .as_ref()
            .map_or(Path::new("."), |d| d.path())
    }

    /// What it printed on stdout so far, one entry a line.
    #[must_use]
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().expect("lock").clone()
    }

    /// What it printed on stderr so far.
    #[must_use]
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().expect("lock").clone()
    }

    /// Sends SIGTERM and waits (up to 15 s) for the exit.
    ///
    /// # Panics
    /// When it does not exit in time.
    pub fn terminate(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(Instant::now() < deadline, "hookbox did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A new process on the same folder and database (after [`Self::terminate`]
    /// or [`Self::kill`]).
    #[must_use]
    pub fn restart(&self) -> Self {
        self.builder.clone().start()
    }

    /// Waits until stdout has at least `n` lines (the logger writes off the
    /// request path), for up to 5 s.
    #[must_use]
    pub fn wait_for_lines(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.stdout();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
