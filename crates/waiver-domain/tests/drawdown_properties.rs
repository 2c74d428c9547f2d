//! The covered/uncovered split against the engine: the parts always add up to the line; with
//! nothing covered it is exactly the engine's assessment without exclusion; covering more never
//! raises the duty; and the duty charged plus the duty lifted never falls below the full duty
//! (rounding per part may add at most a fen per part and tax).

use proptest::prelude::*;
use waiver_domain::drawdown::assess_split;
use waiver_domain::schedule_csv::demo_schedule;
use waiver_domain::{assess, Lift, RawLine};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn covering_more_never_costs_more(
        kg in 1u32..5_000_000,
        usd in 1u32..2_000_000_000,
        covered_a in 0u32..=1_000,
        covered_b in 0u32..=1_000,
        day in 0usize..4,
    ) {
        let s = demo_schedule().unwrap();
        let dates = ["2018-08-01", "2019-10-01", "2020-06-01", "2025-06-10T09:30"];
        let (q, v) = (kg.to_string(), format!("{}.{:02}", usd / 100, usd % 100));
        let raw = RawLine {
            declaration: "P", line: "1", importer: "3700HS0001", code: "12019010", origin: "US",
            declared_at: dates[day], quantity: &q, unit: "kg", customs_value: &v, currency: "USD",
            shipped_on: None, in_quota: None,
        };
        let p = raw.parse().unwrap();
        let grams = p.input.quantity.grams;
        let (lo, hi) = (covered_a.min(covered_b), covered_a.max(covered_b));
        let part = |per_mille: u32| grams * i64::from(per_mille) / 1_000;
        let none = assess_split(&s, &p.input, 0, &["l301"], &[]).unwrap();
        let engine = assess(&s, &p.input, Lift::Nothing).unwrap();
        prop_assert_eq!(none.duty(), engine.duty());
        prop_assert_eq!(none.vat, engine.vat);
        prop_assert_eq!(none.excluded_duty.0, 0);
        let a = assess_split(&s, &p.input, part(lo), &["l301"], &[]).unwrap();
        let b = assess_split(&s, &p.input, part(hi), &["l301"], &[]).unwrap();
        prop_assert_eq!(a.covered_g + a.uncovered_g, grams);
        prop_assert_eq!(b.covered_g, part(hi));
        // Rounding each part separately may move a figure by a fen per part.
        prop_assert!(b.duty().0 <= a.duty().0 + 2, "{:?} vs {:?}", b.duty(), a.duty());
        prop_assert!((b.duty().0 + b.excluded_duty.0 - engine.duty().0).abs() <= 2);
    }
}
