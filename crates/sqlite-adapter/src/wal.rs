//! The bytes the writer appends to the write-ahead log: each commit writes
//! every page it changed as one frame (the page and a 24-byte header), so
//! this is the store's write cost per row before checkpoints copy pages
//! into the file (`hookbox_wal_bytes_total`, the bench's WAL bytes per row).
//! Public so that the bench counts its floors' WAL the same way.

use std::cell::Cell;
use std::ffi::c_int;

use rusqlite::Connection;
use rusqlite::hooks::Wal;

thread_local! {
    /// Frames in the log after this thread's last commit, and the frames
    /// its commits appended in all. The hook runs on the committing thread,
    /// and one writer thread owns each store's writing connection.
    static FRAMES: Cell<(i64, u64)> = const { Cell::new((0, 0)) };
}

/// The log's header per frame, beside the page.
const FRAME_HEADER: u64 = 24;

/// Counts the frames `conn`'s commits append, on this thread.
pub fn count_frames(conn: &Connection) {
    conn.wal_hook(Some(after_commit));
}

/// Called by SQLite after each commit with the frames now in the log. A
/// log that got shorter was started over after a checkpoint: all its
/// frames are new. (A restart followed by a commit longer than the log was
/// is counted short; with checkpoints every 250 ms that needs a commit of
/// more than a quarter-second of inserts.)
#[expect(
    clippy::unnecessary_wraps,
    reason = "the hook's signature is rusqlite's"
)]
fn after_commit(_wal: &Wal, frames: c_int) -> rusqlite::Result<()> {
    FRAMES.with(|cell| {
        let (before, total) = cell.get();
        let now = i64::from(frames);
        let added = if now >= before { now - before } else { now };
        cell.set((now, total + u64::try_from(added).unwrap_or(0)));
    });
    Ok(())
}

/// The bytes this thread's commits have appended to the log so far, for
/// pages of `page_size` bytes.
#[must_use]
pub fn appended_bytes(page_size: u64) -> u64 {
    FRAMES.with(|cell| cell.get().1) * (page_size + FRAME_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_frames_each_commit_appends() {
        let dir = tempfile::tempdir().expect("dir");
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        conn.execute_batch(
            "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;",
        )
        .expect("pragmas");
        count_frames(&conn);
        let before = appended_bytes(1024);
        conn.execute_batch("CREATE TABLE t (x BLOB)")
            .expect("create");
        for _ in 0..10 {
            conn.execute("INSERT INTO t VALUES (zeroblob(3000))", [])
                .expect("insert");
        }
        let added = appended_bytes(1024) - before;
        let log = std::fs::metadata(dir.path().join("w.db-wal"))
            .expect("wal")
            .len();
        // The log is its 32-byte header and the frames, none checkpointed.
        assert_eq!(added, log - 32, "{added} counted, log {log}");
        assert!(added >= 10 * 3000, "{added}");
    }
}
