//! Group commit for new declarations.
//!
//! Every [`Store::submit_declaration`] becomes a job on a writer's channel; a writer task takes
//! whatever jobs are waiting (up to [`MAX_BATCH`]) and records them in ONE transaction with two
//! calls to the database between BEGIN and COMMIT: one read (look up the numbers, lock the
//! claimed allowances, find the quotas), then, after deciding each declaration in arrival order
//! against the balances as the earlier ones left them (in memory), one write (insert
//! declarations, lines, ledger entries and audit entries, move `used_g` under the same
//! conditional update that refuses any overdraw). Calls, not statements, are what costs under
//! load: on SQLite each is a hand-over to the connection's thread, on PostgreSQL a round trip. Each job is answered only after the
//! commit, so an acknowledged declaration is durable; one commit (one fsync) serves the batch.
//!
//! If anything in the batch fails at the database, the transaction is rolled back and every job
//! is retried alone on the one-declaration path, so a batch never changes the semantics: only
//! the number of commits.
//!
//! SQLite has one writer. PostgreSQL has [`POSTGRES_WRITERS`], each owning a disjoint share of
//! the allowances ([`writer_for`]): their batches lock different rows, so while one commits the
//! others read, decide and write; they meet only at the audit chain's head, which each batch
//! takes last, just before its commit.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, Transaction};
use tokio::sync::{mpsc, oneshot};
use waiver_domain::drawdown::{AllowanceState, Standing};

use crate::audit::{self, Actor, Change};
use crate::declarations::{
    allowance_state, cause, draws_summary, quota_summary, record, replay, LineRecord,
    NewDeclaration, Outcome, Submitted, DECLARATION_COLUMNS,
};
use crate::{now_ms, Result, Store, StoreError};

/// Most declarations one transaction records.
pub const MAX_BATCH: usize = 128;

/// SQLite: the one-call read and write of a batch of at most this many declarations are kept
/// prepared on the connection (sqlx's statement cache, least recently used of 100), one per
/// shape of batch: parsing them afresh took a sixth of the connection thread's time, and keeping
/// them gave case (a) +8% (BENCHMARKS.md). Larger batches, rarer and bigger, are parsed each
/// time so as not to crowd the cache.
const SQLITE_CACHED_BATCH: usize = 64;
/// Jobs waiting beyond this make submitters wait (back-pressure).
const QUEUE: usize = 4096;

/// The caller's pure computation of a declaration's answer from the allowances as they stand.
pub(crate) type Compute = Box<dyn Fn(&Standing) -> Result<Outcome> + Send + Sync + 'static>;

pub(crate) struct Job {
    pub actor: Actor,
    pub d: NewDeclaration,
    pub compute: Compute,
    pub reply: oneshot::Sender<Result<Submitted>>,
}

/// How the writer has done since start (exposed in `/metrics` and checked by the tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchStats {
    /// Transactions the writer committed (or tried).
    pub batches: u64,
    /// Declarations those transactions carried.
    pub declarations: u64,
    /// The most declarations one transaction carried.
    pub largest: u64,
    /// Batches that failed at the database and were retried one by one.
    pub fallbacks: u64,
}

#[derive(Debug, Default)]
struct Inner {
    senders: std::sync::OnceLock<Vec<mpsc::Sender<Job>>>,
    stats: std::sync::Mutex<BatchStats>,
}

/// How many writer tasks a store runs on PostgreSQL unless `WAIVER_PG_WRITERS` (1 to
/// [`MAX_POSTGRES_WRITERS`]) says otherwise: each uses its own connection, so one batch's round
/// trips and commit overlap the next batch's work (see [`writer_for`]). More writers make
/// smaller batches, each with the same fixed cost; with 64 clients two did best (1, 2, 3, 4
/// measured, BENCHMARKS.md). SQLite has one writer (one connection).
pub const POSTGRES_WRITERS: usize = 2;
/// The most PostgreSQL writers `WAIVER_PG_WRITERS` may ask for (the pool has 16 connections).
pub const MAX_POSTGRES_WRITERS: usize = 8;

/// The number of PostgreSQL writers: `WAIVER_PG_WRITERS` when it is a number in range, else
/// [`POSTGRES_WRITERS`] (a bad value is logged, never fatal).
fn postgres_writers() -> usize {
    match std::env::var("WAIVER_PG_WRITERS") {
        Err(_) => POSTGRES_WRITERS,
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_POSTGRES_WRITERS).contains(&n) => n,
            _ => {
                tracing::warn!(value = %v, default = POSTGRES_WRITERS, "WAIVER_PG_WRITERS must be a whole number from 1 to {MAX_POSTGRES_WRITERS}; using the default");
                POSTGRES_WRITERS
            }
        },
    }
}

/// The handle a [`Store`] keeps: the writer tasks are started on first use.
#[derive(Clone, Debug, Default)]
pub(crate) struct Batcher(Arc<Inner>);

impl Batcher {
    /// The channel of the writer that records `d`.
    pub fn sender(&self, store: &Store, d: &NewDeclaration) -> mpsc::Sender<Job> {
        let senders = self.0.senders.get_or_init(|| {
            let writers = match store.dialect() {
                crate::Dialect::Sqlite => 1,
                crate::Dialect::Postgres => postgres_writers(),
            };
            (0..writers)
                .map(|_| {
                    let (tx, rx) = mpsc::channel(QUEUE);
                    // Each writer holds a store without a batcher of its own, so it ends when
                    // the last user of this store is dropped.
                    tokio::spawn(writer(
                        store.without_batcher(),
                        rx,
                        self.clone_stats_handle(),
                    ));
                    tx
                })
                .collect()
        });
        let i = writer_for(d, senders.len());
        senders[i].clone()
    }

    fn clone_stats_handle(&self) -> StatsHandle {
        StatsHandle(Arc::downgrade(&self.0))
    }

    pub fn stats(&self) -> BatchStats {
        self.0.stats.lock().map(|s| *s).unwrap_or_default()
    }
}

/// The writer's weak view of the stats (a strong one would keep the channel open forever).
struct StatsHandle(std::sync::Weak<Inner>);

impl StatsHandle {
    fn record(&self, n: usize, fallback: bool) {
        if let Some(inner) = self.0.upgrade() {
            if let Ok(mut s) = inner.stats.lock() {
                s.batches += 1;
                s.declarations += n as u64;
                s.largest = s.largest.max(n as u64);
                s.fallbacks += u64::from(fallback);
            }
        }
    }
}

/// The longest a writer keeps its connection while jobs keep coming: on SQLite the pool has one
/// connection, so this bounds how long a reader (or any other write) waits under load.
const MAX_HOLD: std::time::Duration = std::time::Duration::from_millis(5);

async fn writer(store: Store, mut rx: mpsc::Receiver<Job>, stats: StatsHandle) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    // The writer's connection, kept from one batch to the next while jobs are waiting: taking
    // it from the pool and giving it back costs a round trip each time (the pool tests a
    // connection it gets back), and on SQLite every batch then waited for that.
    let mut held: Option<(PoolConnection<Any>, std::time::Instant)> = None;
    loop {
        if held
            .as_ref()
            .is_some_and(|(_, since)| rx.is_empty() || since.elapsed() >= MAX_HOLD)
        {
            held = None;
        }
        if rx.recv_many(&mut jobs, MAX_BATCH).await == 0 {
            return;
        }
        let n = jobs.len();
        let fallback = store
            .record_batch(std::mem::take(&mut jobs), &mut held)
            .await;
        stats.record(n, fallback);
    }
}

/// A decided declaration waiting to be written.
struct Decided {
    job: usize,
    outcome: Outcome,
    /// Its quota draws, for the audit entry.
    quota_draws: serde_json::Value,
}

impl Store {
    /// Records the jobs and answers each on `held` (taken from the pool when empty, and given
    /// back before any one-declaration path, which takes its own); true when the batch had to
    /// fall back.
    async fn record_batch(
        &self,
        jobs: Vec<Job>,
        held: &mut Option<(PoolConnection<Any>, std::time::Instant)>,
    ) -> bool {
        let result = match held {
            Some((conn, _)) => self.try_batch(conn, &jobs).await,
            None => match self.pool.acquire().await {
                Ok(conn) => {
                    let (conn, _) = held.insert((conn, std::time::Instant::now()));
                    self.try_batch(conn, &jobs).await
                }
                Err(e) => Err(e.into()),
            },
        };
        match result {
            Ok(results) => {
                for (job, r) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(r);
                }
                return false;
            }
            Err(e) => tracing_fallback(&e, jobs.len()),
        }
        *held = None;
        for job in jobs {
            let r = self.submit_one(&job.actor, &job.d, &*job.compute).await;
            let _ = job.reply.send(r);
        }
        true
    }

    /// The group-commit writer's figures since this store was opened.
    pub fn batch_stats(&self) -> BatchStats {
        self.batcher.stats()
    }

    /// Records the batch in one transaction; `Err` (nothing written) means retry one by one.
    async fn try_batch(
        &self,
        conn: &mut PoolConnection<Any>,
        jobs: &[Job],
    ) -> Result<Vec<Result<Submitted>>> {
        let mut tx = match self.dialect() {
            crate::Dialect::Postgres => {
                sqlx::Connection::begin_with(&mut **conn, PG_BATCH_BEGIN).await?
            }
            crate::Dialect::Sqlite => {
                sqlx::Connection::begin_with(&mut **conn, "BEGIN IMMEDIATE").await?
            }
        };
        let numbers: Vec<&str> = jobs.iter().map(|j| j.d.number.as_str()).collect();
        let goods: Vec<_> = jobs
            .iter()
            .flat_map(|j| j.d.goods.iter().copied())
            .collect();
        let claims = sorted_claims(jobs);
        let read = match self.dialect() {
            crate::Dialect::Sqlite => {
                self.read_batch_sqlite(&mut tx, &numbers, &claims, &goods)
                    .await?
            }
            crate::Dialect::Postgres => Some(
                self.read_batch_pg(&mut tx, &numbers, &claims, &goods)
                    .await?,
            ),
        };
        let (mut existing, mut states, mut quotas, head) = match read {
            Some(r) => (r.existing, r.allowances, r.quotas, r.head),
            None => (
                self.declarations_in(&mut tx, &numbers).await?,
                self.lock_allowances_many(&mut tx, &claims).await?,
                self.quotas_for_lines(&mut tx, &goods).await?,
                None,
            ),
        };
        let ceilings: HashMap<String, i64> = states
            .iter()
            .map(|(n, s)| {
                (
                    n.clone(),
                    s.granted_g + s.granted_g * s.tolerance_ppm / 1_000_000,
                )
            })
            .collect();
        let start_used: HashMap<String, i64> =
            states.iter().map(|(n, s)| (n.clone(), s.used_g)).collect();
        let mut quota_moves = Vec::new();

        let mut results: Vec<Option<Result<Submitted>>> = Vec::with_capacity(jobs.len());
        let mut decided: Vec<Decided> = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            if let Some(old) = existing.get(&job.d.number) {
                results.push(Some(replay(old.clone(), &job.d)));
                continue;
            }
            let standing = Standing {
                allowances: states,
                quotas,
            };
            let outcome = (job.compute)(&standing);
            (states, quotas) = (standing.allowances, standing.quotas);
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    results.push(Some(Err(e)));
                    continue;
                }
            };
            // Apply its draws to the in-memory balances, refusing any overdraw (the backstop
            // the one-declaration path has in its conditional UPDATE). Only the allowances it
            // draws on are touched: the batch's map is never copied per declaration.
            let mut want: BTreeMap<&str, i64> = BTreeMap::new();
            for l in &outcome.lines {
                if let (Some(a), true) = (&l.allowance, l.covered_g > 0) {
                    *want.entry(a.as_str()).or_default() += l.covered_g;
                }
            }
            let refused = want.iter().find(|(a, g)| {
                states
                    .get(**a)
                    .zip(ceilings.get(**a))
                    .is_none_or(|(s, c)| s.used_g + **g > *c)
            });
            if let Some((a, _)) = refused {
                results.push(Some(Err(StoreError::Conflict(format!(
                    "allowance {a}: draw refused, it would pass granted + tolerance"
                )))));
                continue;
            }
            for (a, g) in want {
                if let Some(s) = states.get_mut(a) {
                    s.used_g += g;
                }
            }
            let moves = Store::decide_quota_draws(
                &mut quotas,
                &outcome.lines,
                job.d.declared_at,
                &cause(&job.d.number, 1),
            );
            let quota_draws = quota_summary(&moves);
            quota_moves.extend(moves);
            let now = now_ms();
            existing.insert(
                job.d.number.clone(),
                crate::declarations::DeclarationRecord {
                    number: job.d.number.clone(),
                    importer: job.d.importer.clone(),
                    declared_at: job.d.declared_at,
                    revision: 1,
                    status: "accepted".into(),
                    request: job.d.request.clone(),
                    answer: outcome.answer.clone(),
                    total_fen: outcome.total_fen,
                    created_at_ms: now,
                    updated_at_ms: now,
                },
            );
            results.push(None);
            decided.push(Decided {
                job: i,
                outcome,
                quota_draws,
            });
        }
        if !decided.is_empty() {
            let now = now_ms();
            let moves = used_moves(&states, &start_used);
            let changes = audit_changes(jobs, &decided);
            // Quotas first: on PostgreSQL the write statement takes the audit chain's head, which
            // every writer queues for until this transaction commits.
            self.write_quota_moves(&mut tx, &quota_moves, now).await?;
            match self.dialect() {
                crate::Dialect::Postgres => {
                    let audit = audit::pg_pending_entries(changes, now)?;
                    self.write_batch_pg(&mut tx, jobs, &decided, &moves, &audit, now)
                        .await?
                }
                crate::Dialect::Sqlite => match head {
                    Some(head) if sqlite_write_fits(jobs, &decided, moves.len()) => {
                        self.write_batch_sqlite(&mut tx, jobs, &decided, &moves, changes, head, now)
                            .await?
                    }
                    _ => {
                        self.insert_declarations(&mut tx, jobs, &decided, now)
                            .await?;
                        self.insert_lines(&mut tx, jobs, &decided).await?;
                        self.insert_draws(&mut tx, jobs, &decided, now).await?;
                        self.move_used_many(&mut tx, &moves).await?;
                        audit::append_many(self, &mut tx, changes).await?;
                    }
                },
            }
        }
        tx.commit().await?;

        let mut answers = decided.into_iter().map(|x| x.outcome.answer);
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Ok(Submitted::Created(answers.next().unwrap_or_default())))
            })
            .collect())
    }

    async fn declarations_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        numbers: &[&str],
    ) -> Result<HashMap<String, crate::declarations::DeclarationRecord>> {
        let mut out = HashMap::new();
        for chunk in numbers.chunks(500) {
            let sql = match self.dialect() {
                crate::Dialect::Postgres => pg_declarations_in(),
                crate::Dialect::Sqlite => self.sql_owned(format!(
                    "SELECT {DECLARATION_COLUMNS} FROM declarations WHERE number IN ({})",
                    placeholders(chunk.len(), 1)
                )),
            };
            let mut q = sqlx::query(&sql);
            if self.dialect() == crate::Dialect::Postgres {
                q = q.bind(json(chunk)?);
            } else {
                for n in chunk {
                    q = q.bind(*n);
                }
            }
            for r in q.fetch_all(&mut **tx).await? {
                let rec = record(&r)?;
                out.insert(rec.number.clone(), rec);
            }
        }
        Ok(out)
    }

    /// SQLite, a batch too large for the one-call read: every claimed allowance, in number order
    /// (the one connection is the lock; PostgreSQL locks them in [`PG_READ_BATCH`]).
    async fn lock_allowances_many(
        &self,
        tx: &mut Transaction<'_, Any>,
        sorted: &[&str],
    ) -> Result<BTreeMap<String, AllowanceState>> {
        let mut out = BTreeMap::new();
        for chunk in sorted.chunks(500) {
            let sql = self.sql_owned(format!(
                "{ALLOWANCES_SELECT} WHERE number IN ({}) ORDER BY number",
                placeholders(chunk.len(), 1)
            ));
            let mut q = sqlx::query(&sql);
            for n in chunk {
                q = q.bind(*n);
            }
            for r in q.fetch_all(&mut **tx).await? {
                let s = allowance_state(&r)?;
                out.insert(s.number.clone(), s);
            }
        }
        Ok(out)
    }

    async fn insert_declarations(
        &self,
        tx: &mut Transaction<'_, Any>,
        jobs: &[Job],
        decided: &[Decided],
        now: i64,
    ) -> Result<()> {
        for chunk in decided.chunks(200) {
            let sql = self.sql_owned(format!(
                "INSERT INTO declarations (number, importer, declared_at_s, revision, status, request, answer, total_fen, created_at_ms, updated_at_ms) VALUES {}",
                rows(chunk.len(), 8, |b| format!("(${}, ${}, ${}, 1, 'accepted', ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8))
            ));
            let mut q = sqlx::query(&sql);
            for x in chunk {
                q = bind_declaration(q, &jobs[x.job].d, &x.outcome, now);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn insert_lines(
        &self,
        tx: &mut Transaction<'_, Any>,
        jobs: &[Job],
        decided: &[Decided],
    ) -> Result<()> {
        let all: Vec<(&str, &LineRecord)> = decided
            .iter()
            .flat_map(|x| {
                let n = jobs[x.job].d.number.as_str();
                x.outcome.lines.iter().map(move |l| (n, l))
            })
            .collect();
        self.insert_line_rows(tx, &all).await
    }

    /// Inserts declaration lines (declaration number, line) with multi-row statements; the one
    /// insert both write paths use.
    pub(crate) async fn insert_line_rows(
        &self,
        tx: &mut Transaction<'_, Any>,
        all: &[(&str, &LineRecord)],
    ) -> Result<()> {
        for chunk in all.chunks(200) {
            let sql = self.sql_owned(format!(
                "INSERT INTO declaration_lines (declaration_number, line_no, code, origin, allowance_number, covered_g, uncovered_g, base_duty_fen, additional_duty_fen, excluded_duty_fen, vat_fen, total_fen) VALUES {}",
                rows(chunk.len(), 12, |b| format!("({})", placeholders(12, b + 1)))
            ));
            let mut q = sqlx::query(&sql);
            for (n, l) in chunk {
                q = bind_line(q, n, l);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn insert_draws(
        &self,
        tx: &mut Transaction<'_, Any>,
        jobs: &[Job],
        decided: &[Decided],
        now: i64,
    ) -> Result<()> {
        let draws = draws(jobs, decided);
        for chunk in draws.chunks(500) {
            let sql = self.sql_owned(format!(
                "INSERT INTO allowance_entries (allowance_number, kind, quantity_g, cause, at_ms) VALUES {}",
                rows(chunk.len(), 4, |b| format!("(${}, 'draw', ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4))
            ));
            let mut q = sqlx::query(&sql);
            for (a, g, c) in chunk {
                q = q.bind(*a).bind(*g).bind(c.as_str()).bind(now);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Moves `used_g` of every allowance the batch drew on, under the conditional update that
    /// refuses to pass granted + tolerance; any refusal fails the batch.
    async fn move_used_many(
        &self,
        tx: &mut Transaction<'_, Any>,
        moves: &[(&str, i64)],
    ) -> Result<()> {
        for chunk in moves.chunks(500) {
            let sql = self.sql_owned(format!(
                "UPDATE allowances SET used_g = allowances.used_g + v.d FROM ({}) AS v \
                 WHERE allowances.number = v.n AND allowances.used_g + v.d >= 0 \
                 AND allowances.used_g + v.d <= allowances.granted_g + (allowances.granted_g * allowances.tolerance_ppm) / 1000000",
                (0..chunk.len())
                    .map(|i| format!("SELECT ${} AS n, ${} AS d", 2 * i + 1, 2 * i + 2))
                    .collect::<Vec<_>>()
                    .join(" UNION ALL ")
            ));
            let mut q = sqlx::query(&sql);
            for (n, d) in chunk {
                q = q.bind(*n).bind(*d);
            }
            let moved = q.execute(&mut **tx).await?.rows_affected();
            if moved != chunk.len() as u64 {
                return Err(StoreError::Conflict(format!(
                    "a batched draw was refused ({moved} of {} allowances moved)",
                    chunk.len()
                )));
            }
        }
        Ok(())
    }
}

/// The most parameters one SQLite statement of the batch may have (SQLite allows 32,766);
/// a batch that would need more takes the statement-per-table path, which chunks.
const SQLITE_STATEMENT_PARAMS: usize = 30_000;

/// What a batch reads before it decides.
struct BatchRead {
    existing: HashMap<String, crate::declarations::DeclarationRecord>,
    allowances: BTreeMap<String, AllowanceState>,
    quotas: BTreeMap<String, waiver_domain::quota::QuotaState>,
    /// The audit chain's head: last sequence number and hash (SQLite; PostgreSQL takes it in
    /// its write statement).
    head: Option<(i64, String)>,
}

/// Every allowance the jobs claim, sorted, once each.
fn sorted_claims(jobs: &[Job]) -> Vec<&str> {
    let mut claims: Vec<&str> = jobs
        .iter()
        .flat_map(|j| j.d.claims.iter().map(String::as_str))
        .collect();
    claims.sort_unstable();
    claims.dedup();
    claims
}

/// SQLite's limit on the terms of one compound SELECT (the balance moves' `UNION ALL`).
const SQLITE_COMPOUND_TERMS: usize = 500;
/// The most (origin, year) pairs the one-call read ORs together (SQLite's expression depth
/// limit is 1,000).
const SQLITE_QUOTA_KEYS: usize = 400;

/// Whether every statement of [`Store::write_batch_sqlite`] stays within SQLite's limits:
/// [`SQLITE_STATEMENT_PARAMS`] and [`SQLITE_COMPOUND_TERMS`].
fn sqlite_write_fits(jobs: &[Job], decided: &[Decided], moves: usize) -> bool {
    if moves > SQLITE_COMPOUND_TERMS {
        return false;
    }
    let lines: usize = decided.iter().map(|x| x.outcome.lines.len()).sum();
    let per_statement = [
        decided.len() * 8,
        lines * 12,
        draws(jobs, decided).len() * 4,
        moves * 2,
        decided.len() * 10,
    ];
    per_statement.iter().all(|&n| n <= SQLITE_STATEMENT_PARAMS)
}

/// `$a, $b, …`: the next `n` parameter numbers after `*p`, which it advances.
fn next_params(p: &mut usize, n: usize) -> String {
    let s = placeholders(n, *p + 1);
    *p += n;
    s
}

impl Store {
    /// SQLite: the batch's reads (its numbers among the declarations, its allowances, the quotas
    /// of its origins and years, the audit chain's head) in ONE call to the connection's thread,
    /// as several statements whose rows are told apart by a last column naming the statement.
    /// Each call to that thread is a hand-over between threads, which under load cost more than
    /// the statements. `None`, having read nothing, when a statement would pass SQLite's limits.
    /// The transaction is `BEGIN IMMEDIATE`, so nothing moves under what it reads.
    async fn read_batch_sqlite(
        &self,
        tx: &mut Transaction<'_, Any>,
        numbers: &[&str],
        claims: &[&str],
        goods: &[(
            waiver_domain::Origin,
            waiver_domain::TariffCode,
            waiver_domain::BjTime,
        )],
    ) -> Result<Option<BatchRead>> {
        let keys = crate::quotas::quota_keys(goods);
        if numbers.len().max(claims.len()) > SQLITE_STATEMENT_PARAMS
            || keys.len() > SQLITE_QUOTA_KEYS
        {
            return Ok(None);
        }
        let mut p = 0;
        let mut sql = format!(
            "SELECT {DECLARATION_COLUMNS}, 'd' FROM declarations WHERE number IN ({}); ",
            next_params(&mut p, numbers.len())
        );
        if !claims.is_empty() {
            sql.push_str(&format!(
                "{ALLOWANCES_SELECT_A} WHERE number IN ({}) ORDER BY number; ",
                next_params(&mut p, claims.len())
            ));
        }
        if !keys.is_empty() {
            let wheres: Vec<String> = keys
                .iter()
                .map(|_| {
                    let origin = next_params(&mut p, 1);
                    let year = next_params(&mut p, 1);
                    format!("(origin = {origin} AND year = {year})")
                })
                .collect();
            sql.push_str(&format!(
                "SELECT {}, 'q' FROM quotas WHERE {}; ",
                crate::quotas::QUOTA_COLUMNS,
                wheres.join(" OR ")
            ));
        }
        sql.push_str("SELECT seq, hash, 'h' FROM audit_head WHERE id = 1");
        let sql = self.sql_owned(sql);
        let mut q = sqlx::query(&sql).persistent(numbers.len() <= SQLITE_CACHED_BATCH);
        for n in numbers {
            q = q.bind(*n);
        }
        for a in claims {
            q = q.bind(*a);
        }
        for (origin, year) in &keys {
            q = q.bind(*origin).bind(*year);
        }
        let mut read = BatchRead {
            existing: HashMap::new(),
            allowances: BTreeMap::new(),
            quotas: BTreeMap::new(),
            head: None,
        };
        let mut heads = 0;
        for r in q.fetch_all(&mut **tx).await? {
            let tag: String = sqlx::Row::try_get(&r, sqlx::Row::len(&r) - 1)?;
            match tag.as_str() {
                "d" => {
                    let rec = record(&r)?;
                    read.existing.insert(rec.number.clone(), rec);
                }
                "a" => {
                    let s = allowance_state(&r)?;
                    read.allowances.insert(s.number.clone(), s);
                }
                "q" => {
                    let q = crate::quotas::state(&r)?;
                    if goods.iter().any(|(o, c, at)| q.covers(c, o, *at)) {
                        read.quotas.insert(q.id.clone(), q);
                    }
                }
                _ => {
                    read.head = Some((sqlx::Row::try_get(&r, 0)?, sqlx::Row::try_get(&r, 1)?));
                    heads += 1;
                }
            }
        }
        if heads != 1 {
            return Err(StoreError::Invalid(format!(
                "audit_head: {heads} rows, expected exactly one"
            )));
        }
        Ok(Some(read))
    }

    /// PostgreSQL: the batch's reads in ONE round trip ([`PG_READ_BATCH`]): its allowances,
    /// locked, with which of its numbers are already recorded and how many quotas its origins
    /// and years have. The stored declarations (replays) and the quotas are then read in full
    /// only when there are any.
    async fn read_batch_pg(
        &self,
        tx: &mut Transaction<'_, Any>,
        numbers: &[&str],
        claims: &[&str],
        goods: &[(
            waiver_domain::Origin,
            waiver_domain::TariffCode,
            waiver_domain::BjTime,
        )],
    ) -> Result<BatchRead> {
        #[derive(serde::Serialize)]
        struct Key<'a> {
            o: &'a str,
            y: i64,
        }
        let keys: Vec<Key> = crate::quotas::quota_keys(goods)
            .into_iter()
            .map(|(o, y)| Key { o, y })
            .collect();
        let rows = sqlx::query(PG_READ_BATCH)
            .bind(json(numbers)?)
            .bind(json(claims)?)
            .bind(json(&keys)?)
            .fetch_all(&mut **tx)
            .await?;
        let mut allowances = BTreeMap::new();
        let mut existing: Vec<String> = Vec::new();
        let mut quota_rows = 0_i64;
        for r in &rows {
            if sqlx::Row::try_get::<Option<String>, _>(r, 0)?.is_some() {
                let a = allowance_state(r)?;
                allowances.insert(a.number.clone(), a);
            }
            if let Some(list) = sqlx::Row::try_get::<Option<String>, _>(r, 9)? {
                existing = serde_json::from_str(&list)
                    .map_err(|e| StoreError::Invalid(format!("recorded numbers `{list}`: {e}")))?;
            }
            quota_rows = sqlx::Row::try_get(r, 10)?;
        }
        let existing = if existing.is_empty() {
            HashMap::new()
        } else {
            let refs: Vec<&str> = existing.iter().map(String::as_str).collect();
            self.declarations_in(tx, &refs).await?
        };
        let quotas = if quota_rows > 0 {
            self.quotas_for_lines(tx, goods).await?
        } else {
            BTreeMap::new()
        };
        Ok(BatchRead {
            existing,
            allowances,
            quotas,
            head: None,
        })
    }

    /// SQLite: the batch's declarations, lines, ledger draws, balance moves, audit entries and
    /// the chain's new head in ONE call to the connection's thread (see
    /// [`Store::read_batch_sqlite`]). The balance moves keep the conditional that refuses any
    /// overdraw, and the head moves only from the `head` the batch read: the rows changed must
    /// add up exactly, else the batch fails (and is retried one declaration at a time).
    #[allow(clippy::too_many_arguments)]
    async fn write_batch_sqlite(
        &self,
        tx: &mut Transaction<'_, Any>,
        jobs: &[Job],
        decided: &[Decided],
        moves: &[(&str, i64)],
        changes: Vec<(Actor, Change<'_>)>,
        head: (i64, String),
        now: i64,
    ) -> Result<()> {
        let lines: Vec<(&str, &LineRecord)> = decided
            .iter()
            .flat_map(|x| {
                let n = jobs[x.job].d.number.as_str();
                x.outcome.lines.iter().map(move |l| (n, l))
            })
            .collect();
        let draws = draws(jobs, decided);
        let entries = audit::chain(changes, head.0, head.1, now);
        let mut p = 0;
        let mut sql = format!(
            "INSERT INTO declarations (number, importer, declared_at_s, revision, status, request, answer, total_fen, created_at_ms, updated_at_ms) VALUES {}; ",
            (0..decided.len())
                .map(|_| {
                    let v: Vec<String> = (0..8).map(|_| next_params(&mut p, 1)).collect();
                    format!("({}, {}, {}, 1, 'accepted', {}, {}, {}, {}, {})", v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut expected = decided.len() as u64;
        if !lines.is_empty() {
            sql.push_str(&format!(
                "INSERT INTO declaration_lines (declaration_number, line_no, code, origin, allowance_number, covered_g, uncovered_g, base_duty_fen, additional_duty_fen, excluded_duty_fen, vat_fen, total_fen) VALUES {}; ",
                (0..lines.len())
                    .map(|_| format!("({})", next_params(&mut p, 12)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            expected += lines.len() as u64;
        }
        if !draws.is_empty() {
            sql.push_str(&format!(
                "INSERT INTO allowance_entries (allowance_number, kind, quantity_g, cause, at_ms) VALUES {}; ",
                (0..draws.len())
                    .map(|_| {
                        let v: Vec<String> = (0..4).map(|_| next_params(&mut p, 1)).collect();
                        format!("({}, 'draw', {}, {}, {})", v[0], v[1], v[2], v[3])
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            expected += draws.len() as u64;
        }
        if !moves.is_empty() {
            sql.push_str(&format!(
                "UPDATE allowances SET used_g = allowances.used_g + v.d FROM ({}) AS v \
                 WHERE allowances.number = v.n AND allowances.used_g + v.d >= 0 \
                 AND allowances.used_g + v.d <= allowances.granted_g + (allowances.granted_g * allowances.tolerance_ppm) / 1000000; ",
                (0..moves.len())
                    .map(|_| {
                        let v = next_params(&mut p, 1);
                        let d = next_params(&mut p, 1);
                        format!("SELECT {v} AS n, {d} AS d")
                    })
                    .collect::<Vec<_>>()
                    .join(" UNION ALL ")
            ));
            expected += moves.len() as u64;
        }
        if !entries.is_empty() {
            sql.push_str(&format!(
                "INSERT INTO audit_log (seq, at_ms, actor, on_behalf_of, entity_type, entity_id, action, diff, prev_hash, hash) VALUES {}; ",
                (0..entries.len())
                    .map(|_| format!("({})", next_params(&mut p, 10)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            let v: Vec<String> = (0..3).map(|_| next_params(&mut p, 1)).collect();
            sql.push_str(&format!(
                "UPDATE audit_head SET seq = {}, hash = {} WHERE id = 1 AND seq = {}",
                v[0], v[1], v[2]
            ));
            expected += entries.len() as u64 + 1;
        }
        let sql = self.sql_owned(sql);
        let mut q = sqlx::query(&sql).persistent(decided.len() <= SQLITE_CACHED_BATCH);
        for x in decided {
            q = bind_declaration(q, &jobs[x.job].d, &x.outcome, now);
        }
        for (n, l) in &lines {
            q = bind_line(q, n, l);
        }
        for (a, g, c) in &draws {
            q = q.bind(*a).bind(*g).bind(c.as_str()).bind(now);
        }
        for (n, d) in moves {
            q = q.bind(*n).bind(*d);
        }
        for e in &entries {
            q = audit::bind_entry(q, e);
        }
        if let Some(last) = entries.last() {
            q = q.bind(last.seq).bind(&last.hash).bind(head.0);
        }
        let changed = q.execute(&mut **tx).await?.rows_affected();
        if changed != expected {
            return Err(StoreError::Conflict(format!(
                "the batch changed {changed} rows where {expected} were expected (a draw refused, or the audit head moved)"
            )));
        }
        Ok(())
    }
}

/// Binds a new declaration's eight values in the order of the batch's insert: number,
/// importer, declared_at_s, request, answer (both `stored_json`), total_fen, created and updated.
fn bind_declaration<'q>(
    q: crate::AnyQuery<'q>,
    d: &'q NewDeclaration,
    outcome: &'q Outcome,
    now: i64,
) -> crate::AnyQuery<'q> {
    q.bind(&d.number)
        .bind(&d.importer)
        .bind(d.declared_at.0)
        .bind(crate::stored_json::encode(&d.request))
        .bind(crate::stored_json::encode(&outcome.answer))
        .bind(outcome.total_fen)
        .bind(now)
        .bind(now)
}

/// Binds a line's twelve `declaration_lines` columns, its declaration's number first.
fn bind_line<'q>(q: crate::AnyQuery<'q>, n: &'q str, l: &'q LineRecord) -> crate::AnyQuery<'q> {
    q.bind(n)
        .bind(i64::from(l.line_no))
        .bind(&l.code)
        .bind(&l.origin)
        .bind(&l.allowance)
        .bind(l.covered_g)
        .bind(l.uncovered_g)
        .bind(l.base_duty_fen)
        .bind(l.additional_duty_fen)
        .bind(l.excluded_duty_fen)
        .bind(l.vat_fen)
        .bind(l.total_fen)
}

/// Which of `writers` writers records `d`: chosen by its first claimed allowance (in number
/// order), so two writers never lock the same allowance and one writer's batch never waits on
/// another's commit for it; by its number when it claims none. The same declaration always goes
/// to the same writer; two different declarations with one number that race in two writers
/// meet at the unique key, and the loser is retried alone (`submit_one` then replays or refuses it).
fn writer_for(d: &NewDeclaration, writers: usize) -> usize {
    if writers <= 1 {
        return 0;
    }
    let key = d.claims.iter().min().unwrap_or(&d.number);
    // FNV-1a: stable across runs and builds, unlike the standard hasher.
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (h % writers as u64) as usize
}

/// PostgreSQL: `number` is one of the JSON array `$1`, with one statement text for every batch
/// size (see [`PG_WRITE_BATCH`]). `= ANY(ARRAY(…))`, not `IN (SELECT …)`: the generic plan of
/// the latter hash-joins a scan of the whole table (a batch then cost time in proportion to
/// every declaration ever recorded); the former looks each number up in the unique index.
const PG_NUMBER_IN_JSON: &str = "= ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))";

/// PostgreSQL: how a batch's transaction begins (one round trip, like a plain `BEGIN`). A generic
/// plan is kept for the connection's life and never revised unless the table is analysed: one
/// made while a table was still small scans it, and keeps scanning it as it grows (with
/// autovacuum off, for ever: a batch took 2.7 ms instead of 0.3 ms to look its numbers up after
/// 40,000 declarations). With sequential scans priced out, every plan made inside a batch (its
/// look-ups, its write, the foreign-key checks of its inserts when first planned there) probes
/// the indexes, which is right at every size for a batch of at most [`MAX_BATCH`] keys. (Plans
/// are cached per connection and do not track the setting.)
const PG_BATCH_BEGIN: &str = "BEGIN; SET LOCAL enable_seqscan = off";

const ALLOWANCES_SELECT: &str = "SELECT number, holder, line_code, granted_g, tolerance_ppm, used_g, valid_from_s, valid_until_s, scopes FROM allowances";
/// [`ALLOWANCES_SELECT`] with a last column `'a'` (see [`Store::read_batch_sqlite`]).
const ALLOWANCES_SELECT_A: &str = "SELECT number, holder, line_code, granted_g, tolerance_ppm, used_g, valid_from_s, valid_until_s, scopes, 'a' FROM allowances";

/// PostgreSQL: a batch's reads as one statement. One row per claimed allowance (`$2`), locked in
/// number order (none: one row of NULLs), each also carrying the JSON array of the numbers among
/// `$1` already recorded (NULL if none) and the count of quotas for the origin/year pairs `$3`.
/// Reading `quotas` here, before any write, is what orders a batch against a quota's creation
/// (see `create_quota`).
const PG_READ_BATCH: &str = "WITH x AS (\
    SELECT CAST(json_agg(number) AS TEXT) AS existing FROM declarations \
    WHERE number = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))\
), q AS (\
    SELECT COUNT(*) AS quotas FROM quotas \
    WHERE (origin, year) IN (SELECT r.o, r.y FROM jsonb_to_recordset($3::jsonb) AS r(o TEXT, y BIGINT))\
), a AS (\
    SELECT number, holder, line_code, granted_g, tolerance_ppm, used_g, valid_from_s, valid_until_s, scopes FROM allowances \
    WHERE number = ANY(ARRAY(SELECT jsonb_array_elements_text($2::jsonb))) ORDER BY number FOR UPDATE\
) SELECT a.number, a.holder, a.line_code, a.granted_g, a.tolerance_ppm, a.used_g, a.valid_from_s, a.valid_until_s, a.scopes, \
    x.existing, CAST(q.quotas AS BIGINT) FROM x CROSS JOIN q LEFT JOIN a ON TRUE ORDER BY a.number";

/// PostgreSQL: the stored declarations among the JSON array of numbers `$1`.
fn pg_declarations_in() -> String {
    format!("SELECT {DECLARATION_COLUMNS} FROM declarations WHERE number {PG_NUMBER_IN_JSON}")
}

/// The audit entries of the batch's declarations, in their order.
fn audit_changes<'a>(jobs: &'a [Job], decided: &'a [Decided]) -> Vec<(Actor, Change<'a>)> {
    decided
        .iter()
        .map(|x| {
            let job = &jobs[x.job];
            (
                job.actor.clone(),
                Change {
                    entity_type: "declaration",
                    entity_id: &job.d.number,
                    action: "submit",
                    before: serde_json::Value::Null,
                    after: serde_json::json!({ "importer": job.d.importer, "revision": 1, "total_fen": x.outcome.total_fen, "draws": draws_summary(&x.outcome.lines), "quota_draws": x.quota_draws }),
                },
            )
        })
        .collect()
}

/// How `used_g` of each allowance the batch drew on moves (allowance, grams).
fn used_moves<'a>(
    states: &'a BTreeMap<String, AllowanceState>,
    start_used: &HashMap<String, i64>,
) -> Vec<(&'a str, i64)> {
    states
        .iter()
        .filter_map(|(n, s)| {
            let d = s.used_g - start_used.get(n).copied().unwrap_or(s.used_g);
            (d != 0).then_some((n.as_str(), d))
        })
        .collect()
}

/// The batch's ledger draws: (allowance, grams, cause).
fn draws<'a>(jobs: &'a [Job], decided: &'a [Decided]) -> Vec<(&'a str, i64, String)> {
    decided
        .iter()
        .flat_map(|x| {
            let c = cause(&jobs[x.job].d.number, 1);
            x.outcome
                .lines
                .iter()
                .filter(|l| l.covered_g > 0)
                .filter_map(move |l| l.allowance.as_deref().map(|a| (a, l.covered_g, c.clone())))
        })
        .collect()
}

/// PostgreSQL: the batch's declarations, lines, ledger draws and balance moves in ONE statement
/// whose text never changes (the rows arrive as JSON parameters), so it is planned once per
/// connection instead of once per batch size, and costs one round trip. The balance update keeps
/// the conditional that refuses any overdraw; the statement answers how many allowances moved.
/// Last it appends the batch's audit entries (`$6`, see [`audit::pg_pending_entries`]); the
/// counts it passes make the chain's head, which every writer queues for until the holder
/// commits, be taken only once the inserts are done.
/// Its redundant `= ANY(ARRAY(…))` makes the generic plan find the allowances in the index
/// instead of scanning the table (whose dead row versions pile up under load).
const PG_WRITE_BATCH: &str = "WITH d AS (\
    INSERT INTO declarations (number, importer, declared_at_s, revision, status, request, answer, total_fen, created_at_ms, updated_at_ms) \
    SELECT r.number, r.importer, r.declared_at_s, 1, 'accepted', r.request, r.answer, r.total_fen, $5, $5 \
    FROM jsonb_to_recordset($1::jsonb) AS r(number TEXT, importer TEXT, declared_at_s BIGINT, request BYTEA, answer BYTEA, total_fen BIGINT) \
    RETURNING 1\
), l AS (\
    INSERT INTO declaration_lines (declaration_number, line_no, code, origin, allowance_number, covered_g, uncovered_g, base_duty_fen, additional_duty_fen, excluded_duty_fen, vat_fen, total_fen) \
    SELECT r.n, r.line_no, r.code, r.origin, r.allowance, r.covered_g, r.uncovered_g, r.base_duty_fen, r.additional_duty_fen, r.excluded_duty_fen, r.vat_fen, r.total_fen \
    FROM jsonb_to_recordset($2::jsonb) AS r(n TEXT, line_no BIGINT, code TEXT, origin TEXT, allowance TEXT, covered_g BIGINT, uncovered_g BIGINT, base_duty_fen BIGINT, additional_duty_fen BIGINT, excluded_duty_fen BIGINT, vat_fen BIGINT, total_fen BIGINT) \
    RETURNING 1\
), e AS (\
    INSERT INTO allowance_entries (allowance_number, kind, quantity_g, cause, at_ms) \
    SELECT r.a, 'draw', r.g, r.c, $5 FROM jsonb_to_recordset($3::jsonb) AS r(a TEXT, g BIGINT, c TEXT) \
    RETURNING 1\
), u AS (\
    UPDATE allowances SET used_g = allowances.used_g + v.d \
    FROM jsonb_to_recordset($4::jsonb) AS v(n TEXT, d BIGINT) \
    WHERE allowances.number = v.n AND allowances.number = ANY(ARRAY(SELECT jsonb_array_elements($4::jsonb) ->> 'n')) \
    AND allowances.used_g + v.d >= 0 \
    AND allowances.used_g + v.d <= allowances.granted_g + (allowances.granted_g * allowances.tolerance_ppm) / 1000000 \
    RETURNING 1\
) SELECT (SELECT CAST(COUNT(*) AS BIGINT) FROM u), \
    waiver_audit_append($6::jsonb, (SELECT COUNT(*) FROM d) + (SELECT COUNT(*) FROM l) + (SELECT COUNT(*) FROM e))";

#[derive(serde::Serialize)]
struct PgDeclaration<'a> {
    number: &'a str,
    importer: &'a str,
    declared_at_s: i64,
    /// The stored bytes (`stored_json`) in PostgreSQL's `\x` hex form, which BYTEA reads.
    request: String,
    answer: String,
    total_fen: i64,
}

#[derive(serde::Serialize)]
struct PgLine<'a> {
    n: &'a str,
    #[serde(flatten)]
    line: &'a LineRecord,
}

impl Store {
    async fn write_batch_pg(
        &self,
        tx: &mut Transaction<'_, Any>,
        jobs: &[Job],
        decided: &[Decided],
        moves: &[(&str, i64)],
        audit: &str,
        now: i64,
    ) -> Result<()> {
        let declarations: Vec<PgDeclaration> = decided
            .iter()
            .map(|x| {
                let d = &jobs[x.job].d;
                PgDeclaration {
                    number: &d.number,
                    importer: &d.importer,
                    declared_at_s: d.declared_at.0,
                    request: bytea_hex(&crate::stored_json::encode(&d.request)),
                    answer: bytea_hex(&crate::stored_json::encode(&x.outcome.answer)),
                    total_fen: x.outcome.total_fen,
                }
            })
            .collect();
        let lines: Vec<PgLine> = decided
            .iter()
            .flat_map(|x| {
                let n = jobs[x.job].d.number.as_str();
                x.outcome.lines.iter().map(move |line| PgLine { n, line })
            })
            .collect();
        let draws: Vec<serde_json::Value> = draws(jobs, decided)
            .into_iter()
            .map(|(a, g, c)| serde_json::json!({ "a": a, "g": g, "c": c }))
            .collect();
        let moved: Vec<serde_json::Value> = moves
            .iter()
            .map(|(n, d)| serde_json::json!({ "n": n, "d": d }))
            .collect();
        let row = sqlx::query(PG_WRITE_BATCH)
            .bind(json(&declarations)?)
            .bind(json(&lines)?)
            .bind(json(&draws)?)
            .bind(json(&moved)?)
            .bind(now)
            .bind(audit)
            .fetch_one(&mut **tx)
            .await?;
        let n: i64 = sqlx::Row::try_get(&row, 0)?;
        if n != moves.len() as i64 {
            return Err(StoreError::Conflict(format!(
                "a batched draw was refused ({n} of {} allowances moved)",
                moves.len()
            )));
        }
        Ok(())
    }
}

/// Bytes in PostgreSQL's hex input form for BYTEA (`\x` then two hex digits a byte).
fn bytea_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("\\x");
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// Rows as a JSON parameter (serialising these plain structs cannot fail; the error is kept).
fn json<T: serde::Serialize + ?Sized>(rows: &T) -> Result<String> {
    serde_json::to_string(rows).map_err(|e| StoreError::Invalid(format!("batch rows as JSON: {e}")))
}

/// `$from, $from+1, …` (n of them).
fn placeholders(n: usize, from: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n` rows, the i-th built by `row(i * per_row)`.
fn rows(n: usize, per_row: usize, row: impl Fn(usize) -> String) -> String {
    (0..n)
        .map(|i| row(i * per_row))
        .collect::<Vec<_>>()
        .join(", ")
}

fn tracing_fallback(e: &StoreError, n: usize) {
    tracing::warn!(error = %e, declarations = n, "batch failed; retrying one by one");
}

#[cfg(test)]
mod tests {
    use crate::declarations::NewDeclaration;

    fn declaration(number: &str, claims: &[&str]) -> NewDeclaration {
        NewDeclaration {
            number: number.into(),
            importer: "3700HS0001".into(),
            declared_at: waiver_domain::time::BjTime(0),
            request: String::new(),
            claims: claims.iter().map(|c| (*c).to_owned()).collect(),
            goods: Vec::new(),
        }
    }

    #[test]
    fn writer_for_keeps_each_allowance_on_one_writer() {
        // Whatever the declaration's number or the order of its claims, an allowance's draws go
        // to the same writer, so two writers never lock the same allowance row.
        for a in ["EX2019-0001", "EX2019-0002", "EX2019-0777"] {
            let w = super::writer_for(&declaration("D1", &[a]), 3);
            assert_eq!(super::writer_for(&declaration("D2", &[a, "ZZ"]), 3), w);
            assert_eq!(super::writer_for(&declaration("D3", &["ZZ", a, a]), 3), w);
        }
        assert_eq!(super::writer_for(&declaration("D1", &["EX1"]), 1), 0);
    }

    #[test]
    fn writer_for_spreads_allowances_over_every_writer() {
        let mut seen = [0usize; 3];
        for i in 0..1000 {
            let a = format!("EX2019-{i:04}");
            seen[super::writer_for(&declaration("D", &[&a]), 3)] += 1;
        }
        assert!(seen.iter().all(|n| (250..420).contains(n)), "{seen:?}");
        // Without claims the number decides, and stays in range.
        let w = super::writer_for(&declaration("N-42", &[]), 3);
        assert!(w < 3);
        assert_eq!(super::writer_for(&declaration("N-42", &[]), 3), w);
    }

    /// The generic plan (the one a prepared statement settles on) of `sql` with `params`.
    /// The generic plan of `sql` inside a transaction opened by `begin`.
    async fn generic_plan(
        store: &crate::Store,
        begin: &str,
        types: &str,
        sql: &str,
        params: &str,
    ) -> String {
        use sqlx::{Executor, Row};
        let mut conn = store.pool.acquire().await.expect("a connection");
        conn.execute(begin).await.expect("BEGIN");
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            .await
            .expect("SET");
        conn.execute(format!("PREPARE q({types}) AS {sql}").as_str())
            .await
            .expect("PREPARE");
        let rows = sqlx::query(&format!("EXPLAIN EXECUTE q({params})"))
            .fetch_all(&mut *conn)
            .await
            .expect("EXPLAIN");
        conn.execute("DEALLOCATE q; ROLLBACK")
            .await
            .expect("DEALLOCATE");
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).expect("plan text"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The generic plans of the batch's look-ups and write, each opened by `begin`; panics
    /// naming the statement if any scans `declarations` or `allowances`.
    async fn assert_batch_plans_probe_indexes(store: &crate::Store, begin: &str) {
        let list = "'[\"A\", \"B\"]'";
        let declarations =
            generic_plan(store, begin, "text", &super::pg_declarations_in(), list).await;
        let read = generic_plan(
            store,
            begin,
            "text, text, text",
            super::PG_READ_BATCH,
            "'[\"A\"]', '[\"B\"]', '[{\"o\": \"US\", \"y\": 2025}]'",
        )
        .await;
        let write = generic_plan(
            store,
            begin,
            "text, text, text, text, bigint, text",
            super::PG_WRITE_BATCH,
            "'[]', '[]', '[]', '[{\"n\": \"A\", \"d\": 1}]', 0, '[]'",
        )
        .await;
        for (what, plan) in [
            ("declarations look-up", &declarations),
            ("batch read", &read),
            ("batch write", &write),
        ] {
            assert!(
                !plan.contains("Seq Scan on declarations")
                    && !plan.contains("Seq Scan on allowances"),
                "{what} scans a table:\n{plan}"
            );
        }
    }

    /// Regression: with autovacuum off, a table is never analysed, and a generic plan made while
    /// it was empty scans it for the connection's life: after 40,000 declarations a batch took
    /// 2.7 ms instead of 0.3 ms to look its numbers up, and throughput halved at random. The
    /// batch's transaction prices scans out, so even on empty tables its plans probe the index.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_batch_plans_probe_the_index_on_empty_unanalysed_tables() {
        let Some(db) = crate::testing::postgres().await else {
            return;
        };
        assert_batch_plans_probe_indexes(&db.store, super::PG_BATCH_BEGIN).await;
        db.finish().await;
    }

    /// Regression: the batch's look-ups by a JSON list of numbers scanned the whole
    /// `declarations` and `allowances` tables under PostgreSQL's generic plan, so a batch grew
    /// slower with every declaration recorded (3.7 ms a batch after 18 000 declarations).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_batch_lookups_use_the_index_not_a_table_scan() {
        let Some(db) = crate::testing::postgres().await else {
            return;
        };
        // Tables of a realistic size, with statistics (on empty ones a scan is the right plan).
        // Replica mode skips the foreign keys: these rows are only there to be planned over.
        let mut conn = db.store.pool.acquire().await.expect("a connection");
        sqlx::Executor::execute(
            &mut *conn,
                "SET session_replication_role = replica; \
                 INSERT INTO allowances (number, application_number, programme_id, holder, line_code, unit, granted_g, tolerance_ppm, valid_from_s, valid_until_s, scopes, version, created_at_ms, updated_at_ms) \
                 SELECT 'X' || i, 'APP' || i, 'P', 'H', '12019010', 'kg', 1000, 0, 0, 1, '[]', 1, 0, 0 FROM generate_series(1, 3000) AS i; \
                 INSERT INTO declarations (number, importer, declared_at_s, revision, status, request, answer, total_fen, created_at_ms, updated_at_ms) \
                 SELECT 'D' || i, 'I', 0, 1, 'accepted', ''::bytea, ''::bytea, 0, 0, 0 FROM generate_series(1, 20000) AS i; \
                 RESET session_replication_role; ANALYZE allowances; ANALYZE declarations",
        )
        .await
        .expect("filler rows");
        drop(conn);
        assert_batch_plans_probe_indexes(&db.store, "BEGIN").await;
        db.finish().await;
    }

    /// One batch of three declarations of 200 lines, each line drawing 1 kg from its own
    /// allowance (600 in all) and each from the United States in a different year (600 quota
    /// keys), recorded straight through
    /// `record_batch`; true when the batch had to fall back.
    async fn record_wide_batch(store: &crate::Store) -> bool {
        use crate::declarations::{LineRecord, Outcome, Submitted};
        use waiver_domain::{BjTime, Origin, TariffCode};
        let valid = (BjTime(0), BjTime(i64::from(i32::MAX)));
        let system = crate::audit::Actor::system();
        store.seed_programmes(&system).await.expect("programmes");
        store
            .create_enterprise(
                &system,
                &crate::accounts::NewEnterprise {
                    registration_code: waiver_domain::RegistrationCode::parse("3700HS0001")
                        .expect("code"),
                    name_en: "Huasheng (fictional)".into(),
                    name_zh: String::new(),
                    parent_group: None,
                    is_association: false,
                },
            )
            .await
            .expect("enterprise");
        for i in 0..600 {
            crate::testing::seed_allowance(
                store,
                &format!("W{i:04}"),
                "3700HS0001",
                "12019010",
                1_000_000,
                0,
                valid,
                &["l301"],
            )
            .await
            .expect("allowance");
        }
        let code = TariffCode::parse("12019010").expect("code");
        let mut replies = Vec::new();
        let mut jobs = Vec::new();
        for j in 0..3 {
            let claims: Vec<String> = (0..200).map(|l| format!("W{:04}", j * 200 + l)).collect();
            let us = waiver_domain::CountryCode::parse("US").expect("US");
            let goods = (0..200)
                .map(|l| {
                    let year_s = i64::from(j * 200 + l) * 366 * 86_400;
                    (Origin::Country(us), code, BjTime(year_s))
                })
                .collect();
            let lines: Vec<LineRecord> = claims
                .iter()
                .enumerate()
                .map(|(l, a)| LineRecord {
                    line_no: l as u32 + 1,
                    code: "12019010".into(),
                    origin: "US".into(),
                    allowance: Some(a.clone()),
                    covered_g: 1_000,
                    uncovered_g: 0,
                    base_duty_fen: 0,
                    additional_duty_fen: 0,
                    excluded_duty_fen: 0,
                    vat_fen: 0,
                    total_fen: 0,
                    quota: None,
                })
                .collect();
            let (reply, rx) = tokio::sync::oneshot::channel();
            replies.push(rx);
            jobs.push(super::Job {
                actor: crate::audit::Actor::system(),
                d: NewDeclaration {
                    number: format!("WIDE-{j}"),
                    importer: "3700HS0001".into(),
                    declared_at: BjTime(0),
                    request: format!("{{\"n\":{j}}}"),
                    claims,
                    goods,
                },
                compute: Box::new(move |_| {
                    Ok(Outcome {
                        answer: "{}".into(),
                        total_fen: 0,
                        lines: lines.clone(),
                    })
                }),
                reply,
            });
        }
        let fallback = store.record_batch(jobs, &mut None).await;
        for rx in replies {
            let r = rx.await.expect("an answer");
            assert!(matches!(r, Ok(Submitted::Created(_))), "{r:?}");
        }
        let drawn = store
            .count_raw("SELECT COUNT(*) FROM allowances WHERE number LIKE 'W%' AND used_g = 1000")
            .await
            .expect("count");
        assert_eq!(drawn, 600);
        assert_eq!(store.verify_audit().await.expect("verify").first_bad, None);
        fallback
    }

    /// Regression: SQLite's one-call write moved the balances in one `UNION ALL` of a term per
    /// allowance, and SQLite refuses more than 500 terms: a batch drawing on more allowances failed
    /// every time and fell back to one transaction per declaration. Such a batch (and, to stay
    /// clear of SQLite's expression depth, one whose lines span more than 400 (origin, year)
    /// pairs) now takes the statement-per-table path, which chunks.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_a_batch_drawing_on_600_allowances_commits_without_falling_back() {
        let db = crate::testing::sqlite().await;
        assert!(!record_wide_batch(&db.store).await, "the batch fell back");
        db.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_batch_drawing_on_600_allowances_commits_without_falling_back() {
        let Some(db) = crate::testing::postgres().await else {
            return;
        };
        assert!(!record_wide_batch(&db.store).await, "the batch fell back");
        db.finish().await;
    }

    #[test]
    fn bytea_hex_is_postgres_hex_input() {
        assert_eq!(super::bytea_hex(&[]), "\\x");
        assert_eq!(super::bytea_hex(&[0x01, 0xab, 0xff, 0x00]), "\\x01abff00");
    }
}
