//! Expert review and decisions (PRODUCT.md C4, C5): conflict checks, reproducible expert
//! assignment, score sheets and their aggregation, the rules a decision must meet, and appeals.
//! Everything here is a pure function of its inputs; the seed of an assignment is an input so
//! that the same seed and pool always give the same experts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::amount::{QtyUnit, Quantity, RatePpm};
use crate::application::FieldProblem;
use crate::programme::{Programme, ReviewPolicy};
use crate::time::{BjTime, Precision};

/// Limits on review documents.
pub const MAX_RATIONALE_CHARS: usize = 4_000;
pub const MAX_AFFILIATIONS: usize = 20;
pub const MAX_AFFILIATION_CHARS: usize = 200;
/// A criterion whose scores differ by this many points or more flags a disagreement.
pub const DISAGREEMENT_SPREAD_POINTS: u8 = 2;

fn problem(field: impl Into<String>, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        message: message.into(),
    }
}

fn check_text(p: &mut Vec<FieldProblem>, field: &str, v: &str, required: bool) {
    if required && v.trim().is_empty() {
        p.push(problem(
            field,
            "is required; write the reason in a sentence or two",
        ));
    } else if v.chars().count() > MAX_RATIONALE_CHARS {
        p.push(problem(
            field,
            format!("is longer than {MAX_RATIONALE_CHARS} characters; shorten it"),
        ));
    }
}

/// Normalises an affiliation or party name for comparison (case and spacing do not matter).
fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The applicant as conflict checks see it: the enterprise (code and names), its group, and
/// the associations it belongs to (codes and names).
#[derive(Clone, Debug, Default)]
pub struct Party {
    pub names: Vec<String>,
}

/// Why an expert may not review for `party`: one of the expert's affiliations or declared
/// interests names the applicant, its group or one of its associations.
pub fn conflict(affiliations: &[String], party: &Party) -> Option<String> {
    let names: Vec<String> = party
        .names
        .iter()
        .map(|n| norm(n))
        .filter(|n| !n.is_empty())
        .collect();
    affiliations.iter().find_map(|a| {
        let a_n = norm(a);
        names
            .contains(&a_n)
            .then(|| format!("affiliated with {a}, a party to the application"))
    })
}

/// An expert who could be assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub username: String,
    /// Reviews assigned and not yet scored.
    pub open_assignments: u32,
    /// Set when the expert must not review this application (and why).
    pub conflict: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{needed} expert(s) needed but only {available} without a conflict are free; add experts to the pool")]
pub struct NotEnoughExperts {
    pub needed: usize,
    pub available: usize,
}

/// SplitMix64: a fixed, documented mixing function, so that a recorded seed reproduces the
/// assignment on any machine and any version.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn name_hash(seed: u64, name: &str) -> u64 {
    name.bytes().fold(mix(seed), |h, b| mix(h ^ u64::from(b)))
}

/// Picks `n` experts without a conflict: those with the fewest open reviews first, ties broken
/// by a seeded shuffle. The same seed and candidates always give the same experts.
pub fn pick_experts(
    seed: u64,
    n: usize,
    candidates: &[Candidate],
) -> Result<Vec<String>, NotEnoughExperts> {
    let mut free: Vec<&Candidate> = candidates.iter().filter(|c| c.conflict.is_none()).collect();
    if free.len() < n {
        return Err(NotEnoughExperts {
            needed: n,
            available: free.len(),
        });
    }
    free.sort_by_key(|c| {
        (
            c.open_assignments,
            name_hash(seed, &c.username),
            c.username.clone(),
        )
    });
    Ok(free.iter().take(n).map(|c| c.username.clone()).collect())
}

/// One criterion's score with its written rationale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionScore {
    pub score: u8,
    pub rationale: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    Approve,
    Reject,
}

/// A score sheet as an expert files it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreSheetSpec {
    /// Every criterion of the programme, by key.
    pub scores: BTreeMap<String, CriterionScore>,
    pub recommendation: Recommendation,
    /// With `approve`: the quantity recommended, in the application's unit (at most the
    /// quantity requested).
    #[serde(default)]
    pub recommended_quantity: Option<String>,
}

/// A validated score sheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreSheet {
    /// (criterion key, score) in the programme's criterion order.
    pub scores: Vec<(String, u8)>,
    pub recommendation: Recommendation,
    pub recommended_quantity: Option<Quantity>,
}

impl ScoreSheetSpec {
    /// Checks the sheet against the programme's criteria and the quantity requested; reports
    /// every problem at once.
    pub fn validate(
        &self,
        policy: &ReviewPolicy,
        requested: Quantity,
        unit: QtyUnit,
    ) -> Result<ScoreSheet, Vec<FieldProblem>> {
        let mut p = Vec::new();
        let mut scores = Vec::new();
        for c in &policy.criteria {
            let field = format!("scores.{}", c.key);
            match self.scores.get(&c.key) {
                None => p.push(problem(
                    &field,
                    format!("missing; score `{}` from 1 to {}", c.key, c.scale_max),
                )),
                Some(s) => {
                    if !(1..=c.scale_max).contains(&s.score) {
                        p.push(problem(
                            format!("{field}.score"),
                            format!("{} is outside the scale 1 to {}", s.score, c.scale_max),
                        ));
                    }
                    check_text(&mut p, &format!("{field}.rationale"), &s.rationale, true);
                    scores.push((c.key.clone(), s.score));
                }
            }
        }
        for k in self.scores.keys() {
            if !policy.criteria.iter().any(|c| &c.key == k) {
                let keys: Vec<&str> = policy.criteria.iter().map(|c| c.key.as_str()).collect();
                p.push(problem(
                    format!("scores.{k}"),
                    format!(
                        "`{k}` is not a criterion of this programme; they are {}",
                        keys.join(", ")
                    ),
                ));
            }
        }
        let recommended_quantity = match (self.recommendation, &self.recommended_quantity) {
            (Recommendation::Reject, Some(_)) => {
                p.push(problem(
                    "recommended_quantity",
                    "leave it out when recommending rejection",
                ));
                None
            }
            (Recommendation::Reject, None) => None,
            (Recommendation::Approve, None) => Some(requested),
            (Recommendation::Approve, Some(raw)) => match Quantity::parse(raw, unit) {
                Ok(q) if q > requested => {
                    p.push(problem(
                        "recommended_quantity",
                        format!(
                            "{raw} {} is more than the {} kg requested",
                            unit.as_str(),
                            requested.kg_string()
                        ),
                    ));
                    None
                }
                Ok(q) => Some(q),
                Err(e) => {
                    p.push(problem("recommended_quantity", e.to_string()));
                    None
                }
            },
        };
        if p.is_empty() {
            Ok(ScoreSheet {
                scores,
                recommendation: self.recommendation,
                recommended_quantity,
            })
        } else {
            Err(p)
        }
    }
}

/// One criterion across experts. Means are in thousandths of a point, half-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CriterionAggregate {
    pub key: String,
    pub weight_pct: u32,
    pub scale_max: u8,
    pub mean_milli: i64,
    pub min: u8,
    pub max: u8,
    pub spread: u8,
}

/// The experts' scores taken together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Aggregate {
    pub experts: usize,
    pub criteria: Vec<CriterionAggregate>,
    /// Weighted mean of the criterion means as a share of each scale, in thousandths of a
    /// percent (100 000 = every expert gave every criterion its top mark).
    pub overall_pct_milli: i64,
    pub approve_votes: usize,
    pub reject_votes: usize,
    /// Lowest and highest quantity recommended by the experts who recommend approval, grams.
    pub recommended_min_g: Option<i64>,
    pub recommended_max_g: Option<i64>,
    pub disagreement: bool,
    pub disagreement_reasons: Vec<String>,
}

impl Aggregate {
    /// What most experts recommend (`None` on a tie or with no sheets).
    pub fn majority(&self) -> Option<Recommendation> {
        match self.approve_votes.cmp(&self.reject_votes) {
            std::cmp::Ordering::Greater => Some(Recommendation::Approve),
            std::cmp::Ordering::Less => Some(Recommendation::Reject),
            std::cmp::Ordering::Equal => None,
        }
    }
}

fn div_half_up(num: i128, den: i128) -> i64 {
    if den == 0 {
        return 0;
    }
    ((2 * num + den) / (2 * den)) as i64
}

/// Aggregates the latest sheet of each expert.
pub fn aggregate(policy: &ReviewPolicy, sheets: &[ScoreSheet]) -> Aggregate {
    let n = sheets.len();
    let mut criteria = Vec::new();
    let mut reasons = Vec::new();
    // Σ weight × mean / scale, over a common denominator, in thousandths of a percent.
    let mut overall_num: i128 = 0;
    for c in &policy.criteria {
        let marks: Vec<u8> = sheets
            .iter()
            .filter_map(|s| s.scores.iter().find(|(k, _)| *k == c.key).map(|(_, v)| *v))
            .collect();
        let sum: i128 = marks.iter().map(|m| i128::from(*m)).sum();
        let count = marks.len() as i128;
        let min = marks.iter().copied().min().unwrap_or(0);
        let max = marks.iter().copied().max().unwrap_or(0);
        if max.saturating_sub(min) >= DISAGREEMENT_SPREAD_POINTS {
            reasons.push(format!("scores for `{}` range from {min} to {max}", c.key));
        }
        if count > 0 {
            // weight% × (sum / count) / scale × 1000 → thousandths of a percent.
            overall_num += i128::from(c.weight_pct) * sum * 1000 * 1_000_000
                / (count * i128::from(c.scale_max));
        }
        criteria.push(CriterionAggregate {
            key: c.key.clone(),
            weight_pct: c.weight_pct,
            scale_max: c.scale_max,
            mean_milli: div_half_up(sum * 1000, count),
            min,
            max,
            spread: max.saturating_sub(min),
        });
    }
    let approve_votes = sheets
        .iter()
        .filter(|s| s.recommendation == Recommendation::Approve)
        .count();
    let reject_votes = n - approve_votes;
    if approve_votes > 0 && reject_votes > 0 {
        reasons.push(format!(
            "{approve_votes} expert(s) recommend approval and {reject_votes} rejection"
        ));
    }
    let qs: Vec<i64> = sheets
        .iter()
        .filter_map(|s| s.recommended_quantity.map(|q| q.grams))
        .collect();
    Aggregate {
        experts: n,
        criteria,
        overall_pct_milli: div_half_up(overall_num, 1_000_000),
        approve_votes,
        reject_votes,
        recommended_min_g: qs.iter().copied().min(),
        recommended_max_g: qs.iter().copied().max(),
        disagreement: !reasons.is_empty(),
        disagreement_reasons: reasons,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approve,
    PartiallyApprove,
    Reject,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approve => "approve",
            Outcome::PartiallyApprove => "partially_approve",
            Outcome::Reject => "reject",
        }
    }
}

/// A decision as an officer writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionSpec {
    pub outcome: Outcome,
    /// The quantity granted, in the application's unit: the full request for `approve` (may be
    /// left out), less for `partially_approve`, absent for `reject`.
    #[serde(default)]
    pub quantity: Option<String>,
    /// First day of validity, `YYYY-MM-DD` (default: the day of the decision).
    #[serde(default)]
    pub valid_from: Option<String>,
    /// The reason per review criterion (every criterion).
    pub reasons: BTreeMap<String, String>,
    /// Required when the decision departs from the experts' recommendation.
    #[serde(default)]
    pub departure_reason: Option<String>,
}

/// A validated decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub outcome: Outcome,
    /// Granted quantity in grams (0 for a rejection).
    pub granted_g: i64,
    pub tolerance: RatePpm,
    pub valid_from: BjTime,
    /// Exclusive end.
    pub valid_until: BjTime,
    /// Whether it departs from the experts (then `departure_reason` was given).
    pub departs: bool,
}

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Checks a decision against the programme, the application and the experts' aggregate.
pub fn validate_decision(
    spec: &DecisionSpec,
    programme: &Programme,
    requested: Quantity,
    contract_overfill: RatePpm,
    unit: QtyUnit,
    agg: &Aggregate,
    now: BjTime,
) -> Result<Decision, Vec<FieldProblem>> {
    let mut p = Vec::new();
    if programme.spec.kind == crate::programme::ProgrammeKind::Product
        && spec.outcome == Outcome::PartiallyApprove
    {
        p.push(problem(
            "outcome",
            "a product programme lists the whole line or not at all; approve or reject",
        ));
    }
    let granted_g = match (spec.outcome, &spec.quantity) {
        (Outcome::Reject, None) => 0,
        (Outcome::Reject, Some(_)) => {
            p.push(problem("quantity", "leave it out for a rejection"));
            0
        }
        (Outcome::Approve, None) => requested.grams,
        (Outcome::PartiallyApprove, None) => {
            p.push(problem(
                "quantity",
                "a partial approval needs the quantity granted",
            ));
            0
        }
        (o, Some(raw)) => match Quantity::parse(raw, unit) {
            Err(e) => {
                p.push(problem("quantity", e.to_string()));
                0
            }
            Ok(q) if o == Outcome::Approve && q != requested => {
                p.push(problem(
                    "quantity",
                    format!(
                        "an approval grants the {} kg requested; for {raw} {} use `partially_approve`",
                        requested.kg_string(),
                        unit.as_str()
                    ),
                ));
                0
            }
            Ok(q) if o == Outcome::PartiallyApprove && q >= requested => {
                p.push(problem(
                    "quantity",
                    format!(
                        "a partial approval grants less than the {} kg requested",
                        requested.kg_string()
                    ),
                ));
                0
            }
            Ok(q) => q.grams,
        },
    };
    for c in &programme.spec.review.criteria {
        let field = format!("reasons.{}", c.key);
        match spec.reasons.get(&c.key) {
            None => p.push(problem(
                field,
                format!("give the reason for criterion `{}`", c.key),
            )),
            Some(r) => check_text(&mut p, &field, r, true),
        }
    }
    for k in spec.reasons.keys() {
        if !programme.spec.review.criteria.iter().any(|c| &c.key == k) {
            p.push(problem(
                format!("reasons.{k}"),
                format!("`{k}` is not a criterion of this programme"),
            ));
        }
    }
    let valid_from = match &spec.valid_from {
        None => now.start_of_day(),
        Some(raw) => match BjTime::parse(raw) {
            Ok((t, Precision::DateOnly)) => t,
            Ok(_) | Err(_) => {
                p.push(problem(
                    "valid_from",
                    format!("`{raw}` is not a date; write YYYY-MM-DD"),
                ));
                now.start_of_day()
            }
        },
    };
    let valid_until = BjTime(valid_from.0 + i64::from(programme.spec.validity_days) * DAY);
    let tolerance = RatePpm(contract_overfill.0.min(programme.overfill_tolerance.0));
    let departs = match (agg.majority(), spec.outcome) {
        (Some(Recommendation::Reject), Outcome::Approve | Outcome::PartiallyApprove) => true,
        (Some(Recommendation::Approve), Outcome::Reject) => true,
        (_, Outcome::Reject) => false,
        _ => {
            agg.recommended_min_g.is_some_and(|m| granted_g < m)
                || agg.recommended_max_g.is_some_and(|m| granted_g > m)
        }
    };
    if departs {
        match &spec.departure_reason {
            None => p.push(problem(
                "departure_reason",
                "this decision departs from the experts' recommendation; record why",
            )),
            Some(r) => check_text(&mut p, "departure_reason", r, true),
        }
    }
    if p.is_empty() {
        Ok(Decision {
            outcome: spec.outcome,
            granted_g,
            tolerance,
            valid_from,
            valid_until,
            departs,
        })
    } else {
        Err(p)
    }
}

/// The last instant (exclusive) an appeal may be filed.
pub fn appeal_deadline(decided_at: BjTime, appeal_days: u16) -> BjTime {
    BjTime(decided_at.0 + i64::from(appeal_days) * DAY)
}

/// An appeal as the applicant files it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealSpec {
    pub grounds: String,
}

impl AppealSpec {
    pub fn validate(&self) -> Result<(), Vec<FieldProblem>> {
        let mut p = Vec::new();
        check_text(&mut p, "grounds", &self.grounds, true);
        if p.is_empty() {
            Ok(())
        } else {
            Err(p)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    /// The decision stands.
    Uphold,
    /// The granted quantity changes (the allowance is amended or created).
    Amend,
}

/// A reconsideration as the second officer writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconsiderationSpec {
    pub outcome: AppealOutcome,
    /// With `amend`: the quantity now granted, in the application's unit (at most requested).
    #[serde(default)]
    pub quantity: Option<String>,
    pub reasons: String,
}

impl ReconsiderationSpec {
    /// The newly granted quantity in grams for `amend`; `None` for `uphold`.
    pub fn validate(
        &self,
        requested: Quantity,
        unit: QtyUnit,
    ) -> Result<Option<i64>, Vec<FieldProblem>> {
        let mut p = Vec::new();
        check_text(&mut p, "reasons", &self.reasons, true);
        let q = match (self.outcome, &self.quantity) {
            (AppealOutcome::Uphold, None) => None,
            (AppealOutcome::Uphold, Some(_)) => {
                p.push(problem("quantity", "leave it out when upholding"));
                None
            }
            (AppealOutcome::Amend, None) => {
                p.push(problem(
                    "quantity",
                    "an amendment needs the quantity now granted",
                ));
                None
            }
            (AppealOutcome::Amend, Some(raw)) => match Quantity::parse(raw, unit) {
                Ok(q) if q > requested => {
                    p.push(problem(
                        "quantity",
                        format!("more than the {} kg requested", requested.kg_string()),
                    ));
                    None
                }
                Ok(q) => Some(q.grams),
                Err(e) => {
                    p.push(problem("quantity", e.to_string()));
                    None
                }
            },
        };
        if p.is_empty() {
            Ok(q)
        } else {
            Err(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::programme::Criterion;

    fn policy() -> ReviewPolicy {
        ReviewPolicy {
            criteria: vec![
                Criterion {
                    key: "need".into(),
                    name_en: "Need".into(),
                    name_zh: String::new(),
                    weight_pct: 60,
                    scale_max: 5,
                },
                Criterion {
                    key: "harm".into(),
                    name_en: "Harm".into(),
                    name_zh: String::new(),
                    weight_pct: 40,
                    scale_max: 5,
                },
            ],
            experts_per_application: 3,
            review_days: 30,
        }
    }

    fn sheet(need: u8, harm: u8, rec: Recommendation, q_t: Option<i64>) -> ScoreSheet {
        ScoreSheet {
            scores: vec![("need".into(), need), ("harm".into(), harm)],
            recommendation: rec,
            recommended_quantity: q_t.map(|t| Quantity {
                grams: t * 1_000_000,
            }),
        }
    }

    fn cand(name: &str, load: u32, conflict: bool) -> Candidate {
        Candidate {
            username: name.into(),
            open_assignments: load,
            conflict: conflict.then(|| "affiliated".to_owned()),
        }
    }

    #[test]
    fn the_same_seed_picks_the_same_experts_and_conflicts_are_never_picked() {
        let pool = vec![
            cand("a", 0, false),
            cand("b", 0, true),
            cand("c", 0, false),
            cand("d", 0, false),
            cand("e", 0, false),
        ];
        let one = pick_experts(42, 3, &pool).unwrap();
        assert_eq!(one, pick_experts(42, 3, &pool).unwrap());
        assert!(!one.contains(&"b".to_owned()));
        // Different seeds choose differently at least sometimes.
        let distinct: std::collections::BTreeSet<Vec<String>> = (0..20)
            .map(|s| pick_experts(s, 2, &pool).unwrap())
            .collect();
        assert!(distinct.len() > 1);
        assert_eq!(
            pick_experts(1, 5, &pool),
            Err(NotEnoughExperts {
                needed: 5,
                available: 4
            })
        );
    }

    #[test]
    fn assignment_balances_open_workload() {
        let pool = vec![
            cand("busy", 5, false),
            cand("free1", 0, false),
            cand("free2", 1, false),
        ];
        for seed in 0..10 {
            let got = pick_experts(seed, 2, &pool).unwrap();
            assert_eq!(got, vec!["free1".to_owned(), "free2".to_owned()]);
        }
    }

    #[test]
    fn conflict_matches_names_regardless_of_case_and_spacing() {
        let party = Party {
            names: vec!["3700BN0001".into(), "Shandong  Bohai Group".into()],
        };
        assert!(conflict(&["shandong bohai group".into()], &party).is_some());
        assert!(conflict(&["3700BN0001".into()], &party).is_some());
        assert!(conflict(&["China Agricultural University".into()], &party).is_none());
    }

    #[test]
    fn aggregate_weights_criteria_and_flags_disagreement() {
        let p = policy();
        let agg = aggregate(
            &p,
            &[
                sheet(5, 4, Recommendation::Approve, Some(100)),
                sheet(4, 4, Recommendation::Approve, Some(80)),
                sheet(3, 4, Recommendation::Approve, Some(90)),
            ],
        );
        assert_eq!(agg.criteria[0].mean_milli, 4_000);
        assert_eq!(agg.criteria[0].spread, 2);
        // 60% × 4/5 + 40% × 4/5 = 80%.
        assert_eq!(agg.overall_pct_milli, 80_000);
        assert!(agg.disagreement);
        assert_eq!(agg.recommended_min_g, Some(80_000_000));
        assert_eq!(agg.majority(), Some(Recommendation::Approve));
        let calm = aggregate(
            &p,
            &[
                sheet(4, 4, Recommendation::Approve, None),
                sheet(4, 3, Recommendation::Approve, None),
            ],
        );
        assert!(!calm.disagreement);
        // 60% × 4/5 + 40% × 3.5/5 = 48 + 28 = 76%.
        assert_eq!(calm.overall_pct_milli, 76_000);
        let split = aggregate(
            &p,
            &[
                sheet(4, 4, Recommendation::Approve, None),
                sheet(4, 4, Recommendation::Reject, None),
            ],
        );
        assert!(split.disagreement);
        assert_eq!(split.majority(), None);
    }

    #[test]
    fn score_sheets_need_every_criterion_a_rationale_and_a_quantity_within_the_request() {
        let p = policy();
        let requested = Quantity {
            grams: 100 * 1_000_000,
        };
        let mut scores = BTreeMap::new();
        scores.insert(
            "need".to_owned(),
            CriterionScore {
                score: 6,
                rationale: " ".into(),
            },
        );
        scores.insert(
            "bogus".to_owned(),
            CriterionScore {
                score: 1,
                rationale: "x".into(),
            },
        );
        let bad = ScoreSheetSpec {
            scores,
            recommendation: Recommendation::Approve,
            recommended_quantity: Some("120".into()),
        };
        let errs = bad.validate(&p, requested, QtyUnit::T).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "scores.need.score",
                "scores.need.rationale",
                "scores.harm",
                "scores.bogus",
                "recommended_quantity"
            ]
        );
    }
}
