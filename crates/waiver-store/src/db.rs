//! The connection pool, dialect and migrations.

use std::borrow::Cow;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::{Result, StoreError};

/// Which database a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The one storage interface. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    dialect: Dialect,
    /// The group-commit writer for declarations (started on first use).
    pub(crate) batcher: crate::batch::Batcher,
    /// In-process read caches, invalidated by this process's writes.
    pub(crate) cache: std::sync::Arc<Cache>,
}

/// The published product exclusions, read on every declaration, kept until a decision, appeal
/// or policy change commits (each bumps the generation; a read that raced with one is not kept).
/// One process per database is assumed, as everywhere in Waiver.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    generation: std::sync::atomic::AtomicU64,
    exclusions: std::sync::Mutex<Option<(u64, std::sync::Arc<Vec<crate::ProductExclusion>>)>>,
    /// Known API tokens (by digest) and their users, with when they were read.
    tokens: std::sync::Mutex<TokenCache>,
}

/// The remembered tokens and how many times they were forgotten (so that a read which began
/// before a revocation cannot put its now stale answer back).
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    generation: u64,
    known: std::collections::HashMap<String, (std::time::Instant, crate::User)>,
}

/// How long a known API token is trusted without reading the database again.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Most tokens remembered (the map is emptied when full; only tokens that exist get in).
const TOKEN_CACHE_MAX: usize = 10_000;

impl Cache {
    /// The user of a remembered token, or else the generation to pass to
    /// [`Cache::remember_token`] after reading the database.
    pub(crate) fn token(&self, digest: &str) -> Result<crate::User, u64> {
        let Ok(cache) = self.tokens.lock() else {
            return Err(u64::MAX);
        };
        match cache.known.get(digest) {
            Some((at, user)) if at.elapsed() < TOKEN_CACHE_TTL => Ok(user.clone()),
            _ => Err(cache.generation),
        }
    }

    /// Remembers a token read from the database, unless tokens were forgotten since the read
    /// began (`generation` from [`Cache::token`]).
    pub(crate) fn remember_token(&self, digest: String, user: crate::User, generation: u64) {
        if let Ok(mut cache) = self.tokens.lock() {
            if cache.generation != generation {
                return;
            }
            if cache.known.len() >= TOKEN_CACHE_MAX {
                cache.known.clear();
            }
            cache
                .known
                .insert(digest, (std::time::Instant::now(), user));
        }
    }

    /// Forgets every remembered token (after a revocation or a user's change of state).
    pub(crate) fn forget_tokens(&self) {
        if let Ok(mut cache) = self.tokens.lock() {
            cache.generation += 1;
            cache.known.clear();
        }
    }

    pub(crate) fn exclusions_changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Every SQLite connection's settings. Durability: WAL with `synchronous = FULL` (the WAL is
/// fsynced at every commit). The rest is about the cost of a commit, which with spread keys
/// dirties many pages: statement journals (multi-row statements) stay in memory instead of a temp
/// file; a 16 MiB page cache (instead of 2 MiB) keeps the indexes' hot pages instead of re-reading
/// them from the OS; and the WAL is copied back by a background checkpointer (`checkpoint.rs`),
/// the automatic checkpoint on this connection only a backstop at 8,192 pages (32 MiB).
const SQLITE_PRAGMAS: &str =
    "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384; \
     PRAGMA wal_autocheckpoint = 8192;";

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `postgres://…`, `sqlite://PATH`, or a plain file path (SQLite, created if
    /// missing). Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (dialect, url): (Dialect, Cow<str>) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                (Dialect::Postgres, url.into())
            } else if url.starts_with("sqlite:") {
                (Dialect::Sqlite, url.into())
            } else if !url.contains("://") {
                (Dialect::Sqlite, format!("sqlite://{url}?mode=rwc").into())
            } else {
                return Err(StoreError::Url(url.to_owned()));
            };
        let options =
            AnyConnectOptions::from_str(&url).map_err(|_| StoreError::Url(url.to_string()))?;
        let pool = match dialect {
            // One connection: SQLite has one writer, and a single connection makes every
            // transaction immediate in effect (no lock upgrades, no SQLITE_BUSY).
            Dialect::Sqlite => {
                // A file connection cannot go stale: no ping before handing it out.
                AnyPoolOptions::new()
                    .max_connections(1)
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Dialect::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .connect_with(options)
                    .await?
            }
        };
        let cache: std::sync::Arc<Cache> = Default::default();
        if dialect == Dialect::Sqlite {
            crate::checkpoint::start(&url, pool.clone(), std::sync::Arc::downgrade(&cache));
        }
        Ok(Store {
            pool,
            dialect,
            batcher: Default::default(),
            cache,
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Applies the dialect's pending migrations.
    pub async fn migrate(&self) -> Result<()> {
        match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Dialect::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// The same pool and dialect with a batcher of its own (for the writer task itself).
    pub(crate) fn without_batcher(&self) -> Store {
        Store {
            pool: self.pool.clone(),
            dialect: self.dialect,
            batcher: Default::default(),
            cache: self.cache.clone(),
        }
    }

    /// Every published product exclusion, from the cache when no decision, appeal or policy
    /// change committed since it was read.
    pub async fn product_exclusions_cached(
        &self,
    ) -> Result<std::sync::Arc<Vec<crate::ProductExclusion>>> {
        use std::sync::atomic::Ordering;
        let generation = self.cache.generation.load(Ordering::SeqCst);
        if let Ok(guard) = self.cache.exclusions.lock() {
            if let Some((g, list)) = guard.as_ref() {
                if *g == generation {
                    return Ok(list.clone());
                }
            }
        }
        let list = std::sync::Arc::new(self.product_exclusions(None).await?);
        if let Ok(mut guard) = self.cache.exclusions.lock() {
            if self.cache.generation.load(Ordering::SeqCst) == generation {
                *guard = Some((generation, list.clone()));
            }
        }
        Ok(list)
    }

    pub(crate) fn sql(&self, q: &'static str) -> Cow<'static, str> {
        match self.dialect {
            Dialect::Postgres => Cow::Borrowed(q),
            Dialect::Sqlite => Cow::Owned(self.sql_owned(q.to_owned())),
        }
    }

    /// [`Store::sql`] for a query built at run time. On SQLite `$N` becomes `?N`, or a bare `?`
    /// when the placeholders run 1, 2, 3, … in order, each once: SQLite looks a named parameter up
    /// by a linear scan, so binding a multi-row statement's thousands of `?N` is quadratic.
    pub(crate) fn sql_owned(&self, q: String) -> String {
        match self.dialect {
            Dialect::Postgres => q,
            Dialect::Sqlite => sqlite_placeholders(&q),
        }
    }

    /// Runs a statement as given (administration and tests: creating databases, tampering).
    pub async fn execute_raw(&self, sql: &str) -> Result<u64> {
        Ok(sqlx::query(sql).execute(&self.pool).await?.rows_affected())
    }

    /// Runs a `SELECT COUNT(*) …` as given.
    pub async fn count_raw(&self, sql: &str) -> Result<i64> {
        use sqlx::Row;
        Ok(sqlx::query(sql).fetch_one(&self.pool).await?.try_get(0)?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `$N` → `?N`, or `?` when the placeholders are exactly `$1, $2, …` in order.
fn sqlite_placeholders(q: &str) -> String {
    let b = q.as_bytes();
    let mut numbers = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let start = i + 1;
            let mut end = start;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            numbers.push((i, q[start..end].parse::<usize>().unwrap_or(0)));
            i = end;
        } else {
            i += 1;
        }
    }
    let sequential = numbers.iter().enumerate().all(|(k, (_, n))| *n == k + 1);
    let mut out = String::with_capacity(q.len());
    let mut last = 0;
    for (at, n) in numbers {
        out.push_str(&q[last..at]);
        out.push('?');
        let digits = n.to_string();
        if !sequential {
            out.push_str(&digits);
        }
        last = at + 1 + digits.len();
    }
    out.push_str(&q[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::sqlite_placeholders;

    #[test]
    fn a_token_read_before_a_revocation_is_not_remembered_after_it() {
        let cache = super::Cache::default();
        let user = crate::User {
            id: 1,
            username: "customs.qingdao".into(),
            display_name: "Qingdao".into(),
            role: waiver_domain::accounts::Role::Customs,
            enterprise: None,
            affiliation: None,
        };
        // A read starts (nothing remembered), a revocation commits and forgets, the read ends.
        let Err(generation) = cache.token("d") else {
            panic!("nothing is remembered yet")
        };
        cache.forget_tokens();
        cache.remember_token("d".into(), user.clone(), generation);
        assert!(cache.token("d").is_err(), "a stale answer was remembered");
        // A read that starts after the revocation is remembered.
        let Err(generation) = cache.token("d") else {
            panic!("nothing is remembered yet")
        };
        cache.remember_token("d".into(), user.clone(), generation);
        assert_eq!(cache.token("d"), Ok(user));
    }

    #[test]
    fn sequential_placeholders_become_bare_and_others_keep_their_numbers() {
        assert_eq!(
            sqlite_placeholders("INSERT INTO t VALUES ($1, $2), ($3, $4)"),
            "INSERT INTO t VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            sqlite_placeholders("UPDATE t SET a = a + $1 WHERE n = $2 AND a + $1 >= 0"),
            "UPDATE t SET a = a + ?1 WHERE n = ?2 AND a + ?1 >= 0"
        );
        assert_eq!(sqlite_placeholders("SELECT $2, $1"), "SELECT ?2, ?1");
        assert_eq!(sqlite_placeholders("SELECT 1"), "SELECT 1");
        assert_eq!(sqlite_placeholders("SELECT '$' || $1"), "SELECT '$' || ?");
    }
}
