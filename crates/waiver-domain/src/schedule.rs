//! The effective-dated tariff schedule: nomenclature lines, measures in layers, and the monthly
//! customs exchange-rate table, indexed for sub-microsecond look-ups.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::amount::{FxRate, QtyUnit, RatePpm};
use crate::codes::{CodePrefix, CountryCode, Currency, Origin, TariffCode};
use crate::time::{BjTime, Month};

/// How far to trust a figure, carried from the reference data to every output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    Sourced,
    SingleSource,
    Inferred,
    Unverified,
    Approximate,
}

impl Confidence {
    pub fn parse(raw: &str) -> Option<Confidence> {
        Some(match raw.trim() {
            "sourced" => Confidence::Sourced,
            "single-source" => Confidence::SingleSource,
            "inferred" => Confidence::Inferred,
            "unverified" => Confidence::Unverified,
            "approximate" => Confidence::Approximate,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Sourced => "sourced",
            Confidence::SingleSource => "single-source",
            Confidence::Inferred => "inferred",
            Confidence::Unverified => "unverified",
            Confidence::Approximate => "approximate",
        }
    }
}

/// What a measure is; its [`Role`] decides how it combines with others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    Mfn,
    Provisional,
    OutOfQuota,
    General,
    Additional,
    AntiDumpingDeposit,
    AntiDumping,
    Countervailing,
    Safeguard,
    SafeguardOverQuota,
    Vat,
}

/// How a kind of measure enters an assessment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// One base rate per line: provisional over MFN; out-of-quota for quota goods not declared in quota.
    Base,
    /// Layers that add to the base ("calculated in aggregate").
    Additional,
    /// Applies only when a condition outside the declaration holds (e.g. a safeguard quota is full).
    Conditional,
    /// Import VAT on customs value plus duties.
    Vat,
}

impl MeasureKind {
    pub const ALL: [MeasureKind; 11] = [
        MeasureKind::Mfn,
        MeasureKind::Provisional,
        MeasureKind::OutOfQuota,
        MeasureKind::General,
        MeasureKind::Additional,
        MeasureKind::AntiDumpingDeposit,
        MeasureKind::AntiDumping,
        MeasureKind::Countervailing,
        MeasureKind::Safeguard,
        MeasureKind::SafeguardOverQuota,
        MeasureKind::Vat,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            MeasureKind::Mfn => "mfn",
            MeasureKind::Provisional => "provisional",
            MeasureKind::OutOfQuota => "out_of_quota",
            MeasureKind::General => "general",
            MeasureKind::Additional => "additional",
            MeasureKind::AntiDumpingDeposit => "anti_dumping_deposit",
            MeasureKind::AntiDumping => "anti_dumping",
            MeasureKind::Countervailing => "countervailing",
            MeasureKind::Safeguard => "safeguard",
            MeasureKind::SafeguardOverQuota => "safeguard_over_quota",
            MeasureKind::Vat => "vat",
        }
    }
    pub fn parse(raw: &str) -> Option<MeasureKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw.trim())
    }
    pub fn role(self) -> Role {
        match self {
            MeasureKind::Mfn
            | MeasureKind::Provisional
            | MeasureKind::OutOfQuota
            | MeasureKind::General => Role::Base,
            MeasureKind::SafeguardOverQuota => Role::Conditional,
            MeasureKind::Vat => Role::Vat,
            _ => Role::Additional,
        }
    }
}

/// An amount of CNY per unit of quantity, to 10⁻⁴ CNY.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PerUnit {
    pub cny_e4: i64,
    pub unit: QtyUnit,
}

/// A duty expression: ad valorem, specific, or both (compound), optionally bounded per unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct DutyExpr {
    pub ad_valorem: RatePpm,
    pub specific: Option<PerUnit>,
    pub min: Option<PerUnit>,
    pub max: Option<PerUnit>,
}

impl DutyExpr {
    pub fn ad_valorem(rate: RatePpm) -> Self {
        DutyExpr {
            ad_valorem: rate,
            specific: None,
            min: None,
            max: None,
        }
    }
    pub fn is_pure_ad_valorem(&self) -> bool {
        self.specific.is_none() && self.min.is_none() && self.max.is_none()
    }
}

impl fmt::Display for DutyExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pu = |p: &PerUnit| {
            format!(
                "{} CNY/{}",
                crate::amount::format_scaled(i128::from(p.cny_e4), 4, 0),
                p.unit.as_str()
            )
        };
        match (&self.specific, self.ad_valorem.0) {
            (Some(s), 0) => f.write_str(&pu(s))?,
            (Some(s), _) => write!(f, "{} + {}", self.ad_valorem, pu(s))?,
            (None, _) => write!(f, "{}", self.ad_valorem)?,
        }
        if let Some(m) = &self.min {
            write!(f, " min {}", pu(m))?;
        }
        if let Some(m) = &self.max {
            write!(f, " max {}", pu(m))?;
        }
        Ok(())
    }
}
impl Serialize for DutyDisplay<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}
/// Serialises a duty expression as its text form (`25%`, `10% + 0.5 CNY/kg`).
pub struct DutyDisplay<'a>(pub &'a DutyExpr);

/// Which goods a measure covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GoodsSelector {
    All,
    Codes(Vec<CodePrefix>),
    /// Every line of a VAT class (used by VAT measures).
    VatClass(String),
}

impl GoodsSelector {
    pub fn matches(&self, line: &TariffLine) -> bool {
        match self {
            GoodsSelector::All => true,
            GoodsSelector::Codes(ps) => ps.iter().any(|p| p.matches(&line.code)),
            GoodsSelector::VatClass(c) => *c == line.vat_class,
        }
    }
    pub fn intersects(&self, other: &GoodsSelector) -> bool {
        match (self, other) {
            (GoodsSelector::All, _) | (_, GoodsSelector::All) => true,
            (GoodsSelector::Codes(a), GoodsSelector::Codes(b)) => {
                a.iter().any(|x| b.iter().any(|y| x.intersects(y)))
            }
            (GoodsSelector::VatClass(a), GoodsSelector::VatClass(b)) => a == b,
            // A class and a code list may overlap; treat as intersecting to stay safe.
            _ => true,
        }
    }
}
impl fmt::Display for GoodsSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoodsSelector::All => f.write_str("*"),
            GoodsSelector::VatClass(c) => write!(f, "class:{c}"),
            GoodsSelector::Codes(ps) => {
                for (i, p) in ps.iter().enumerate() {
                    if i > 0 {
                        f.write_str(";")?;
                    }
                    f.write_str(p.as_str())?;
                }
                Ok(())
            }
        }
    }
}

/// Which origins a measure covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OriginSelector {
    All,
    Country(CountryCode),
}

impl OriginSelector {
    pub fn matches(&self, origin: &Origin) -> bool {
        match (self, origin) {
            (OriginSelector::All, _) => true,
            (OriginSelector::Country(c), Origin::Country(o)) => c == o,
            (OriginSelector::Country(_), Origin::Unknown) => false,
        }
    }
    pub fn intersects(&self, other: &OriginSelector) -> bool {
        match (self, other) {
            (OriginSelector::Country(a), OriginSelector::Country(b)) => a == b,
            _ => true,
        }
    }
}
impl fmt::Display for OriginSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginSelector::All => f.write_str("*"),
            OriginSelector::Country(c) => c.fmt(f),
        }
    }
}

/// `[start, end)` on Beijing time; no end means open-ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Validity {
    pub start: BjTime,
    pub end: Option<BjTime>,
}

impl Validity {
    pub fn contains(&self, t: BjTime) -> bool {
        self.start <= t && self.end.is_none_or(|e| t < e)
    }
    pub fn overlaps(&self, o: &Validity) -> bool {
        self.end.is_none_or(|e| o.start < e) && o.end.is_none_or(|e| self.start < e)
    }
}

/// Goods shipped before `shipped_before` and imported before `imported_until` are not charged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Grace {
    pub shipped_before: BjTime,
    pub imported_until: BjTime,
}

/// One layer of the schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measure {
    pub id: String,
    pub goods: GoodsSelector,
    pub origin: OriginSelector,
    pub kind: MeasureKind,
    pub duty: DutyExpr,
    pub validity: Validity,
    pub legal_basis: String,
    pub scope: String,
    pub excludable: bool,
    pub grace: Option<Grace>,
    pub confidence: Confidence,
    pub source: String,
    pub note: String,
}

/// A national tariff line valid over a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TariffLine {
    pub code: TariffCode,
    pub validity: Validity,
    pub description_en: String,
    pub description_zh: String,
    pub unit: QtyUnit,
    pub vat_class: String,
    pub confidence: Confidence,
    pub source: String,
}

/// One month's customs rate for one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FxEntry {
    pub rate: FxRate,
    pub reference_date: String,
    pub confidence: Confidence,
}

/// Why a code has no line at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineLookup<'s> {
    Found(usize, &'s TariffLine),
    NotAtThatDate,
    UnknownCode,
}

/// The whole schedule, immutable once built and indexed for look-ups.
#[derive(Debug, Clone)]
pub struct Schedule {
    lines: Vec<TariffLine>,
    measures: Vec<Measure>,
    /// Per currency: the first month and one slot per month from it.
    rates: Vec<(Currency, Month, Vec<Option<FxEntry>>)>,
    /// Line indices sorted by code, for binary search.
    by_code: Vec<(TariffCode, usize)>,
    /// For each line, the measures whose goods selector matches it, in file order.
    line_measures: Vec<Vec<MeasureKey>>,
}

/// What the engine filters measures on, packed for a cache-friendly scan.
#[derive(Clone, Copy, Debug)]
pub struct MeasureKey {
    pub index: u32,
    pub kind: MeasureKind,
    pub origin: OriginSelector,
    pub validity: Validity,
}

impl Schedule {
    /// Indexes already-validated parts. Validation lives in [`crate::schedule_csv`].
    pub fn new(
        lines: Vec<TariffLine>,
        measures: Vec<Measure>,
        rates: HashMap<(Currency, Month), FxEntry>,
    ) -> Self {
        let mut by_code: Vec<(TariffCode, usize)> =
            lines.iter().enumerate().map(|(i, l)| (l.code, i)).collect();
        by_code.sort();
        let line_measures = index_measures(&lines, &measures);
        let mut by_currency: Vec<(Currency, Month, Vec<Option<FxEntry>>)> = Vec::new();
        let mut currencies: Vec<Currency> = rates.keys().map(|(c, _)| *c).collect();
        currencies.sort();
        currencies.dedup();
        for c in currencies {
            let months = rates.keys().filter(|(k, _)| *k == c).map(|(_, m)| m.0);
            let (first, last) = (months.clone().min().unwrap_or(0), months.max().unwrap_or(0));
            let mut slots = vec![None; (last - first + 1) as usize];
            for ((_, m), e) in rates.iter().filter(|((k, _), _)| *k == c) {
                slots[(m.0 - first) as usize] = Some(e.clone());
            }
            by_currency.push((c, Month(first), slots));
        }
        let rates = by_currency;
        Schedule {
            lines,
            measures,
            rates,
            by_code,
            line_measures,
        }
    }

    /// The same lines and exchange rates with another set of measures, re-indexed (what a
    /// scenario overlay produces). Validation of the measures is the caller's business.
    pub fn with_measures(&self, measures: Vec<Measure>) -> Schedule {
        let line_measures = index_measures(&self.lines, &measures);
        Schedule {
            lines: self.lines.clone(),
            measures,
            rates: self.rates.clone(),
            by_code: self.by_code.clone(),
            line_measures,
        }
    }

    pub fn lines(&self) -> &[TariffLine] {
        &self.lines
    }
    pub fn measures(&self) -> &[Measure] {
        &self.measures
    }
    pub fn measure(&self, id: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.id == id)
    }

    /// The line for a declared code at an instant; a 10-digit code falls back to its 8-digit line.
    pub fn line_at(&self, code: &TariffCode, at: BjTime) -> LineLookup<'_> {
        let mut versions = self.versions(code);
        if versions.is_empty() {
            if let Some(p) = code.parent8() {
                versions = self.versions(&p);
            }
        }
        if versions.is_empty() {
            return LineLookup::UnknownCode;
        }
        versions
            .iter()
            .find(|&&(_, i)| self.lines[i].validity.contains(at))
            .map_or(LineLookup::NotAtThatDate, |&(_, i)| {
                LineLookup::Found(i, &self.lines[i])
            })
    }

    fn versions(&self, code: &TariffCode) -> &[(TariffCode, usize)] {
        let start = self.by_code.partition_point(|(c, _)| c < code);
        let len = self.by_code[start..]
            .iter()
            .take_while(|(c, _)| c == code)
            .count();
        &self.by_code[start..start + len]
    }

    /// Every measure whose goods selector covers the line (any origin, any date).
    pub fn measures_for_line(&self, line_index: usize) -> impl Iterator<Item = &Measure> + '_ {
        self.measure_keys(line_index)
            .iter()
            .map(move |k| &self.measures[k.index as usize])
    }

    /// The packed keys of the measures covering a line, in file order.
    pub fn measure_keys(&self, line_index: usize) -> &[MeasureKey] {
        self.line_measures
            .get(line_index)
            .map_or(&[], Vec::as_slice)
    }

    /// The measure a [`MeasureKey`] points to.
    pub fn measure_at(&self, key: &MeasureKey) -> &Measure {
        &self.measures[key.index as usize]
    }

    pub fn fx(&self, currency: Currency, month: Month) -> Option<&FxEntry> {
        let (_, first, slots) = self.rates.iter().find(|(c, _, _)| *c == currency)?;
        let i = usize::try_from(month.0 - first.0).ok()?;
        slots.get(i)?.as_ref()
    }
    pub fn fx_len(&self) -> usize {
        self.rates
            .iter()
            .map(|(_, _, s)| s.iter().flatten().count())
            .sum()
    }
}

/// For each line, the keys of the measures whose goods selector covers it, in measure order.
fn index_measures(lines: &[TariffLine], measures: &[Measure]) -> Vec<Vec<MeasureKey>> {
    lines
        .iter()
        .map(|l| {
            (0..measures.len())
                .filter(|&m| measures[m].goods.matches(l))
                .map(|m| MeasureKey {
                    index: m as u32,
                    kind: measures[m].kind,
                    origin: measures[m].origin,
                    validity: measures[m].validity,
                })
                .collect()
        })
        .collect()
}
