//! Property tests of the landed-cost model: lifting or removing a layer never raises the landed
//! cost; ranks are a permutation within each group; the break-even tariff puts two quotes level
//! within a fen (and is the smallest rate that does).

use proptest::prelude::*;
use waiver_domain::landed::{landed_cost, rank, Price, Quote, RateE8};
use waiver_domain::schedule_csv::{parse_schedule, ScheduleFiles};
use waiver_domain::{BjTime, Fen, FxRate, Origin, Precision, Schedule, TariffCode};

const LINES: &str = "code,valid_from,description_en,unit,vat_class,confidence\n12019010,2017-01-01,Soya beans,kg,agri,sourced\n";
const RATES: &str = "month,currency,cny_per_unit,confidence\n2020-06,USD,7.0883,sourced\n2020-07,USD,7.0500,sourced\n";

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

fn layers() -> impl Strategy<Value = Vec<Layer>> {
    prop::collection::vec((0u32..1_500_000, any::<bool>()), 0..5)
}

prop_compose! {
    fn quote()(
        us in any::<bool>(),
        july in any::<bool>(),
        cbot in prop::option::of((50_000i64..30_000_000, -2_000_000i64..3_000_000)),
        fob_cents in 1_000i64..200_000,
        freight in 0i64..15_000,
        insurance in prop::option::of(0i64..2_000),
        fx in prop::option::of(50_000i64..90_000),
        port in 0i64..20_000,
        excluded in any::<bool>(),
    ) -> Quote {
        let price = match cbot {
            Some((c, p)) if c + p > 1_000_000 => Price::CbotPlusPremium { cbot_c_bu_e4: c, premium_c_bu_e4: p },
            _ => Price::Fob { usd_cents_per_t: fob_cents },
        };
        Quote {
            code: TariffCode::parse("12019010").unwrap(),
            origin: Origin::parse(if us { "US" } else { "BR" }).unwrap(),
            at: BjTime::parse(if july { "2020-07-15T12:00" } else { "2020-06-15T12:00" }).unwrap().0,
            at_precision: Precision::Minute,
            price,
            freight_usd_cents_per_t: freight,
            insurance_usd_cents_per_t: insurance,
            fx: fx.map(|e4| FxRate { cny_per_unit_e4: e4 }),
            port_charge_fen_per_t: Fen(port),
            excluded,
        }
    }
}

proptest! {
    #[test]
    fn lifting_or_removing_a_layer_never_raises_landed_cost(
        base in 0u32..300_000,
        vat in 0u32..200_000,
        ls in layers(),
        q in quote(),
        drop in any::<prop::sample::Index>(),
    ) {
        let s = schedule(base, vat, &ls);
        let c = landed_cost(&s, &q).unwrap();
        prop_assert!(c.with_exclusion.landed_fen_per_t <= c.full.landed_fen_per_t);
        prop_assert!(c.with_exclusion.duty_fen_per_t <= c.full.duty_fen_per_t);
        prop_assert_eq!(c.landed_with_extra_rate(RateE8(0)), c.charged.landed_fen_per_t);
        if !ls.is_empty() {
            let mut fewer = ls.clone();
            fewer.remove(drop.index(ls.len()));
            let s2 = schedule(base, vat, &fewer);
            let c2 = landed_cost(&s2, &q).unwrap();
            prop_assert!(c2.full.landed_fen_per_t <= c.full.landed_fen_per_t);
            prop_assert!(c2.with_exclusion.landed_fen_per_t <= c.with_exclusion.landed_fen_per_t);
        }
    }

    #[test]
    fn ranks_are_a_permutation_and_break_even_levels_within_a_fen(
        base in 0u32..300_000,
        vat in 0u32..200_000,
        ls in layers(),
        quotes in prop::collection::vec(quote(), 1..9),
    ) {
        let s = schedule(base, vat, &ls);
        let costs: Vec<_> = quotes.iter().map(|q| landed_cost(&s, q).unwrap()).collect();
        let st = rank(&quotes, &costs);
        prop_assert_eq!(st.len(), quotes.len());
        for at in [quotes[0].at, quotes.last().unwrap().at] {
            let group: Vec<usize> = (0..quotes.len()).filter(|&i| quotes[i].at == at).collect();
            let mut ranks: Vec<u32> = group.iter().map(|&i| st[i].rank).collect();
            ranks.sort_unstable();
            prop_assert_eq!(ranks, (1..=group.len() as u32).collect::<Vec<_>>());
            let min = group.iter().map(|&i| costs[i].charged.landed_fen_per_t).min().unwrap();
            for &i in &group {
                let landed = costs[i].charged.landed_fen_per_t;
                prop_assert_eq!(st[i].spread_fen_per_t, landed - min);
                for &j in &group {
                    if st[j].rank < st[i].rank {
                        prop_assert!(costs[j].charged.landed_fen_per_t <= landed);
                    }
                }
                match st[i].break_even {
                    None => prop_assert_eq!(group.len(), 1),
                    Some(be) => {
                        let target = costs[be.against].charged.landed_fen_per_t;
                        let at_rate = costs[i].landed_with_extra_rate(be.additional_rate);
                        prop_assert_eq!(at_rate, be.landed_fen_per_t);
                        prop_assert!((at_rate.0 - target.0).abs() <= 1, "{:?} vs {:?}", at_rate, target);
                        prop_assert!(at_rate >= target);
                        // The smallest such rate: one step less falls short.
                        let below = costs[i].landed_with_extra_rate(RateE8(be.additional_rate.0 - 1));
                        prop_assert!(below < target);
                        // Positive headroom for a strictly cheapest quote; a cut (or nothing) for
                        // one that is not cheaper than its rival.
                        if landed < target {
                            prop_assert!(be.additional_rate.0 > 0);
                        } else {
                            prop_assert!(be.additional_rate.0 <= 0);
                        }
                    }
                }
            }
        }
    }
}
