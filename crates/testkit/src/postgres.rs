//! PostgreSQL for tests: the server named by `HOOKBOX_TEST_POSTGRES_URL`,
//! or a throwaway cluster started from the machine's PostgreSQL binaries,
//! or none (the test then skips with one line, unless
//! `HOOKBOX_REQUIRE_POSTGRES=1`, as in CI, where it fails instead).
//!
//! Each test gets a database of its own, so tests run side by side.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::ports::free_port;

/// The URL of a fresh, empty database, or `None` (after printing one line
/// saying why) when no PostgreSQL server can be had.
///
/// # Panics
/// When none can be had and `HOOKBOX_REQUIRE_POSTGRES=1`, or a server that
/// is configured cannot be used.
#[must_use]
pub fn fresh_database(test: &str) -> Option<String> {
    let admin = match std::env::var("HOOKBOX_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => match shared_cluster() {
            Some(cluster) => cluster.url("postgres"),
            None => {
                skip(
                    test,
                    "no PostgreSQL: set HOOKBOX_TEST_POSTGRES_URL or install PostgreSQL's server binaries",
                );
                return None;
            }
        },
    };
    Some(create_database(&admin))
}

/// Prints the skip line, or panics when PostgreSQL is required.
///
/// # Panics
/// When `HOOKBOX_REQUIRE_POSTGRES=1`.
pub fn skip(test: &str, why: &str) {
    assert!(
        std::env::var("HOOKBOX_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "{test}: PostgreSQL is required here (HOOKBOX_REQUIRE_POSTGRES=1) but {why}"
    );
    eprintln!("SKIPPED {test}: {why}");
}

/// Creates `hookbox_<pid>_<n>` through `admin` (a URL whose role may
/// create databases) and returns its URL.
///
/// # Panics
/// When it cannot connect or the statement fails.
#[must_use]
pub fn create_database(admin: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "hookbox_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let mut client = postgres::Client::connect(admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"));
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| sweep(&mut client));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    with_database(admin, &name)
}

/// Drops the databases earlier test processes made and left (their
/// process is gone), so a developer's server does not fill up run after
/// run. One still in use (another machine's test sharing the server)
/// refuses the drop and stays; so does every one where processes cannot be
/// looked up (no `/proc`).
fn sweep(client: &mut postgres::Client) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(rows) = client.query(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'hookbox\\_%\\_%'",
        &[],
    ) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        if let Some(pid) = left_by(&name)
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"));
        }
    }
}

/// The process id in a name [`create_database`] made (`hookbox_<pid>_<n>`).
fn left_by(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix("hookbox_")?.split_once('_')?;
    n.parse::<u32>().ok()?;
    pid.parse().ok()
}

/// `url` with its database name replaced by `name`.
#[must_use]
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Runs `sql` on the database at `url` (for tests that look inside).
///
/// # Panics
/// When it cannot connect or the statement fails.
pub fn query_i64(url: &str, sql: &str) -> i64 {
    let mut client =
        postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| panic!("connect: {e}"));
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

fn shared_cluster() -> Option<&'static Cluster> {
    static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();
    SHARED.get_or_init(|| Cluster::start(false)).as_ref()
}

/// A throwaway PostgreSQL cluster in a temporary folder, on a free loopback
/// port, stopped (and its folder removed) when dropped or when the test
/// process exits.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn find_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .find(|b| b.join("initdb").is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Cluster {
    /// Starts one (with TLS on, a self-signed certificate for `localhost`
    /// and 127.0.0.1, when `tls`); `None` without PostgreSQL's binaries.
    ///
    /// # Panics
    /// When the binaries are there but the cluster does not start.
    #[must_use]
    pub fn start(tls: bool) -> Option<Self> {
        let bin = find_bin()?;
        let as_postgres = is_root();
        let dir =
            std::env::temp_dir().join(format!("hookbox-pg-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).expect("cluster folder");
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown the cluster folder to postgres");
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                data.to_str().expect("utf-8 path"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        );
        let mut conf = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nfull_page_writes = off\nmax_connections = 300\n",
            cluster.port,
            cluster.dir.display()
        );
        if tls {
            cluster.make_certificate();
            conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        }
        cluster.write_as_owner(&data.join("postgresql.auto.conf"), &conf);
        cluster.start_server();
        cluster.watch_parent();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The CA (self-signed) certificate, for `sslrootcert`.
    #[must_use]
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The port it listens on (127.0.0.1).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for `database` as the superuser, without TLS parameters.
    #[must_use]
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A fresh database on this cluster.
    #[must_use]
    pub fn fresh_database(&self) -> String {
        create_database(&self.url("postgres"))
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn write_as_owner(&self, path: &Path, content: &str) {
        std::fs::write(path, content).expect("write");
        if self.as_postgres {
            let _ = Command::new("chown")
                .arg("postgres:postgres")
                .arg(path)
                .status();
        }
    }

    /// A CA, and a server certificate it signed for `localhost` and
    /// 127.0.0.1 (a self-signed leaf cannot also be its own trust anchor).
    fn make_certificate(&self) {
        let data = self.data();
        let key = data.join("server.key");
        let crt = data.join("server.crt");
        let ca_key = self.dir.join("ca.key");
        let csr = self.dir.join("server.csr");
        let ext = self.dir.join("server.ext");
        std::fs::write(
            &ext,
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .expect("write ext");
        let openssl = |args: &[&std::ffi::OsStr]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("run openssl");
            assert!(
                out.status.success(),
                "openssl: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let os = |s: &'static str| std::ffi::OsStr::new(s);
        openssl(&[
            os("req"),
            os("-x509"),
            os("-newkey"),
            os("rsa:2048"),
            os("-nodes"),
            os("-days"),
            os("2"),
            os("-subj"),
            os("/CN=hookbox test CA"),
            os("-keyout"),
            ca_key.as_os_str(),
            os("-out"),
            self.certificate().as_os_str(),
        ]);
        openssl(&[
            os("req"),
            os("-newkey"),
            os("rsa:2048"),
            os("-nodes"),
            os("-subj"),
            os("/CN=localhost"),
            os("-keyout"),
            key.as_os_str(),
            os("-out"),
            csr.as_os_str(),
        ]);
        openssl(&[
            os("x509"),
            os("-req"),
            os("-in"),
            csr.as_os_str(),
            os("-CA"),
            self.certificate().as_os_str(),
            os("-CAkey"),
            ca_key.as_os_str(),
            os("-CAcreateserial"),
            os("-days"),
            os("2"),
            os("-extfile"),
            ext.as_os_str(),
            os("-out"),
            crt.as_os_str(),
        ]);
        let _ = Command::new("chmod").arg("600").arg(&key).status();
        if self.as_postgres {
            let _ = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&key)
                .arg(&crt)
                .status();
        }
    }

    /// Starts (or starts again) the server and waits until it accepts.
    ///
    /// # Panics
    /// When it does not start within 30 s.
    pub fn start_server(&self) {
        let data = self.data();
        let log = self.dir.join("server.log");
        if self.as_postgres && !log.exists() {
            self.write_as_owner(&log, "");
        }
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("utf-8"),
                "-l",
                log.to_str().expect("utf-8"),
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while postgres::Client::connect(&self.url("postgres"), postgres::NoTls).is_err() {
            assert!(
                Instant::now() < deadline,
                "the test cluster does not accept connections"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (fast shutdown: sessions are ended, as in a
    /// restart by an operator).
    pub fn stop_server(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("utf-8"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// A watchdog that stops the cluster and removes its folder once the
    /// test process is gone (a shared cluster is never dropped).
    fn watch_parent(&self) {
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            ctl = if self.as_postgres {
                format!(
                    "runuser -u postgres -- {}",
                    self.bin.join("pg_ctl").display()
                )
            } else {
                self.bin.join("pg_ctl").display().to_string()
            },
            data = self.data().display(),
            dir = self.dir.display(),
        );
        let _ = Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::left_by;

    #[test]
    fn only_names_this_module_makes_are_swept() {
        assert_eq!(left_by("hookbox_4242_0"), Some(4242));
        assert_eq!(left_by("hookbox_4242_17"), Some(4242));
        assert_eq!(left_by("hookbox_prod"), None);
        assert_eq!(left_by("hookbox_4242_x"), None);
        assert_eq!(left_by("hookbox_main_1"), None);
        assert_eq!(left_by("other_4242_0"), None);
    }
}
