//! Applications (PRODUCT.md C3): the document an applicant files, validated field by field
//! against the programme and the effective-dated nomenclature before anything is stored, and
//! the state machine it moves through.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::amount::{Money, QtyUnit, Quantity, RatePpm};
use crate::codes::{Currency, TariffCode};
use crate::programme::{Programme, ProgrammeKind};
use crate::schedule::{LineLookup, Schedule};
use crate::time::{BjTime, Month};

/// Limits on application documents.
pub const MAX_TEXT_CHARS: usize = 4_000;
pub const MAX_PLAN_MONTHS: usize = 36;
pub const MAX_QUANTITY_T: i64 = 10_000_000;

/// Where an application is. Review and decision states arrive with expert review; they are
/// modelled now so that stored applications never need a migration of their states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    Submitted,
    Screening,
    Returned,
    Resubmitted,
    UnderReview,
    Reviewed,
    Approved,
    PartiallyApproved,
    Rejected,
    Appealed,
    Reconsidered,
    Withdrawn,
}

/// What can happen to an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Submit,
    StartScreening,
    Return,
    Resubmit,
    Accept,
    CompleteReview,
    Approve,
    PartiallyApprove,
    Reject,
    Appeal,
    Reconsider,
    Withdraw,
}

impl State {
    pub const ALL: [State; 13] = [
        State::Draft,
        State::Submitted,
        State::Screening,
        State::Returned,
        State::Resubmitted,
        State::UnderReview,
        State::Reviewed,
        State::Approved,
        State::PartiallyApproved,
        State::Rejected,
        State::Appealed,
        State::Reconsidered,
        State::Withdrawn,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Submitted => "submitted",
            State::Screening => "screening",
            State::Returned => "returned",
            State::Resubmitted => "resubmitted",
            State::UnderReview => "under_review",
            State::Reviewed => "reviewed",
            State::Approved => "approved",
            State::PartiallyApproved => "partially_approved",
            State::Rejected => "rejected",
            State::Appealed => "appealed",
            State::Reconsidered => "reconsidered",
            State::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(raw: &str) -> Option<State> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
    /// Still in the pipeline: a second application for the same line would be a duplicate.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            State::Approved
                | State::PartiallyApproved
                | State::Rejected
                | State::Reconsidered
                | State::Withdrawn
        )
    }

    /// The one place that says which events are allowed in which state.
    pub fn on(self, event: Event) -> Result<State, TransitionError> {
        use Event as E;
        use State as S;
        let next = match (self, event) {
            (S::Draft, E::Submit) => S::Submitted,
            (S::Submitted | S::Resubmitted, E::StartScreening) => S::Screening,
            (S::Screening, E::Return) => S::Returned,
            (S::Returned, E::Resubmit) => S::Resubmitted,
            (S::Screening, E::Accept) => S::UnderReview,
            (S::UnderReview, E::CompleteReview) => S::Reviewed,
            (S::Reviewed, E::Approve) => S::Approved,
            (S::Reviewed, E::PartiallyApprove) => S::PartiallyApproved,
            (S::Reviewed, E::Reject) => S::Rejected,
            (S::PartiallyApproved | S::Rejected, E::Appeal) => S::Appealed,
            (S::Appealed, E::Reconsider) => S::Reconsidered,
            (s, E::Withdraw) if s.is_open() && s != S::Appealed => S::Withdrawn,
            (from, event) => return Err(TransitionError { from, event }),
        };
        Ok(next)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an application that is {} cannot take the action {event:?}", from.as_str())]
pub struct TransitionError {
    pub from: State,
    pub event: Event,
}

/// The purchase contract behind a purchase-programme application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    pub number: String,
    pub supplier: String,
    /// `YYYY-MM-DD`.
    pub signed_on: String,
    /// Decimal, in the application's unit.
    pub quantity: String,
    /// The overfill the contract stipulates, in percent (e.g. "10"); "0" when none.
    pub overfill_pct: String,
}

/// One month of the purchase plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub quantity: String,
}

/// An application as filed (text fields, as a form or an API client sends them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSpec {
    pub programme: String,
    /// The enterprise applied for (an association may file for a member).
    pub enterprise: String,
    pub line: String,
    /// Set when the line is not on the programme's list and the programme accepts additions.
    #[serde(default)]
    pub add_product_request: bool,
    pub quantity: String,
    pub unit: String,
    pub value: String,
    pub currency: String,
    pub contract: Option<Contract>,
    #[serde(default)]
    pub monthly_plan: Vec<PlanMonth>,
    /// Evidence per review criterion key.
    #[serde(default)]
    pub evidence: BTreeMap<String, String>,
    /// Names of fields (e.g. `contract.supplier`, `value`) the applicant marks confidential.
    #[serde(default)]
    pub confidential: Vec<String>,
    /// What the public register shows instead of confidential fields.
    #[serde(default)]
    pub public_summary: String,
}

/// One field that is wrong, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// The parsed, validated parts of an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validated {
    pub line: TariffCode,
    pub quantity: Quantity,
    pub value: Money,
    pub overfill: RatePpm,
}

struct Problems(Vec<FieldProblem>);
impl Problems {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldProblem {
            field: field.into(),
            message: message.into(),
        });
    }
    fn text(&mut self, field: &str, v: &str, required: bool) {
        if required && v.trim().is_empty() {
            self.add(field, "is required");
        } else if v.chars().count() > MAX_TEXT_CHARS {
            self.add(field, format!("is longer than {MAX_TEXT_CHARS} characters"));
        }
    }
}

impl ApplicationSpec {
    /// Validates every field against the programme, the schedule and the filing instant, and
    /// reports every problem at once (intake validation: nothing is rejected later for a typo).
    pub fn validate(
        &self,
        programme: &Programme,
        schedule: &Schedule,
        at: BjTime,
    ) -> Result<Validated, Vec<FieldProblem>> {
        let mut p = Problems(Vec::new());
        if self.programme != programme.spec.id {
            p.add(
                "programme",
                format!(
                    "`{}` is not the programme applied to ({})",
                    self.programme, programme.spec.id
                ),
            );
        }
        if !programme.window_open_at(at) {
            let close = programme
                .applications_close
                .map_or(String::from("open-ended"), |c| c.to_string());
            p.add(
                "programme",
                format!(
                    "applications to {} are accepted from {} until {close}; not at {at}",
                    programme.spec.id, programme.applications_open
                ),
            );
        }
        let line = match TariffCode::parse(&self.line) {
            Err(e) => {
                p.add("line", e.to_string());
                None
            }
            Ok(code) => {
                match schedule.line_at(&code, at) {
                    LineLookup::Found(..) => {}
                    LineLookup::NotAtThatDate => p.add(
                        "line",
                        format!("tariff line {code} is not in force at {at}"),
                    ),
                    LineLookup::UnknownCode => p.add(
                        "line",
                        format!("tariff line {code} is not in the nomenclature; check the code"),
                    ),
                }
                let listed = programme.is_eligible(&code);
                if !listed && !self.add_product_request {
                    let hint = if programme.spec.allow_unlisted_lines {
                        "; set add_product_request to ask for it to be added"
                    } else {
                        "; this programme does not accept unlisted lines"
                    };
                    p.add(
                        "line",
                        format!("{code} is not on the programme's list{hint}"),
                    );
                } else if !listed && !programme.spec.allow_unlisted_lines {
                    p.add(
                        "add_product_request",
                        format!(
                            "{} does not accept requests to add lines",
                            programme.spec.id
                        ),
                    );
                } else if listed && self.add_product_request {
                    p.add(
                        "add_product_request",
                        format!("{code} is already on the list; no add-product request is needed"),
                    );
                }
                Some(code)
            }
        };
        let unit = QtyUnit::parse(&self.unit);
        if unit.is_none() {
            p.add("unit", "the unit is `kg` or `t`");
        }
        let unit = unit.unwrap_or(QtyUnit::T);
        let quantity = Quantity::parse(&self.quantity, unit).map_err(|e| e.to_string());
        match &quantity {
            Err(e) => p.add(
                "quantity",
                format!("{e}; give a positive quantity in {}", unit.as_str()),
            ),
            Ok(q) if q.grams > MAX_QUANTITY_T * 1_000_000 => p.add(
                "quantity",
                format!("at most {MAX_QUANTITY_T} t per application"),
            ),
            Ok(_) => {}
        }
        let value = match Currency::parse(&self.currency) {
            Err(e) => {
                p.add("currency", e.to_string());
                None
            }
            Ok(c) => {
                match Money::parse(&self.value, c) {
                    Err(e) => {
                        p.add("value", format!("{e}; the contract value is a positive amount with at most 2 decimals"));
                        None
                    }
                    Ok(m) => Some(m),
                }
            }
        };
        let mut overfill = RatePpm(0);
        match (&self.contract, programme.spec.kind) {
            (None, ProgrammeKind::Purchase) => p.add(
                "contract",
                "a purchase-programme application needs its purchase contract",
            ),
            (None, ProgrammeKind::Product) => {}
            (Some(c), _) => {
                p.text("contract.number", &c.number, true);
                p.text("contract.supplier", &c.supplier, true);
                match BjTime::parse(&c.signed_on) {
                    Err(e) => p.add("contract.signed_on", e.to_string()),
                    Ok((t, _)) if t > at => p.add(
                        "contract.signed_on",
                        format!("{} is after the filing date {at}", c.signed_on),
                    ),
                    Ok(_) => {}
                }
                match Quantity::parse(&c.quantity, unit) {
                    Err(e) => p.add("contract.quantity", e.to_string()),
                    Ok(cq) => {
                        if let Ok(q) = &quantity {
                            if q.grams > cq.grams {
                                p.add(
                                    "quantity",
                                    format!(
                                        "{} {} is more than the contract's {} {}",
                                        self.quantity,
                                        unit.as_str(),
                                        c.quantity,
                                        unit.as_str()
                                    ),
                                );
                            }
                        }
                    }
                }
                match RatePpm::parse_pct(&c.overfill_pct) {
                    Err(e) => p.add("contract.overfill_pct", e.to_string()),
                    Ok(o) if o > programme.overfill_tolerance => p.add(
                        "contract.overfill_pct",
                        format!(
                            "{}% is above the programme's tolerance of {}%",
                            o.pct_string(),
                            programme.overfill_tolerance.pct_string()
                        ),
                    ),
                    Ok(o) => overfill = o,
                }
            }
        }
        if programme.spec.kind == ProgrammeKind::Purchase {
            if self.monthly_plan.is_empty() || self.monthly_plan.len() > MAX_PLAN_MONTHS {
                p.add(
                    "monthly_plan",
                    format!("give 1 to {MAX_PLAN_MONTHS} months of planned purchases"),
                );
            }
            let mut sum = 0i64;
            let mut months: Vec<Month> = Vec::new();
            for (i, m) in self.monthly_plan.iter().enumerate() {
                match Month::parse(&m.month) {
                    None => p.add(
                        format!("monthly_plan[{i}].month"),
                        format!("`{}` is not a month; write YYYY-MM", m.month),
                    ),
                    Some(mo) if months.contains(&mo) => p.add(
                        format!("monthly_plan[{i}].month"),
                        format!("{mo} appears twice"),
                    ),
                    Some(mo) => months.push(mo),
                }
                match Quantity::parse(&m.quantity, unit) {
                    Err(e) => p.add(format!("monthly_plan[{i}].quantity"), e.to_string()),
                    Ok(q) => sum += q.grams,
                }
            }
            if let Ok(q) = &quantity {
                if !self.monthly_plan.is_empty() && sum != q.grams {
                    let per = unit.grams();
                    p.add("monthly_plan", format!(
                        "the months add up to {} {u} but the application is for {} {u}; make them equal",
                        crate::amount::format_scaled(i128::from(sum), per.ilog10(), 0),
                        crate::amount::format_scaled(i128::from(q.grams), per.ilog10(), 0),
                        u = unit.as_str()
                    ));
                }
            }
        }
        for c in &programme.spec.review.criteria {
            match self.evidence.get(&c.key) {
                None => p.add(
                    format!("evidence.{}", c.key),
                    format!("give evidence for “{}”", c.name_en),
                ),
                Some(t) => p.text(&format!("evidence.{}", c.key), t, true),
            }
        }
        for k in self.evidence.keys() {
            if !programme.spec.review.criteria.iter().any(|c| &c.key == k) {
                p.add(
                    format!("evidence.{k}"),
                    "is not a criterion of this programme",
                );
            }
        }
        const CONFIDENTIAL_FIELDS: [&str; 5] = [
            "value",
            "contract.number",
            "contract.supplier",
            "contract.quantity",
            "monthly_plan",
        ];
        for f in &self.confidential {
            if !CONFIDENTIAL_FIELDS.contains(&f.as_str()) {
                p.add(
                    "confidential",
                    format!(
                        "`{f}` cannot be marked confidential; choose from {}",
                        CONFIDENTIAL_FIELDS.join(", ")
                    ),
                );
            }
        }
        if !self.confidential.is_empty() {
            p.text("public_summary", &self.public_summary, true);
        }
        match (p.0.is_empty(), line, quantity, value) {
            (true, Some(line), Ok(quantity), Some(value)) => Ok(Validated {
                line,
                quantity,
                value,
                overfill,
            }),
            _ => Err(p.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::programme::seed_programmes;
    use crate::schedule_csv::demo_schedule;

    fn spec() -> ApplicationSpec {
        ApplicationSpec {
            programme: "CN-2020-MKT".into(),
            enterprise: "3700HS0001".into(),
            line: "1201.90.10".into(),
            add_product_request: false,
            quantity: "120000".into(),
            unit: "t".into(),
            value: "48000000".into(),
            currency: "USD".into(),
            contract: Some(Contract {
                number: "HS-2020-017".into(),
                supplier: "Gulf Grain Exporters LLC (fictional)".into(),
                signed_on: "2020-03-05".into(),
                quantity: "120000".into(),
                overfill_pct: "10".into(),
            }),
            monthly_plan: vec![
                PlanMonth {
                    month: "2020-04".into(),
                    quantity: "60000".into(),
                },
                PlanMonth {
                    month: "2020-05".into(),
                    quantity: "60000".into(),
                },
            ],
            evidence: [
                ("commercial_need", "x"),
                ("contract_credibility", "y"),
                ("plan_feasibility", "z"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            confidential: vec!["value".into()],
            public_summary: "120 000 t of U.S. soybeans for crushing".into(),
        }
    }

    fn check(s: &ApplicationSpec) -> Result<Validated, Vec<FieldProblem>> {
        let programmes = seed_programmes().unwrap();
        s.validate(
            &programmes[2],
            &demo_schedule().unwrap(),
            BjTime::parse_instant("2020-03-10").unwrap(),
        )
    }

    #[test]
    fn a_good_application_validates() {
        let v = check(&spec()).unwrap();
        assert_eq!(v.overfill, RatePpm(100_000));
        assert_eq!(v.quantity.grams, 120_000_000_000);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut s = spec();
        s.quantity = "-1".into();
        s.contract.as_mut().unwrap().overfill_pct = "15".into();
        s.monthly_plan[1].month = "May 2020".into();
        s.evidence.remove("plan_feasibility");
        let fields: Vec<String> = check(&s)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "quantity",
                "contract.overfill_pct",
                "monthly_plan[1].month",
                "evidence.plan_feasibility"
            ]
        );
    }

    #[test]
    fn the_plan_must_add_up_and_the_window_must_be_open() {
        let mut s = spec();
        s.monthly_plan[1].quantity = "50000".into();
        let e = check(&s).unwrap_err();
        assert_eq!(e[0].field, "monthly_plan");
        assert!(
            e[0].message
                .contains("add up to 110000 t but the application is for 120000 t"),
            "{}",
            e[0].message
        );
        let programmes = seed_programmes().unwrap();
        let early = spec().validate(
            &programmes[2],
            &demo_schedule().unwrap(),
            BjTime::parse_instant("2020-02-01").unwrap(),
        );
        assert_eq!(early.unwrap_err()[0].field, "programme");
    }

    #[test]
    fn unlisted_lines_need_an_add_product_request_where_allowed() {
        let mut s = spec();
        s.line = "02013000".into();
        let e = check(&s).unwrap_err();
        assert!(e
            .iter()
            .any(|p| p.field == "line" && p.message.contains("not in the nomenclature")));
        assert!(e
            .iter()
            .any(|p| p.field == "line" && p.message.contains("add_product_request")));
    }

    #[test]
    fn the_state_machine_allows_only_its_transitions() {
        use Event as E;
        let mut s = State::Draft;
        for e in [
            E::Submit,
            E::StartScreening,
            E::Return,
            E::Resubmit,
            E::StartScreening,
            E::Accept,
            E::CompleteReview,
            E::PartiallyApprove,
            E::Appeal,
            E::Reconsider,
        ] {
            s = s.on(e).unwrap();
        }
        assert_eq!(s, State::Reconsidered);
        assert!(State::Draft.on(E::Accept).is_err());
        assert!(State::Approved.on(E::Withdraw).is_err());
        assert_eq!(State::Screening.on(E::Withdraw), Ok(State::Withdrawn));
        let e = State::Rejected.on(E::Submit).unwrap_err();
        assert_eq!(
            e.to_string(),
            "an application that is rejected cannot take the action Submit"
        );
    }
}
