//! A country quota against a simple model: random sequences of draws (by cause, at random
//! instants of the year) and reversals of a cause. After every step: used is what the standing
//! draws add up to; the quota is reached exactly when used >= quota, dated by the draw that
//! took it there since it was last under; the surcharge starts on the third day after that;
//! every threshold a draw passes is reported by that draw, and only thresholds passed.

use proptest::prelude::*;
use waiver_domain::quota::{QuotaState, NOTICE_THRESHOLDS_PCT};
use waiver_domain::{BjTime, CodePrefix, CountryCode};

#[derive(Clone, Debug)]
enum Op {
    /// cause, grams, seconds into the year
    Draw(u8, i64, i64),
    Reverse(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..6, 1i64..400, 0i64..364 * 86_400).prop_map(|(c, q, s)| Op::Draw(c, q, s)),
        1 => (0u8..6).prop_map(Op::Reverse),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn the_quota_matches_a_simple_model(quota_g in 1i64..2_000, ops in prop::collection::vec(op(), 0..60)) {
        let start = BjTime::parse_instant("2026-01-01").unwrap();
        let mut q = QuotaState {
            id: "SG-2026-beef/US/2026".into(),
            measure: "SG-2026-beef".into(),
            origin: CountryCode::parse("US").unwrap(),
            goods: vec![CodePrefix::parse("0202").unwrap()],
            year: 2026,
            quota_g,
            used_g: 0,
            reached_at: None,
        };
        let mut drawn = [0i64; 6];
        let mut reached: Option<BjTime> = None;
        for o in ops {
            let before: i64 = drawn.iter().sum();
            match o {
                Op::Draw(c, g, s) => {
                    let at = BjTime(start.0 + s);
                    let notices = q.draw(g, at);
                    drawn[usize::from(c)] += g;
                    let after = before + g;
                    if reached.is_none() && after >= quota_g {
                        reached = Some(at);
                    }
                    let want: Vec<u8> = NOTICE_THRESHOLDS_PCT
                        .into_iter()
                        .filter(|t| before * 100 < quota_g * i64::from(*t) && after * 100 >= quota_g * i64::from(*t))
                        .collect();
                    prop_assert_eq!(notices.iter().map(|n| n.threshold_pct).collect::<Vec<_>>(), want);
                    prop_assert!(notices.iter().all(|n| n.at == at));
                }
                Op::Reverse(c) => {
                    q.reverse(drawn[usize::from(c)]);
                    drawn[usize::from(c)] = 0;
                    if drawn.iter().sum::<i64>() < quota_g {
                        reached = None;
                    }
                }
            }
            let used: i64 = drawn.iter().sum();
            prop_assert_eq!(q.used_g, used);
            prop_assert_eq!(q.reached_at, reached);
            prop_assert_eq!(q.reached_at.is_some(), used >= quota_g);
            prop_assert_eq!(q.remaining_g(), (quota_g - used).max(0));
            if let Some(r) = reached {
                let from = BjTime(r.start_of_day().0 + 3 * 86_400);
                prop_assert_eq!(q.surcharge_from(), Some(from));
                prop_assert!(!q.surcharge_applies(BjTime(from.0 - 1)));
                prop_assert!(q.surcharge_applies(from));
            } else {
                prop_assert!(!q.surcharge_applies(BjTime(start.0 + 400 * 86_400)));
            }
        }
    }
}
