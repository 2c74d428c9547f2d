//! Exclusion programmes (PRODUCT.md C2): one exclusion process with its legal basis, kind,
//! eligible lines, the scope of layers it lifts, application window, validity, overfill
//! tolerance, refund rule and review policy. [`ProgrammeSpec`] is the document form (JSON, the
//! API and the seed data); [`Programme`] is the parsed, validated form.

use serde::{Deserialize, Serialize};

use crate::amount::RatePpm;
use crate::codes::TariffCode;
use crate::schedule::Confidence;
use crate::time::BjTime;

/// Limits on programme documents.
pub const MAX_ID_CHARS: usize = 32;
pub const MAX_TEXT_CHARS: usize = 2_000;
pub const MAX_ELIGIBLE_LINES: usize = 10_000;
pub const MAX_CRITERIA: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeKind {
    /// A granted line is excluded for every importer (optionally with refunds).
    Product,
    /// An applicant-specific approved quantity (an allowance).
    Purchase,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundRule {
    None,
    /// Additional duty already paid is refunded (import VAT is not).
    AdditionalDuty,
}

/// One review criterion, scored on a 1..=`scale_max` scale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub key: String,
    pub name_en: String,
    #[serde(default)]
    pub name_zh: String,
    pub weight_pct: u32,
    pub scale_max: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewPolicy {
    pub criteria: Vec<Criterion>,
    pub experts_per_application: u8,
    pub review_days: u16,
}

/// A programme as written in documents: dates and codes as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeSpec {
    pub id: String,
    pub name_en: String,
    #[serde(default)]
    pub name_zh: String,
    pub legal_basis: String,
    pub kind: ProgrammeKind,
    pub eligible_lines: Vec<String>,
    pub allow_unlisted_lines: bool,
    pub lifts_scopes: Vec<String>,
    /// Beijing time, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`.
    pub applications_open: String,
    pub applications_close: Option<String>,
    pub validity_days: u32,
    /// The most an approval may exceed the approved quantity when the contract stipulates it.
    pub overfill_tolerance_pct: String,
    pub refunds: RefundRule,
    pub appeal_days: u16,
    pub review: ReviewPolicy,
    pub confidence: Confidence,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub notes: String,
}

/// A validated programme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Programme {
    pub spec: ProgrammeSpec,
    pub eligible_lines: Vec<TariffCode>,
    pub applications_open: BjTime,
    pub applications_close: Option<BjTime>,
    pub overfill_tolerance: RatePpm,
}

/// A field of a programme that is wrong, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpecError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.message)
    }
}

fn err(field: &str, message: impl Into<String>) -> SpecError {
    SpecError {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn text(field: &str, v: &str, required: bool) -> Result<(), SpecError> {
    if required && v.trim().is_empty() {
        return Err(err(field, "is required"));
    }
    if v.chars().count() > MAX_TEXT_CHARS {
        return Err(err(
            field,
            format!("is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

impl ProgrammeSpec {
    /// Validates every field; the first problem is reported with its field name.
    pub fn validate(self) -> Result<Programme, SpecError> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= MAX_ID_CHARS
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(err("id", format!("`{}` must be 1 to {MAX_ID_CHARS} capital letters, digits or `-`, e.g. CN-2020-MKT", self.id)));
        }
        text("name_en", &self.name_en, true)?;
        text("name_zh", &self.name_zh, false)?;
        text("legal_basis", &self.legal_basis, true)?;
        text("notes", &self.notes, false)?;
        if self.eligible_lines.len() > MAX_ELIGIBLE_LINES {
            return Err(err(
                "eligible_lines",
                format!("at most {MAX_ELIGIBLE_LINES} lines"),
            ));
        }
        let eligible_lines = self
            .eligible_lines
            .iter()
            .enumerate()
            .map(|(i, c)| {
                TariffCode::parse(c)
                    .map_err(|e| err(&format!("eligible_lines[{i}]"), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.lifts_scopes.is_empty()
            || self
                .lifts_scopes
                .iter()
                .any(|s| s.trim().is_empty() || s.len() > 32)
        {
            return Err(err(
                "lifts_scopes",
                "name the scope tags of the layers the programme lifts, e.g. [\"l301\"]",
            ));
        }
        let open = BjTime::parse_instant(&self.applications_open)
            .map_err(|e| err("applications_open", e.to_string()))?;
        let close = match &self.applications_close {
            Some(c) => {
                let t = BjTime::parse_instant(c)
                    .map_err(|e| err("applications_close", e.to_string()))?;
                if t <= open {
                    return Err(err(
                        "applications_close",
                        format!("must be after applications_open ({open})"),
                    ));
                }
                Some(t)
            }
            None => None,
        };
        if !(1..=3660).contains(&self.validity_days) {
            return Err(err("validity_days", "must be 1 to 3660 days"));
        }
        let overfill_tolerance = RatePpm::parse_pct(&self.overfill_tolerance_pct)
            .map_err(|e| err("overfill_tolerance_pct", e.to_string()))?;
        if overfill_tolerance.0 > 500_000 {
            return Err(err("overfill_tolerance_pct", "must be at most 50%"));
        }
        if !(1..=365).contains(&self.appeal_days) {
            return Err(err("appeal_days", "must be 1 to 365 days"));
        }
        let r = &self.review;
        if r.criteria.is_empty() || r.criteria.len() > MAX_CRITERIA {
            return Err(err(
                "review.criteria",
                format!("list 1 to {MAX_CRITERIA} criteria"),
            ));
        }
        for (i, c) in r.criteria.iter().enumerate() {
            let f = |name: &str| format!("review.criteria[{i}].{name}");
            if c.key.is_empty()
                || c.key.len() > 32
                || !c.key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                return Err(err(&f("key"), "1 to 32 lower-case letters or `_`"));
            }
            text(&f("name_en"), &c.name_en, true)?;
            if !(2..=5).contains(&c.scale_max) {
                return Err(err(&f("scale_max"), "scales run from 1 to 2..5"));
            }
            if r.criteria[..i].iter().any(|o| o.key == c.key) {
                return Err(err(&f("key"), format!("`{}` is used twice", c.key)));
            }
        }
        let total: u32 = r.criteria.iter().map(|c| c.weight_pct).sum();
        if total != 100 {
            return Err(err(
                "review.criteria",
                format!("weights must add up to 100; they add up to {total}"),
            ));
        }
        if !(1..=9).contains(&r.experts_per_application) {
            return Err(err("review.experts_per_application", "1 to 9 experts"));
        }
        if !(1..=180).contains(&r.review_days) {
            return Err(err("review.review_days", "1 to 180 days"));
        }
        Ok(Programme {
            eligible_lines,
            applications_open: open,
            applications_close: close,
            overfill_tolerance,
            spec: self,
        })
    }
}

impl Programme {
    /// Whether applications are accepted at `at`.
    pub fn window_open_at(&self, at: BjTime) -> bool {
        self.applications_open <= at && self.applications_close.is_none_or(|c| at < c)
    }
    pub fn is_eligible(&self, code: &TariffCode) -> bool {
        self.eligible_lines
            .iter()
            .any(|l| l == code || code.parent8().as_ref() == Some(l))
    }
}

/// The three real programmes (`data/programmes.json`, from `../shared/data`).
pub const SEED_JSON: &str = include_str!("../../../data/programmes.json");

/// Parses and validates the seed programmes.
pub fn seed_programmes() -> Result<Vec<Programme>, SpecError> {
    let specs: Vec<ProgrammeSpec> =
        serde_json::from_str(SEED_JSON).map_err(|e| err("data/programmes.json", e.to_string()))?;
    specs.into_iter().map(ProgrammeSpec::validate).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_real_programmes_are_valid() {
        let p = seed_programmes().unwrap();
        let ids: Vec<&str> = p.iter().map(|p| p.spec.id.as_str()).collect();
        assert_eq!(ids, ["CN-2019-R1", "CN-2019-R2", "CN-2020-MKT"]);
        let mkt = &p[2];
        assert_eq!(mkt.spec.kind, ProgrammeKind::Purchase);
        assert_eq!(mkt.overfill_tolerance, RatePpm(100_000));
        assert!(mkt.window_open_at(BjTime::parse_instant("2020-03-02").unwrap()));
        assert!(!mkt.window_open_at(BjTime::parse_instant("2020-03-01T23:59").unwrap()));
        assert!(mkt.is_eligible(&TariffCode::parse("1201909000").unwrap()));
    }

    #[test]
    fn bad_specs_name_the_field() {
        let good = seed_programmes().unwrap().remove(2).spec;
        let mut s = good.clone();
        s.review.criteria[0].weight_pct += 1;
        assert_eq!(s.validate().unwrap_err().field, "review.criteria");
        let mut s = good.clone();
        s.eligible_lines.push("1201".into());
        assert!(s
            .validate()
            .unwrap_err()
            .field
            .starts_with("eligible_lines["));
        let mut s = good.clone();
        s.applications_close = Some("2019-01-01".into());
        assert_eq!(s.validate().unwrap_err().field, "applications_close");
        let mut s = good;
        s.id = "cn 2020".into();
        assert_eq!(s.validate().unwrap_err().field, "id");
    }
}
