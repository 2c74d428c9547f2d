//! Fresh databases for test suites (this crate's, the API's): a migrated SQLite file in a
//! temporary directory, or a new database on the PostgreSQL server named by `DATABASE_URL`
//! (default: the local server), dropped by [`TestDb::finish`].

use crate::Store;

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    drop: Option<(String, String)>,
}

impl TestDb {
    /// Closes the store and drops a PostgreSQL test database (left behind if the test panicked).
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((base, name)) = self.drop {
            if let Ok(admin) = Store::connect(&base).await {
                let _ = admin
                    .execute_raw(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                admin.close().await;
            }
        }
    }
}

/// A migrated SQLite database in a fresh temporary directory.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("test.db");
    let store = Store::connect(&path.to_string_lossy())
        .await
        .expect("SQLite opens");
    store.migrate().await.expect("SQLite migrates");
    TestDb {
        store,
        _dir: Some(dir),
        drop: None,
    }
}

/// A fresh, migrated PostgreSQL database. `None`, with a loud message, only when
/// `DATABASE_URL` is unset and no local server answers; a set but unreachable URL panics.
pub async fn postgres() -> Option<TestDb> {
    let explicit = std::env::var("DATABASE_URL").ok();
    let base = explicit
        .clone()
        .unwrap_or_else(|| DEFAULT_POSTGRES.to_owned());
    let admin = match Store::connect(&base).await {
        Ok(s) => s,
        Err(e) if explicit.is_none() => {
            eprintln!("SKIPPED: no PostgreSQL at {base} ({e}); set DATABASE_URL to run the PostgreSQL suite");
            return None;
        }
        Err(e) => panic!("DATABASE_URL={base} does not answer: {e}"),
    };
    let name = format!("waiver_t_{}_{}", std::process::id(), unique());
    admin
        .execute_raw(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE");
    admin.close().await;
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let url = match base.rfind('/') {
        Some(i) if i >= scheme_end => format!("{}/{name}", &base[..i]),
        _ => format!("{base}/{name}"),
    };
    let store = Store::connect(&url).await.expect("the new database opens");
    store.migrate().await.expect("PostgreSQL migrates");
    Some(TestDb {
        store,
        _dir: None,
        drop: Some((base, name)),
    })
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos % 1_000_000_000) * 1000 + N.fetch_add(1, Ordering::Relaxed) % 1000
}

/// An allowance as a final decision would create it, without the review around it (test
/// set-up): an application row for `holder` (an existing enterprise) on the seeded programme
/// `CN-2020-MKT`, the allowance and its grant entry.
#[allow(clippy::too_many_arguments)]
pub async fn seed_allowance(
    store: &Store,
    number: &str,
    holder: &str,
    line: &str,
    granted_g: i64,
    tolerance_ppm: i64,
    valid: (waiver_domain::BjTime, waiver_domain::BjTime),
    scopes: &[&str],
) -> crate::Result<()> {
    let app = format!("APP-{number}");
    let now = crate::now_ms();
    let mut tx = store.pool.begin().await?;
    sqlx::query(&store.sql(
        "INSERT INTO applications (number, programme_id, enterprise_code, filed_by, line_code, state, spec, quantity_g, value_minor, currency, version, created_at_ms, updated_at_ms) \
         VALUES ($1, 'CN-2020-MKT', $2, 'system', $3, 'approved', '{}', $4, 1, 'USD', 1, $5, $5)",
    ))
    .bind(&app)
    .bind(holder)
    .bind(line)
    .bind(granted_g.max(1))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&store.sql(
        "INSERT INTO allowances (number, application_number, programme_id, holder, line_code, unit, granted_g, tolerance_ppm, valid_from_s, valid_until_s, scopes, version, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, 'CN-2020-MKT', $3, $4, 't', $5, $6, $7, $8, $9, 1, $10, $10)",
    ))
    .bind(number)
    .bind(&app)
    .bind(holder)
    .bind(line)
    .bind(granted_g)
    .bind(tolerance_ppm)
    .bind(valid.0 .0)
    .bind(valid.1 .0)
    .bind(serde_json::to_string(scopes).unwrap_or_default())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&store.sql(
        "INSERT INTO allowance_entries (allowance_number, kind, quantity_g, cause, at_ms) VALUES ($1, 'grant', $2, 'test set-up', $3)",
    ))
    .bind(number)
    .bind(granted_g)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
