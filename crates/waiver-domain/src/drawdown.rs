//! Declarations draw down allowances (PRODUCT.md C6): the claim rules, the split of a line into
//! a covered and an uncovered part, the assessment of both parts, and de minimis per
//! declaration and tax type. Pure: the caller hands in the allowance as it stands (read under a
//! lock) and appends the draws this module decides.
//!
//! Rules:
//! - a claim draws only for the allowance's holder, its tariff line (an 8-digit line covers its
//!   10-digit sub-lines), within its validity `[valid_from, valid_until)` at `declared_at`, and
//!   up to granted + tolerance; a claim that fails a rule draws nothing and the line is assessed
//!   without the allowance, its `notes` saying exactly why;
//! - a line larger than what remains is split: the covered part (the allowance's scope layers
//!   lifted) and the uncovered part (full duty). The customs value is split in proportion to
//!   the quantity, rounded half-up to the minor unit, the uncovered part taking the rest;
//! - a published product exclusion in force lifts its scope layers on both parts, for every
//!   importer, without a claim;
//! - de minimis: per declaration and tax type (customs duty = base + additional; import VAT), a
//!   total under the threshold in force at `declared_at` (default CNY 50) is not collected.
//!   VAT stays computed on the duties as assessed.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::amount::{div_round_half_up, Fen, Money, Quantity};
use crate::codes::{RegistrationCode, TariffCode};
use crate::engine::{assess_with, AssessError, LayerStatus, Lift, LineInput};
use crate::ledger::ceiling_g;
use crate::quota::QuotaState;
use crate::schedule::{MeasureKind, Schedule};
use crate::time::BjTime;

/// Limits on a declaration from outside.
pub const MAX_LINES: usize = 200;
pub const MAX_ALLOWANCE_CHARS: usize = 32;

/// An allowance as it stands when a declaration claims it (read under the allowance's lock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowanceState {
    pub number: String,
    pub holder: String,
    /// The 8-digit tariff line granted.
    pub line: String,
    pub granted_g: i64,
    pub tolerance_ppm: i64,
    pub used_g: i64,
    pub valid_from: BjTime,
    /// Exclusive end.
    pub valid_until: BjTime,
    pub scopes: Vec<String>,
}

impl AllowanceState {
    pub fn remaining_g(&self) -> i64 {
        (ceiling_g(self.granted_g, self.tolerance_ppm) - self.used_g).max(0)
    }
}

/// What a declaration is decided against: the allowances it claims and the country quotas its
/// lines count against, as they stand (read under their locks), by number and by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    pub allowances: BTreeMap<String, AllowanceState>,
    pub quotas: BTreeMap<String, QuotaState>,
}

/// Why a claim drew nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    UnknownAllowance { allowance: String },
    WrongHolder { allowance: String, holder: String },
    WrongLine { allowance: String, line: String },
    NotYetValid { allowance: String, from: BjTime },
    Expired { allowance: String, until: BjTime },
    Exhausted { allowance: String },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::UnknownAllowance { allowance } => write!(f, "allowance {allowance} does not exist; assessed without exclusion"),
            Refusal::WrongHolder { allowance, holder } => write!(f, "allowance {allowance} is held by {holder}, not by the importer; assessed without exclusion"),
            Refusal::WrongLine { allowance, line } => write!(f, "allowance {allowance} covers tariff line {line} only; assessed without exclusion"),
            Refusal::NotYetValid { allowance, from } => write!(f, "allowance {allowance} is not valid before {from}; assessed without exclusion"),
            Refusal::Expired { allowance, until } => write!(f, "allowance {allowance} expired at {until}; assessed without exclusion"),
            Refusal::Exhausted { allowance } => write!(f, "allowance {allowance} is exhausted (granted + tolerance used); assessed without exclusion"),
        }
    }
}

/// How much of a line a claim covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub covered_g: i64,
    pub refusal: Option<Refusal>,
}

/// Applies the claim rules. `allowance` is `None` when the number named does not exist.
pub fn claim(
    number: &str,
    allowance: Option<&AllowanceState>,
    importer: &RegistrationCode,
    code: &TariffCode,
    declared_at: BjTime,
    quantity: Quantity,
) -> Claim {
    let refuse = |r| Claim {
        covered_g: 0,
        refusal: Some(r),
    };
    let allowance_n = number.to_owned();
    let Some(a) = allowance else {
        return refuse(Refusal::UnknownAllowance {
            allowance: allowance_n,
        });
    };
    if a.holder != importer.as_str() {
        return refuse(Refusal::WrongHolder {
            allowance: allowance_n,
            holder: a.holder.clone(),
        });
    }
    let line_ok = code.as_str() == a.line || code.parent8().is_some_and(|p| p.as_str() == a.line);
    if !line_ok {
        return refuse(Refusal::WrongLine {
            allowance: allowance_n,
            line: a.line.clone(),
        });
    }
    if declared_at < a.valid_from {
        return refuse(Refusal::NotYetValid {
            allowance: allowance_n,
            from: a.valid_from,
        });
    }
    if declared_at >= a.valid_until {
        return refuse(Refusal::Expired {
            allowance: allowance_n,
            until: a.valid_until,
        });
    }
    let covered = quantity.grams.min(a.remaining_g());
    if covered == 0 {
        return refuse(Refusal::Exhausted {
            allowance: allowance_n,
        });
    }
    Claim {
        covered_g: covered,
        refusal: None,
    }
}

/// One layer of a line, summed over its parts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineMeasure {
    pub id: String,
    pub kind: MeasureKind,
    pub legal_basis: String,
    pub scope: String,
    /// `charged`, `lifted`, `partly_lifted` or `grace_waived`.
    pub status: &'static str,
    pub charged_cny: Fen,
    pub lifted_cny: Fen,
}

/// A line's assessment, before de minimis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineAssessment {
    pub covered_g: i64,
    pub uncovered_g: i64,
    pub base_duty: Fen,
    pub additional_duty: Fen,
    /// Duty lifted by the allowance and any product exclusion.
    pub excluded_duty: Fen,
    pub vat: Fen,
    pub measures: Vec<LineMeasure>,
    pub notes: Vec<String>,
}

impl LineAssessment {
    pub fn duty(&self) -> Fen {
        self.base_duty + self.additional_duty
    }
    pub fn total(&self) -> Fen {
        self.base_duty + self.additional_duty + self.vat
    }
}

/// Assesses a line split into `covered_g` (lifting `allowance_scopes` and `product_scopes`)
/// and the rest (lifting `product_scopes` only).
pub fn assess_split(
    s: &Schedule,
    input: &LineInput,
    covered_g: i64,
    allowance_scopes: &[&str],
    product_scopes: &[&str],
) -> Result<LineAssessment, AssessError> {
    assess_split_with(s, input, covered_g, allowance_scopes, product_scopes, &[])
}

/// [`assess_split`] with the conditional layers whose condition holds (e.g. a country quota's
/// safeguard, see [`crate::quota`]) charged on both parts.
pub fn assess_split_with(
    s: &Schedule,
    input: &LineInput,
    covered_g: i64,
    allowance_scopes: &[&str],
    product_scopes: &[&str],
    conditions_met: &[&str],
) -> Result<LineAssessment, AssessError> {
    let total_g = input.quantity.grams;
    let covered_g = covered_g.clamp(0, total_g);
    let uncovered_g = total_g - covered_g;
    let covered_minor = i64::try_from(div_round_half_up(
        i128::from(input.customs_value.minor) * i128::from(covered_g) * 10 / i128::from(total_g),
        1,
    ))
    .unwrap_or(input.customs_value.minor);
    let both: Vec<&str> = allowance_scopes
        .iter()
        .chain(product_scopes)
        .copied()
        .collect();
    let mut out = LineAssessment {
        covered_g,
        uncovered_g,
        base_duty: Fen(0),
        additional_duty: Fen(0),
        excluded_duty: Fen(0),
        vat: Fen(0),
        measures: Vec::new(),
        notes: Vec::new(),
    };
    let parts = [
        (covered_g, covered_minor, both.as_slice()),
        (
            uncovered_g,
            input.customs_value.minor - covered_minor,
            product_scopes,
        ),
    ];
    for (grams, minor, scopes) in parts {
        if grams == 0 {
            continue;
        }
        let part = LineInput {
            quantity: Quantity { grams },
            customs_value: Money {
                minor,
                currency: input.customs_value.currency,
            },
            ..*input
        };
        let lift = if scopes.is_empty() {
            Lift::Nothing
        } else {
            Lift::Scopes(scopes)
        };
        let a = assess_with(s, &part, lift, conditions_met)?;
        let full = if scopes.is_empty() {
            a.duty()
        } else {
            assess_with(s, &part, Lift::Nothing, conditions_met)?.duty()
        };
        out.base_duty = out.base_duty + a.base_duty;
        out.additional_duty = out.additional_duty + a.additional_duty;
        out.vat = out.vat + a.vat;
        out.excluded_duty = out.excluded_duty + (full - a.duty());
        for l in &a.layers {
            let (charged, lifted) = match l.status {
                LayerStatus::Charged => (l.amount(), Fen(0)),
                LayerStatus::Lifted => (Fen(0), l.amount()),
                LayerStatus::GraceWaived => (Fen(0), Fen(0)),
            };
            match out.measures.iter_mut().find(|m| m.id == l.measure.id) {
                Some(m) => {
                    m.charged_cny = m.charged_cny + charged;
                    m.lifted_cny = m.lifted_cny + lifted;
                }
                None => out.measures.push(LineMeasure {
                    id: l.measure.id.clone(),
                    kind: l.measure.kind,
                    legal_basis: l.measure.legal_basis.clone(),
                    scope: l.measure.scope.clone(),
                    status: "",
                    charged_cny: charged,
                    lifted_cny: lifted,
                }),
            }
            if l.status == LayerStatus::GraceWaived {
                if let Some(m) = out.measures.iter_mut().find(|m| m.id == l.measure.id) {
                    m.status = "grace_waived";
                }
            }
        }
        for w in &a.warnings {
            let w = w.to_string();
            if !out.notes.contains(&w) {
                out.notes.push(w);
            }
        }
    }
    for m in &mut out.measures {
        if m.status.is_empty() {
            m.status = match (m.charged_cny.0 > 0, m.lifted_cny.0 > 0) {
                (_, false) => "charged",
                (false, true) => "lifted",
                (true, true) => "partly_lifted",
            };
        }
    }
    Ok(out)
}

/// The de minimis threshold as a dated parameter: each period starts at its instant and runs
/// until the next; a tax total under the threshold is not collected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeMinimis {
    /// (from, threshold), sorted by `from`.
    pub periods: Vec<(BjTime, Fen)>,
}

impl Default for DeMinimis {
    /// CNY 50 per declaration and tax type, throughout.
    fn default() -> DeMinimis {
        DeMinimis {
            periods: vec![(BjTime(i64::MIN), Fen(5_000))],
        }
    }
}

impl DeMinimis {
    pub fn threshold_at(&self, at: BjTime) -> Fen {
        self.periods
            .iter()
            .rev()
            .find(|(from, _)| *from <= at)
            .map_or(Fen(0), |p| p.1)
    }

    /// Applies the threshold to a declaration's lines in place; returns the notes to add to
    /// every line (empty when nothing was waived).
    pub fn apply(&self, at: BjTime, lines: &mut [LineAssessment]) -> Vec<String> {
        let threshold = self.threshold_at(at);
        let mut notes = Vec::new();
        let duty: i64 = lines.iter().map(|l| l.duty().0).sum();
        if duty > 0 && duty < threshold.0 {
            for l in lines.iter_mut() {
                l.base_duty = Fen(0);
                l.additional_duty = Fen(0);
            }
            notes.push(format!(
                "customs duty of CNY {} on the declaration is under the de minimis threshold of CNY {threshold}: not collected",
                Fen(duty)
            ));
        }
        let vat: i64 = lines.iter().map(|l| l.vat.0).sum();
        if vat > 0 && vat < threshold.0 {
            for l in lines.iter_mut() {
                l.vat = Fen(0);
            }
            notes.push(format!(
                "import VAT of CNY {} on the declaration is under the de minimis threshold of CNY {threshold}: not collected",
                Fen(vat)
            ));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule_csv::demo_schedule;

    fn state() -> AllowanceState {
        AllowanceState {
            number: "WVR-2020-000001".into(),
            holder: "3700HS0001".into(),
            line: "12019010".into(),
            granted_g: 1_000_000_000,
            tolerance_ppm: 100_000,
            used_g: 0,
            valid_from: BjTime::parse_instant("2020-03-01").unwrap(),
            valid_until: BjTime::parse_instant("2021-03-01").unwrap(),
            scopes: vec!["l301".into()],
        }
    }

    #[test]
    fn every_rule_refuses_with_its_reason() {
        let a = state();
        let me = RegistrationCode::parse("3700HS0001").unwrap();
        let other = RegistrationCode::parse("3200JY0002").unwrap();
        let code = TariffCode::parse("12019010").unwrap();
        let at = BjTime::parse_instant("2020-06-01").unwrap();
        let q = Quantity {
            grams: 2_000_000_000,
        };
        let c = claim(&a.number, Some(&a), &me, &code, at, q);
        assert_eq!(c.covered_g, 1_100_000_000);
        assert_eq!(c.refusal, None);
        let r = |c: Claim| c.refusal.unwrap().to_string();
        assert!(r(claim("X", None, &me, &code, at, q)).contains("does not exist"));
        assert!(r(claim(&a.number, Some(&a), &other, &code, at, q)).contains("held by 3700HS0001"));
        let wrong = TariffCode::parse("12019020").unwrap();
        assert!(r(claim(&a.number, Some(&a), &me, &wrong, at, q)).contains("covers tariff line"));
        let early = BjTime::parse_instant("2020-01-01").unwrap();
        assert!(r(claim(&a.number, Some(&a), &me, &code, early, q)).contains("not valid before"));
        let late = BjTime::parse_instant("2021-03-01").unwrap();
        assert!(r(claim(&a.number, Some(&a), &me, &code, late, q)).contains("expired"));
        let used = AllowanceState {
            used_g: 1_100_000_000,
            ..a.clone()
        };
        assert!(r(claim(&a.number, Some(&used), &me, &code, at, q)).contains("exhausted"));
    }

    #[test]
    fn de_minimis_waives_small_totals_per_tax_type() {
        let mut lines = vec![LineAssessment {
            covered_g: 0,
            uncovered_g: 1,
            base_duty: Fen(3_000),
            additional_duty: Fen(1_000),
            excluded_duty: Fen(0),
            vat: Fen(9_000),
            measures: vec![],
            notes: vec![],
        }];
        let notes = DeMinimis::default().apply(BjTime(0), &mut lines);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(lines[0].duty(), Fen(0));
        assert_eq!(lines[0].vat, Fen(9_000));
    }

    #[test]
    fn a_split_line_sums_its_parts() {
        let s = demo_schedule().unwrap();
        let raw = crate::RawLine {
            declaration: "D1",
            line: "1",
            importer: "3700HS0001",
            code: "12019010",
            origin: "US",
            declared_at: "2020-06-01",
            quantity: "1000",
            unit: "t",
            customs_value: "400000",
            currency: "USD",
            shipped_on: None,
            in_quota: None,
        };
        let p = raw.parse().unwrap();
        let none = assess_split(&s, &p.input, 0, &[], &[]).unwrap();
        let all = assess_split(&s, &p.input, 1_000_000_000, &["l301"], &[]).unwrap();
        let half = assess_split(&s, &p.input, 500_000_000, &["l301"], &[]).unwrap();
        assert_eq!(none.excluded_duty, Fen(0));
        assert!(all.duty() < none.duty());
        assert!(half.duty() < none.duty() && half.duty() > all.duty());
        assert_eq!(half.covered_g + half.uncovered_g, 1_000_000_000);
    }
}
