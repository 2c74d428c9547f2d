//! Applicant aid: what an exclusion would save on the requested quantity of a line, and whether
//! the U.S. origin would then be the cheapest at current quotes.
//!
//! "Current quotes" are the demo monthly series (`data/landed/soybeans-monthly.csv`), whose
//! rows say whether each figure is sourced or illustrative; the result carries that label.

use serde::Serialize;

use crate::amount::{div_round_half_up, Fen, Quantity};
use crate::codes::{CountryCode, Origin, TariffCode};
use crate::landed::{landed_cost, LandedError, RawQuote};
use crate::schedule::Schedule;
use crate::time::{BjTime, Month, Precision};

/// The demo monthly quotes compiled in.
pub const DEMO_MONTHLY: &str = include_str!("../../../data/landed/soybeans-monthly.csv");

/// One origin's landed cost, without and with the exclusion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AidOrigin {
    pub label: String,
    pub origin: String,
    pub landed_cny_t: Fen,
    /// With every excludable layer lifted (equal to `landed_cny_t` where none applies).
    pub landed_excluded_cny_t: Fen,
    /// `sourced` or `illustrative`, from the quotes file.
    pub source: String,
}

/// The aid for one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Aid {
    pub code: TariffCode,
    pub month: String,
    pub quantity_t: String,
    /// Duty and VAT an exclusion would lift per tonne of U.S. goods at the quoted price.
    pub saving_cny_t: Fen,
    /// `saving_cny_t` × the quantity, rounded half-up to the fen.
    pub saving_cny: Fen,
    pub origins: Vec<AidOrigin>,
    /// The U.S. origin, excluded, is the cheapest of the quotes (ties count as cheapest).
    pub us_cheapest_with_exclusion: bool,
    pub us_cheapest_without_exclusion: bool,
    /// U.S. landed cost with the exclusion minus the cheapest other origin's (negative: cheaper).
    pub us_gap_cny_t: Option<Fen>,
    /// Whether any quote used is illustrative rather than sourced.
    pub illustrative: bool,
    /// The month of quotes used and where they come from.
    pub quotes_note: String,
}

/// Why there is no aid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AidError {
    #[error(
        "no quotes for {month} or any earlier month; the demo quotes cover 2017-01 to 2026-12"
    )]
    NoQuotes { month: Month },
    #[error("no quotes of goods under the heading of tariff line {code} (the demo quotes are soybeans, heading 1201); the aid needs prices of the same goods")]
    NoQuotesForLine { code: TariffCode },
    #[error("no U.S. quote for {month}; the aid compares the U.S. origin with the others")]
    NoUsQuote { month: Month },
    #[error("quote row {row}: {message}")]
    BadQuote { row: usize, message: String },
    #[error(transparent)]
    Landed(#[from] LandedError),
}

struct Row {
    month: Month,
    /// The quoted goods' tariff line (the first four digits, the heading, must match).
    code: String,
    origin: String,
    label: String,
    fields: [String; 7],
    source: String,
}

fn rows(text: &str) -> Result<Vec<Row>, AidError> {
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let headers = rd
        .headers()
        .map_err(|e| AidError::BadQuote {
            row: 1,
            message: e.to_string(),
        })?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let names = [
        "cbot_c_bu",
        "premium_c_bu",
        "fob_usd_t",
        "freight_usd_t",
        "insurance_usd_t",
        "fx_cny_usd",
        "port_charge_cny_t",
    ];
    let mut out = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| AidError::BadQuote {
            row: i + 2,
            message: e.to_string(),
        })?;
        let get = |n: &str| {
            col(n)
                .and_then(|c| rec.get(c))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let month = Month::parse(&get("month")).ok_or_else(|| AidError::BadQuote {
            row: i + 2,
            message: "month is not YYYY-MM".into(),
        })?;
        out.push(Row {
            month,
            code: get("code"),
            origin: get("origin"),
            label: get("label"),
            fields: names.map(get),
            source: get("source"),
        });
    }
    Ok(out)
}

/// The aid for `quantity` of `code` at `at`, from quotes in the monthly CSV format (the latest
/// month not after `at`). Prices are the quoted goods' (soybeans in the demo); duty and VAT
/// are the engine's for `code`.
pub fn applicant_aid(
    schedule: &Schedule,
    quotes_csv: &str,
    code: TariffCode,
    quantity: Quantity,
    at: BjTime,
) -> Result<Aid, AidError> {
    applicant_aid_lifting(
        schedule,
        quotes_csv,
        code,
        quantity,
        at,
        crate::engine::Lift::AllExcludable,
    )
}

/// [`applicant_aid`] with the exclusion lifting only the layers `lift` selects — a programme's
/// scopes (`Lift::Scopes`), which is what an approval under that programme would lift.
pub fn applicant_aid_lifting(
    schedule: &Schedule,
    quotes_csv: &str,
    code: TariffCode,
    quantity: Quantity,
    at: BjTime,
    lift: crate::engine::Lift<'_>,
) -> Result<Aid, AidError> {
    let code_s = code.to_string();
    // Prices of other goods say nothing about these: only quotes under the same heading count.
    let heading = code_s.get(..4).unwrap_or("");
    let all: Vec<Row> = rows(quotes_csv)?
        .into_iter()
        .filter(|r| r.code.is_empty() || r.code.get(..4) == Some(heading))
        .collect();
    if all.is_empty() {
        return Err(AidError::NoQuotesForLine { code });
    }
    let month = all
        .iter()
        .map(|r| r.month)
        .filter(|m| *m <= at.month())
        .max()
        .ok_or(AidError::NoQuotes { month: at.month() })?;
    let mut origins = Vec::new();
    for r in all.iter().filter(|r| r.month == month) {
        let f = &r.fields;
        let raw = RawQuote {
            code: &code_s,
            origin: &r.origin,
            at: None,
            cbot_c_bu: Some(&f[0]),
            premium_c_bu: Some(&f[1]),
            fob_usd_t: Some(&f[2]),
            freight_usd_t: Some(&f[3]),
            insurance_usd_t: Some(&f[4]),
            fx_cny_usd: Some(&f[5]),
            port_charge_cny_t: Some(&f[6]),
            excluded: None,
        };
        let q = raw
            .parse(Some((at, Precision::Second)))
            .map_err(|e| AidError::BadQuote {
                row: 0,
                message: e.to_string(),
            })?;
        let c = landed_cost(schedule, &q)?;
        origins.push(AidOrigin {
            label: r.label.clone(),
            origin: r.origin.clone(),
            landed_cny_t: c.full.landed_fen_per_t,
            landed_excluded_cny_t: c.costs_lifting(schedule, &q, lift)?.landed_fen_per_t,
            source: r.source.clone(),
        });
    }
    let us = CountryCode::parse("US").map(Origin::Country).ok();
    let is_us = |o: &AidOrigin| Origin::parse(&o.origin).ok() == us;
    let us_row = origins
        .iter()
        .find(|o| is_us(o))
        .ok_or(AidError::NoUsQuote { month })?;
    let saving_t = us_row.landed_cny_t - us_row.landed_excluded_cny_t;
    let saving =
        Fen(div_round_half_up(i128::from(saving_t.0) * i128::from(quantity.grams), 6) as i64);
    let cheapest_other = origins
        .iter()
        .filter(|o| !is_us(o))
        .map(|o| o.landed_cny_t)
        .min();
    let (with, without, gap) = match cheapest_other {
        Some(c) => (
            us_row.landed_excluded_cny_t <= c,
            us_row.landed_cny_t <= c,
            Some(us_row.landed_excluded_cny_t - c),
        ),
        None => (true, true, None),
    };
    let illustrative = origins.iter().any(|o| o.source != "sourced");
    Ok(Aid {
        code,
        month: month.to_string(),
        quantity_t: crate::amount::format_scaled(i128::from(quantity.grams), 6, 0),
        saving_cny_t: saving_t,
        saving_cny: saving,
        us_cheapest_with_exclusion: with,
        us_cheapest_without_exclusion: without,
        us_gap_cny_t: gap,
        illustrative,
        quotes_note: format!(
            "quotes of {month} from the demo monthly series (data/landed/soybeans-monthly.csv){}",
            if illustrative {
                "; some figures are illustrative, not sourced"
            } else {
                ""
            }
        ),
        origins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule_csv::demo_schedule;

    #[test]
    fn an_exclusion_in_2019_saves_the_additional_layers_on_the_quantity() {
        let s = demo_schedule().unwrap();
        let (at, _) = BjTime::parse("2019-10-15").unwrap();
        let q = Quantity {
            grams: 60_000_000_000,
        };
        let a = applicant_aid(
            &s,
            DEMO_MONTHLY,
            TariffCode::parse("12019010").unwrap(),
            q,
            at,
        )
        .unwrap();
        assert_eq!(a.month, "2019-10");
        assert!(a.saving_cny_t > Fen(0));
        assert_eq!(
            a.saving_cny,
            Fen(div_round_half_up(i128::from(a.saving_cny_t.0) * 60_000, 0) as i64)
        );
        assert_eq!(a.quantity_t, "60000");
        assert!(a.origins.len() >= 2);
        // Without the exclusion the U.S. is not cheapest in 2019.
        assert!(!a.us_cheapest_without_exclusion);
        assert!(a.illustrative);
    }

    #[test]
    fn the_saving_counts_only_the_layers_the_programme_lifts() {
        use crate::engine::Lift;
        let s = demo_schedule().unwrap();
        let (at, _) = BjTime::parse("2019-10-15").unwrap();
        let (code, q) = (
            TariffCode::parse("12019010").unwrap(),
            Quantity {
                grams: 60_000_000_000,
            },
        );
        let all = applicant_aid(&s, DEMO_MONTHLY, code, q, at).unwrap();
        let l301 =
            applicant_aid_lifting(&s, DEMO_MONTHLY, code, q, at, Lift::Scopes(&["l301"])).unwrap();
        let other =
            applicant_aid_lifting(&s, DEMO_MONTHLY, code, q, at, Lift::Scopes(&["l2025"])).unwrap();
        // In 2019 every excludable layer on U.S. soybeans is a Section 301 countermeasure.
        assert_eq!(l301.saving_cny, all.saving_cny);
        assert!(l301.saving_cny > Fen(0));
        // A programme lifting another scope saves nothing here, and ranks as without exclusion.
        assert_eq!(other.saving_cny, Fen(0));
        assert_eq!(
            other.us_cheapest_with_exclusion,
            other.us_cheapest_without_exclusion
        );
    }

    #[test]
    fn soybean_quotes_are_not_used_for_other_goods() {
        let s = demo_schedule().unwrap();
        let (at, _) = BjTime::parse("2019-10-15").unwrap();
        let q = Quantity { grams: 1_000_000 };
        let pork = TariffCode::parse("02032900").unwrap();
        let e = applicant_aid(&s, DEMO_MONTHLY, pork, q, at).unwrap_err();
        assert_eq!(e, AidError::NoQuotesForLine { code: pork });
        let other_soy = TariffCode::parse("12019090").unwrap();
        assert!(applicant_aid(&s, DEMO_MONTHLY, other_soy, q, at).is_ok());
    }

    #[test]
    fn before_the_first_month_there_are_no_quotes() {
        let s = demo_schedule().unwrap();
        let (at, _) = BjTime::parse("2016-10-15").unwrap();
        let e = applicant_aid(
            &s,
            DEMO_MONTHLY,
            TariffCode::parse("12019010").unwrap(),
            Quantity { grams: 1 },
            at,
        )
        .unwrap_err();
        assert!(matches!(e, AidError::NoQuotes { .. }));
    }
}
