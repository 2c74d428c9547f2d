//! The utilisation report as CSV: one writer for the API
//! (`GET /api/v1/reports/utilisation?format=csv`) and the public page's download
//! (`GET /utilisation.csv`). Quantities in kg, money in CNY; whole-life rows have `month` `all`
//! and every column, month rows only `used_kg` and `duty_forgone_cny`.

use waiver_domain::amount::format_scaled;
use waiver_domain::Fen;
use waiver_store::declarations::Utilisation;

pub const UTILISATION_COLUMNS: [&str; 8] = [
    "programme",
    "line",
    "month",
    "granted_kg",
    "used_kg",
    "unused_kg",
    "expired_kg",
    "duty_forgone_cny",
];

pub fn utilisation_csv(items: Vec<Utilisation>) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(UTILISATION_COLUMNS)?;
    let kg = |g: i64| format_scaled(i128::from(g), 3, 0);
    for u in items {
        let whole = u.month.is_none();
        let opt = |g: i64| if whole { kg(g) } else { String::new() };
        w.write_record([
            u.programme,
            u.line,
            u.month.unwrap_or_else(|| "all".to_owned()),
            opt(u.granted_g),
            kg(u.used_g),
            opt(u.unused_g),
            opt(u.expired_g),
            Fen(u.duty_forgone_fen).to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_rows_carry_only_used_and_duty_forgone() {
        let whole = Utilisation {
            programme: "P".into(),
            line: "12019010".into(),
            month: None,
            granted_g: 2_000_000,
            used_g: 1_500,
            unused_g: 1_998_500,
            expired_g: 0,
            duty_forgone_fen: 12_345,
        };
        let month = Utilisation {
            month: Some("2020-06".into()),
            granted_g: 0,
            unused_g: 0,
            ..whole.clone()
        };
        let csv = String::from_utf8(utilisation_csv(vec![whole, month]).unwrap()).unwrap();
        assert_eq!(
            csv,
            "programme,line,month,granted_kg,used_kg,unused_kg,expired_kg,duty_forgone_cny\n\
             P,12019010,all,2000,1.5,1998.5,0,123.45\n\
             P,12019010,2020-06,,1.5,,,123.45\n"
        );
    }
}
