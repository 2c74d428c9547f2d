//! Golden assessments from the real 2018–2025 timeline in `../shared/data`, on the embedded demo
//! schedule. Each case asserts its key figures and snapshots the whole assessment.

use waiver_domain::engine::{assess, LayerStatus, Lift};
use waiver_domain::schedule_csv::demo_schedule;
use waiver_domain::{Assessment, RawLine, Schedule};

fn line<'a>(
    code: &'a str,
    origin: &'a str,
    at: &'a str,
    value: &'a str,
    currency: &'a str,
) -> RawLine<'a> {
    RawLine {
        declaration: "GOLDEN",
        line: "1",
        importer: "3100ABC123",
        code,
        origin,
        declared_at: at,
        quantity: "100",
        unit: "t",
        customs_value: value,
        currency,
        shipped_on: None,
        in_quota: None,
    }
}

fn run<'s>(s: &'s Schedule, raw: RawLine) -> Assessment<'s> {
    assess(s, &raw.parse().unwrap().input, Lift::Nothing).unwrap()
}

fn duty_pct(a: &Assessment) -> String {
    waiver_domain::RatePpm(a.base_rate.0 + a.additional_rate.0).pct_string()
}

#[test]
fn us_soybeans_3_to_28_to_33_to_30_5_percent() {
    let s = demo_schedule().unwrap();
    for (at, pct) in [
        ("2018-07-05", "3"),
        ("2018-07-06", "28"),
        ("2019-08-31T23:59", "28"),
        ("2019-09-01", "33"),
        ("2020-02-13", "33"),
        ("2020-02-14", "30.5"),
    ] {
        let a = run(&s, line("12019010", "US", at, "400000", "CNY"));
        assert_eq!(duty_pct(&a), pct, "at {at}");
    }
    // Brazilian soybeans pay only the MFN rate throughout.
    assert_eq!(
        duty_pct(&run(
            &s,
            line("12019010", "BR", "2019-09-01", "400000", "CNY")
        )),
        "3"
    );
}

#[test]
fn soybean_us_2019_09_15_in_usd() {
    let s = demo_schedule().unwrap();
    let a = run(
        &s,
        line("1201.90.10", "US", "2019-09-15T10:00", "35000", "USD"),
    );
    // 35 000 USD × 7.0639 (approximate customs rate, 2019-09) = 247 236.50 CNY.
    assert_eq!(a.customs_value.to_string(), "247236.50");
    assert_eq!(a.base_duty.to_string(), "7417.10"); // 3%, 7417.095 rounded half-up
    assert_eq!(a.additional_duty.to_string(), "74170.95"); // 25% + 5%
    assert_eq!(a.vat.to_string(), "29594.21"); // 9% of 328 824.55 = 29 594.2095, half-up
    insta::assert_json_snapshot!(a);
}

#[test]
fn vat_falls_from_10_to_9_percent_on_2019_04_01() {
    let s = demo_schedule().unwrap();
    let before = run(
        &s,
        line("12019010", "BR", "2019-03-31T23:59", "100000", "CNY"),
    );
    let after = run(&s, line("12019010", "BR", "2019-04-01", "100000", "CNY"));
    assert_eq!(
        (before.vat_rate.pct_string(), after.vat_rate.pct_string()),
        ("10".into(), "9".into())
    );
    assert_eq!(before.vat.to_string(), "10300.00"); // 10% of 103 000
    assert_eq!(after.vat.to_string(), "9270.00");
}

#[test]
fn pork_72_percent_in_september_2019_with_the_232_layer_not_excludable() {
    let s = demo_schedule().unwrap();
    let a = run(&s, line("02032900", "US", "2019-09-15", "100000", "CNY"));
    assert_eq!(duty_pct(&a), "72");
    let ids: Vec<&str> = a.charged_ids().collect();
    assert_eq!(
        ids,
        [
            "MFN-02032900",
            "L232-pork",
            "L301-1-pork",
            "L301-4A-pork",
            "VAT-agri-2019-04-01"
        ]
    );
    // An exclusion lifts the two Section-301 layers (35%) but not the Section-232 layer (25%).
    let lifted = assess(
        &s,
        &line("02032900", "US", "2019-09-15", "100000", "CNY")
            .parse()
            .unwrap()
            .input,
        Lift::AllExcludable,
    )
    .unwrap();
    assert_eq!(duty_pct(&lifted), "37");
    assert_eq!(a.total - lifted.total, a.exclusion_saving);
    assert_eq!(a.exclusion_saving.to_string(), "38150.00"); // 35 000 duty + 9% of it
    insta::assert_json_snapshot!(a);
}

#[test]
fn the_12_01_switch_of_2025_04_10() {
    let s = demo_schedule().unwrap();
    let before = run(
        &s,
        line("12019010", "US", "2025-04-10T12:00", "100000", "CNY"),
    );
    let after = run(
        &s,
        line("12019010", "US", "2025-04-10T12:01", "100000", "CNY"),
    );
    // 3% MFN + 25% + 2.5% (Section 301, halved) + 10% (2025 agricultural), then + 84% from 12:01.
    assert_eq!(duty_pct(&before), "40.5");
    assert_eq!(duty_pct(&after), "124.5");
    assert!(before.warnings.is_empty() && after.warnings.is_empty());
    let date_only = run(&s, line("12019010", "US", "2025-04-10", "100000", "CNY"));
    assert_eq!(duty_pct(&date_only), "40.5");
    let w: Vec<String> = date_only.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("L2025-all-84 starts at 2025-04-10 12:01"),
        "{w:?}"
    );
    insta::assert_json_snapshot!(after);
}

#[test]
fn grace_window_by_shipment_date() {
    let s = demo_schedule().unwrap();
    let declared = |shipped: &'static str| RawLine {
        shipped_on: Some(shipped),
        ..line("12019010", "US", "2025-04-11T09:00", "100000", "CNY")
    };
    let shipped_early = run(&s, declared("2025-04-01"));
    let shipped_late = run(&s, declared("2025-04-10T12:30"));
    let grace = |a: &Assessment| {
        a.layers
            .iter()
            .find(|l| l.measure.id == "L2025-all-84")
            .map(|l| l.status)
    };
    assert_eq!(grace(&shipped_early), Some(LayerStatus::GraceWaived));
    assert_eq!(grace(&shipped_late), Some(LayerStatus::Charged));
    assert_eq!(duty_pct(&shipped_early), "40.5");
    assert_eq!(duty_pct(&shipped_late), "124.5");
    // A date-only shipment on the cut-off day cannot prove it shipped before 12:01: charged, with a warning.
    let ambiguous = run(&s, declared("2025-04-10"));
    assert_eq!(grace(&ambiguous), Some(LayerStatus::Charged));
    assert!(ambiguous
        .warnings
        .iter()
        .any(|w| w.to_string().contains("give the shipment time")));
    // After the import deadline the window is closed.
    let too_late = run(
        &s,
        RawLine {
            shipped_on: Some("2025-03-01"),
            ..line("12019010", "US", "2025-05-14T09:00", "100000", "CNY")
        },
    );
    assert!(too_late
        .layers
        .iter()
        .all(|l| l.status == LayerStatus::Charged));
    insta::assert_json_snapshot!(shipped_early);
}

#[test]
fn unknown_origin_pays_the_higher_of_normal_plus_highest_layers_and_general() {
    let s = demo_schedule().unwrap();
    // 12019090 has a general rate of 180%, above 3% + 30% for U.S. layers.
    let general = run(
        &s,
        line("12019090", "unknown", "2019-09-15", "100000", "CNY"),
    );
    assert_eq!(duty_pct(&general), "180");
    assert_eq!(general.exclusion_saving.0, 0);
    // 12019010 has no general rate: the U.S. layers apply, and no exclusion can be claimed.
    let normal = run(
        &s,
        line("12019010", "unknown", "2019-09-15", "100000", "CNY"),
    );
    assert_eq!(duty_pct(&normal), "33");
    assert_eq!(normal.exclusion_saving.0, 0);
    insta::assert_json_snapshot!(general);
}

#[test]
fn tariff_rate_quota_goods_pay_out_of_quota_unless_declared_in_quota() {
    let s = demo_schedule().unwrap();
    let ooq = run(&s, line("10019900", "CA", "2019-09-15", "100000", "CNY"));
    let inq = run(
        &s,
        RawLine {
            in_quota: Some("true"),
            ..line("10019900", "CA", "2019-09-15", "100000", "CNY")
        },
    );
    assert_eq!((duty_pct(&ooq), duty_pct(&inq)), ("65".into(), "1".into()));
    let soy = run(
        &s,
        RawLine {
            in_quota: Some("true"),
            ..line("12019010", "BR", "2019-09-15", "100000", "CNY")
        },
    );
    assert!(soy
        .warnings
        .iter()
        .any(|w| w.to_string().contains("no tariff-rate quota")));
}

#[test]
fn beef_in_2026_warns_of_the_safeguard_without_applying_it() {
    let s = demo_schedule().unwrap();
    let a = run(&s, line("02023000", "AU", "2026-03-01", "100000", "CNY"));
    assert_eq!(duty_pct(&a), "12");
    assert!(a
        .warnings
        .iter()
        .any(|w| w.to_string().contains("SG-2026-beef")));
}

#[test]
fn beef_pays_the_safeguard_on_top_once_its_quota_condition_holds() {
    let s = demo_schedule().unwrap();
    let input = line("02023000", "AU", "2026-03-01", "100000", "CNY")
        .parse()
        .unwrap()
        .input;
    let a = waiver_domain::assess_with(&s, &input, Lift::AllExcludable, &["SG-2026-beef"]).unwrap();
    // 12% MFN + 55% safeguard, which no exclusion lifts.
    assert_eq!(duty_pct(&a), "67");
    assert_eq!(a.additional_duty.0, 5_500_000);
    assert!(a
        .layers
        .iter()
        .any(|l| l.measure.id == "SG-2026-beef" && l.status == LayerStatus::Charged));
    assert!(!a
        .warnings
        .iter()
        .any(|w| w.to_string().contains("SG-2026-beef")));
}

#[test]
fn lines_and_rates_that_do_not_exist_are_clear_errors() {
    let s = demo_schedule().unwrap();
    let err = |raw: RawLine| {
        assess(&s, &raw.parse().unwrap().input, Lift::Nothing)
            .unwrap_err()
            .to_string()
    };
    assert!(err(line("12011000", "US", "2019-09-15", "1", "CNY")).contains("not in the schedule"));
    assert!(err(line("12019010", "US", "2016-09-15", "1", "CNY"))
        .contains("not in force at 2016-09-15"));
    assert!(err(line("12019010", "US", "2019-09-15", "1", "EUR"))
        .contains("no customs exchange rate for EUR in 2019-09"));
    assert!(err(line("10079000", "US", "2019-09-15", "1", "CNY")).contains("no base (MFN) rate"));
}
