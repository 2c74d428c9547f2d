//! Waiver's pure core: the types every layer speaks (tariff codes, origins, money, quantities,
//! Beijing instants), the effective-dated tariff schedule, and the duty engine that assesses a
//! declaration line layer by layer.
//!
//! Architecture invariant: this crate does no I/O (no files, network, clock, async or SQL).
//! Callers hand it bytes and instants; it hands back values and errors.

pub mod accounts;
pub mod aid;
pub mod amount;
pub mod application;
pub mod bulk;
pub mod codes;
pub mod declaration;
pub mod drawdown;
pub mod engine;
pub mod landed;
pub mod ledger;
pub mod policy;
pub mod programme;
pub mod quota;
pub mod refund;
pub mod review;
pub mod scenario;
pub mod schedule;
pub mod schedule_csv;
pub mod time;

pub use amount::{CnyExact, Fen, FxRate, Money, QtyUnit, Quantity, RatePpm};
pub use codes::{CodePrefix, CountryCode, Currency, Origin, RegistrationCode, TariffCode};
pub use declaration::{FieldError, ParsedLine, RawLine};
pub use engine::{
    assess, assess_with, AppliedLayer, AssessError, Assessment, LayerStatus, Lift, LineInput,
    Warning,
};
pub use schedule::{Confidence, DutyExpr, Measure, MeasureKind, Role, Schedule, TariffLine};
pub use time::{BjTime, Month, Precision};
