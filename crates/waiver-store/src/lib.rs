//! Waiver's storage: one interface ([`Store`]) over SQLite (the embedded default) and PostgreSQL,
//! each with its own migrations (`migrations/sqlite`, `migrations/postgres`).
//!
//! Both run through sqlx's `Any` driver; SQL is written once with `$1`-style placeholders and
//! rewritten to SQLite's `?1` form. Every state change writes an audit entry in the same
//! transaction ([`audit`]).
//!
//! Architecture invariant: money and quantities are stored as integers in minor units; instants
//! as integer milliseconds (UTC) or Beijing seconds, named with their unit.

pub mod accounts;
pub mod applications;
pub mod audit;
pub mod batch;
mod checkpoint;
mod db;
pub mod decisions;
pub mod declarations;
pub mod programmes;
pub mod quotas;
pub mod refunds;
pub mod review;
pub mod scenarios;
pub mod sessions;
mod stored_json;
pub mod testing;

pub use accounts::{Enterprise, NewEnterprise, NewUser, TokenInfo, User};
pub use applications::{Application, Scope};
pub use audit::{Actor, AuditEntry, AuditReport};
pub use batch::BatchStats;
pub use db::{Dialect, Store};
pub use decisions::{Allowance, DecisionRecord, ProductExclusion};
pub use review::{Assignment, Contact};
pub use scenarios::{ScenarioRecord, ScenarioSummary, ScenarioVersion};
pub use sessions::Attachment;

use thiserror::Error;

/// A statement being bound through sqlx's `Any` driver (the shared row binders take and return it).
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Storage errors. `Conflict` and `NotFound` carry what the caller needs for a clear message.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// A conflict with its own stable code (e.g. `declaration_exists`).
    #[error("{message}")]
    Rejected { code: &'static str, message: String },
    #[error("unsupported database URL `{0}`; use a file path, sqlite://PATH or postgres://…")]
    Url(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
