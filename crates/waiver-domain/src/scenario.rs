//! What-if scenarios: a named overlay of measure changes on the schedule — add a layer, remove
//! one, change a layer's rate or dates — validated field by field against the schedule, and
//! applied to give a new [`Schedule`] that the engine, landed cost and replay use unchanged.
//!
//! - [`ScenarioSpec`] is the JSON document (stored, versioned, sent over the API, read from a
//!   file by the CLI). [`ScenarioSpec::validate`] checks every change and reports every problem
//!   with its field (`changes[2].duty`), value and fix.
//! - [`Scenario::apply`] builds the overlaid schedule; an empty overlay gives the same measures.
//! - [`replay`] assesses declaration lines under the actual schedule and a scenario and totals
//!   the duty per line and per month.
//!
//! The overlay never re-implements duty rules: it only edits the list of measures.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::amount::Fen;
use crate::codes::CountryCode;
use crate::engine::{assess, AssessError, Lift, LineInput};
use crate::schedule::{
    Confidence, GoodsSelector, Measure, MeasureKind, OriginSelector, Role, Schedule, Validity,
};
use crate::schedule_csv::{goods, instant, parse_duty};
use crate::time::Month;

/// At most this many changes in one scenario.
pub const MAX_CHANGES: usize = 100;
/// Longest scenario name, in characters.
pub const MAX_NAME_CHARS: usize = 120;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Longest free-text field of a change (legal basis, note, scope), in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Most declaration lines one replay accepts.
pub const MAX_REPLAY_LINES: usize = 10_000;

/// The scenario document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub changes: Vec<ChangeSpec>,
}

/// One change to the schedule's measures, as written in the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeSpec {
    /// A new measure (usually an additional layer).
    Add {
        /// A new measure id (at most 64 letters, digits, `-`, `_`, `.`), unused in the schedule.
        id: String,
        /// `*`, `class:NAME`, or tariff codes/prefixes separated by `;`.
        goods: String,
        /// A country code or `*`.
        origin: String,
        /// `additional`, `mfn`, `provisional`, `anti_dumping`, … (the schedule's kinds).
        kind: String,
        /// `25%`, `0.5 CNY/kg`, `10% + 0.5 CNY/kg`.
        duty: String,
        /// Beijing instant: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`.
        start: String,
        /// Exclusive end; absent or empty: open-ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end: Option<String>,
        #[serde(default)]
        legal_basis: String,
        /// Scope tag (what an exclusion programme lifts); default `scenario`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// Whether an exclusion lifts it (additional layers only).
        #[serde(default)]
        excludable: bool,
        #[serde(default)]
        note: String,
    },
    /// Drop a measure of the schedule.
    Remove { measure: String },
    /// Change a measure's duty, start or end (absent: unchanged; `end: ""`: open-ended).
    Change {
        measure: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duty: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end: Option<String>,
    },
}

/// One problem in a scenario document: the field, the value given, and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioProblem {
    pub field: String,
    pub value: String,
    pub message: String,
}

impl fmt::Display for ScenarioProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.field)?;
        if !self.value.is_empty() {
            write!(f, ", value `{}`", self.value)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a scenario document (at most 100 are listed).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub struct ScenarioError {
    pub problems: Vec<ScenarioProblem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the scenario is invalid ({} problem(s))",
            self.problems.len()
        )?;
        for p in &self.problems {
            write!(f, "; {p}")?;
        }
        Ok(())
    }
}

/// A validated change.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Edit {
    Add(Measure),
    Remove(String),
    Change {
        id: String,
        duty: Option<crate::schedule::DutyExpr>,
        validity: Validity,
    },
}

/// A scenario validated against a schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub spec: ScenarioSpec,
    changes: Vec<Edit>,
}

struct Problems(Vec<ScenarioProblem>);

impl Problems {
    fn add(&mut self, field: String, value: &str, message: impl Into<String>) {
        if self.0.len() < 100 {
            let mut v: String = value.chars().take(80).collect();
            if value.chars().count() > 80 {
                v.push('…');
            }
            self.0.push(ScenarioProblem {
                field,
                value: v,
                message: message.into(),
            });
        }
    }
}

fn text_ok(p: &mut Problems, field: String, v: &str, max: usize) {
    if v.chars().count() > max {
        p.add(field, v, format!("at most {max} characters; shorten it"));
    } else if v.chars().any(char::is_control) {
        p.add(field, v, "control characters are not allowed; remove them");
    }
}

fn id_ok(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim)
}

impl ScenarioSpec {
    /// Checks every field against the schedule; returns every problem at once.
    pub fn validate(self, schedule: &Schedule) -> Result<Scenario, ScenarioError> {
        let mut p = Problems(Vec::new());
        let name = self.name.trim();
        if name.is_empty() {
            p.add(
                "name".into(),
                "",
                "give the scenario a name, e.g. `No 2025 layers`",
            );
        }
        text_ok(&mut p, "name".into(), name, MAX_NAME_CHARS);
        text_ok(
            &mut p,
            "description".into(),
            &self.description.replace(['\n', '\r', '\t'], " "),
            MAX_DESCRIPTION_CHARS,
        );
        if self.changes.len() > MAX_CHANGES {
            p.add(
                "changes".into(),
                &self.changes.len().to_string(),
                format!("at most {MAX_CHANGES} changes; split the scenario"),
            );
            return Err(ScenarioError { problems: p.0 });
        }
        let mut changes = Vec::with_capacity(self.changes.len());
        // Which measure ids a change already touched (removed, changed or added), by change index.
        let mut touched: BTreeMap<String, usize> = BTreeMap::new();
        for (i, c) in self.changes.iter().enumerate() {
            let f = |name: &str| format!("changes[{i}].{name}");
            match c {
                ChangeSpec::Remove { measure } => {
                    let id = measure.trim();
                    if schedule.measure(id).is_none() {
                        p.add(f("measure"), id, "no such measure in the schedule; `waiver tariff CODE --origin XX --json` lists the ids in force");
                    } else if let Some(prev) = touched.insert(id.to_owned(), i) {
                        p.add(
                            f("measure"),
                            id,
                            format!(
                                "already changed by changes[{prev}]; give each measure one change"
                            ),
                        );
                    } else {
                        changes.push(Edit::Remove(id.to_owned()));
                    }
                }
                ChangeSpec::Change {
                    measure,
                    duty,
                    start,
                    end,
                } => {
                    let id = measure.trim();
                    let Some(m) = schedule.measure(id) else {
                        p.add(f("measure"), id, "no such measure in the schedule; `waiver tariff CODE --origin XX --json` lists the ids in force");
                        continue;
                    };
                    if let Some(prev) = touched.insert(id.to_owned(), i) {
                        p.add(
                            f("measure"),
                            id,
                            format!(
                                "already changed by changes[{prev}]; give each measure one change"
                            ),
                        );
                        continue;
                    }
                    if duty.is_none() && start.is_none() && end.is_none() {
                        p.add(
                            f("measure"),
                            id,
                            "nothing to change; give `duty`, `start` or `end` (or use op `remove`)",
                        );
                        continue;
                    }
                    let duty = match given(duty) {
                        None => Ok(None),
                        Some(d) => parse_duty(d).map(Some).map_err(|e| p.add(f("duty"), d, e)),
                    };
                    let start_v = match given(start) {
                        None => Ok(m.validity.start),
                        Some(s) => instant(s).map_err(|e| p.add(f("start"), s, e)),
                    };
                    let end_v = match given(end) {
                        None => Ok(m.validity.end),
                        Some("") => Ok(None),
                        Some(s) => instant(s).map(Some).map_err(|e| p.add(f("end"), s, e)),
                    };
                    if let (Ok(duty), Ok(start_t), Ok(end_t)) = (duty, start_v, end_v) {
                        if end_t.is_some_and(|e| e <= start_t) {
                            let start = start_t;
                            p.add(
                                f("end"),
                                &end_t.map(|e| e.to_string()).unwrap_or_default(),
                                format!("the end must be after the start ({start}); the end is exclusive"),
                            );
                            continue;
                        }
                        changes.push(Edit::Change {
                            id: id.to_owned(),
                            duty,
                            validity: Validity {
                                start: start_t,
                                end: end_t,
                            },
                        });
                    }
                }
                ChangeSpec::Add {
                    id,
                    goods: g,
                    origin,
                    kind,
                    duty,
                    start,
                    end,
                    legal_basis,
                    scope,
                    excludable,
                    note,
                } => {
                    let id = id.trim();
                    let id_v = if !id_ok(id) {
                        p.add(
                            f("id"),
                            id,
                            "an id is 1 to 64 letters, digits, `-`, `_` or `.`",
                        );
                        None
                    } else if schedule.measure(id).is_some() {
                        p.add(f("id"), id, "the schedule already has a measure with this id; choose a new id (or use op `change`)");
                        None
                    } else if let Some(prev) = touched.insert(id.to_owned(), i) {
                        p.add(
                            f("id"),
                            id,
                            format!("already used by changes[{prev}]; ids must be unique"),
                        );
                        None
                    } else {
                        Some(id.to_owned())
                    };
                    let goods_v = goods(g.trim()).map_err(|e| p.add(f("goods"), g, e)).ok();
                    if let Some(GoodsSelector::Codes(codes)) = &goods_v {
                        if !schedule
                            .lines()
                            .iter()
                            .any(|l| codes.iter().any(|c| c.matches(&l.code)))
                        {
                            p.add(f("goods"), g, "no tariff line of the schedule falls under these codes; check the codes");
                        }
                    }
                    let origin_v = match origin.trim() {
                        "*" => Some(OriginSelector::All),
                        o => CountryCode::parse(o)
                            .map(OriginSelector::Country)
                            .map_err(|e| {
                                p.add(f("origin"), o, format!("{e}, or `*` for every origin"))
                            })
                            .ok(),
                    };
                    let kind_v = MeasureKind::parse(kind).or_else(|| {
                        let all: Vec<&str> = MeasureKind::ALL.iter().map(|k| k.as_str()).collect();
                        p.add(
                            f("kind"),
                            kind,
                            format!("unknown kind; use one of {}", all.join(", ")),
                        );
                        None
                    });
                    let duty_v = parse_duty(duty).map_err(|e| p.add(f("duty"), duty, e)).ok();
                    let start_v = instant(start.trim())
                        .map_err(|e| p.add(f("start"), start, e))
                        .ok();
                    let end_v = match given(end) {
                        None | Some("") => Some(None),
                        Some(s) => instant(s).map(Some).map_err(|e| p.add(f("end"), s, e)).ok(),
                    };
                    text_ok(&mut p, f("legal_basis"), legal_basis, MAX_TEXT_CHARS);
                    text_ok(&mut p, f("note"), note, MAX_TEXT_CHARS);
                    let scope = given(scope).filter(|s| !s.is_empty()).unwrap_or("scenario");
                    if !id_ok(scope) {
                        p.add(
                            f("scope"),
                            scope,
                            "a scope tag is 1 to 64 letters, digits, `-`, `_` or `.`",
                        );
                    }
                    if let Some(k) = kind_v {
                        if *excludable && k.role() != Role::Additional {
                            p.add(f("excludable"), "true", format!("a {} measure cannot be excludable; only additional layers are lifted by exclusions", k.as_str()));
                        }
                    }
                    if let (Some(s), Some(Some(e))) = (start_v, end_v) {
                        if e <= s {
                            p.add(
                                f("end"),
                                given(end).unwrap_or(""),
                                format!(
                                    "the end must be after the start ({s}); the end is exclusive"
                                ),
                            );
                            continue;
                        }
                    }
                    if let (
                        Some(id),
                        Some(goods),
                        Some(origin),
                        Some(kind),
                        Some(duty),
                        Some(start),
                        Some(end),
                    ) = (id_v, goods_v, origin_v, kind_v, duty_v, start_v, end_v)
                    {
                        changes.push(Edit::Add(Measure {
                            id,
                            goods,
                            origin,
                            kind,
                            duty,
                            validity: Validity { start, end },
                            legal_basis: if legal_basis.trim().is_empty() {
                                format!("scenario: {name}")
                            } else {
                                legal_basis.trim().to_owned()
                            },
                            scope: scope.to_owned(),
                            excludable: *excludable,
                            grace: None,
                            confidence: Confidence::Unverified,
                            source: format!("scenario: {name}"),
                            note: note.trim().to_owned(),
                        }));
                    }
                }
            }
        }
        if p.0.is_empty() {
            // An added or changed measure may not duplicate another of the same kind and scope.
            let scenario = Scenario {
                spec: self.clone(),
                changes,
            };
            let measures = scenario.measures(schedule);
            for (i, c) in scenario.changes.iter().enumerate() {
                let id = match c {
                    Edit::Add(m) => &m.id,
                    Edit::Change { id, .. } => id,
                    Edit::Remove(_) => continue,
                };
                let Some(m) = measures.iter().find(|m| &m.id == id) else {
                    continue;
                };
                if let Some(o) = measures.iter().find(|o| o.id != m.id && clash(o, m)) {
                    let index = touched.get(id).copied().unwrap_or(i);
                    p.add(
                        format!("changes[{index}].start"),
                        &m.validity.start.to_string(),
                        format!("overlaps measure {} of the same kind and scope for the same goods, origin and time; end one before the other starts, narrow the goods, or remove {}", o.id, o.id),
                    );
                }
            }
            if p.0.is_empty() {
                return Ok(scenario);
            }
        }
        Err(ScenarioError { problems: p.0 })
    }
}

fn clash(o: &Measure, m: &Measure) -> bool {
    o.kind == m.kind
        && o.scope == m.scope
        && (m.kind.role() != Role::Additional || o.legal_basis == m.legal_basis)
        && o.goods.intersects(&m.goods)
        && o.origin.intersects(&m.origin)
        && o.validity.overlaps(&m.validity)
}

impl Scenario {
    /// The scenario's measures: the schedule's, changed and removed as the overlay says, then
    /// the added ones. A change naming a measure the schedule lacks is skipped (validation
    /// against the same schedule rules that out).
    pub fn measures(&self, schedule: &Schedule) -> Vec<Measure> {
        let mut out: Vec<Measure> =
            Vec::with_capacity(schedule.measures().len() + self.changes.len());
        for m in schedule.measures() {
            let mut m2 = None;
            let mut removed = false;
            for c in &self.changes {
                match c {
                    Edit::Remove(id) if *id == m.id => removed = true,
                    Edit::Change { id, duty, validity } if *id == m.id => {
                        let mut n = m.clone();
                        if let Some(d) = duty {
                            n.duty = *d;
                        }
                        n.validity = *validity;
                        m2 = Some(n);
                    }
                    _ => {}
                }
            }
            if !removed {
                out.push(m2.unwrap_or_else(|| m.clone()));
            }
        }
        out.extend(self.changes.iter().filter_map(|c| match c {
            Edit::Add(m) => Some(m.clone()),
            _ => None,
        }));
        out
    }

    /// The schedule with this overlay applied.
    pub fn apply(&self, schedule: &Schedule) -> Schedule {
        schedule.with_measures(self.measures(schedule))
    }

    /// How many changes the overlay makes.
    pub fn len(&self) -> usize {
        self.changes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// One declaration line to replay: the engine input and whether an exclusion applied to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayLine {
    pub input: LineInput,
    /// Every excludable layer lifted (the importer held an exclusion).
    pub excluded: bool,
}

/// Duty and VAT of one line under one schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Owed {
    /// Base plus additional duty.
    pub duty_cny: Fen,
    pub vat_cny: Fen,
    pub total_cny: Fen,
}

/// One line's duty, actual and under the scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineReplay {
    /// Position in the input (0-based).
    pub index: usize,
    pub month: String,
    pub actual: Option<Owed>,
    pub scenario: Option<Owed>,
    /// Scenario duty minus actual duty (both assessed).
    pub duty_difference_cny: Option<Fen>,
    /// Why a side could not be assessed (the engine's message), if it could not.
    pub error: Option<String>,
}

/// Totals of one month over the lines assessed under both schedules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthReplay {
    pub month: String,
    pub lines: u32,
    pub actual_duty_cny: Fen,
    pub scenario_duty_cny: Fen,
    pub actual_vat_cny: Fen,
    pub scenario_vat_cny: Fen,
    pub duty_difference_cny: Fen,
}

/// The replay of a set of lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replay {
    pub lines: Vec<LineReplay>,
    pub months: Vec<MonthReplay>,
    pub actual_duty_cny: Fen,
    pub scenario_duty_cny: Fen,
    pub duty_difference_cny: Fen,
    /// Lines not assessed under one of the schedules (listed in `lines` with their error).
    pub not_assessed: u32,
}

fn owed(s: &Schedule, l: &ReplayLine) -> Result<Owed, AssessError> {
    let lift = if l.excluded {
        Lift::AllExcludable
    } else {
        Lift::Nothing
    };
    let a = assess(s, &l.input, lift)?;
    Ok(Owed {
        duty_cny: a.duty(),
        vat_cny: a.vat,
        total_cny: a.total,
    })
}

/// Assesses each line under the actual schedule and under the scenario's, and totals the duty
/// per month of declaration. A line that cannot be assessed under either is kept in `lines`
/// with the engine's message and left out of the totals — never dropped silently.
pub fn replay(actual: &Schedule, scenario: &Schedule, lines: &[ReplayLine]) -> Replay {
    let mut out = Vec::with_capacity(lines.len());
    let mut months: BTreeMap<Month, MonthReplay> = BTreeMap::new();
    let mut not_assessed = 0;
    for (index, l) in lines.iter().enumerate() {
        let month = l.input.declared_at.month();
        let a = owed(actual, l);
        let s = owed(scenario, l);
        let error = match (&a, &s) {
            (Err(e), _) | (_, Err(e)) => Some(e.to_string()),
            _ => None,
        };
        let diff = match (&a, &s) {
            (Ok(a), Ok(s)) => {
                let m = months.entry(month).or_insert_with(|| MonthReplay {
                    month: month.to_string(),
                    lines: 0,
                    actual_duty_cny: Fen(0),
                    scenario_duty_cny: Fen(0),
                    actual_vat_cny: Fen(0),
                    scenario_vat_cny: Fen(0),
                    duty_difference_cny: Fen(0),
                });
                m.lines += 1;
                m.actual_duty_cny = m.actual_duty_cny + a.duty_cny;
                m.scenario_duty_cny = m.scenario_duty_cny + s.duty_cny;
                m.actual_vat_cny = m.actual_vat_cny + a.vat_cny;
                m.scenario_vat_cny = m.scenario_vat_cny + s.vat_cny;
                m.duty_difference_cny = m.scenario_duty_cny - m.actual_duty_cny;
                Some(s.duty_cny - a.duty_cny)
            }
            _ => {
                not_assessed += 1;
                None
            }
        };
        out.push(LineReplay {
            index,
            month: month.to_string(),
            actual: a.ok(),
            scenario: s.ok(),
            duty_difference_cny: diff,
            error,
        });
    }
    let months: Vec<MonthReplay> = months.into_values().collect();
    let actual_duty = Fen(months.iter().map(|m| m.actual_duty_cny.0).sum());
    let scenario_duty = Fen(months.iter().map(|m| m.scenario_duty_cny.0).sum());
    Replay {
        lines: out,
        months,
        actual_duty_cny: actual_duty,
        scenario_duty_cny: scenario_duty,
        duty_difference_cny: scenario_duty - actual_duty,
        not_assessed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::{Money, Quantity};
    use crate::codes::{Currency, Origin, TariffCode};
    use crate::schedule_csv::demo_schedule;

    fn spec(json: &str) -> ScenarioSpec {
        serde_json::from_str(json).unwrap()
    }

    fn line(at: &str, origin: &str) -> ReplayLine {
        let (t, p) = BjTime::parse(at).unwrap();
        ReplayLine {
            input: LineInput {
                code: TariffCode::parse("12019010").unwrap(),
                origin: Origin::parse(origin).unwrap(),
                declared_at: t,
                declared_precision: p,
                shipped_on: None,
                quantity: Quantity {
                    grams: 60_000_000_000,
                },
                customs_value: Money {
                    minor: 2_400_000_000,
                    currency: Currency::CNY,
                },
                in_quota: false,
            },
            excluded: false,
        }
    }

    use crate::time::BjTime;

    #[test]
    fn an_empty_overlay_is_identity() {
        let s = demo_schedule().unwrap();
        let sc = spec(r#"{"name":"nothing","changes":[]}"#)
            .validate(&s)
            .unwrap();
        assert!(sc.is_empty());
        assert_eq!(sc.apply(&s).measures(), s.measures());
    }

    #[test]
    fn remove_change_and_add_reach_the_engine() {
        let s = demo_schedule().unwrap();
        let sc = spec(
            r#"{"name":"What if","changes":[
                {"op":"remove","measure":"L301-1-soy"},
                {"op":"change","measure":"L301-4A-soy-halved","duty":"10%","end":"2021-01-01"},
                {"op":"add","id":"X-br","goods":"1201","origin":"BR","kind":"additional","duty":"5%","start":"2020-06-01","end":"2020-12-01"}
            ]}"#,
        )
        .validate(&s)
        .unwrap();
        let t = sc.apply(&s);
        assert!(t.measure("L301-1-soy").is_none());
        assert_eq!(
            t.measure("L301-4A-soy-halved").unwrap().duty.ad_valorem.0,
            100_000
        );
        assert_eq!(
            t.measure("X-br").unwrap().confidence,
            Confidence::Unverified
        );
        let r = replay(
            &s,
            &t,
            &[
                line("2020-07-15", "US"),
                line("2020-07-15", "BR"),
                line("2021-03-15", "US"),
            ],
        );
        // US July 2020: actual 3% + 25% + 2.5% = 30.5%; scenario 3% + 10% = 13%.
        assert_eq!(r.lines[0].actual.unwrap().duty_cny, Fen(732_000_000));
        assert_eq!(r.lines[0].scenario.unwrap().duty_cny, Fen(312_000_000));
        // Brazil: 3% actual, 8% with the added layer.
        assert_eq!(r.lines[1].duty_difference_cny, Some(Fen(120_000_000)));
        // US March 2021: the halved layer ended in the scenario: 3% only.
        assert_eq!(r.lines[2].scenario.unwrap().duty_cny, Fen(72_000_000));
        assert_eq!(r.months.len(), 2);
        assert_eq!(r.months[0].lines, 2);
        assert_eq!(
            r.duty_difference_cny,
            r.scenario_duty_cny - r.actual_duty_cny
        );
        assert_eq!(r.not_assessed, 0);
    }

    #[test]
    fn every_problem_names_field_value_and_fix() {
        let s = demo_schedule().unwrap();
        let e = spec(
            r#"{"name":"","changes":[
                {"op":"remove","measure":"NOPE"},
                {"op":"change","measure":"L301-1-soy","duty":"25 percent"},
                {"op":"change","measure":"L301-4A-soy","start":"2019-09-01","end":"2019-08-01"},
                {"op":"add","id":"MFN-12019010","goods":"9999","origin":"XX","kind":"extra","duty":"5%","start":"someday"},
                {"op":"add","id":"ok","goods":"1201","origin":"US","kind":"mfn","duty":"5%","start":"2020-01-01","excludable":true},
                {"op":"remove","measure":"L301-1-soy"}
            ]}"#,
        )
        .validate(&s)
        .unwrap_err();
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        for f in [
            "name",
            "changes[0].measure",
            "changes[1].duty",
            "changes[2].end",
            "changes[3].id",
            "changes[3].goods",
            "changes[3].origin",
            "changes[3].kind",
            "changes[3].start",
            "changes[4].excludable",
            "changes[5].measure",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        let p = &e.problems[1];
        assert_eq!(p.value, "NOPE");
        assert!(p.message.contains("waiver tariff"), "{p}");
        assert!(e.to_string().contains("changes[5].measure"));
    }

    #[test]
    fn an_added_duplicate_layer_is_refused() {
        let s = demo_schedule().unwrap();
        let e = spec(r#"{"name":"dup","changes":[{"op":"add","id":"dup-mfn","goods":"12019010","origin":"*","kind":"mfn","duty":"5%","start":"2020-01-01","scope":"base"}]}"#)
            .validate(&s)
            .unwrap_err();
        assert_eq!(e.problems[0].field, "changes[0].start");
        assert!(e.problems[0].message.contains("MFN-12019010"));
    }

    #[test]
    fn limits_on_counts_and_lengths() {
        let s = demo_schedule().unwrap();
        let many = (0..=MAX_CHANGES)
            .map(|_| r#"{"op":"remove","measure":"L301-1-soy"}"#)
            .collect::<Vec<_>>()
            .join(",");
        let e = spec(&format!(r#"{{"name":"many","changes":[{many}]}}"#))
            .validate(&s)
            .unwrap_err();
        assert_eq!(e.problems[0].field, "changes");
        let long = "n".repeat(MAX_NAME_CHARS + 1);
        let e = spec(&format!(r#"{{"name":"{long}","changes":[]}}"#))
            .validate(&s)
            .unwrap_err();
        assert_eq!(e.problems[0].field, "name");
        assert!(e.problems[0].value.ends_with('…'));
        assert!(serde_json::from_str::<ScenarioSpec>(
            r#"{"name":"x","changes":[{"op":"remove","measure":"a","rate":"1%"}]}"#
        )
        .is_err());
        assert!(
            serde_json::from_str::<ScenarioSpec>(r#"{"name":"x","changes":[],"extra":1}"#).is_err()
        );
    }

    #[test]
    fn a_line_not_assessable_is_kept_with_its_reason() {
        let s = demo_schedule().unwrap();
        let sc = spec(r#"{"name":"no MFN","changes":[{"op":"remove","measure":"MFN-12019010"}]}"#)
            .validate(&s)
            .unwrap();
        let r = replay(&s, &sc.apply(&s), &[line("2020-07-15", "BR")]);
        assert_eq!(r.not_assessed, 1);
        assert!(r.lines[0].actual.is_some());
        assert!(r.lines[0].error.as_deref().unwrap().contains("base"));
        assert!(r.months.is_empty());
    }
}
