//! Background WAL checkpoints for SQLite.
//!
//! The store's one connection commits every declaration batch; with SQLite's automatic
//! checkpoint that same connection, right after a commit, also copies the WAL back into the
//! database and fsyncs it, so the writer (and every declaration waiting on it) stalls for the
//! copy. Here a second connection, used for nothing else, runs `PRAGMA wal_checkpoint(PASSIVE)`
//! a few times a second on its own thread: passive checkpoints never block the writer and never
//! wait for it. The main connection keeps an automatic checkpoint as a backstop
//! (see `SQLITE_PRAGMAS`): once the background one has copied the WAL, the backstop finds little
//! left to copy and lets the next commit start the WAL over. The checkpointer reads and writes no
//! data of its own, so the store's rule — one connection for every read and write — still holds.

use std::str::FromStr;
use std::sync::Weak;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

/// How often the WAL is checkpointed in the background.
const EVERY: Duration = Duration::from_millis(100);

/// Starts the checkpointer for the SQLite database at `url` (a file; in-memory databases have no
/// WAL). It ends once the store's pool is closed or `alive` can no longer be upgraded (every
/// handle of the store dropped).
pub(crate) fn start<T: Send + Sync + 'static>(url: &str, pool: AnyPool, alive: Weak<T>) {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return;
    }
    let Ok(options) = SqliteConnectOptions::from_str(url) else {
        return;
    };
    let options = options.create_if_missing(false);
    tokio::spawn(async move {
        let mut conn = None;
        loop {
            tokio::time::sleep(EVERY).await;
            if alive.strong_count() == 0 || pool.is_closed() {
                break;
            }
            if conn.is_none() {
                conn = options.connect().await.ok();
            }
            if let Some(c) = conn.as_mut() {
                // PASSIVE: copies what it can without waiting for, or blocking, the writer.
                if c.execute("PRAGMA wal_checkpoint(PASSIVE)").await.is_err() {
                    conn = None;
                }
            }
        }
        if let Some(c) = conn {
            let _ = c.close().await;
        }
    });
}
