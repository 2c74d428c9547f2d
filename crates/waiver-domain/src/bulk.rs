//! Bulk assessment: [`engine::assess`] for many lines, remembering the layers in force.
//!
//! For one tariff line, one known origin and one quota choice, the layers the engine selects
//! change only at the instants where one of the line's measures for that origin starts or ends.
//! [`BulkAssessor`] cuts time at those instants and keeps, per segment, what the engine's
//! selection scan would find (the base rate, the additional layers, VAT, and the warnings the
//! scan raises), so a line costs a binary search instead of a scan over every measure. The
//! amounts, grace windows and rounding are then computed per line exactly as the engine does.
//!
//! Whatever the shortcut does not cover goes to the engine itself: unknown origin, a date-only
//! declaration on a day when one of the measures switches at a time of day (the engine warns),
//! a segment without a base or VAT rate, lines not found, missing exchange rates. The result is
//! always what [`engine::assess`] with [`Lift::Nothing`] returns; `tests/bulk_properties.rs`
//! checks this on random lines.

use smallvec::SmallVec;

use crate::amount::{CnyExact, Fen, Quantity, RatePpm};
use crate::codes::{CountryCode, Currency, Origin, TariffCode};
use crate::engine::{
    self, duty_amount, AppliedLayer, AssessError, Assessment, LayerStatus, Layers, Lift, LineInput,
    Warning,
};
use crate::schedule::{Measure, MeasureKind, Role, Schedule, TariffLine};
use crate::time::{BjTime, Precision};

/// How many codes' line versions a [`BulkAssessor`] keeps.
const CODES_KEPT: usize = 64;

/// Assesses lines against one schedule, remembering the layers in force per line, origin and
/// time segment. Memory grows with the schedule and the origins seen, never with the lines.
pub struct BulkAssessor<'s> {
    schedule: &'s Schedule,
    /// Per tariff line index: the segment tables built so far.
    by_line: Vec<Vec<Segments<'s>>>,
    /// Codes looked up and the indices of their line versions, in the schedule's order; at most
    /// [`CODES_KEPT`] (then it starts afresh), so memory stays flat whatever the input.
    codes: Vec<(TariffCode, SmallVec<[usize; 2]>)>,
}

/// The time segments of one (line, origin, quota choice).
struct Segments<'s> {
    origin: CountryCode,
    in_quota: bool,
    /// Sorted, distinct instants at which one of the measures starts or ends.
    bounds: Vec<BjTime>,
    /// `plans[i]` holds in `[bounds[i - 1], bounds[i])`; `None` when the engine must decide.
    plans: Vec<Option<Plan<'s>>>,
    /// Midnights of the days on which one of the measures starts or ends at a time of day.
    switch_days: Vec<BjTime>,
}

/// What the engine's selection scan finds in one segment.
struct Plan<'s> {
    base: &'s Measure,
    adds: Layers<&'s Measure>,
    vat: &'s Measure,
    /// The scan's warnings in the engine's order (conditional layers, then an ignored in-quota).
    warnings: Vec<Warning<'s>>,
}

impl<'s> BulkAssessor<'s> {
    pub fn new(schedule: &'s Schedule) -> Self {
        BulkAssessor {
            schedule,
            by_line: schedule.lines().iter().map(|_| Vec::new()).collect(),
            codes: Vec::new(),
        }
    }

    /// Exactly `engine::assess(schedule, input, Lift::Nothing)`.
    pub fn assess(&mut self, input: &LineInput) -> Result<Assessment<'s>, AssessError> {
        match self.fast(input) {
            Some(a) => Ok(a),
            None => engine::assess(self.schedule, input, Lift::Nothing),
        }
    }

    /// The shortcut, or `None` when the engine must decide.
    fn fast(&mut self, input: &LineInput) -> Option<Assessment<'s>> {
        let s = self.schedule;
        let Origin::Country(origin) = input.origin else {
            return None;
        };
        let at = input.declared_at;
        let (li, line) = self.line_at(input.code, at)?;
        let (customs_value, fx) = if input.customs_value.currency == Currency::CNY {
            (Fen(input.customs_value.minor), None)
        } else {
            let month = at.month();
            let e = s.fx(input.customs_value.currency, month)?;
            (
                e.rate.convert(input.customs_value.minor),
                Some((input.customs_value.currency, e, month)),
            )
        };
        let segments = self.segments(li, origin, input.in_quota)?;
        if input.declared_precision == Precision::DateOnly
            && segments.switch_days.binary_search(&at).is_ok()
        {
            return None;
        }
        let i = segments.bounds.partition_point(|b| *b <= at);
        let plan = segments.plans.get(i)?.as_ref()?;
        Some(price(plan, input, line, customs_value, fx))
    }

    /// `Schedule::line_at` when it finds a line: the first version of the code (or, for a
    /// 10-digit code without lines of its own, of its 8-digit parent) in force at `at`.
    fn line_at(&mut self, code: TariffCode, at: BjTime) -> Option<(usize, &'s TariffLine)> {
        let s = self.schedule;
        let k = match self.codes.iter().position(|(c, _)| *c == code) {
            Some(k) => k,
            None => {
                let of = |c: &TariffCode| -> SmallVec<[usize; 2]> {
                    let mut v: SmallVec<[usize; 2]> = s
                        .lines()
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| l.code == *c)
                        .map(|(i, _)| i)
                        .collect();
                    // The schedule orders versions by (code, index).
                    v.sort_unstable();
                    v
                };
                let mut v = of(&code);
                if v.is_empty() {
                    if let Some(p) = code.parent8() {
                        v = of(&p);
                    }
                }
                if self.codes.len() >= CODES_KEPT {
                    self.codes.clear();
                }
                self.codes.push((code, v));
                self.codes.len() - 1
            }
        };
        self.codes.get(k)?.1.iter().find_map(|&i| {
            let l = s.lines().get(i)?;
            l.validity.contains(at).then_some((i, l))
        })
    }

    /// The segment table of a line, origin and quota choice, built on first use.
    fn segments(
        &mut self,
        li: usize,
        origin: CountryCode,
        in_quota: bool,
    ) -> Option<&Segments<'s>> {
        let s = self.schedule;
        let tables = self.by_line.get_mut(li)?;
        let k = match tables
            .iter()
            .position(|t| t.origin == origin && t.in_quota == in_quota)
        {
            Some(k) => k,
            None => {
                tables.push(Segments::build(s, li, origin, in_quota));
                tables.len() - 1
            }
        };
        tables.get(k)
    }
}

impl<'s> Segments<'s> {
    fn build(s: &'s Schedule, li: usize, origin: CountryCode, in_quota: bool) -> Self {
        let o = Origin::Country(origin);
        let keys: Vec<_> = s
            .measure_keys(li)
            .iter()
            .filter(|k| k.origin.matches(&o))
            .collect();
        let mut bounds: Vec<BjTime> = keys
            .iter()
            .flat_map(|k| [Some(k.validity.start), k.validity.end])
            .flatten()
            .collect();
        bounds.sort();
        bounds.dedup();
        let mut switch_days: Vec<BjTime> = bounds
            .iter()
            .filter(|t| !t.is_midnight())
            .map(|t| t.start_of_day())
            .collect();
        switch_days.dedup();
        // One instant inside each segment: before the first bound, then each bound itself.
        let first = bounds.first().map_or(BjTime(0), |b| BjTime(b.0 - 1));
        let plans = std::iter::once(first)
            .chain(bounds.iter().copied())
            .map(|at| Plan::select(s, &keys, at, in_quota))
            .collect();
        Segments {
            origin,
            in_quota,
            bounds,
            plans,
            switch_days,
        }
    }
}

impl<'s> Plan<'s> {
    /// The engine's selection scan at `at` for a known origin and a declared time of day.
    fn select(
        s: &'s Schedule,
        keys: &[&crate::schedule::MeasureKey],
        at: BjTime,
        in_quota: bool,
    ) -> Option<Plan<'s>> {
        let mut warnings = Vec::new();
        let (mut mfn, mut prov, mut ooq, mut vat) = (None, None, None, None);
        let mut adds: Layers<&Measure> = SmallVec::new();
        for k in keys.iter().filter(|k| k.validity.contains(at)) {
            let m = s.measure_at(k);
            match k.kind {
                MeasureKind::Mfn => mfn = Some(m),
                MeasureKind::Provisional => prov = Some(m),
                MeasureKind::OutOfQuota => ooq = Some(m),
                MeasureKind::General => {}
                MeasureKind::Vat => vat = Some(m),
                kind => match kind.role() {
                    Role::Conditional => warnings.push(Warning::Conditional { measure: m }),
                    _ => adds.push(m),
                },
            }
        }
        if in_quota && ooq.is_none() {
            warnings.push(Warning::InQuotaIgnored);
        }
        let base = if in_quota {
            prov.or(mfn)
        } else {
            ooq.or(prov).or(mfn)
        };
        Some(Plan {
            base: base?,
            adds,
            vat: vat?,
            warnings,
        })
    }
}

/// The engine's arithmetic for a known origin with nothing lifted.
fn price<'s>(
    plan: &Plan<'s>,
    input: &LineInput,
    line: &'s TariffLine,
    customs_value: Fen,
    fx: Option<(Currency, &'s crate::schedule::FxEntry, crate::time::Month)>,
) -> Assessment<'s> {
    let value = customs_value;
    let at = input.declared_at;
    let mut warnings = plan.warnings.clone();
    let mut layers: Layers<AppliedLayer<'s>> = SmallVec::new();
    layers.push(AppliedLayer {
        measure: plan.base,
        status: LayerStatus::Charged,
        amount_exact: duty_amount(&plan.base.duty, value, input.quantity),
    });
    for &m in &plan.adds {
        let mut status = LayerStatus::Charged;
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
                    status = LayerStatus::GraceWaived;
                }
            }
        }
        layers.push(AppliedLayer {
            measure: m,
            status,
            amount_exact: duty_amount(&m.duty, value, input.quantity),
        });
    }

    let (base_sum, additional_sum) = RoleSum::of(&layers);
    let base_duty = base_sum.charged.round_to_fen();
    let additional_duty = additional_sum.charged.round_to_fen();
    let vat_rate = plan.vat.duty.ad_valorem;
    let vat_amount = vat_rate.of(customs_value + base_duty + additional_duty);
    let vat_fen = vat_amount.round_to_fen();
    let total = base_duty + additional_duty + vat_fen;
    let add_lifted = additional_sum.unliftable.round_to_fen();
    let vat_lifted = vat_rate
        .of(customs_value + base_duty + add_lifted)
        .round_to_fen();
    let exclusion_saving = total - (base_duty + add_lifted + vat_lifted);
    let base_rate = base_sum.effective_rate(value);
    let additional_rate = additional_sum.effective_rate(value);
    layers.push(AppliedLayer {
        measure: plan.vat,
        status: LayerStatus::Charged,
        amount_exact: vat_amount,
    });
    Assessment {
        line,
        customs_value,
        fx,
        layers,
        base_rate,
        base_duty,
        additional_rate,
        additional_duty,
        vat_rate,
        vat: vat_fen,
        total,
        exclusion_saving,
        warnings,
    }
}

/// The layers the engine charged on one line of a known origin with every layer charged (no
/// grace window used, nothing lifted), kept to price other values and quantities the same way:
/// for the same line, origin, quota choice and instant the engine selects the same layers
/// whatever the value and quantity, so [`Recipe::price`] of an assessment's recipe equals the
/// engine's numbers for any value and quantity (`tests/bulk_properties.rs`).
#[derive(Clone, Debug)]
pub struct Recipe<'s> {
    base: &'s Measure,
    adds: Layers<&'s Measure>,
    vat: &'s Measure,
}

/// The numbers of an assessment, as [`Recipe::price`] computes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priced {
    pub customs_value: Fen,
    pub base_rate: RatePpm,
    pub base_duty: Fen,
    pub additional_rate: RatePpm,
    pub additional_duty: Fen,
    pub vat_rate: RatePpm,
    pub vat: Fen,
    pub total: Fen,
    pub exclusion_saving: Fen,
}

impl Priced {
    /// The numbers of an assessment.
    pub fn of(a: &Assessment) -> Priced {
        Priced {
            customs_value: a.customs_value,
            base_rate: a.base_rate,
            base_duty: a.base_duty,
            additional_rate: a.additional_rate,
            additional_duty: a.additional_duty,
            vat_rate: a.vat_rate,
            vat: a.vat,
            total: a.total,
            exclusion_saving: a.exclusion_saving,
        }
    }
}

impl<'s> Recipe<'s> {
    /// The recipe of an assessment whose layers are one base layer, additional layers and VAT,
    /// all charged; `None` for anything else (grace-waived or lifted layers, conditional layers
    /// charged, unknown origin).
    pub fn of(a: &Assessment<'s>) -> Option<Recipe<'s>> {
        if a.warnings.iter().any(|w| {
            matches!(
                w,
                Warning::UnknownOriginGeneral { .. } | Warning::UnknownOriginNormal { .. }
            )
        }) {
            return None;
        }
        let (first, rest) = a.layers.split_first()?;
        let (last, adds) = rest.split_last()?;
        let charged = |l: &AppliedLayer, role: Role| {
            l.status == LayerStatus::Charged && l.measure.kind.role() == role
        };
        if !charged(first, Role::Base)
            || !charged(last, Role::Vat)
            || !adds.iter().all(|l| charged(l, Role::Additional))
        {
            return None;
        }
        Some(Recipe {
            base: first.measure,
            adds: adds.iter().map(|l| l.measure).collect(),
            vat: last.measure,
        })
    }

    /// The additional layers, in the engine's order.
    pub fn additional(&self) -> &[&'s Measure] {
        &self.adds
    }

    /// The recipe's rates when every layer is purely ad valorem (no specific part, no bounds).
    pub fn ad_valorem(&self) -> Option<AdValorem> {
        let pure = |m: &Measure| m.duty.is_pure_ad_valorem().then_some(m.duty.ad_valorem.0);
        let mut a = AdValorem {
            base: RatePpm(pure(self.base)?),
            additional: RatePpm(0),
            additional_unliftable: RatePpm(0),
            vat: self.vat.duty.ad_valorem,
        };
        for m in &self.adds {
            let r = pure(m)?;
            a.additional.0 += r;
            if !m.excludable {
                a.additional_unliftable.0 += r;
            }
        }
        Some(a)
    }

    /// The engine's arithmetic (as in [`price`]) for a customs value in CNY and a quantity.
    #[inline]
    pub fn price(&self, customs_value: Fen, quantity: Quantity) -> Priced {
        let value = customs_value;
        let base_exact = duty_amount(&self.base.duty, value, quantity);
        let base_sum = RoleSum {
            charged: base_exact,
            unliftable: base_exact,
            ad_valorem: self.base.duty.ad_valorem.0,
            not_ad_valorem: !self.base.duty.is_pure_ad_valorem(),
        };
        let mut add = RoleSum::default();
        for m in &self.adds {
            let x = duty_amount(&m.duty, value, quantity);
            add.charged = add.charged + x;
            if !m.excludable {
                add.unliftable = add.unliftable + x;
            }
            add.ad_valorem += m.duty.ad_valorem.0;
            add.not_ad_valorem |= !m.duty.is_pure_ad_valorem();
        }
        let base_duty = base_sum.charged.round_to_fen();
        let additional_duty = add.charged.round_to_fen();
        let vat_rate = self.vat.duty.ad_valorem;
        let vat = vat_rate
            .of(customs_value + base_duty + additional_duty)
            .round_to_fen();
        let total = base_duty + additional_duty + vat;
        let add_lifted = add.unliftable.round_to_fen();
        let vat_lifted = vat_rate
            .of(customs_value + base_duty + add_lifted)
            .round_to_fen();
        Priced {
            customs_value,
            base_rate: base_sum.effective_rate(value),
            base_duty,
            additional_rate: add.effective_rate(value),
            additional_duty,
            vat_rate,
            vat,
            total,
            exclusion_saving: total - (base_duty + add_lifted + vat_lifted),
        }
    }
}

/// A [`Recipe`] whose layers are all ad valorem, summed per role: a layer's exact amount is
/// `value × rate`, so the sum of a role's layers is `value × (sum of the rates)` exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdValorem {
    pub base: RatePpm,
    pub additional: RatePpm,
    /// The part of `additional` that an exclusion cannot lift.
    pub additional_unliftable: RatePpm,
    pub vat: RatePpm,
}

/// `rate` of `value`, rounded half-up to the fen as [`CnyExact::round_to_fen`] does, in 64 bits;
/// `None` if the product does not fit.
#[inline]
fn rate_of_fen(value: Fen, rate: RatePpm) -> Option<Fen> {
    // value × ppm / 10^6 is the amount in fen; half-up for the non-negative amounts here.
    let x = value.0.checked_mul(rate.0)?;
    if x < 0 {
        return None;
    }
    Some(Fen(x / 1_000_000 + i64::from(x % 1_000_000 >= 500_000)))
}

impl AdValorem {
    /// [`Recipe::price`] for an ad valorem recipe, in 64-bit arithmetic; `None` when a product
    /// would not fit (then use [`Recipe::price`]).
    #[inline]
    pub fn price(&self, customs_value: Fen) -> Option<Priced> {
        let base_duty = rate_of_fen(customs_value, self.base)?;
        let additional_duty = rate_of_fen(customs_value, self.additional)?;
        let vat = rate_of_fen(customs_value + base_duty + additional_duty, self.vat)?;
        let total = base_duty + additional_duty + vat;
        let add_lifted = rate_of_fen(customs_value, self.additional_unliftable)?;
        let vat_lifted = rate_of_fen(customs_value + base_duty + add_lifted, self.vat)?;
        Some(Priced {
            customs_value,
            base_rate: self.base,
            base_duty,
            additional_rate: self.additional,
            additional_duty,
            vat_rate: self.vat,
            vat,
            total,
            exclusion_saving: total - (base_duty + add_lifted + vat_lifted),
        })
    }
}

/// The charged layers of one role, summed (as the engine's own sum, for a known origin).
#[derive(Default)]
struct RoleSum {
    charged: CnyExact,
    unliftable: CnyExact,
    ad_valorem: i64,
    not_ad_valorem: bool,
}

impl RoleSum {
    fn of(layers: &[AppliedLayer]) -> (RoleSum, RoleSum) {
        let (mut base, mut additional) = (RoleSum::default(), RoleSum::default());
        for l in layers.iter().filter(|l| l.status == LayerStatus::Charged) {
            let sum = match l.measure.kind.role() {
                Role::Base => &mut base,
                Role::Additional => &mut additional,
                Role::Conditional | Role::Vat => continue,
            };
            sum.charged = sum.charged + l.amount_exact;
            if !l.measure.excludable {
                sum.unliftable = sum.unliftable + l.amount_exact;
            }
            sum.ad_valorem += l.measure.duty.ad_valorem.0;
            sum.not_ad_valorem |= !l.measure.duty.is_pure_ad_valorem();
        }
        (base, additional)
    }

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
