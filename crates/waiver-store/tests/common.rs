//! Test databases for this suite: see `waiver_store::testing`.

pub use waiver_store::testing::{postgres, sqlite};

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
