//! The duty engine: what one declaration line owes, layer by layer, and what an exclusion would lift.
//!
//! Rules (from `../shared/data/README.md`, China customs):
//! - customs value (CIF) converts to CNY at the monthly customs rate of the declaration month,
//!   rounded half-up to the fen;
//! - one base rate: provisional over MFN; tariff-rate-quota goods pay the out-of-quota rate unless
//!   declared in quota; additional layers add up ("calculated in aggregate");
//! - import VAT = (customs value + duties) × VAT rate;
//! - **the one rounding point**: each layer is computed exactly; base duty, additional duty and VAT
//!   are each rounded half-up to the fen from the exact sum of their layers, and VAT is computed on
//!   the rounded duties. Total = base + additional + VAT;
//! - grace windows: a layer is not charged on goods shipped before its cut-off and declared before
//!   its deadline;
//! - unknown origin: the higher of (normal rate + the highest origin's layers) and the general rate.

use std::fmt;

use serde::Serialize;
use smallvec::SmallVec;
use thiserror::Error;

use crate::amount::{div_round_half_up, CnyExact, Fen, Money, Quantity, RatePpm};
use crate::codes::{Currency, Origin, TariffCode};
use crate::schedule::{
    DutyExpr, FxEntry, LineLookup, Measure, MeasureKind, OriginSelector, Role, Schedule, TariffLine,
};
use crate::time::{BjTime, Month, Precision};

/// A short list of layers, kept inline (no allocation for up to 8).
pub type Layers<T> = SmallVec<[T; 8]>;

/// One declaration line, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInput {
    pub code: TariffCode,
    pub origin: Origin,
    pub declared_at: BjTime,
    pub declared_precision: Precision,
    pub shipped_on: Option<(BjTime, Precision)>,
    pub quantity: Quantity,
    /// CIF value.
    pub customs_value: Money,
    pub in_quota: bool,
}

/// Which excludable layers to lift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lift<'a> {
    Nothing,
    AllExcludable,
    /// Excludable layers whose scope tag is one of these (an exclusion programme's scope).
    Scopes(&'a [&'a str]),
}

impl Lift<'_> {
    fn lifts(&self, m: &Measure) -> bool {
        m.excludable
            && match self {
                Lift::Nothing => false,
                Lift::AllExcludable => true,
                Lift::Scopes(s) => s.contains(&m.scope.as_str()),
            }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerStatus {
    Charged,
    /// Lifted by the exclusion asked for.
    Lifted,
    /// Not charged: shipped before the measure's grace cut-off and declared in time.
    GraceWaived,
}

/// One layer of an assessment, with its full (unlifted) amount.
#[derive(Clone, Copy, Debug)]
pub struct AppliedLayer<'s> {
    pub measure: &'s Measure,
    pub status: LayerStatus,
    pub amount_exact: CnyExact,
}

impl AppliedLayer<'_> {
    pub fn amount(&self) -> Fen {
        self.amount_exact.round_to_fen()
    }
}

/// Something the user should know about an assessment that does not stop it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warning<'s> {
    /// A date-only declaration on a day when a measure starts or ends at a time of day.
    DateOnlySwitch {
        measure: &'s Measure,
        at: BjTime,
        starts: bool,
    },
    /// A date-only shipment date on the day of a grace cut-off that falls within the day.
    GraceNeedsShipmentTime {
        measure: &'s Measure,
        cutoff: BjTime,
    },
    GraceApplied {
        measure: &'s Measure,
    },
    /// A conditional layer (e.g. a safeguard over quota) that is not applied automatically.
    Conditional {
        measure: &'s Measure,
    },
    InQuotaIgnored,
    UnknownOriginNormal {
        origin_layers: Option<crate::codes::CountryCode>,
    },
    UnknownOriginGeneral {
        measure: &'s Measure,
    },
}

impl fmt::Display for Warning<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::DateOnlySwitch { measure, at, starts } => write!(
                f,
                "declared_at is a date only, and {} {} at {at} Beijing time that day; give the time of day (YYYY-MM-DDTHH:MM) to be sure which rate applies (assessed at 00:00)",
                measure.id,
                if *starts { "starts" } else { "ends" }
            ),
            Warning::GraceNeedsShipmentTime { measure, cutoff } => write!(
                f,
                "{} spares goods shipped before {cutoff}, and shipped_on is that day without a time; give the shipment time to claim it (charged)",
                measure.id
            ),
            Warning::GraceApplied { measure } => write!(f, "{} not charged: goods shipped before its cut-off and declared within its grace window", measure.id),
            Warning::Conditional { measure } => write!(
                f,
                "{} ({}, {}) applies only when its condition holds (e.g. the origin's safeguard quota is used up); not applied here",
                measure.id,
                measure.kind.as_str(),
                measure.duty
            ),
            Warning::InQuotaIgnored => f.write_str("in_quota is set but this line has no tariff-rate quota; ignored"),
            Warning::UnknownOriginNormal { origin_layers: Some(c) } => {
                write!(f, "origin unknown: the normal rate plus the highest origin's layers ({c}) applied")
            }
            Warning::UnknownOriginNormal { origin_layers: None } => f.write_str("origin unknown: the normal rate applied (no origin-specific layers)"),
            Warning::UnknownOriginGeneral { measure } => write!(f, "origin unknown: the general rate ({}) is higher and applied", measure.id),
        }
    }
}

/// Why a line cannot be assessed. Each message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AssessError {
    #[error("tariff code {code} is not in the schedule; check the code against the tariff (8 or 10 digits)")]
    UnknownCode { code: TariffCode },
    #[error("tariff line {code} is not in force at {at}; check the code and the declaration date")]
    LineNotInForce { code: TariffCode, at: BjTime },
    #[error("no customs exchange rate for {currency} in {month}; declare the value in CNY or add the rate to the schedule")]
    NoExchangeRate { currency: Currency, month: Month },
    #[error("the schedule has no base (MFN) rate for {code} at {at}; the rate is not confirmed in the reference data — add it to the schedule")]
    NoBaseRate { code: TariffCode, at: BjTime },
    #[error("the schedule has no VAT rate for class `{class}` at {at}; add one to the schedule")]
    NoVatRate { class: String, at: BjTime },
}

impl AssessError {
    /// A stable code for machines and summaries.
    pub fn code(&self) -> &'static str {
        match self {
            AssessError::UnknownCode { .. } => "unknown_code",
            AssessError::LineNotInForce { .. } => "line_not_in_force",
            AssessError::NoExchangeRate { .. } => "no_exchange_rate",
            AssessError::NoBaseRate { .. } => "no_base_rate",
            AssessError::NoVatRate { .. } => "no_vat_rate",
        }
    }
}

/// Everything a declaration line owes.
#[derive(Clone, Debug)]
pub struct Assessment<'s> {
    pub line: &'s TariffLine,
    pub customs_value: Fen,
    /// The exchange rate used, if the value was not in CNY.
    pub fx: Option<(Currency, &'s FxEntry, Month)>,
    /// Base, additional and VAT layers in that order, including lifted and grace-waived ones.
    pub layers: Layers<AppliedLayer<'s>>,
    pub base_rate: RatePpm,
    pub base_duty: Fen,
    pub additional_rate: RatePpm,
    pub additional_duty: Fen,
    pub vat_rate: RatePpm,
    pub vat: Fen,
    pub total: Fen,
    /// What lifting every excludable layer would save on top of what was lifted.
    pub exclusion_saving: Fen,
    pub warnings: Vec<Warning<'s>>,
}

#[derive(Serialize)]
struct FxView<'a> {
    currency: Currency,
    month: String,
    cny_per_unit: String,
    reference_date: &'a str,
    confidence: &'a str,
}

#[derive(Serialize)]
struct LayerView<'a> {
    id: &'a str,
    kind: MeasureKind,
    role: Role,
    duty: crate::schedule::DutyDisplay<'a>,
    status: LayerStatus,
    amount_cny: Fen,
    legal_basis: &'a str,
    scope: &'a str,
    excludable: bool,
    confidence: &'a str,
}

#[derive(Serialize)]
struct AssessmentView<'a> {
    code: TariffCode,
    description_en: &'a str,
    description_zh: &'a str,
    customs_value_cny: Fen,
    fx: Option<FxView<'a>>,
    layers: Vec<LayerView<'a>>,
    base_rate_pct: RatePpm,
    base_duty_cny: Fen,
    additional_rate_pct: RatePpm,
    additional_duty_cny: Fen,
    vat_rate_pct: RatePpm,
    vat_cny: Fen,
    total_cny: Fen,
    exclusion_saving_cny: Fen,
    warnings: Vec<String>,
}

impl Serialize for Assessment<'_> {
    /// The JSON form shared by the CLI and the API; amounts are decimal strings in CNY.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AssessmentView {
            code: self.line.code,
            description_en: &self.line.description_en,
            description_zh: &self.line.description_zh,
            customs_value_cny: self.customs_value,
            fx: self.fx.map(|(currency, e, m)| FxView {
                currency,
                month: m.to_string(),
                cny_per_unit: e.rate.to_string(),
                reference_date: &e.reference_date,
                confidence: e.confidence.as_str(),
            }),
            layers: self
                .layers
                .iter()
                .map(|l| LayerView {
                    id: &l.measure.id,
                    kind: l.measure.kind,
                    role: l.measure.kind.role(),
                    duty: crate::schedule::DutyDisplay(&l.measure.duty),
                    status: l.status,
                    amount_cny: l.amount(),
                    legal_basis: &l.measure.legal_basis,
                    scope: &l.measure.scope,
                    excludable: l.measure.excludable,
                    confidence: l.measure.confidence.as_str(),
                })
                .collect(),
            base_rate_pct: self.base_rate,
            base_duty_cny: self.base_duty,
            additional_rate_pct: self.additional_rate,
            additional_duty_cny: self.additional_duty,
            vat_rate_pct: self.vat_rate,
            vat_cny: self.vat,
            total_cny: self.total,
            exclusion_saving_cny: self.exclusion_saving,
            warnings: self.warnings.iter().map(|w| w.to_string()).collect(),
        }
        .serialize(s)
    }
}

impl Assessment<'_> {
    pub fn duty(&self) -> Fen {
        self.base_duty + self.additional_duty
    }
    /// The ids of the layers charged, in order.
    pub fn charged_ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.layers
            .iter()
            .filter(|l| l.status == LayerStatus::Charged)
            .map(|l| l.measure.id.as_str())
    }
}

/// CIF customs value from goods price and freight, with insurance at 0.3% of (goods + freight)
/// when it is unknown (GACC Order 213 Art. 36). Minor units of one currency; half-up.
pub fn cif_minor(goods_minor: i64, freight_minor: i64, insurance_minor: Option<i64>) -> i64 {
    let base = goods_minor + freight_minor;
    base + insurance_minor.unwrap_or_else(|| div_round_half_up(i128::from(base) * 3, 3) as i64)
}

/// The exact amount of one duty expression.
pub fn duty_amount(expr: &DutyExpr, value: Fen, qty: Quantity) -> CnyExact {
    let per_unit = |p: &crate::schedule::PerUnit| {
        let g = i128::from(qty.grams) * i128::from(p.cny_e4);
        CnyExact(match p.unit {
            crate::amount::QtyUnit::Kg => g * 1_000,
            crate::amount::QtyUnit::T => g,
        })
    };
    let mut amount = expr.ad_valorem.of(value);
    if let Some(s) = &expr.specific {
        amount = amount + per_unit(s);
    }
    if let Some(min) = &expr.min {
        amount = amount.max(per_unit(min));
    }
    if let Some(max) = &expr.max {
        amount = amount.min(per_unit(max));
    }
    amount
}

/// The charged layers of one role, summed in one pass.
#[derive(Default)]
struct RoleSum {
    /// Exact sum of the charged layers.
    charged: CnyExact,
    /// The part of `charged` that stays when every excludable layer is lifted.
    unliftable: CnyExact,
    /// Sum of the charged layers' ad valorem rates.
    ad_valorem: i64,
    /// Whether some charged layer is specific, compound or bounded.
    not_ad_valorem: bool,
}

impl RoleSum {
    /// Sums the charged base and additional layers. Goods of unknown origin cannot benefit from
    /// an exclusion, so all their layers are unliftable.
    fn of(layers: &[AppliedLayer], unknown: bool) -> (RoleSum, RoleSum) {
        let (mut base, mut additional) = (RoleSum::default(), RoleSum::default());
        for l in layers.iter().filter(|l| l.status == LayerStatus::Charged) {
            let sum = match l.measure.kind.role() {
                Role::Base => &mut base,
                // A conditional layer is only among the layers when its condition holds; it
                // then adds to the base like any additional layer.
                Role::Additional | Role::Conditional => &mut additional,
                Role::Vat => continue,
            };
            sum.charged = sum.charged + l.amount_exact;
            if unknown || !l.measure.excludable {
                sum.unliftable = sum.unliftable + l.amount_exact;
            }
            sum.ad_valorem += l.measure.duty.ad_valorem.0;
            sum.not_ad_valorem |= !l.measure.duty.is_pure_ad_valorem();
        }
        (base, additional)
    }

    /// The rate the charged layers amount to: their sum if all are ad valorem, otherwise
    /// amount / value, half-up to 1 ppm.
    fn effective_rate(&self, value: Fen) -> RatePpm {
        if !self.not_ad_valorem {
            return RatePpm(self.ad_valorem);
        }
        let value = value.to_exact().0;
        if value == 0 {
            return RatePpm(0);
        }
        RatePpm(((self.charged.0 * 1_000_000 * 2 + value) / (value * 2)) as i64)
    }
}

/// Assesses one line. `lift` chooses which excludable layers an exclusion lifts.
pub fn assess<'s>(
    s: &'s Schedule,
    input: &LineInput,
    lift: Lift,
) -> Result<Assessment<'s>, AssessError> {
    assess_with(s, input, lift, &[])
}

/// [`assess`], with the conditional layers whose condition holds (by measure id, e.g. a
/// safeguard whose country quota is used up) charged like any other layer.
pub fn assess_with<'s>(
    s: &'s Schedule,
    input: &LineInput,
    lift: Lift,
    conditions_met: &[&str],
) -> Result<Assessment<'s>, AssessError> {
    let at = input.declared_at;
    let (li, line) = match s.line_at(&input.code, at) {
        LineLookup::Found(i, l) => (i, l),
        LineLookup::NotAtThatDate => {
            return Err(AssessError::LineNotInForce {
                code: input.code,
                at,
            })
        }
        LineLookup::UnknownCode => return Err(AssessError::UnknownCode { code: input.code }),
    };
    let (customs_value, fx) = if input.customs_value.currency == Currency::CNY {
        (Fen(input.customs_value.minor), None)
    } else {
        let month = at.month();
        let e = s
            .fx(input.customs_value.currency, month)
            .ok_or(AssessError::NoExchangeRate {
                currency: input.customs_value.currency,
                month,
            })?;
        (
            e.rate.convert(input.customs_value.minor),
            Some((input.customs_value.currency, e, month)),
        )
    };
    let value = customs_value;

    let mut warnings = Vec::new();
    let (mut mfn, mut prov, mut ooq, mut general, mut vat) = (None, None, None, None, None);
    let mut adds: Layers<&Measure> = SmallVec::new();
    let unknown = input.origin == Origin::Unknown;
    let date_only = input.declared_precision == Precision::DateOnly;
    for k in s.measure_keys(li) {
        let origin_ok = unknown || k.origin.matches(&input.origin);
        if date_only && origin_ok {
            for (t, starts) in [(Some(k.validity.start), true), (k.validity.end, false)] {
                if let Some(t) = t.filter(|t| t.start_of_day() == at && !t.is_midnight()) {
                    let measure = s.measure_at(k);
                    warnings.push(Warning::DateOnlySwitch {
                        measure,
                        at: t,
                        starts,
                    });
                }
            }
        }
        if !origin_ok || !k.validity.contains(at) {
            continue;
        }
        let m = s.measure_at(k);
        match k.kind {
            MeasureKind::Mfn => mfn = Some(m),
            MeasureKind::Provisional => prov = Some(m),
            MeasureKind::OutOfQuota => ooq = Some(m),
            MeasureKind::General => general = Some(m),
            MeasureKind::Vat => vat = Some(m),
            kind => match kind.role() {
                Role::Conditional if !conditions_met.contains(&m.id.as_str()) => {
                    warnings.push(Warning::Conditional { measure: m })
                }
                _ => adds.push(m),
            },
        }
    }
    if input.in_quota && ooq.is_none() {
        warnings.push(Warning::InQuotaIgnored);
    }
    let normal_base = if input.in_quota {
        prov.or(mfn)
    } else {
        ooq.or(prov).or(mfn)
    };
    let vat = vat.ok_or_else(|| AssessError::NoVatRate {
        class: line.vat_class.clone(),
        at,
    })?;

    let grace_status = |m: &'s Measure, warnings: &mut Vec<Warning<'s>>| -> LayerStatus {
        if let (Some(g), Some((shipped, precision))) = (m.grace, input.shipped_on) {
            if at < g.imported_until {
                if precision == Precision::DateOnly
                    && shipped.start_of_day() == g.shipped_before.start_of_day()
                    && !g.shipped_before.is_midnight()
                {
                    warnings.push(Warning::GraceNeedsShipmentTime {
                        measure: m,
                        cutoff: g.shipped_before,
                    });
                } else if shipped < g.shipped_before {
                    warnings.push(Warning::GraceApplied { measure: m });
                    return LayerStatus::GraceWaived;
                }
            }
        }
        LayerStatus::Charged
    };
    let charged_total = |base: &Measure, layers: &[&Measure]| -> CnyExact {
        let mut t = duty_amount(&base.duty, value, input.quantity);
        for m in layers {
            t = t + duty_amount(&m.duty, value, input.quantity);
        }
        t
    };

    // Unknown origin: the highest origin's layers on the normal rate, or the general rate if higher.
    let mut base = normal_base;
    if unknown {
        let common: Layers<&Measure> = adds
            .iter()
            .copied()
            .filter(|m| m.origin == OriginSelector::All)
            .collect();
        let mut best: (Layers<&Measure>, Option<crate::codes::CountryCode>) =
            (common.clone(), None);
        if let Some(nb) = normal_base {
            let mut best_total = charged_total(nb, &best.0);
            let mut countries: Vec<_> = adds
                .iter()
                .filter_map(|m| match m.origin {
                    OriginSelector::Country(c) => Some(c),
                    OriginSelector::All => None,
                })
                .collect();
            countries.sort();
            countries.dedup();
            for c in countries {
                let set: Layers<&Measure> = adds
                    .iter()
                    .copied()
                    .filter(|m| m.origin.matches(&Origin::Country(c)))
                    .collect();
                let t = charged_total(nb, &set);
                if t > best_total {
                    best_total = t;
                    best = (set, Some(c));
                }
            }
            match general {
                Some(g) if charged_total(g, &common) > best_total => {
                    base = Some(g);
                    best = (common, None);
                    warnings.push(Warning::UnknownOriginGeneral { measure: g });
                }
                _ => warnings.push(Warning::UnknownOriginNormal {
                    origin_layers: best.1,
                }),
            }
        } else if let Some(g) = general {
            base = Some(g);
            best = (common, None);
            warnings.push(Warning::UnknownOriginGeneral { measure: g });
        }
        adds = best.0;
    }
    let base = base.ok_or(AssessError::NoBaseRate {
        code: line.code,
        at,
    })?;

    let mut layers: Layers<AppliedLayer> = SmallVec::new();
    layers.push(AppliedLayer {
        measure: base,
        status: LayerStatus::Charged,
        amount_exact: duty_amount(&base.duty, value, input.quantity),
    });
    for m in adds {
        let mut status = grace_status(m, &mut warnings);
        if status == LayerStatus::Charged && !unknown && lift.lifts(m) {
            status = LayerStatus::Lifted;
        }
        layers.push(AppliedLayer {
            measure: m,
            status,
            amount_exact: duty_amount(&m.duty, value, input.quantity),
        });
    }

    let (base_sum, additional_sum) = RoleSum::of(&layers, unknown);
    let base_duty = base_sum.charged.round_to_fen();
    let additional_duty = additional_sum.charged.round_to_fen();
    let vat_amount = vat
        .duty
        .ad_valorem
        .of(customs_value + base_duty + additional_duty);
    let vat_fen = vat_amount.round_to_fen();
    let total = base_duty + additional_duty + vat_fen;

    // The same with every excludable layer lifted.
    // Goods of unknown origin cannot benefit from an exclusion.
    let add_lifted = additional_sum.unliftable.round_to_fen();
    let vat_lifted = vat
        .duty
        .ad_valorem
        .of(customs_value + base_duty + add_lifted)
        .round_to_fen();
    let exclusion_saving = total - (base_duty + add_lifted + vat_lifted);

    let base_rate = base_sum.effective_rate(value);
    let additional_rate = additional_sum.effective_rate(value);
    layers.push(AppliedLayer {
        measure: vat,
        status: LayerStatus::Charged,
        amount_exact: vat_amount,
    });
    Ok(Assessment {
        line,
        customs_value,
        fx,
        layers,
        base_rate,
        base_duty,
        additional_rate,
        additional_duty,
        vat_rate: vat.duty.ad_valorem,
        vat: vat_fen,
        total,
        exclusion_saving,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declaration::RawLine;
    use crate::schedule_csv::{parse_schedule, ScheduleFiles};

    const LINES: &str = "code,valid_from,description_en,unit,vat_class,confidence\n\
                         12019010,2017-01-01,Soya beans,kg,agri,sourced\n";
    const RATES: &str = "month,currency,cny_per_unit,confidence\n2020-06,USD,7.0000,sourced\n";

    fn schedule(rows: &str) -> Schedule {
        let measures = format!(
            "id,goods,origin,kind,duty,start,end,legal_base,scope,excludable,confidence\n\
             VAT,class:agri,*,vat,9%,2017-01-01,,V,vat,no,sourced\n{rows}"
        );
        let files = ScheduleFiles {
            lines: LINES,
            measures: &measures,
            exchange_rates: RATES,
        };
        parse_schedule(&files).unwrap()
    }

    fn input(qty_kg: &str, value_cny: &str) -> LineInput {
        let raw = RawLine {
            declaration: "D",
            line: "1",
            importer: "3100ABC123",
            code: "12019010",
            origin: "US",
            declared_at: "2020-06-15T10:00",
            quantity: qty_kg,
            unit: "kg",
            customs_value: value_cny,
            currency: "CNY",
            shipped_on: None,
            in_quota: None,
        };
        raw.parse().unwrap().input
    }

    #[test]
    fn provisional_rates_take_precedence_over_mfn() {
        let s = schedule(
            "MFN,12019010,*,mfn,3%,2017-01-01,,T,base,no,sourced\n\
             PROV,12019010,*,provisional,1%,2020-01-01,2021-01-01,P,base,no,sourced\n",
        );
        let a = assess(&s, &input("1000", "10000"), Lift::Nothing).unwrap();
        assert_eq!(a.layers[0].measure.id, "PROV");
        assert_eq!(a.base_duty, Fen(10_000)); // 1% of CNY 10 000
    }

    #[test]
    fn specific_compound_and_bounded_duties_are_exact() {
        // 0.35 CNY/kg on 1234.567 kg = 432.09845 → 432.10.
        let s = schedule("MFN,12019010,*,mfn,0.35 CNY/kg,2017-01-01,,T,base,no,sourced\n");
        let a = assess(&s, &input("1234.567", "10000"), Lift::Nothing).unwrap();
        assert_eq!(a.base_duty, Fen(43_210));
        // Effective rate: 432.09845 / 10 000 = 4.3209845% → 4.321%.
        assert_eq!(a.base_rate.pct_string(), "4.321");

        // 10% + 800 CNY/t on 2 t worth 10 000: 1000 + 1600.
        let s = schedule("MFN,12019010,*,mfn,10% + 800 CNY/t,2017-01-01,,T,base,no,sourced\n");
        assert_eq!(
            assess(&s, &input("2000", "10000"), Lift::Nothing)
                .unwrap()
                .base_duty,
            Fen(260_000)
        );

        // 20% with a floor of 1 CNY/kg and a ceiling of 3 CNY/kg.
        let s = schedule(
            "MFN,12019010,*,mfn,20% min 1 CNY/kg max 3 CNY/kg,2017-01-01,,T,base,no,sourced\n",
        );
        let duty = |kg, cny| {
            assess(&s, &input(kg, cny), Lift::Nothing)
                .unwrap()
                .base_duty
        };
        assert_eq!(duty("100", "200"), Fen(10_000)); // 20% = 40 < floor 100
        assert_eq!(duty("100", "1000"), Fen(20_000)); // 20% = 200, within bounds
        assert_eq!(duty("100", "10000"), Fen(30_000)); // 20% = 2000 > ceiling 300
    }

    #[test]
    fn insurance_defaults_to_0_3_percent_of_goods_and_freight() {
        // FOB 499 + freight 38 = 537 USD/t; insurance 1.611 → 1.61 (half-up, in cents).
        assert_eq!(cif_minor(49_900, 3_800, None), 53_700 + 161);
        assert_eq!(cif_minor(49_900, 3_800, Some(0)), 53_700);
        // 0.3% of 150 cents = 0.45 → 0 cents; of 170 cents = 0.51 → 1 cent.
        assert_eq!(cif_minor(100, 50, None), 150);
        assert_eq!(cif_minor(100, 70, None), 171);
    }

    #[test]
    fn a_line_without_a_vat_rate_is_an_error_not_a_zero() {
        let measures = "id,goods,origin,kind,duty,start,legal_base,scope,excludable,confidence\n\
                        MFN,12019010,*,mfn,3%,2017-01-01,T,base,no,sourced\n";
        let files = ScheduleFiles {
            lines: LINES,
            measures,
            exchange_rates: RATES,
        };
        let s = parse_schedule(&files).unwrap();
        let e = assess(&s, &input("1", "1"), Lift::Nothing).unwrap_err();
        assert_eq!(e.code(), "no_vat_rate");
    }
}
