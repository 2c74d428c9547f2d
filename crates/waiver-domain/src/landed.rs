//! Landed cost per tonne: what a tonne of goods from one origin costs at a Chinese port, duty and
//! VAT paid, with and without an exclusion; the ranking of origins, the spread to the cheapest and
//! the break-even additional tariff.
//!
//! Rules (`../shared/data/README.md`):
//! - price: CBOT futures + basis premium in US cents per bushel (one tonne of soybeans is
//!   36.7437 bushels, so cents/bu × 0.367437 = US$/t), or FOB in US$/t;
//! - CFR = FOB + ocean freight; CIF (the customs value) = CFR + insurance, where unknown insurance is
//!   0.3% of (goods price + freight) (GACC Order 213 Art. 36);
//! - the exchange rate is the one given with the quote, or the customs rate of the month of `at`;
//! - duty and import VAT come from the duty engine ([`crate::engine::assess`]) on one tonne, with
//!   nothing lifted or with every excludable layer lifted (an exclusion);
//! - landed cost = customs value + duty + VAT + port charges (as published import-cost tables do:
//!   duty-paid CNY/t = CIF × FX × (1 + duty) × (1 + VAT) + port charges).
//!
//! **Rounding.** Dollar amounts are exact ([`UsdExact`], 10⁻¹³ US$: bushel conversion and the 0.3%
//! insurance stay exact). The customs value per tonne is rounded half-up to the fen once, when it
//! is converted to CNY; from there the engine's own rounding applies (each duty role and VAT
//! half-up to the fen). FOB and CFR are shown to the cent but never rounded in the computation.
//!
//! No I/O and no floating point.

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::amount::{
    div_round_half_up, format_scaled, parse_scaled, CnyExact, Fen, FxRate, Money, QtyUnit,
    Quantity, RatePpm,
};
use crate::codes::{Currency, Origin, TariffCode};
use crate::declaration::{bad, FieldError};
use crate::engine::{assess, AssessError, Assessment, LayerStatus, Lift, LineInput};
use crate::schedule::{Confidence, Role, Schedule};
use crate::time::{BjTime, Month, Precision};

/// Bushels of soybeans per tonne, to four decimals (36.7437).
pub const BUSHELS_PER_T_E4: i128 = 367_437;
/// Default insurance: 3 per mille of (goods price + freight).
pub const DEFAULT_INSURANCE_PER_MILLE: i128 = 3;
/// Sanity limit on any price, freight or insurance figure: US$ 1 000 000 per tonne.
pub const MAX_USD_PER_T: i64 = 1_000_000;
/// Sanity limit on port charges: CNY 1 000 000 per tonne.
pub const MAX_PORT_CHARGE_CNY_PER_T: i64 = 1_000_000;

/// An exact amount of US dollars in units of 10⁻¹³ US$.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsdExact(pub i128);

impl UsdExact {
    pub const PER_CENT: i128 = 100_000_000_000;
    pub fn from_cents(cents: i64) -> Self {
        UsdExact(i128::from(cents) * Self::PER_CENT)
    }
    /// A price in US cents per bushel (× 10⁴) as dollars per tonne: c/bu × 36.7437 / 100.
    pub fn from_cents_per_bushel_e4(c_bu_e4: i64) -> Self {
        // c/bu·10⁴ × bu/t·10⁴ = US$/t·10¹⁰; × 1000 → 10⁻¹³.
        UsdExact(i128::from(c_bu_e4) * BUSHELS_PER_T_E4 * 1_000)
    }
    /// Rounded half-up to the cent (for display only).
    pub fn cents(self) -> i64 {
        div_round_half_up(self.0, 11) as i64
    }
    /// Converts to CNY at `fx`, rounded half-up to the fen: the customs-value rounding point.
    pub fn to_fen(self, fx: FxRate) -> Fen {
        // 10⁻¹³ US$ × CNY/US$·10⁴ = 10⁻¹⁷ CNY; a fen is 10¹⁵ of those.
        Fen(div_round_half_up(self.0 * i128::from(fx.cny_per_unit_e4), 15) as i64)
    }
}
impl std::ops::Add for UsdExact {
    type Output = UsdExact;
    fn add(self, o: UsdExact) -> UsdExact {
        UsdExact(self.0 + o.0)
    }
}
impl fmt::Display for UsdExact {
    /// To the cent, e.g. `499.44`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(i128::from(self.cents()), 2, 2))
    }
}
impl Serialize for UsdExact {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A rate in units of 10⁻⁸ (1% = 1 000 000): fine enough that one step of the break-even search
/// moves the duty on any customs value up to CNY 1 000 000 by less than a fen, and fen × rate stays
/// exact in [`CnyExact`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct RateE8(pub i128);

impl RateE8 {
    pub const HUNDRED_PCT: i128 = 100_000_000;
    pub fn from_ppm(r: RatePpm) -> Self {
        RateE8(i128::from(r.0) * 100)
    }
    /// The exact amount of this rate on a value in fen.
    pub fn of(self, value: Fen) -> CnyExact {
        CnyExact(i128::from(value.0) * self.0)
    }
    /// The percentage with up to six decimals: `-27.5`, `1.234567`.
    pub fn pct_string(self) -> String {
        format_scaled(self.0, 6, 0)
    }
}
impl fmt::Display for RateE8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.pct_string())
    }
}
impl Serialize for RateE8 {
    /// A percentage string, e.g. `"-27.5"`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.pct_string())
    }
}

/// How the goods are priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Price {
    /// CBOT futures plus basis premium, US cents per bushel × 10⁴ (the premium may be negative).
    CbotPlusPremium {
        cbot_c_bu_e4: i64,
        premium_c_bu_e4: i64,
    },
    /// Free on board, US cents per tonne.
    Fob { usd_cents_per_t: i64 },
}

impl Price {
    pub fn fob_per_t(self) -> UsdExact {
        match self {
            Price::CbotPlusPremium {
                cbot_c_bu_e4,
                premium_c_bu_e4,
            } => UsdExact::from_cents_per_bushel_e4(cbot_c_bu_e4 + premium_c_bu_e4),
            Price::Fob { usd_cents_per_t } => UsdExact::from_cents(usd_cents_per_t),
        }
    }
}

/// One origin's offer of one tariff line at one instant, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    pub code: TariffCode,
    pub origin: Origin,
    pub at: BjTime,
    pub at_precision: Precision,
    pub price: Price,
    pub freight_usd_cents_per_t: i64,
    /// `None`: 0.3% of (goods price + freight).
    pub insurance_usd_cents_per_t: Option<i64>,
    /// `None`: the customs rate of the month of `at` from the schedule.
    pub fx: Option<FxRate>,
    pub port_charge_fen_per_t: Fen,
    /// Whether the importer holds an exclusion (every excludable layer lifted).
    pub excluded: bool,
}

/// The text fields of one quote (CSV cells, API strings). `None` is an absent column; an empty
/// string is an empty cell. Both mean "not given".
#[derive(Clone, Copy, Debug, Default)]
pub struct RawQuote<'a> {
    pub code: &'a str,
    pub origin: &'a str,
    pub at: Option<&'a str>,
    pub cbot_c_bu: Option<&'a str>,
    pub premium_c_bu: Option<&'a str>,
    pub fob_usd_t: Option<&'a str>,
    pub freight_usd_t: Option<&'a str>,
    pub insurance_usd_t: Option<&'a str>,
    pub fx_cny_usd: Option<&'a str>,
    pub port_charge_cny_t: Option<&'a str>,
    pub excluded: Option<&'a str>,
}

fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim_ascii).filter(|s| !s.is_empty())
}

/// Parses a decimal with at most `scale` decimals in `[min, max]` (both scaled).
fn scaled_in(
    column: &'static str,
    raw: &str,
    scale: u32,
    min: i64,
    max: i64,
    what: &str,
) -> Result<i64, FieldError> {
    let v = parse_scaled(raw, scale).map_err(|e| bad(column, raw, format!("{e}; {what}")))?;
    if v < min || v > max {
        return Err(bad(column, raw, format!("out of range; {what}")));
    }
    Ok(v)
}

impl RawQuote<'_> {
    /// Parses every field; the first bad one is reported with its column, value and fix.
    /// `default_at` is used when the `at` cell is absent or empty.
    pub fn parse(&self, default_at: Option<(BjTime, Precision)>) -> Result<Quote, FieldError> {
        let code = TariffCode::parse(self.code).map_err(|e| bad("code", self.code, e))?;
        let origin = Origin::parse(self.origin).map_err(|e| bad("origin", self.origin, e))?;
        let (at, at_precision) = match given(self.at) {
            Some(s) => BjTime::parse(s).map_err(|e| bad("at", s, e))?,
            None => default_at.ok_or_else(|| {
                bad(
                    "at",
                    "",
                    "no instant; give `at` (YYYY-MM-DD or YYYY-MM-DDTHH:MM, Beijing time) or --at",
                )
            })?,
        };
        let max_c_bu = MAX_USD_PER_T * 10_000 / 36 * 100; // cents/bu × 10⁴ worth ≤ the US$ limit
        let usd =
            |column, raw: &str, what: &str| scaled_in(column, raw, 2, 0, MAX_USD_PER_T * 100, what);
        let cbot = given(self.cbot_c_bu);
        let premium = given(self.premium_c_bu);
        let fob = given(self.fob_usd_t);
        let price = match (cbot, premium) {
            (Some(c), Some(p)) => {
                let cbot_c_bu_e4 = scaled_in(
                    "cbot_c_bu",
                    c,
                    4,
                    1,
                    max_c_bu,
                    "give the CBOT futures price in US cents per bushel, e.g. 1247.25",
                )?;
                let premium_c_bu_e4 = scaled_in(
                    "premium_c_bu",
                    p,
                    4,
                    -max_c_bu,
                    max_c_bu,
                    "give the basis premium over CBOT in US cents per bushel (may be negative), e.g. 112",
                )?;
                let price = Price::CbotPlusPremium {
                    cbot_c_bu_e4,
                    premium_c_bu_e4,
                };
                let f = price.fob_per_t();
                if f.0 <= 0 {
                    return Err(bad(
                        "premium_c_bu",
                        p,
                        "CBOT plus premium is zero or negative; check the sign of the premium",
                    ));
                }
                // A FOB given as well must say the same (published tables round it to the dollar).
                if let Some(raw) = fob {
                    let cents = usd("fob_usd_t", raw, "give the FOB price in US$ per tonne")?;
                    if (UsdExact::from_cents(cents).0 - f.0).abs() > UsdExact::from_cents(100).0 {
                        return Err(bad(
                            "fob_usd_t",
                            raw,
                            format!("disagrees with cbot_c_bu + premium_c_bu (= US$ {f}/t) by more than US$ 1/t; leave fob_usd_t empty or correct one of them"),
                        ));
                    }
                }
                price
            }
            (Some(_), None) => {
                return Err(bad(
                    "premium_c_bu",
                    "",
                    "cbot_c_bu is given without premium_c_bu; give both, or fob_usd_t instead",
                ))
            }
            (None, Some(_)) => {
                return Err(bad(
                    "cbot_c_bu",
                    "",
                    "premium_c_bu is given without cbot_c_bu; give both, or fob_usd_t instead",
                ))
            }
            (None, None) => match fob {
                Some(raw) => {
                    let cents = usd(
                        "fob_usd_t",
                        raw,
                        "give the FOB price in US$ per tonne, e.g. 499.50",
                    )?;
                    if cents == 0 {
                        return Err(bad("fob_usd_t", raw, "a price of zero; give the FOB price"));
                    }
                    Price::Fob {
                        usd_cents_per_t: cents,
                    }
                }
                None => {
                    return Err(bad(
                        "fob_usd_t",
                        "",
                        "no price; give fob_usd_t (US$/t), or cbot_c_bu and premium_c_bu (US cents/bushel)",
                    ))
                }
            },
        };
        let freight_raw = given(self.freight_usd_t).ok_or_else(|| {
            bad(
                "freight_usd_t",
                "",
                "no ocean freight; give it in US$ per tonne (0 if the price already includes it)",
            )
        })?;
        let freight_usd_cents_per_t = usd(
            "freight_usd_t",
            freight_raw,
            "give the ocean freight in US$ per tonne, 0 or more",
        )?;
        let insurance_usd_cents_per_t = given(self.insurance_usd_t)
            .map(|raw| {
                usd(
                    "insurance_usd_t",
                    raw,
                    "give the insurance in US$ per tonne, or leave it empty for 0.3% of price plus freight",
                )
            })
            .transpose()?;
        let fx = given(self.fx_cny_usd)
            .map(|raw| {
                FxRate::parse(raw).map_err(|e| {
                    bad(
                        "fx_cny_usd",
                        raw,
                        format!("{e}; give CNY per US$ to 4 decimals, e.g. 6.5616, or leave it empty for the customs rate"),
                    )
                })
            })
            .transpose()?;
        let port_charge_fen_per_t = match given(self.port_charge_cny_t) {
            Some(raw) => Fen(scaled_in(
                "port_charge_cny_t",
                raw,
                2,
                0,
                MAX_PORT_CHARGE_CNY_PER_T * 100,
                "give port charges in CNY per tonne, 0 or more (default 0)",
            )?),
            None => Fen(0),
        };
        let excluded = match given(self.excluded).unwrap_or("") {
            "" | "false" | "FALSE" | "no" | "0" => false,
            "true" | "TRUE" | "yes" | "1" => true,
            other => {
                return Err(bad(
                    "excluded",
                    other,
                    "write `true` (the importer holds an exclusion) or `false` (default)",
                ))
            }
        };
        Ok(Quote {
            code,
            origin,
            at,
            at_precision,
            price,
            freight_usd_cents_per_t,
            insurance_usd_cents_per_t,
            fx,
            port_charge_fen_per_t,
            excluded,
        })
    }
}

/// Why a quote has no landed cost.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LandedError {
    #[error("no customs exchange rate for USD in {month}; give fx_cny_usd or add the rate to the schedule")]
    NoExchangeRate { month: Month },
    #[error("the customs value is zero; give a positive price")]
    ZeroValue,
    #[error(transparent)]
    Assess(#[from] AssessError),
}

/// Duty, VAT and landed cost per tonne under one choice of lifted layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    /// Base plus additional duty rate (ad valorem equivalent).
    pub duty_rate_pct: RatePpm,
    pub duty_fen_per_t: Fen,
    pub vat_fen_per_t: Fen,
    pub landed_fen_per_t: Fen,
}

/// Where the exchange rate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FxSource {
    Given,
    /// The schedule's customs rate for this month.
    CustomsTable {
        month: Month,
        confidence: Confidence,
    },
}

/// The landed cost of one quote.
#[derive(Clone, Debug)]
pub struct LandedCost<'s> {
    pub fob_usd_per_t: UsdExact,
    pub freight_usd_per_t: UsdExact,
    pub cfr_usd_per_t: UsdExact,
    pub insurance_usd_per_t: UsdExact,
    pub cif_usd_per_t: UsdExact,
    pub fx: FxRate,
    pub fx_source: FxSource,
    pub customs_value_fen_per_t: Fen,
    pub port_charge_fen_per_t: Fen,
    /// Nothing lifted.
    pub full: Costs,
    /// Every excludable layer lifted.
    pub with_exclusion: Costs,
    /// What this quote pays: `with_exclusion` if the quote is excluded, else `full`.
    pub charged: Costs,
    /// The engine's assessment of one tonne as charged (layers, legal bases, warnings).
    pub assessment: Assessment<'s>,
    /// Exact sum of the charged additional layers (for the break-even search).
    additional_exact: CnyExact,
}

fn costs(a: &Assessment, port: Fen) -> Costs {
    Costs {
        duty_rate_pct: RatePpm(a.base_rate.0 + a.additional_rate.0),
        duty_fen_per_t: a.duty(),
        vat_fen_per_t: a.vat,
        landed_fen_per_t: a.customs_value + a.duty() + a.vat + port,
    }
}

/// The instant a monthly series is assessed at: 12:00 Beijing time on the 15th (mid-month, and
/// never on a day when a measure switches at a time of day in the demo schedule).
pub fn series_instant(month: Month) -> BjTime {
    let (y, m) = (
        i64::from(month.0.div_euclid(12)),
        i64::from(month.0.rem_euclid(12)) + 1,
    );
    BjTime::from_civil(y, m, 15, 12, 0, 0).unwrap_or(BjTime(0))
}

/// One tonne of the quoted goods at `customs_value`, as the engine's input.
fn one_tonne(q: &Quote, customs_value: Fen) -> LineInput {
    LineInput {
        code: q.code,
        origin: q.origin,
        declared_at: q.at,
        declared_precision: q.at_precision,
        shipped_on: None,
        quantity: Quantity {
            grams: QtyUnit::T.grams(),
        },
        customs_value: Money {
            minor: customs_value.0,
            currency: Currency::CNY,
        },
        in_quota: false,
    }
}

/// Computes the landed cost of one quote: CIF, customs value, the engine's duty and VAT on one
/// tonne with and without the exclusion, and the landed cost.
pub fn landed_cost<'s>(s: &'s Schedule, q: &Quote) -> Result<LandedCost<'s>, LandedError> {
    let fob = q.price.fob_per_t();
    let freight = UsdExact::from_cents(q.freight_usd_cents_per_t);
    let cfr = fob + freight;
    let insurance = match q.insurance_usd_cents_per_t {
        Some(c) => UsdExact::from_cents(c),
        // Exact: every amount here is a multiple of 1000 units.
        None => UsdExact(cfr.0 * DEFAULT_INSURANCE_PER_MILLE / 1_000),
    };
    let cif = cfr + insurance;
    let (fx, fx_source) = match q.fx {
        Some(fx) => (fx, FxSource::Given),
        None => {
            let month = q.at.month();
            let e = s
                .fx(Currency::USD, month)
                .ok_or(LandedError::NoExchangeRate { month })?;
            (
                e.rate,
                FxSource::CustomsTable {
                    month,
                    confidence: e.confidence,
                },
            )
        }
    };
    let customs_value = cif.to_fen(fx);
    if customs_value.0 <= 0 {
        return Err(LandedError::ZeroValue);
    }
    let input = one_tonne(q, customs_value);
    let full_a = assess(s, &input, Lift::Nothing)?;
    let lifted_a = assess(s, &input, Lift::AllExcludable)?;
    let port = q.port_charge_fen_per_t;
    let (full, with_exclusion) = (costs(&full_a, port), costs(&lifted_a, port));
    let (charged, assessment) = if q.excluded {
        (with_exclusion, lifted_a)
    } else {
        (full, full_a)
    };
    let additional_exact = assessment
        .layers
        .iter()
        .filter(|l| l.status == LayerStatus::Charged && l.measure.kind.role() == Role::Additional)
        .fold(CnyExact(0), |t, l| t + l.amount_exact);
    Ok(LandedCost {
        fob_usd_per_t: fob,
        freight_usd_per_t: freight,
        cfr_usd_per_t: cfr,
        insurance_usd_per_t: insurance,
        cif_usd_per_t: cif,
        fx,
        fx_source,
        customs_value_fen_per_t: customs_value,
        port_charge_fen_per_t: port,
        full,
        with_exclusion,
        charged,
        assessment,
        additional_exact,
    })
}

impl LandedCost<'_> {
    /// The costs on the same customs value with the layers `lift` selects lifted (e.g. only the
    /// scopes one exclusion programme lifts).
    pub fn costs_lifting(
        &self,
        s: &Schedule,
        q: &Quote,
        lift: Lift<'_>,
    ) -> Result<Costs, LandedError> {
        let input = one_tonne(q, self.customs_value_fen_per_t);
        Ok(costs(&assess(s, &input, lift)?, q.port_charge_fen_per_t))
    }

    /// The landed cost as charged if one more additional ad valorem layer of `extra` (negative:
    /// a cut) were added, rounded exactly as the engine rounds: the additional duty half-up to the
    /// fen from the exact sum of its layers, VAT on the customs value plus the rounded duties.
    pub fn landed_with_extra_rate(&self, extra: RateE8) -> Fen {
        let cv = self.customs_value_fen_per_t;
        let base = self.assessment.base_duty;
        let additional = (self.additional_exact + extra.of(cv)).round_to_fen();
        let vat = self
            .assessment
            .vat_rate
            .of(cv + base + additional)
            .round_to_fen();
        cv + base + additional + vat + self.port_charge_fen_per_t
    }

    /// The smallest additional ad valorem rate (10⁻⁸ steps, possibly negative) at which this
    /// quote's landed cost reaches `target`; it is then level with it within a fen. `None` if no
    /// rate within ±1 000 000% reaches it.
    pub fn level_rate(&self, target: Fen) -> Option<RateE8> {
        const LIMIT: i128 = RateE8::HUNDRED_PCT * 10_000;
        let f = |r: i128| self.landed_with_extra_rate(RateE8(r));
        let cv = i128::from(self.customs_value_fen_per_t.0);
        if cv <= 0 {
            return None;
        }
        // Start from the unrounded solution: landed grows by cv × r × (1 + VAT); the two
        // roundings move it by at most a fen each, so a bracket of ±4 fen's worth of rate
        // around it usually holds, and is widened by doubling when it does not.
        let vat_ppm = i128::from(self.assessment.vat_rate.0);
        let gap = i128::from(target.0 - f(0).0);
        let guess = gap * RateE8::HUNDRED_PCT * 1_000_000 / (cv * (1_000_000 + vat_ppm));
        let mut margin = (4 * RateE8::HUNDRED_PCT / cv).max(1);
        let (mut lo, mut hi) = (guess - margin, guess + margin);
        while f(lo) >= target {
            margin *= 2;
            lo = guess - margin;
            if lo < -LIMIT {
                return None;
            }
        }
        while f(hi) < target {
            margin *= 2;
            hi = guess + margin;
            if hi > LIMIT {
                return None;
            }
        }
        // f is non-decreasing; f(lo) < target <= f(hi).
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if f(mid) >= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(RateE8(hi))
    }
}

/// The break-even additional tariff of one quote against its nearest rival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakEven {
    /// Index of the rival: the second cheapest for the cheapest quote, else the cheapest.
    pub against: usize,
    /// Additional ad valorem rate that puts this quote level with the rival (positive: the
    /// headroom before the cheapest stops being cheapest; negative: the cut a dearer origin needs).
    pub additional_rate: RateE8,
    /// This quote's landed cost at that rate (within a fen of the rival's).
    pub landed_fen_per_t: Fen,
}

/// A quote's place among the quotes of the same tariff line and instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// 1 = cheapest; ties keep input order, so the ranks of a group are a permutation of 1..=n.
    pub rank: u32,
    /// Landed cost minus the cheapest's in the group (0 for the cheapest).
    pub spread_fen_per_t: Fen,
    /// Index of the cheapest quote of the group.
    pub cheapest: usize,
    /// `None` when the group has one quote or no rate within the limits levels it.
    pub break_even: Option<BreakEven>,
}

/// Ranks quotes by landed cost as charged within groups of the same tariff line and instant.
/// `quotes[i]` and `costs[i]` describe the same quote.
pub fn rank(quotes: &[Quote], costs: &[LandedCost]) -> Vec<Standing> {
    rank_by(quotes, costs, |c| c.charged.landed_fen_per_t)
}

/// [`rank`] by any landed-cost measure (e.g. `full` or `with_exclusion` for a series). The
/// break-even search always works on the cost as charged, so use it with `rank`'s measure only
/// when `landed` is `charged`; other measures get no break-even.
pub fn rank_by(
    quotes: &[Quote],
    costs: &[LandedCost],
    landed: impl Fn(&LandedCost) -> Fen,
) -> Vec<Standing> {
    let n = quotes.len().min(costs.len());
    let charged = costs
        .iter()
        .take(n)
        .all(|c| landed(c) == c.charged.landed_fen_per_t);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        (quotes[a].code, quotes[a].at, landed(&costs[a]), a).cmp(&(
            quotes[b].code,
            quotes[b].at,
            landed(&costs[b]),
            b,
        ))
    });
    let mut out = vec![
        Standing {
            rank: 0,
            spread_fen_per_t: Fen(0),
            cheapest: 0,
            break_even: None,
        };
        n
    ];
    for group in
        order.chunk_by(|&a, &b| quotes[a].code == quotes[b].code && quotes[a].at == quotes[b].at)
    {
        let first = group[0];
        let min = landed(&costs[first]);
        for (pos, &i) in group.iter().enumerate() {
            let rival = match (pos, group.get(1)) {
                (0, Some(&second)) => Some(second),
                (0, None) => None,
                _ => Some(first),
            };
            let break_even = rival.filter(|_| charged).and_then(|r| {
                let target = landed(&costs[r]);
                let rate = costs[i].level_rate(target)?;
                Some(BreakEven {
                    against: r,
                    additional_rate: rate,
                    landed_fen_per_t: costs[i].landed_with_extra_rate(rate),
                })
            });
            out[i] = Standing {
                rank: pos as u32 + 1,
                spread_fen_per_t: landed(&costs[i]) - min,
                cheapest: first,
                break_even,
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule_csv::demo_schedule;

    fn raw<'a>(origin: &'a str, cbot: &'a str, premium: &'a str, freight: &'a str) -> RawQuote<'a> {
        RawQuote {
            code: "12019010",
            origin,
            at: Some("2020-12-23"),
            cbot_c_bu: Some(cbot),
            premium_c_bu: Some(premium),
            freight_usd_t: Some(freight),
            insurance_usd_t: Some("0"),
            fx_cny_usd: Some("6.5616"),
            port_charge_cny_t: Some("80"),
            ..RawQuote::default()
        }
    }

    #[test]
    fn bushels_convert_exactly() {
        // (1247.25 + 112) c/bu × 0.367437 = 499.4387… US$/t.
        let f = Price::CbotPlusPremium {
            cbot_c_bu_e4: 12_472_500,
            premium_c_bu_e4: 1_120_000,
        }
        .fob_per_t();
        assert_eq!(f.0, 13_592_500 * 367_437 * 1_000);
        assert_eq!(f.to_string(), "499.44");
    }

    #[test]
    fn default_insurance_is_three_per_mille_and_exact() {
        let s = demo_schedule().unwrap();
        let mut r = raw("BR", "1250", "126", "29");
        r.insurance_usd_t = None;
        let q = r.parse(None).unwrap();
        let c = landed_cost(&s, &q).unwrap();
        assert_eq!(c.insurance_usd_per_t.0 * 1000, c.cfr_usd_per_t.0 * 3);
        assert!(c.cif_usd_per_t > c.cfr_usd_per_t);
    }

    #[test]
    fn published_us_gulf_december_row_with_exclusion() {
        let s = demo_schedule().unwrap();
        let mut r = raw("US", "1247.25", "112", "38");
        r.excluded = Some("true");
        let q = r.parse(None).unwrap();
        let c = landed_cost(&s, &q).unwrap();
        // (499.4387 + 38) × 6.5616 = 3526.46 CNY/t; × 1.03 × 1.09 + 80 ≈ 4039 (published 4039).
        assert_eq!(c.customs_value_fen_per_t, Fen(352_646));
        assert_eq!(c.charged.duty_rate_pct.pct_string(), "3");
        assert!((c.charged.landed_fen_per_t.0 - 403_900).abs() <= 100);
        // Without the exclusion the 25% and 2.5% layers apply.
        assert_eq!(c.full.duty_rate_pct.pct_string(), "30.5");
        assert!(c.full.landed_fen_per_t > c.charged.landed_fen_per_t);
        assert_eq!(
            c.landed_with_extra_rate(RateE8(0)),
            c.charged.landed_fen_per_t
        );
    }

    #[test]
    fn ranking_spread_and_break_even() {
        let s = demo_schedule().unwrap();
        let quotes: Vec<Quote> = [
            raw("US", "1247.25", "112", "38"),
            raw("BR", "1250", "126", "29"),
            raw("AR", "1244.25", "62", "36"),
        ]
        .iter()
        .map(|r| r.parse(None).unwrap())
        .collect();
        let costs: Vec<_> = quotes.iter().map(|q| landed_cost(&s, q).unwrap()).collect();
        let st = rank(&quotes, &costs);
        let mut ranks: Vec<u32> = st.iter().map(|s| s.rank).collect();
        ranks.sort();
        assert_eq!(ranks, [1, 2, 3]);
        let cheapest = st[0].cheapest;
        assert_eq!(st[cheapest].rank, 1);
        assert_eq!(st[cheapest].spread_fen_per_t, Fen(0));
        for (i, s) in st.iter().enumerate() {
            let be = s.break_even.unwrap();
            let target = costs[be.against].charged.landed_fen_per_t;
            assert!((be.landed_fen_per_t.0 - target.0).abs() <= 1, "{i}");
            if s.rank == 1 {
                assert!(be.additional_rate.0 >= 0);
            } else {
                assert!(be.additional_rate.0 <= 0);
            }
        }
        // The U.S. without exclusion pays 27.5 points more: far from level.
        let us = &st[0];
        assert!(us.rank == 3 && us.break_even.unwrap().additional_rate.0 < -20 * 1_000_000);
    }

    #[test]
    fn bad_fields_name_column_value_and_fix() {
        let mut r = raw("US", "1247.25", "112", "38");
        r.premium_c_bu = None;
        assert_eq!(r.parse(None).unwrap_err().column, "premium_c_bu");
        let mut r = raw("US", "1247.25", "112", "38");
        r.fob_usd_t = Some("520");
        let e = r.parse(None).unwrap_err();
        assert_eq!(e.column, "fob_usd_t");
        assert!(e.message.contains("499.44"), "{e}");
        let mut r = raw("US", "1247.25", "112", "-3");
        r.freight_usd_t = Some("-3");
        assert_eq!(r.parse(None).unwrap_err().column, "freight_usd_t");
        let mut r = raw("US", "1247.25", "112", "38");
        r.at = None;
        assert_eq!(r.parse(None).unwrap_err().column, "at");
        let mut r = raw("US", "1247.25", "112", "38");
        r.excluded = Some("maybe");
        assert_eq!(r.parse(None).unwrap_err().column, "excluded");
    }

    #[test]
    fn series_instant_is_mid_month_noon() {
        let t = series_instant(Month::parse("2025-04").unwrap());
        assert_eq!(t.to_string(), "2025-04-15 12:00");
    }
}
