//! Storage faults for real: the database on a tiny tmpfs that fills up.
//! Ignored by default (mounting needs root); `.ci/run` runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::Server;

use crate::body;

/// A tmpfs mount, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("run mount")
            .success();
        assert!(ok, "mount tmpfs at {} (needs root)", at.display());
        Self(at.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("run mount")
            .success();
        assert!(ok, "remount");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
#[ignore = "mounts a tmpfs (needs root); run by .ci/run"]
fn a_full_disk_is_503_with_retry_after_and_recovers_by_itself() {
    let dir = tempfile::tempdir().expect("dir");
    let disk = Tmpfs::mount(&dir.path().join("small"), "1m");
    let url = format!("sqlite:///{}", disk.0.join("hookbox.db").display());
    let server = Server::builder()
        .env("DATABASE_URL", &url)
        .env("SEARCH_INDEX", "off")
        .start();
    let c = server.client();

    let text = "x".repeat(3000);
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..2000 {
        let id = format!("fill-{i}");
        let r = c
            .signed_webhook(&body(&id, "+1", "2025-01-15T10:00:00Z", Some(&text)))
            .expect("post");
        match r.status {
            200 => acked.push(id),
            503 => {
                refused = Some(r);
                break;
            }
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    let refused = refused.expect("the disk never filled");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.json()["detail"], "service unavailable, retry later");
    assert!(!acked.is_empty());
    let ready = c.get("/health/ready").expect("ready");
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert_eq!(ready.json()["checks"]["database"], "unavailable");

    // Reads still work and everything acknowledged is there.
    let page = c.get("/messages?limit=100").expect("list").json();
    assert_eq!(page["total"], acked.len());

    // The fault clears; readiness comes back without any traffic.
    disk.resize("16m");
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.get("/health/ready").expect("ready").status != 200 {
        assert!(Instant::now() < deadline, "did not recover");
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = c
        .signed_webhook(&body("after", "+1", "2025-01-15T10:00:00Z", Some("ok")))
        .expect("post");
    assert_eq!(r.status, 200, "{}", r.text());
    let total = c.get("/messages?limit=1").expect("list").json()["total"].as_u64();
    assert_eq!(total, Some(acked.len() as u64 + 1));
    drop(server);
}
