//! The container image, run by a container engine (Podman or Docker).
//! Ignored by default: it needs an engine and a built image.
//!
//! ```sh
//! podman build --format docker -f docker/Dockerfile -t localhost/hookbox:ci .
//! HOOKBOX_IMAGE=localhost/hookbox:ci cargo test -p hookbox-tests-e2e --test e2e container -- --ignored
//! ```

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{Client, SECRET, free_port};

fn engine() -> String {
    std::env::var("HOOKBOX_CONTAINER_ENGINE").unwrap_or_else(|_| "podman".to_owned())
}

fn run(args: &[&str]) -> Output {
    Command::new(engine())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} {args:?}: {e}", engine()))
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        engine(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Removes the container and its volume, whatever happened.
struct Cleanup {
    name: String,
    volume: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = run(&["rm", "-f", "-t", "0", &self.name]);
        let _ = run(&["volume", "rm", "-f", &self.volume]);
    }
}

fn wait_ready(client: Client) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if client.get("/health/ready").is_ok_and(|r| r.status == 200) {
            return;
        }
        assert!(Instant::now() < deadline, "container never became ready");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs a container engine and a built image (HOOKBOX_IMAGE); run by .ci/run and `just e2e-container`"]
fn container_image_serves_the_contract() {
    let image =
        std::env::var("HOOKBOX_IMAGE").unwrap_or_else(|_| "localhost/hookbox:ci".to_owned());
    let port = free_port();
    let tag = format!("hookbox-e2e-{port}");
    let cleanup = Cleanup {
        name: tag.clone(),
        volume: format!("{tag}-data"),
    };
    let publish = format!("127.0.0.1:{port}:8000");
    let volume = format!("{}:/data", cleanup.volume);
    let secret = format!("WEBHOOK_SECRET={SECRET}");
    ok(&[
        "run", "-d", "--name", &tag, "-p", &publish, "-v", &volume, "-e", &secret, &image,
    ]);
    let client = Client::new(port);
    wait_ready(client);

    crate::contract::evaluation_sequence_on(client);
    let messages = client.get("/messages").expect("list").json();
    assert_eq!(messages["total"], 4);
    let stats = client.get("/stats").expect("stats").json();
    assert_eq!(stats["total_messages"], 4);
    let metrics = client.get("/metrics").expect("metrics").text();
    assert!(
        metrics.contains("webhook_requests_total{result=\"created\"} 4"),
        "{metrics}"
    );

    // The image's own health check (no curl in the image).
    ok(&["healthcheck", "run", &tag]);
    let health = ok(&["inspect", "--format", "{{.Config.Healthcheck.Test}}", &tag]);
    assert!(health.contains("healthcheck"), "{health}");

    // Non-root, hookbox as PID 1, database on the volume.
    assert_eq!(ok(&["exec", &tag, "id", "-u"]), "10001");
    let cmdline = ok(&["exec", &tag, "cat", "/proc/1/cmdline"]);
    assert!(cmdline.starts_with("/usr/local/bin/hookbox"), "{cmdline:?}");
    assert!(ok(&["exec", &tag, "ls", "/data"]).contains("app.db"));

    // Every log line is JSON.
    let logs = run(&["logs", &tag]);
    let stdout = String::from_utf8_lossy(&logs.stdout).into_owned();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l:?}"))
        })
        .collect();
    assert!(lines.len() >= 10, "{stdout}");
    assert!(
        lines
            .iter()
            .any(|l| l["path"] == "/webhook" && l["dup"] == true && l["message_id"] == "m1")
    );
    assert!(!stdout.contains(SECRET));

    // SIGTERM stops it well inside the 10 s grace period; data survives.
    let start = Instant::now();
    ok(&["stop", "-t", "10", &tag]);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
    let exit = ok(&["inspect", "--format", "{{.State.ExitCode}}", &tag]);
    assert_eq!(exit, "0");
    ok(&["start", &tag]);
    wait_ready(client);
    assert_eq!(client.get("/messages").expect("list").json(), messages);
    ok(&["restart", "-t", "10", &tag]);
    wait_ready(client);
    assert_eq!(
        client.get("/stats").expect("stats").json()["total_messages"],
        4
    );
    drop(cleanup);
}
