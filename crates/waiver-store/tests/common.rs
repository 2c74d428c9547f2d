//! Test databases: a fresh SQLite file, and a fresh PostgreSQL database per test.

use waiver_store::Store;

pub struct TestDb {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    /// For PostgreSQL: the server URL and the database to drop afterwards.
    drop: Option<(String, String)>,
}

impl TestDb {
    /// Closes the store and drops a PostgreSQL test database (left behind if the test panicked).
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((base, name)) = self.drop {
            if let Ok(admin) = Store::connect(&base).await {
                let _ = admin
                    .execute_raw(&format!("DROP DATABASE IF EXISTS {name}"))
                    .await;
                admin.close().await;
            }
        }
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let store = Store::connect(path.to_str().unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    TestDb {
        store,
        _dir: Some(dir),
        drop: None,
    }
}

/// A fresh database on the server named by `DATABASE_URL` (default: the local test server).
/// Returns `None`, loudly, only when `DATABASE_URL` is unset and no local server answers.
pub async fn postgres() -> Option<TestDb> {
    let explicit = std::env::var("DATABASE_URL").ok();
    let base = explicit
        .clone()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let admin = match Store::connect(&base).await {
        Ok(s) => s,
        Err(e) if explicit.is_none() => {
            eprintln!("SKIPPED: no PostgreSQL at {base} ({e}); set DATABASE_URL to run the PostgreSQL suite");
            return None;
        }
        Err(e) => panic!("DATABASE_URL={base} does not answer: {e}"),
    };
    let name = format!("waiver_t_{}_{}", std::process::id(), rand_suffix());
    admin
        .execute_raw(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await;
    let url = match base.rfind('/') {
        Some(i) if base[..i].contains("://") && i > base.find("://").unwrap() + 2 => {
            format!("{}/{name}", &base[..i])
        }
        _ => format!("{base}/{name}"),
    };
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    Some(TestDb {
        store,
        _dir: None,
        drop: Some((base, name)),
    })
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish() % 1_000_000_000
}

/// Runs the same async test against SQLite and PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = common::sqlite().await;
                ($body)(db.store.clone()).await;
                db.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = common::postgres().await {
                    ($body)(db.store.clone()).await;
                    db.finish().await;
                }
            }
        }
    };
}
