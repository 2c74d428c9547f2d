//! Scenario overlays: removing an excludable layer never raises duty; an empty overlay changes
//! nothing; replay totals are the sum of their lines.

use proptest::prelude::*;
use waiver_domain::amount::{Money, Quantity};
use waiver_domain::scenario::{replay, ChangeSpec, ReplayLine, ScenarioSpec};
use waiver_domain::schedule_csv::demo_schedule;
use waiver_domain::{BjTime, Currency, LineInput, Origin, Precision, Schedule, TariffCode};

const CODES: [&str; 4] = ["12019010", "12019090", "02032190", "10079000"];
const ORIGINS: [&str; 4] = ["US", "BR", "AR", "CA"];

fn schedule() -> Schedule {
    demo_schedule().unwrap()
}

fn lines() -> impl Strategy<Value = Vec<ReplayLine>> {
    prop::collection::vec(
        (
            0..CODES.len(),
            0..ORIGINS.len(),
            // 2018-01-01 .. 2026-06-30, Beijing seconds
            1_514_764_800i64..1_782_777_600i64,
            1i64..100_000_000_000,
            1i64..10_000_000_000,
            any::<bool>(),
        ),
        1..12,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(c, o, t, g, v, excluded)| ReplayLine {
                input: LineInput {
                    code: TariffCode::parse(CODES[c]).unwrap(),
                    origin: Origin::parse(ORIGINS[o]).unwrap(),
                    declared_at: BjTime(t + 8 * 3600),
                    declared_precision: Precision::Second,
                    shipped_on: None,
                    quantity: Quantity { grams: g },
                    customs_value: Money {
                        minor: v,
                        currency: Currency::CNY,
                    },
                    in_quota: false,
                },
                excluded,
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn removing_excludable_layers_never_raises_duty(ls in lines(), pick in prop::collection::vec(any::<bool>(), 16)) {
        let s = schedule();
        let excludable: Vec<String> = s.measures().iter().filter(|m| m.excludable).map(|m| m.id.clone()).collect();
        let changes = excludable
            .iter()
            .zip(pick.iter().cycle())
            .filter(|(_, p)| **p)
            .map(|(id, _)| ChangeSpec::Remove { measure: id.clone() })
            .collect();
        let sc = ScenarioSpec { name: "remove".into(), description: String::new(), changes }.validate(&s).unwrap();
        let r = replay(&s, &sc.apply(&s), &ls);
        for l in &r.lines {
            if let (Some(a), Some(b)) = (l.actual, l.scenario) {
                prop_assert!(b.duty_cny <= a.duty_cny, "line {}: {} > {}", l.index, b.duty_cny, a.duty_cny);
                prop_assert!(b.total_cny <= a.total_cny);
            }
        }
        prop_assert!(r.scenario_duty_cny <= r.actual_duty_cny);
    }

    #[test]
    fn an_empty_overlay_is_identity(ls in lines()) {
        let s = schedule();
        let sc = ScenarioSpec { name: "none".into(), description: String::new(), changes: vec![] }.validate(&s).unwrap();
        let r = replay(&s, &sc.apply(&s), &ls);
        for l in &r.lines {
            prop_assert_eq!(l.actual, l.scenario);
        }
        prop_assert_eq!(r.duty_difference_cny.0, 0);
        let sum: i64 = r.lines.iter().filter_map(|l| l.actual.filter(|_| l.error.is_none())).map(|o| o.duty_cny.0).sum();
        prop_assert_eq!(sum, r.actual_duty_cny.0);
    }
}
