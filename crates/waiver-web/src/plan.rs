//! An allowance's monthly purchase plan against actual imports, month by month: one
//! computation for the API (`GET /api/v1/allowances/{number}/plan`) and the allowance page.

use std::collections::BTreeMap;

use waiver_domain::{QtyUnit, Quantity};
use waiver_store::{Allowance, Store, StoreError};

/// One month: planned (the application's monthly plan), imported (drawn by accepted
/// declarations declared in the month) and, if the holder filed one, the purchase report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub planned_g: i64,
    pub imported_g: i64,
    pub reported_g: Option<i64>,
}

/// Every month that has a plan, an import or a report, in order.
pub async fn plan_vs_imports(
    store: &Store,
    a: &Allowance,
    unit: QtyUnit,
) -> Result<Vec<PlanMonth>, StoreError> {
    let mut months: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    if let Some(app) = store.application(&a.application).await? {
        for m in &app.spec.monthly_plan {
            let g = Quantity::parse(&m.quantity, unit).map_or(0, |q| q.grams);
            months.entry(m.month.clone()).or_default().0 += g;
        }
    }
    for (m, g) in store.imports_by_month(&a.number).await? {
        months.entry(m).or_default().1 += g;
    }
    let reports: BTreeMap<String, i64> = store
        .purchase_reports(&a.number)
        .await?
        .into_iter()
        .map(|r| (r.month, r.quantity_g))
        .collect();
    for m in reports.keys() {
        months.entry(m.clone()).or_default();
    }
    Ok(months
        .into_iter()
        .map(|(month, (planned_g, imported_g))| PlanMonth {
            reported_g: reports.get(&month).copied(),
            month,
            planned_g,
            imported_g,
        })
        .collect())
}
