//! Property tests of the engine against a simple model of China's ad valorem rules.

use proptest::prelude::*;
use waiver_domain::engine::{assess, Lift};
use waiver_domain::schedule_csv::{parse_schedule, ScheduleFiles};
use waiver_domain::{RawLine, Schedule};

const LINES: &str = "code,valid_from,description_en,unit,vat_class,confidence\n12019010,2017-01-01,Soya beans,kg,agri,sourced\n";
const RATES: &str = "month,currency,cny_per_unit,confidence\n2020-06,USD,7.0883,sourced\n";

/// (rate in ten-thousandths of a percent, excludable)
type Layer = (u32, bool);

fn schedule(base_e4: u32, vat_e4: u32, layers: &[Layer]) -> Schedule {
    let pct = |e4: u32| format!("{}.{:04}%", e4 / 10_000, e4 % 10_000);
    let mut m =
        String::from("id,goods,origin,kind,duty,start,legal_base,scope,excludable,confidence\n");
    m += &format!(
        "MFN,12019010,*,mfn,{},2017-01-01,T,base,no,sourced\n",
        pct(base_e4)
    );
    m += &format!(
        "VAT,class:agri,*,vat,{},2017-01-01,V,vat,no,sourced\n",
        pct(vat_e4)
    );
    for (i, (rate, excl)) in layers.iter().enumerate() {
        let yes = if *excl { "yes" } else { "no" };
        m += &format!(
            "L{i},12019010,US,additional,{},2018-01-01,Basis {i},s{i},{yes},sourced\n",
            pct(*rate)
        );
    }
    parse_schedule(&ScheduleFiles {
        lines: LINES,
        measures: &m,
        exchange_rates: RATES,
    })
    .unwrap()
}

fn raw<'a>(value: &'a str, currency: &'a str) -> RawLine<'a> {
    RawLine {
        declaration: "P",
        line: "1",
        importer: "3100ABC123",
        code: "12019010",
        origin: "US",
        declared_at: "2020-06-15T10:00",
        quantity: "1000",
        unit: "kg",
        customs_value: value,
        currency,
        shipped_on: None,
        in_quota: None,
    }
}

/// Half-up division of non-negative integers, written independently of the engine.
fn rhu(n: u128, d: u128) -> u128 {
    (2 * n + d) / (2 * d)
}

fn layers() -> impl Strategy<Value = Vec<Layer>> {
    prop::collection::vec((0u32..2_000_000, any::<bool>()), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The model: each tax type rounded half-up at the fen; VAT on value plus rounded duties.
    #[test]
    fn matches_the_model_and_columns_add_up(
        value_fen in 1u64..10_000_000_000, base in 0u32..1_000_000, vat in 0u32..200_000, ls in layers(), usd in any::<bool>(),
    ) {
        let s = schedule(base, vat, &ls);
        let v = format!("{}.{:02}", value_fen / 100, value_fen % 100);
        let a = assess(&s, &raw(&v, if usd { "USD" } else { "CNY" }).parse().unwrap().input, Lift::Nothing).unwrap();
        let cv = if usd { rhu(u128::from(value_fen) * 70_883, 10_000) } else { u128::from(value_fen) };
        prop_assert_eq!(a.customs_value.0 as u128, cv);
        // Rates in e4 percent: amount_fen = cv × e4 / 1 000 000.
        let base_duty = rhu(cv * u128::from(base), 1_000_000);
        let add_e4: u128 = ls.iter().map(|(r, _)| u128::from(*r)).sum();
        let add_duty = rhu(cv * add_e4, 1_000_000);
        let vat_amt = rhu((cv + base_duty + add_duty) * u128::from(vat), 1_000_000);
        prop_assert_eq!(a.base_duty.0 as u128, base_duty);
        prop_assert_eq!(a.additional_duty.0 as u128, add_duty);
        prop_assert_eq!(a.vat.0 as u128, vat_amt);
        prop_assert_eq!(a.total, a.base_duty + a.additional_duty + a.vat);
        let excl_e4: u128 = ls.iter().filter(|(_, e)| !e).map(|(r, _)| u128::from(*r)).sum();
        let add_lifted = rhu(cv * excl_e4, 1_000_000);
        let vat_lifted = rhu((cv + base_duty + add_lifted) * u128::from(vat), 1_000_000);
        prop_assert_eq!(a.exclusion_saving.0 as u128, base_duty + add_duty + vat_amt - (base_duty + add_lifted + vat_lifted));
    }

    #[test]
    fn adding_a_layer_never_lowers_the_duty(
        value_fen in 1u64..10_000_000_000, base in 0u32..1_000_000, vat in 0u32..200_000, ls in layers(), extra in (0u32..2_000_000, any::<bool>()),
    ) {
        let v = format!("{}.{:02}", value_fen / 100, value_fen % 100);
        let input = raw(&v, "CNY").parse().unwrap().input;
        let s1 = schedule(base, vat, &ls);
        let mut more = ls.clone();
        more.push(extra);
        let s2 = schedule(base, vat, &more);
        let (a1, a2) = (assess(&s1, &input, Lift::Nothing).unwrap(), assess(&s2, &input, Lift::Nothing).unwrap());
        prop_assert!(a2.duty() >= a1.duty());
        prop_assert!(a2.total >= a1.total);
    }

    #[test]
    fn lifting_excludable_layers_never_raises_the_duty(
        value_fen in 1u64..10_000_000_000, base in 0u32..1_000_000, vat in 0u32..200_000, ls in layers(),
    ) {
        let v = format!("{}.{:02}", value_fen / 100, value_fen % 100);
        let input = raw(&v, "CNY").parse().unwrap().input;
        let s = schedule(base, vat, &ls);
        let full = assess(&s, &input, Lift::Nothing).unwrap();
        let some = assess(&s, &input, Lift::Scopes(&["s0", "s2"])).unwrap();
        let all = assess(&s, &input, Lift::AllExcludable).unwrap();
        prop_assert!(some.total <= full.total);
        prop_assert!(all.total <= some.total);
        prop_assert!(full.exclusion_saving.0 >= 0);
        prop_assert_eq!(full.total - all.total, full.exclusion_saving);
        prop_assert_eq!(all.exclusion_saving.0, 0);
    }
}
