//! Refunds of duty already paid when a product exclusion applies retroactively (issue 5, item 6).
//!
//! The rule, from `../shared/data/cn-exclusion-programmes.csv` (CN-2019-R1/R2, "List 1 excluded
//! with refund of additional duty already paid (claim at customs within 6 months; import VAT not
//! refunded)"):
//! - only exclusions whose programme refunds ([`RefundRule::AdditionalDuty`]) give refunds;
//! - a declaration line is refundable when it was declared inside the exclusion's validity
//!   (the refund window) and paid layers that the exclusion's scope now lifts;
//! - the refund is the **additional duty** paid on those layers, exact to the fen: the stored
//!   line's additional duty minus the additional duty of the same line re-assessed through the
//!   engine with the exclusion's scope lifted, never more than was paid and never negative;
//! - **import VAT is not refunded** (the data says so explicitly, even though VAT was computed on
//!   the higher duty);
//! - the claim must be made within six calendar months of the exclusion's publication
//!   ([`refund_deadline`]).

use crate::amount::Fen;
use crate::engine::{assess, AssessError, Lift, LineInput};
use crate::programme::RefundRule;
use crate::schedule::Schedule;
use crate::time::BjTime;

/// The months after publication within which a refund is claimed and settled.
pub const REFUND_MONTHS: i64 = 6;

/// The refund due on one line: what was paid in additional duty minus what the line owes with
/// the exclusion's layers lifted, clamped to `0..=paid`. Zero under [`RefundRule::None`].
pub fn refund_due(rule: RefundRule, paid_additional: Fen, owed_additional: Fen) -> Fen {
    match rule {
        RefundRule::None => Fen(0),
        RefundRule::AdditionalDuty => {
            let paid = paid_additional.0.max(0);
            Fen((paid - owed_additional.0.max(0)).clamp(0, paid))
        }
    }
}

/// Re-assesses a stored line through the engine with the exclusion's `scopes` lifted and
/// returns the refund due on the additional duty `paid_additional` it paid.
pub fn line_refund(
    schedule: &Schedule,
    input: &LineInput,
    scopes: &[&str],
    rule: RefundRule,
    paid_additional: Fen,
) -> Result<Fen, AssessError> {
    if rule == RefundRule::None || paid_additional.0 <= 0 {
        return Ok(Fen(0));
    }
    let lifted = assess(schedule, input, Lift::Scopes(scopes))?;
    Ok(refund_due(rule, paid_additional, lifted.additional_duty))
}

/// Six calendar months after `published` (Beijing time); a day that the target month lacks
/// falls on its last day (published 31 August → 28/29 February).
pub fn refund_deadline(published: BjTime) -> BjTime {
    let (y, m, d, h, mi, s) = published.civil();
    let months = y * 12 + (m - 1) + REFUND_MONTHS;
    let (ty, tm) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    let mut day = d;
    loop {
        if let Some(t) = BjTime::from_civil(ty, tm, day, h, mi, s) {
            return t;
        }
        if day <= 28 {
            // Out of the supported year range: keep the publication instant plus 183 days.
            return BjTime(published.0 + 183 * 86_400);
        }
        day -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::{Money, Quantity};
    use crate::codes::{Currency, Origin, TariffCode};
    use crate::schedule_csv::demo_schedule;
    use proptest::prelude::*;

    fn input(tonnes: i64, value_cny: i64) -> LineInput {
        let (at, p) = BjTime::parse("2026-12-01").unwrap();
        LineInput {
            code: TariffCode::parse("12019090").unwrap(),
            origin: Origin::parse("US").unwrap(),
            declared_at: at,
            declared_precision: p,
            shipped_on: None,
            quantity: Quantity {
                grams: tonnes * 1_000_000,
            },
            customs_value: Money {
                currency: Currency::parse("CNY").unwrap(),
                minor: value_cny * 100,
            },
            in_quota: false,
        }
    }

    #[test]
    fn the_refund_is_the_lifted_additional_duty_without_vat() {
        let s = demo_schedule().unwrap();
        let i = input(1000, 3_200_000);
        let paid = assess(&s, &i, Lift::Nothing).unwrap();
        let lifted = assess(&s, &i, Lift::Scopes(&["l301"])).unwrap();
        assert!(paid.additional_duty.0 > lifted.additional_duty.0);
        let r = line_refund(
            &s,
            &i,
            &["l301"],
            RefundRule::AdditionalDuty,
            paid.additional_duty,
        )
        .unwrap();
        assert_eq!(r.0, paid.additional_duty.0 - lifted.additional_duty.0);
        // VAT is not part of it: the refund is below what lifting saved in total.
        assert!(r.0 < paid.total.0 - lifted.total.0);
        // No refund rule, nothing paid, or a scope the line does not have: nothing due.
        assert_eq!(
            line_refund(&s, &i, &["l301"], RefundRule::None, paid.additional_duty).unwrap(),
            Fen(0)
        );
        assert_eq!(
            line_refund(&s, &i, &["l301"], RefundRule::AdditionalDuty, Fen(0)).unwrap(),
            Fen(0)
        );
        assert_eq!(
            line_refund(
                &s,
                &i,
                &["no-such-scope"],
                RefundRule::AdditionalDuty,
                paid.additional_duty
            )
            .unwrap(),
            Fen(0)
        );
    }

    #[test]
    fn the_deadline_is_six_calendar_months_later() {
        let t = |s: &str| BjTime::parse_instant(s).unwrap();
        assert_eq!(
            refund_deadline(t("2026-12-01T10:00")),
            t("2027-06-01T10:00")
        );
        assert_eq!(refund_deadline(t("2026-08-31")), t("2027-02-28"));
        assert_eq!(refund_deadline(t("2027-08-31")), t("2028-02-29"));
        assert_eq!(refund_deadline(t("2026-03-15")), t("2026-09-15"));
    }

    proptest! {
        #[test]
        fn a_refund_never_exceeds_what_was_paid(paid in -1_000_000i64..1_000_000_000, owed in -1_000_000i64..1_000_000_000) {
            let r = refund_due(RefundRule::AdditionalDuty, Fen(paid), Fen(owed));
            prop_assert!(r.0 >= 0);
            prop_assert!(r.0 <= paid.max(0));
            prop_assert_eq!(refund_due(RefundRule::None, Fen(paid), Fen(owed)), Fen(0));
        }

        #[test]
        fn a_reassessed_line_refunds_at_most_its_additional_duty(tonnes in 1i64..5_000, cny_per_t in 1i64..10_000) {
            let s = demo_schedule().unwrap();
            let i = input(tonnes, tonnes * cny_per_t);
            let paid = assess(&s, &i, Lift::Nothing).unwrap();
            let r = line_refund(&s, &i, &["l301"], RefundRule::AdditionalDuty, paid.additional_duty).unwrap();
            prop_assert!(r.0 >= 0 && r.0 <= paid.additional_duty.0);
            // Paid nothing excludable (already lifted at declaration): nothing due.
            let lifted = assess(&s, &i, Lift::Scopes(&["l301"])).unwrap();
            let none = line_refund(&s, &i, &["l301"], RefundRule::AdditionalDuty, lifted.additional_duty).unwrap();
            prop_assert_eq!(none, Fen(0));
        }
    }
}
