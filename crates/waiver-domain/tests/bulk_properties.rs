//! The bulk assessor's shortcut gives exactly the engine's answer (every layer, amount, rate and
//! warning, and the same errors) on random lines: on the demo schedule, with instants drawn near
//! every measure switch and grace cut-off, and on a schedule with compound, bounded, provisional,
//! conditional and time-of-day measures.

use proptest::prelude::*;
use waiver_domain::bulk::{BulkAssessor, Priced, Recipe};
use waiver_domain::engine::{assess, Lift};
use waiver_domain::schedule_csv::{demo_schedule, parse_schedule, ScheduleFiles};
use waiver_domain::{
    BjTime, Currency, LineInput, Money, Origin, Precision, Quantity, Schedule, TariffCode,
};

const DAY: i64 = 86_400;

/// Instants worth testing: every measure start and end and grace bound, and the days around them.
fn interesting_instants(s: &Schedule) -> Vec<BjTime> {
    let mut v = Vec::new();
    for m in s.measures() {
        v.push(m.validity.start);
        v.extend(m.validity.end);
        if let Some(g) = m.grace {
            v.push(g.shipped_before);
            v.push(g.imported_until);
        }
    }
    v
}

#[derive(Debug, Clone)]
struct Case {
    code: usize,
    origin: usize,
    anchor: Option<usize>,
    offset: i64,
    date_only: bool,
    shipped: Option<(i64, bool)>,
    grams: i64,
    minor: i64,
    currency: usize,
    in_quota: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            0usize..64,
            0usize..8,
            prop::option::weighted(0.8, 0usize..256),
        ),
        (
            prop_oneof![-2 * DAY..2 * DAY, -60i64..60, 0i64..10 * 365 * DAY],
            any::<bool>(),
            prop::option::of((0i64..60 * DAY, any::<bool>())),
        ),
        (1i64..1_000_000_000_000, 1i64..10_000_000_000_000),
        (0usize..3, prop::bool::weighted(0.2)),
    )
        .prop_map(
            |(
                (code, origin, anchor),
                (offset, date_only, shipped),
                (grams, minor),
                (currency, in_quota),
            )| Case {
                code,
                origin,
                anchor,
                offset,
                date_only,
                shipped,
                grams,
                minor,
                currency,
                in_quota,
            },
        )
}

fn input(s: &Schedule, instants: &[BjTime], c: &Case) -> LineInput {
    let mut codes: Vec<TariffCode> = s.lines().iter().map(|l| l.code).collect();
    codes.push(TariffCode::parse("99999999").unwrap());
    // 10-digit codes: one under a line (its 8-digit parent is assessed), one under nothing.
    codes.push(TariffCode::parse("1201901000").unwrap());
    codes.push(TariffCode::parse("1001990010").unwrap());
    codes.push(TariffCode::parse("9999999999").unwrap());
    let origins = ["US", "BR", "AR", "CA", "AU", "DE", "unknown", "US"];
    let base = match c.anchor {
        Some(i) if !instants.is_empty() => instants[i % instants.len()].0 + c.offset,
        // 2016-06-01 onwards
        _ => BjTime::parse_instant("2016-06-01").unwrap().0 + c.offset.abs(),
    };
    let snap = |t: i64, date_only: bool| {
        if date_only {
            (BjTime(t.div_euclid(DAY) * DAY), Precision::DateOnly)
        } else {
            (BjTime(t.div_euclid(60) * 60), Precision::Minute)
        }
    };
    let (declared_at, declared_precision) = snap(base, c.date_only);
    let shipped_on = c
        .shipped
        .map(|(back, d)| snap(declared_at.0 - back, d))
        .filter(|(t, _)| *t <= declared_at);
    let currency = [
        Currency::USD,
        Currency::CNY,
        Currency::parse("EUR").unwrap(),
    ][c.currency];
    LineInput {
        code: codes[c.code % codes.len()],
        origin: Origin::parse(origins[c.origin % origins.len()]).unwrap(),
        declared_at,
        declared_precision,
        shipped_on,
        quantity: Quantity { grams: c.grams },
        customs_value: Money {
            minor: c.minor,
            currency,
        },
        in_quota: c.in_quota,
    }
}

fn check(s: &Schedule, cases: &[Case]) -> Result<(), TestCaseError> {
    let instants = interesting_instants(s);
    // One assessor for all the cases, so later lines hit the segments earlier ones built.
    let mut bulk = BulkAssessor::new(s);
    for c in cases {
        let i = input(s, &instants, c);
        let want = format!("{:?}", assess(s, &i, Lift::Nothing));
        let got = format!("{:?}", bulk.assess(&i));
        prop_assert_eq!(got, want, "{:?}", i);
        check_recipe(s, &i)?;
    }
    Ok(())
}

/// A recipe taken from the assessment of another value and quantity (same line, origin, quota
/// choice and instant) prices this line as the engine does, in i128 and (ad valorem) in i64.
fn check_recipe(s: &Schedule, i: &LineInput) -> Result<(), TestCaseError> {
    let Ok(a) = assess(s, i, Lift::Nothing) else {
        return Ok(());
    };
    let other = LineInput {
        quantity: Quantity { grams: 1_000_000 },
        customs_value: Money {
            minor: 100_000,
            currency: i.customs_value.currency,
        },
        ..*i
    };
    let Some(r) = assess(s, &other, Lift::Nothing)
        .ok()
        .and_then(|o| Recipe::of(&o))
    else {
        return Ok(());
    };
    if Recipe::of(&a).is_none() {
        // The engine charged the layers differently (grace, unknown origin): no recipe applies.
        return Ok(());
    }
    let want = Priced::of(&a);
    prop_assert_eq!(r.price(a.customs_value, i.quantity), want, "{:?}", i);
    if let Some(p) = r.ad_valorem().and_then(|ad| ad.price(a.customs_value)) {
        prop_assert_eq!(p, want, "{:?}", i);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn bulk_equals_the_engine_on_the_demo_schedule(
        cases in prop::collection::vec(case(), 1..60)
    ) {
        let s = demo_schedule().unwrap();
        check(&s, &cases)?;
    }

    #[test]
    fn bulk_equals_the_engine_on_compound_and_conditional_measures(
        cases in prop::collection::vec(case(), 1..60)
    ) {
        check(&synthetic(), &cases)?;
    }
}

/// Compound and bounded duties, a provisional rate and VAT switching at a time of day, heading
/// and line layers with grace windows, a conditional layer, a quota line with two versions, and
/// a line without VAT.
fn synthetic() -> Schedule {
    let lines = "code,valid_from,valid_to,description_en,unit,vat_class,confidence\n\
                 12019010,2017-01-01,,Soya beans,kg,agri,sourced\n\
                 10019900,2017-01-01,2024-01-01,Wheat,kg,agri,sourced\n\
                 10019900,2024-01-01,,Wheat (new),kg,agri,sourced\n\
                 02023000,2017-01-01,,Beef,kg,meat,sourced\n";
    let measures = "id,goods,origin,kind,duty,start,end,legal_base,scope,excludable,grace_shipped_before,grace_imported_until,confidence\n\
         VAT,class:agri,*,vat,9%,2017-01-01,2022-03-01T10:30,V,vat,no,,,sourced\n\
         VAT2,class:agri,*,vat,13%,2022-03-01T10:30,,V,vat,no,,,sourced\n\
         MFN-S,12019010,*,mfn,3% + 0.5 CNY/kg,2017-01-01,,T,base,no,,,sourced\n\
         PROV-S,12019010,*,provisional,1% min 0.1 CNY/kg max 2 CNY/kg,2020-01-01,2021-06-15T08:00,P,base,no,,,sourced\n\
         ADD-S,12019010,US,additional,25%,2018-07-06T12:01,,A,l301,yes,2018-07-06T12:01,2018-09-01,sourced\n\
         ADD-S2,12,US,anti_dumping,10% + 300 CNY/t,2019-01-01,2023-01-01,A,ad,no,2019-01-01,2019-03-01,sourced\n\
         MFN-W,10019900,*,mfn,1%,2017-01-01,,T,base,no,,,sourced\n\
         OOQ-W,10019900,*,out_of_quota,65%,2017-01-01,,T,base,no,,,sourced\n\
         GEN-W,10019900,*,general,180%,2017-01-01,,T,base,no,,,sourced\n\
         SG-W,10019900,*,safeguard_over_quota,55%,2021-01-01,2022-01-01,S,sg,no,,,sourced\n\
         ADD-W,10019900,CA,additional,5 CNY/kg max 1000 CNY/t,2020-02-02T23:59,,A,x,yes,,,sourced\n\
         MFN-B,02023000,*,mfn,12%,2017-01-01,,T,base,no,,,sourced\n";
    let rates = "month,currency,cny_per_unit,confidence\n\
                 2020-06,USD,7.0883,sourced\n\
                 2018-07,USD,6.6,sourced\n\
                 2022-03,USD,6.3,sourced\n";
    parse_schedule(&ScheduleFiles {
        lines,
        measures,
        exchange_rates: rates,
    })
    .unwrap()
}

#[test]
fn the_synthetic_schedule_has_what_the_property_needs() {
    let s = synthetic();
    assert_eq!(s.lines().len(), 4);
    assert!(s.measures().iter().any(|m| m.grace.is_some()));
}
