//! Single look-ups on the demo schedule: a line at an instant, and a whole assessment.
//! Goal (issue 2): median under 1 µs.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use waiver_domain::engine::{assess, Lift};
use waiver_domain::schedule_csv::demo_schedule;
use waiver_domain::{BjTime, RawLine, TariffCode};

fn bench(c: &mut Criterion) {
    let s = demo_schedule().expect("demo schedule");
    let code = TariffCode::parse("12019010").expect("code");
    let at = BjTime::parse_instant("2019-09-15T10:00").expect("instant");
    c.bench_function("line_at", |b| {
        b.iter(|| black_box(s.line_at(black_box(&code), black_box(at))))
    });

    let raw = RawLine {
        declaration: "DEC1",
        line: "1",
        importer: "3100ABC123",
        code: "12019010",
        origin: "US",
        declared_at: "2025-04-11T09:00",
        quantity: "60000",
        unit: "t",
        customs_value: "21000000",
        currency: "USD",
        shipped_on: Some("2025-04-01"),
        in_quota: None,
    };
    let input = raw.parse().expect("line").input;
    c.bench_function("assess_us_soy_2025_all_layers", |b| {
        b.iter(|| black_box(assess(&s, black_box(&input), Lift::Nothing).map(|a| a.total)))
    });
    c.bench_function("parse_and_assess", |b| {
        b.iter(|| {
            let p = black_box(&raw).parse().expect("line");
            black_box(assess(&s, &p.input, Lift::Nothing).map(|a| a.total))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches, parsing);

fn parsers(c: &mut Criterion) {
    use waiver_domain::amount::{Money, QtyUnit, Quantity};
    use waiver_domain::{Currency, Origin, RegistrationCode};
    c.bench_function("parse_tariff_code", |b| {
        b.iter(|| TariffCode::parse(black_box("12019010")))
    });
    c.bench_function("parse_datetime", |b| {
        b.iter(|| BjTime::parse(black_box("2025-04-11T09:00")))
    });
    c.bench_function("parse_date", |b| {
        b.iter(|| BjTime::parse(black_box("2025-04-01")))
    });
    c.bench_function("parse_quantity", |b| {
        b.iter(|| Quantity::parse(black_box("60000.125"), QtyUnit::T))
    });
    c.bench_function("parse_money", |b| {
        b.iter(|| Money::parse(black_box("21000000.15"), Currency::USD))
    });
    c.bench_function("parse_registration_code", |b| {
        b.iter(|| RegistrationCode::parse(black_box("3100ABC123")))
    });
    c.bench_function("parse_origin", |b| {
        b.iter(|| Origin::parse(black_box("US")))
    });
    c.bench_function("parse_currency", |b| {
        b.iter(|| Currency::parse(black_box("USD")))
    });
}
criterion_group!(parsing, parsers);
