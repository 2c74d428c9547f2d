//! Property tests of expert assignment and score aggregation against simple models.

use proptest::prelude::*;
use waiver_domain::programme::{Criterion, ReviewPolicy};
use waiver_domain::review::{aggregate, pick_experts, Candidate, Recommendation, ScoreSheet};
use waiver_domain::Quantity;

fn policy(weights: &[u32]) -> ReviewPolicy {
    ReviewPolicy {
        criteria: weights
            .iter()
            .enumerate()
            .map(|(i, w)| Criterion {
                key: format!("c{i}"),
                name_en: format!("Criterion {i}"),
                name_zh: String::new(),
                weight_pct: *w,
                scale_max: 5,
            })
            .collect(),
        experts_per_application: 3,
        review_days: 30,
    }
}

fn sheet(marks: &[u8], approve: bool, tonnes: u32) -> ScoreSheet {
    ScoreSheet {
        scores: marks
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("c{i}"), *m))
            .collect(),
        recommendation: if approve {
            Recommendation::Approve
        } else {
            Recommendation::Reject
        },
        recommended_quantity: approve.then_some(Quantity {
            grams: i64::from(tonnes) * 1_000_000,
        }),
    }
}

proptest! {
    #[test]
    fn the_draw_is_reproducible_picks_distinct_experts_without_conflict_and_balances_load(
        seed in any::<u64>(),
        pool in prop::collection::vec((0u32..4, any::<bool>()), 1..12),
        n in 1usize..5,
    ) {
        let candidates: Vec<Candidate> = pool
            .iter()
            .enumerate()
            .map(|(i, (load, conflicted))| Candidate {
                username: format!("expert{i}"),
                open_assignments: *load,
                conflict: conflicted.then(|| "affiliated".to_owned()),
            })
            .collect();
        let free: Vec<&Candidate> = candidates.iter().filter(|c| c.conflict.is_none()).collect();
        match pick_experts(seed, n, &candidates) {
            Err(e) => prop_assert!(free.len() < n && e.available == free.len()),
            Ok(picked) => {
                prop_assert_eq!(&picked, &pick_experts(seed, n, &candidates).unwrap());
                prop_assert_eq!(picked.len(), n);
                let mut unique = picked.clone();
                unique.sort();
                unique.dedup();
                prop_assert_eq!(unique.len(), n);
                let load = |name: &String| candidates.iter().find(|c| &c.username == name).unwrap();
                for p in &picked {
                    prop_assert!(load(p).conflict.is_none());
                }
                // Nobody left out has fewer open reviews than someone picked.
                let max_picked = picked.iter().map(|p| load(p).open_assignments).max().unwrap();
                for c in free.iter().filter(|c| !picked.contains(&c.username)) {
                    prop_assert!(c.open_assignments >= max_picked);
                }
            }
        }
    }

    #[test]
    fn the_aggregate_matches_a_float_free_model_and_ignores_sheet_order(
        marks in prop::collection::vec((prop::collection::vec(1u8..=5, 3), any::<bool>(), 1u32..1000), 1..6),
    ) {
        let p = policy(&[50, 30, 20]);
        let sheets: Vec<ScoreSheet> = marks.iter().map(|(m, a, t)| sheet(m, *a, *t)).collect();
        let agg = aggregate(&p, &sheets);
        let mut reversed = sheets.clone();
        reversed.reverse();
        prop_assert_eq!(&agg, &aggregate(&p, &reversed));
        let n = sheets.len() as i64;
        // Model: overall = Σ weight × sum / (n × 5), in thousandths of a percent, half-up.
        let num: i64 = [50i64, 30, 20]
            .iter()
            .enumerate()
            .map(|(c, w)| w * marks.iter().map(|(m, _, _)| i64::from(m[c])).sum::<i64>())
            .sum();
        let den = n * 5;
        let model = (2 * num * 1000 + den) / (2 * den);
        prop_assert!((agg.overall_pct_milli - model).abs() <= 1, "{} vs {}", agg.overall_pct_milli, model);
        prop_assert!((20_000..=100_000).contains(&agg.overall_pct_milli));
        let approvals = marks.iter().filter(|(_, a, _)| *a).count();
        prop_assert_eq!(agg.approve_votes, approvals);
        let split = approvals > 0 && approvals < marks.len();
        let spread = (0..3).any(|c| {
            let col: Vec<u8> = marks.iter().map(|(m, _, _)| m[c]).collect();
            col.iter().max().unwrap() - col.iter().min().unwrap() >= 2
        });
        prop_assert_eq!(agg.disagreement, split || spread);
    }
}
