//! A landed-cost series on the demo schedule: 120 months (2017-01..2026-12) × 4 origins (U.S.
//! Gulf, U.S. PNW, Brazil, Argentina), each quote assessed with and without the exclusion, then
//! ranked per month with the break-even tariff. Throughput is reported in quotes per second.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use waiver_domain::landed::{landed_cost, rank, series_instant, Price, Quote};
use waiver_domain::scenario::ScenarioSpec;
use waiver_domain::schedule_csv::demo_schedule;
use waiver_domain::{Fen, FxRate, Month, Origin, Precision, TariffCode};

fn quotes() -> Vec<Quote> {
    let code = TariffCode::parse("12019010").expect("code");
    let first = Month::parse("2017-01").expect("month").0;
    let last = Month::parse("2026-11").expect("month").0; // the customs table's last month
    let mut out = Vec::with_capacity(480);
    for (k, m) in (first..first + 120).enumerate() {
        let k = k as i64;
        for (origin, premium_c, freight_cents) in [
            ("US", 500_000, 4_000),
            ("US", 700_000, 2_300),
            ("BR", 900_000, 3_100),
            ("AR", 600_000, 3_600),
        ] {
            out.push(Quote {
                code,
                origin: Origin::parse(origin).expect("origin"),
                at: series_instant(Month(m)),
                at_precision: Precision::Minute,
                price: Price::CbotPlusPremium {
                    cbot_c_bu_e4: 9_000_000 + (k % 37) * 250_000,
                    premium_c_bu_e4: premium_c + (k % 11) * 50_000,
                },
                freight_usd_cents_per_t: freight_cents,
                insurance_usd_cents_per_t: None,
                // Past the table's last month the rate is given.
                fx: (m > last).then_some(FxRate {
                    cny_per_unit_e4: 66_761,
                }),
                port_charge_fen_per_t: Fen(8_000),
                excluded: origin == "US" && k % 2 == 0,
            });
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let s = demo_schedule().expect("demo schedule");
    let q = quotes();
    let mut g = c.benchmark_group("landed");
    g.throughput(Throughput::Elements(q.len() as u64));
    g.bench_function("series_120_months_x_4_origins", |b| {
        b.iter(|| {
            let costs: Vec<_> = black_box(&q)
                .iter()
                .map(|q| landed_cost(&s, q).expect("landed"))
                .collect();
            black_box(rank(&q, &costs))
        })
    });
    g.bench_function("series_without_ranking", |b| {
        b.iter(|| {
            black_box(&q)
                .iter()
                .map(|q| landed_cost(&s, q).map(|c| c.charged.landed_fen_per_t))
                .fold(0i64, |t, l| t + l.map_or(0, |f| f.0))
        })
    });
    // The same series under a scenario: the overlay is validated and applied (a re-indexed
    // schedule) once per run, then every quote is costed under both schedules and both ranked.
    let spec: ScenarioSpec = serde_json::from_str(
        r#"{"name":"bench","changes":[
            {"op":"remove","measure":"L301-1-soy"},
            {"op":"change","measure":"L301-4A-soy-halved","duty":"10%"},
            {"op":"add","id":"BR-5","goods":"1201","origin":"BR","kind":"additional","duty":"5%","start":"2020-01-01","end":"2023-01-01"}]}"#,
    )
    .expect("scenario");
    g.bench_function("series_with_scenario_actual_and_overlay", |b| {
        b.iter(|| {
            let sc = spec.clone().validate(&s).expect("valid");
            let t = sc.apply(&s);
            let a: Vec<_> = black_box(&q)
                .iter()
                .map(|q| landed_cost(&s, q).expect("landed"))
                .collect();
            let b2: Vec<_> = q
                .iter()
                .map(|q| landed_cost(&t, q).expect("landed"))
                .collect();
            black_box((rank(&q, &a), rank(&q, &b2)))
        })
    });
    g.bench_function("scenario_validate_and_apply", |b| {
        b.iter(|| black_box(spec.clone().validate(&s).expect("valid").apply(&s)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
