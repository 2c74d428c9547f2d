//! The ledger against a simple model: random sequences of grants, adjustments, draws and
//! reversals; after every step the derived balance equals the model's, used stays within
//! `0..=granted + tolerance`, every refused operation appends nothing, and reversing a cause
//! twice gives nothing back the second time.

use proptest::prelude::*;
use waiver_domain::ledger::{ceiling_g, Balance, EntryKind, Ledger};

#[derive(Clone, Debug)]
enum Op {
    Grant(i64),
    Adjust(i64),
    Draw(u8, i64),
    Reverse(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (1i64..5_000).prop_map(Op::Grant),
        1 => (-5_000i64..5_000).prop_map(Op::Adjust),
        4 => (0u8..8, 1i64..3_000).prop_map(|(c, q)| Op::Draw(c, q)),
        2 => (0u8..8).prop_map(Op::Reverse),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn the_ledger_matches_a_simple_model(tolerance in 0i64..200_000, ops in prop::collection::vec(op(), 0..80)) {
        let mut l = Ledger::new(tolerance);
        // The model: granted, and what each of 8 causes still has drawn.
        let mut granted = 0i64;
        let mut drawn = [0i64; 8];
        for o in ops {
            let before = l.entries().len();
            let used: i64 = drawn.iter().sum();
            match o {
                Op::Grant(q) => {
                    l.grant(q, "decision").unwrap();
                    granted += q;
                }
                Op::Adjust(d) => {
                    let ok = granted + d >= 0 && ceiling_g(granted + d, tolerance) >= used;
                    let r = l.adjust(EntryKind::PolicyAdjustment, d, "policy change");
                    prop_assert_eq!(r.is_ok(), ok);
                    if ok { granted += d; } else { prop_assert_eq!(l.entries().len(), before); }
                }
                Op::Draw(c, q) => {
                    let room = (ceiling_g(granted, tolerance) - used).max(0);
                    let got = l.draw_up_to(q, &format!("declaration {c}")).unwrap();
                    prop_assert_eq!(got, q.min(room));
                    drawn[usize::from(c)] += got;
                    if got == 0 { prop_assert_eq!(l.entries().len(), before); }
                }
                Op::Reverse(c) => {
                    let cause = format!("declaration {c}");
                    prop_assert_eq!(l.reverse(&cause).unwrap(), drawn[usize::from(c)]);
                    drawn[usize::from(c)] = 0;
                    prop_assert_eq!(l.reverse(&cause).unwrap(), 0);
                }
            }
            let b = l.balance();
            prop_assert_eq!(b, Balance { granted_g: granted, tolerance_ppm: tolerance, used_g: drawn.iter().sum() });
            prop_assert!(b.used_g >= 0 && b.used_g <= b.ceiling_g());
            prop_assert_eq!(b, Balance::of(tolerance, l.entries()));
            // Append-only: the earlier entries are unchanged (checked by length never shrinking).
            prop_assert!(l.entries().len() >= before);
            for (i, d) in drawn.iter().enumerate() {
                prop_assert_eq!(l.drawn_by(&format!("declaration {i}")), *d);
            }
        }
    }
}
