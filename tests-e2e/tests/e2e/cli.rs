//! The command line: help and version print on stdout and touch nothing
//! (no file, no port) even with a valid configuration in the environment;
//! usage errors are one line on stderr with exit 2; `healthcheck` probes the
//! address the server listens on and says why when it fails.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `hookbox args…` in `dir` with a configuration that would serve
/// (`WEBHOOK_SECRET`, a database in `dir`, a fixed free port).
/// A command that is still running after 10 s (it started serving) is
/// killed and fails the test.
fn run_in(dir: &Path, port: u16, args: &[&str]) -> Output {
    let mut child = Command::new(testkit::hookbox_binary())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("WEBHOOK_SECRET", testkit::SECRET)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env(
            "DATABASE_URL",
            format!("sqlite:///{}", dir.join("cli.db").display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hookbox");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hookbox {args:?} was still running after 10 s: it served instead of exiting");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_and_version_print_on_stdout_and_touch_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let port = testkit::free_port();
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["help", "serve"],
        &["serve", "--help"],
        &["sign", "--help"],
        &["help", "sign"],
        &["healthcheck", "--help"],
    ] {
        let out = run_in(dir.path(), port, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        assert!(stdout.contains("Usage: hookbox"), "{args:?}: {stdout}");
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    }
    let top = text(&run_in(dir.path(), port, &["--help"]).stdout);
    for sub in ["serve", "sign", "healthcheck"] {
        assert!(top.contains(sub), "--help lists {sub}: {top}");
    }
    for flag in ["--version", "-V"] {
        let out = run_in(dir.path(), port, &[flag]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            text(&out.stdout).trim(),
            format!("hookbox {}", env!("CARGO_PKG_VERSION"))
        );
    }
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(files.is_empty(), "help created files: {files:?}");
    // Nothing bound the port: it is still free.
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is still free");
}

#[test]
fn usage_errors_are_one_line_on_stderr_with_exit_2() {
    let dir = tempfile::tempdir().expect("dir");
    let port = testkit::free_port();
    for args in [
        &["--bogus"][..],
        &["bogus"],
        &["serve", "--bogus"],
        &["sign"],
        &["sign", "--scheme", "md5", "--secret", "s", "-"],
    ] {
        let out = run_in(dir.path(), port, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    assert!(
        std::fs::read_dir(dir.path())
            .expect("list")
            .next()
            .is_none()
    );
}

#[test]
fn serve_is_the_default_and_healthcheck_probes_the_listening_address() {
    for host in ["127.0.0.2", "::1"] {
        if std::net::TcpListener::bind((host, 0)).is_err() {
            println!("SKIPPED healthcheck on {host}: this machine cannot bind it");
            continue;
        }
        let server = testkit::Server::builder().env("HOST", host).start();
        let port = server.port();
        let probe = |host: &str, port: u16| {
            Command::new(testkit::hookbox_binary())
                .arg("healthcheck")
                .env_clear()
                .env("HOST", host)
                .env("PORT", port.to_string())
                .output()
                .expect("run healthcheck")
        };
        // A loaded machine (the PostgreSQL suite runs many servers) may
        // answer the first probe slowly: retry for a few seconds, as an
        // orchestrator does.
        let mut ok = probe(host, port);
        for _ in 0..10 {
            if ok.status.code() == Some(0) {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
            ok = probe(host, port);
        }
        assert_eq!(ok.status.code(), Some(0), "{host}: {}", text(&ok.stderr));
        let wildcard = if host.contains(':') { "::" } else { "0.0.0.0" };
        if host == "::1" {
            assert_eq!(probe(wildcard, port).status.code(), Some(0));
        }
        drop(server);
        let down = probe(host, port);
        assert_eq!(down.status.code(), Some(1));
        let why = text(&down.stderr);
        assert!(
            why.starts_with("hookbox healthcheck: cannot reach"),
            "{why}"
        );
    }
}
