//! The fast path of `waiver assess`: a common row (plain fields, known code and origin, a rate)
//! priced from its bytes with the engine's choice per time segment kept as a [`Recipe`].
//! Anything else returns `None` and goes to the engine, so the bytes never change
//! (`assess::tests` runs both paths on random rows).

use waiver_domain::bulk::{AdValorem, Priced, Recipe};
use waiver_domain::{
    assess, BjTime, Currency, Fen, FxRate, LineInput, Money, Month, Origin, Precision, QtyUnit,
    Quantity, Schedule, TariffCode,
};

use crate::output::{put_fen_comma, put_pct_back, FEN_SLOT, MAX_NUMBER};
use crate::records::TextRecord;

/// How many (code, origin, quota choice) timelines a worker keeps before starting afresh.
const TIMELINES_KEPT: usize = 256;
/// How many currencies' exchange rates a worker keeps before starting afresh.
const RATES_KEPT: usize = 16;

/// Where the input's columns are: the ten required ones in `assess::REQUIRED` order, then the
/// optional ones (read by both the fast path and the general one).
#[derive(Clone)]
pub struct ColumnPositions {
    pub required: [usize; 10],
    pub shipped_on: Option<usize>,
    pub in_quota: Option<usize>,
}

/// One worker's memo.
pub struct FastPath<'s> {
    schedule: &'s Schedule,
    timelines: Vec<(u64, Timeline<'s>)>,
    last: usize,
    /// The last `declared_at` and `shipped_on` texts parsed and their values: the lines of a
    /// declaration repeat them.
    last_instant: InstantMemo,
    last_shipped: InstantMemo,
    /// Per slot (a hash of the key), the index in `timelines` of the last key seen there.
    slots: [(u64, usize); SLOTS],
    /// The last plan used: its key, its segment's extent `[lo, hi)` and where it is
    /// (`timelines` index, segment); the lines of a declaration share it.
    last_plan: Option<(u64, BjTime, BjTime, usize, usize)>,
    /// The last (currency, month) looked up and its rate.
    last_rate: Option<(Currency, i32, Option<FxRate>)>,
    /// Per currency, the rate of each month from 1900 (`None` until looked up).
    rates: Vec<(Currency, Vec<Option<Option<FxRate>>>)>,
}

/// A text of [`plain_instant`] (zero-padded, with its length) and its value.
type InstantMemo = (u128, usize, Option<(BjTime, Precision, i32)>);

/// Slots of the direct-mapped index in front of `timelines` (a power of two).
const SLOTS: usize = 64;

/// Months from 1900-01 to 2199-12, the years `BjTime` accepts.
const MONTHS: usize = 300 * 12;
const FIRST_MONTH: i32 = 1900 * 12;

/// The segments of one (code, origin, quota choice); `None` when the fast path never applies.
struct Timeline<'s> {
    inner: Option<Segments<'s>>,
}

struct Segments<'s> {
    code: TariffCode,
    origin: Origin,
    in_quota: bool,
    /// Sorted, distinct instants at which the engine's choice can change.
    bounds: Vec<BjTime>,
    /// Days (`BjTime::day`) holding one of `bounds` at a time of day: date-only rows on them go
    /// to the engine (it may warn).
    switch_days: Vec<i64>,
    /// Per segment (`[bounds[i - 1], bounds[i])`), built on first use.
    plans: Vec<Plan<'s>>,
}

enum Plan<'s> {
    Unbuilt,
    Engine,
    Fast(Box<FastPlan<'s>>),
}

struct FastPlan<'s> {
    recipe: Recipe<'s>,
    /// The recipe's rates when all its layers are ad valorem, with their output text.
    ad_valorem: Option<(AdValorem, RateTexts)>,
    /// `,measures,warnings\n` exactly as the general path writes them.
    tail: Vec<u8>,
    /// Whether some layer has a grace window still open in this segment: rows with a
    /// `shipped_on` go to the engine.
    grace_open: bool,
}

/// The numbers of one priced row and its tail.
pub struct FastRow<'a> {
    pub priced: Priced,
    /// The text of the three rates, when they are the recipe's fixed ones.
    pub rates: Option<&'a RateTexts>,
    pub tail: &'a [u8],
}

/// A number's output text, kept to be copied.
#[derive(Clone, Copy)]
pub struct Text {
    len: usize,
    bytes: [u8; MAX_NUMBER],
}

impl Text {
    fn pct(r: waiver_domain::RatePpm) -> Text {
        let mut bytes = [0u8; MAX_NUMBER];
        let start = put_pct_back(&mut bytes, MAX_NUMBER, r);
        let len = MAX_NUMBER - start;
        bytes.copy_within(start.., 0);
        Text { len, bytes }
    }
}

/// The base, additional and VAT rates' output text.
#[derive(Clone, Copy)]
pub struct RateTexts {
    base: Text,
    additional: Text,
    vat: Text,
}

/// The scratch buffer of [`write_numbers`]: nine numbers of at most 1 + [`MAX_NUMBER`] bytes
/// and a slot's slack after the last.
pub const NUMBERS_BUF: usize = 9 * (1 + MAX_NUMBER) + FEN_SLOT;

/// Appends the nine computed numbers (each after a comma) as `assess::write_numbers` does,
/// copying the rates' text when it is known: left to right into one buffer, every number
/// with fixed-width stores, then one copy.
/// `b` is scratch space (its bytes on entry do not matter), kept by the caller so that it is
/// not cleared for every row.
#[inline]
pub fn write_numbers(
    out: &mut Vec<u8>,
    p: &Priced,
    rates: Option<&RateTexts>,
    b: &mut [u8; NUMBERS_BUF],
) {
    let Some(t) = rates else {
        return crate::assess::write_numbers(out, p);
    };
    let mut n = 0;
    for (i, f) in [
        p.customs_value,
        p.base_duty,
        p.additional_duty,
        p.vat,
        p.total,
        p.exclusion_saving,
    ]
    .into_iter()
    .enumerate()
    {
        // Each duty follows its rate's text; VAT's rate comes before VAT.
        let rate = match i {
            1 => Some(&t.base),
            2 => Some(&t.additional),
            3 => Some(&t.vat),
            _ => None,
        };
        if let Some(text) = rate {
            let Some(w) = b.get_mut(n..).and_then(|w| w.first_chunk_mut::<FEN_SLOT>()) else {
                return crate::assess::write_numbers(out, p);
            };
            w[0] = b',';
            w[1..=MAX_NUMBER].copy_from_slice(&text.bytes);
            n += 1 + text.len;
        }
        let Some(w) = b.get_mut(n..).and_then(|w| w.first_chunk_mut::<FEN_SLOT>()) else {
            return crate::assess::write_numbers(out, p);
        };
        n += put_fen_comma(w, f);
    }
    out.extend_from_slice(b.get(..n).unwrap_or(&[]));
}

/// Whether each byte is an ASCII letter or digit (a load per byte, no branches).
const ALNUM: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    t
};

/// A 128-bit word with byte `v` at each of `positions` (little-endian) and zeros elsewhere.
const fn bytes_at(positions: &[usize], v: u8) -> u128 {
    let mut w = 0u128;
    let mut i = 0;
    while i < positions.len() {
        w |= (v as u128) << (8 * positions[i]);
        i += 1;
    }
    w
}

const DATE_DIGITS: [usize; 8] = [0, 1, 2, 3, 5, 6, 8, 9];
const TIME_DIGITS: [usize; 4] = [11, 12, 14, 15];

/// `YYYY-MM-DD` (date only) or `YYYY-MM-DDTHH:MM` on Beijing time, exactly as `BjTime::parse`
/// reads them, given as the text's bytes `k` (little-endian, zero after `len`) and its length;
/// `None` for every other form (which the general path parses). The digits and separators are
/// checked in one word.
#[inline]
fn plain_instant(k: u128, len: usize) -> Option<(BjTime, Precision, i32)> {
    const DATE: (u128, u128) = (
        bytes_at(&DATE_DIGITS, 0xff),
        bytes_at(&[4], b'-') | bytes_at(&[7], b'-'),
    );
    const MINUTE: (u128, u128) = (
        DATE.0 | bytes_at(&TIME_DIGITS, 0xff),
        DATE.1 | bytes_at(&[10], b'T') | bytes_at(&[13], b':'),
    );
    const ZEROS: u128 = 0x3030_3030_3030_3030_3030_3030_3030_3030;
    const HIGH: u128 = 0xf0f0_f0f0_f0f0_f0f0_f0f0_f0f0_f0f0_f0f0;
    const SIXES: u128 = 0x0606_0606_0606_0606_0606_0606_0606_0606;
    let ((digits, seps), precision) = match len {
        16 => (MINUTE, Precision::Minute),
        10 => (DATE, Precision::DateOnly),
        _ => return None,
    };
    // Every byte that is not a digit is its separator (or the zero padding of a date).
    if k & !digits != seps {
        return None;
    }
    // Digit bytes less b'0' are 0 to 9: below 16, and below 16 still after adding 6.
    let x = (k ^ ZEROS) & digits;
    if x & HIGH != 0 || (x + (SIXES & digits)) & HIGH != 0 {
        return None;
    }
    let b = x.to_le_bytes().map(i64::from);
    let y = b[0] * 1000 + b[1] * 100 + b[2] * 10 + b[3];
    let mo = b[5] * 10 + b[6];
    let t = BjTime::from_civil(
        y,
        mo,
        b[8] * 10 + b[9],
        b[11] * 10 + b[12],
        b[14] * 10 + b[15],
        0,
    )?;
    Some((t, precision, (y * 12 + mo - 1) as i32))
}

/// [`plain_instant`], remembering the last text in `memo`.
#[inline]
fn instant(memo: &mut InstantMemo, b: &[u8]) -> Option<(BjTime, Precision, i32)> {
    // Only 10- and 16-byte texts can be plain (see `plain_instant`).
    let k = match (b.first_chunk::<8>(), b.len()) {
        (Some(_), 16) => u128::from_le_bytes(*b.first_chunk::<16>()?),
        (Some(h), 10) => {
            u128::from(u64::from_le_bytes(*h)) | u128::from(b[8]) << 64 | u128::from(b[9]) << 72
        }
        _ => return None,
    };
    let (text, len, v) = memo;
    if *len == b.len() && *text == k {
        return *v;
    }
    let parsed = plain_instant(k, b.len());
    (*text, *len, *v) = (k, b.len(), parsed);
    parsed
}

/// Packs a plain 8- or 10-digit code, a two-letter origin and the quota choice into one key.
#[inline]
fn key(code: &[u8], origin: &[u8], in_quota: bool) -> Option<u64> {
    const LOW: u64 = 0x0f0f_0f0f_0f0f_0f0f;
    let ([o0, o1], Some((first, rest))) = (
        <[u8; 2]>::try_from(origin).ok()?,
        code.split_first_chunk::<8>(),
    ) else {
        return None;
    };
    let x = u64::from_le_bytes(*first);
    // Eight ASCII digits: every high nibble 3 and every low nibble at most 9.
    if x & !LOW != 0x3030_3030_3030_3030 || ((x & LOW) + 0x0606_0606_0606_0606) & !LOW != 0 {
        return None;
    }
    let tail = match rest {
        [] => 0,
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => {
            0x100 | (u64::from(a & 0xf) << 4) | u64::from(b & 0xf)
        }
        _ => return None,
    };
    // The eight low nibbles (32 bits), the last two digits with a 10-digit flag (9 bits), the
    // origin's two bytes and the quota flag: distinct keys for distinct inputs.
    let n = x & LOW;
    let n = (n | (n >> 4)) & 0x00ff_00ff_00ff_00ff;
    let n = (n | (n >> 8)) & 0x0000_ffff_0000_ffff;
    let n = (n | (n >> 16)) & 0xffff_ffff;
    Some(
        (n << 32)
            | (tail << 17)
            | (u64::from(o0) << 9)
            | (u64::from(o1) << 1)
            | u64::from(in_quota),
    )
}

impl<'s> FastPath<'s> {
    pub fn new(schedule: &'s Schedule) -> Self {
        FastPath {
            schedule,
            timelines: Vec::new(),
            last: 0,
            rates: Vec::new(),
            last_instant: (0, usize::MAX, None),
            last_shipped: (0, usize::MAX, None),
            last_rate: None,
            last_plan: None,
            slots: [(u64::MAX, 0); SLOTS],
        }
    }

    /// Prices one row (a record of UTF-8 fields), or `None` when the general path must.
    /// `write_tail` writes `,measures,warnings\n` of an assessment as the general path does.
    #[inline]
    pub fn row<'a>(
        &'a mut self,
        cols: &ColumnPositions,
        rec: &TextRecord<'_>,
        write_tail: impl Fn(&mut Vec<u8>, &waiver_domain::Assessment),
    ) -> Option<FastRow<'a>> {
        let r = &cols.required;
        let f = |i: usize| rec.bytes(r[i]);
        // declaration: 1 to 32 characters once trimmed (bytes bound characters).
        let d = f(0).trim_ascii();
        if d.is_empty() || d.len() > 32 {
            return None;
        }
        // line: 1 to 9999, plain digits.
        let line = f(1);
        if line.is_empty()
            || line.len() > 4
            || !line.iter().all(u8::is_ascii_digit)
            || line.iter().all(|&c| c == b'0')
        {
            return None;
        }
        // importer: ten letters or digits, nothing around them.
        let Ok(imp) = <&[u8; 10]>::try_from(f(2)) else {
            return None;
        };
        if !imp.iter().fold(true, |ok, &c| ok & ALNUM[usize::from(c)]) {
            return None;
        }
        let (at, precision, month) = instant(&mut self.last_instant, f(5))?;
        let unit = match f(7) {
            b"t" => QtyUnit::T,
            b"kg" => QtyUnit::Kg,
            _ => return None,
        };
        let quantity = Quantity::parse_plain(f(6), unit)?;
        let cur = f(9);
        if cur.len() != 3 {
            return None;
        }
        let currency = match cur {
            b"USD" => Currency::USD,
            b"CNY" => Currency::CNY,
            _ => Currency::parse(std::str::from_utf8(cur).ok()?).ok()?,
        };
        let value = Money::parse_plain(f(8), currency)?;
        let shipped = match cols.shipped_on.map(|i| rec.bytes(i)) {
            None | Some(b"") => false,
            Some(s) => {
                let (t, _, _) = instant(&mut self.last_shipped, s)?;
                if t > at {
                    return None;
                }
                true
            }
        };
        let in_quota = match cols.in_quota.map(|i| rec.bytes(i)) {
            None | Some(b"" | b"false" | b"FALSE" | b"no") => false,
            Some(b"true" | b"TRUE" | b"yes") => true,
            Some(_) => return None,
        };
        let customs_value = if currency == Currency::CNY {
            Fen(value.minor)
        } else {
            self.rate(currency, month)?.convert(value.minor)
        };
        let k = key(f(3), f(4), in_quota)?;
        let (ti, i) = match self.last_plan {
            Some((kk, lo, hi, ti, i)) if kk == k && lo <= at && at < hi => (ti, i),
            _ => {
                let s = self.schedule;
                self.timeline(k, f(3), f(4), in_quota);
                let ti = self.last;
                let seg = self.timelines.get_mut(ti)?.1.inner.as_mut()?;
                let i = seg.bounds.partition_point(|b| *b <= at);
                let lo = i.checked_sub(1).and_then(|j| seg.bounds.get(j).copied());
                let hi = seg.bounds.get(i).copied();
                // Builds the plan; an engine segment is never remembered.
                seg.plan(s, i, write_tail)?;
                let (lo, hi) = (
                    lo.unwrap_or(BjTime(i64::MIN)),
                    hi.unwrap_or(BjTime(i64::MAX)),
                );
                self.last_plan = Some((k, lo, hi, ti, i));
                (ti, i)
            }
        };
        let seg = self.timelines.get(ti)?.1.inner.as_ref()?;
        if precision == Precision::DateOnly && seg.switch_days.binary_search(&at.day()).is_ok() {
            return None;
        }
        let Some(Plan::Fast(plan)) = seg.plans.get(i) else {
            return None;
        };
        if shipped && plan.grace_open {
            return None;
        }
        let (priced, rates) = match &plan.ad_valorem {
            Some((a, texts)) => (a.price(customs_value)?, Some(texts)),
            None => (plan.recipe.price(customs_value, quantity), None),
        };
        Some(FastRow {
            priced,
            rates,
            tail: &plan.tail,
        })
    }

    #[inline]
    fn rate(&mut self, currency: Currency, month: i32) -> Option<FxRate> {
        match self.last_rate {
            Some((c, m, r)) if c == currency && m == month => r,
            _ => {
                let r = self.rate_of_month(currency, month);
                self.last_rate = Some((currency, month, r));
                r
            }
        }
    }

    fn rate_of_month(&mut self, currency: Currency, month: i32) -> Option<FxRate> {
        let m = usize::try_from(month - FIRST_MONTH).ok()?;
        let c = match self.rates.iter().position(|(c, _)| *c == currency) {
            Some(c) => c,
            None => {
                if self.rates.len() >= RATES_KEPT {
                    self.rates.clear();
                }
                self.rates.push((currency, vec![None; MONTHS]));
                self.rates.len() - 1
            }
        };
        let slot = self.rates.get_mut(c)?.1.get_mut(m)?;
        *slot.get_or_insert_with(|| self.schedule.fx(currency, Month(month)).map(|e| e.rate))
    }

    fn timeline(
        &mut self,
        k: u64,
        code: &[u8],
        origin: &[u8],
        in_quota: bool,
    ) -> &mut Timeline<'s> {
        let slot = (k.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize % SLOTS;
        let hit = matches!(self.timelines.get(self.last), Some((kk, _)) if *kk == k);
        if !hit {
            self.last = match self.slots[slot] {
                (kk, i) if kk == k && i < self.timelines.len() => i,
                _ => match self.timelines.iter().position(|(kk, _)| *kk == k) {
                    Some(i) => i,
                    None => {
                        if self.timelines.len() >= TIMELINES_KEPT {
                            self.timelines.clear();
                            self.last_plan = None;
                            self.slots = [(u64::MAX, 0); SLOTS];
                        }
                        let t = Timeline::build(self.schedule, code, origin, in_quota);
                        self.timelines.push((k, t));
                        self.timelines.len() - 1
                    }
                },
            };
            self.slots[slot] = (k, self.last);
        }
        // `last` was just set to an index of `timelines` (pushed or found).
        let n = self.timelines.len();
        &mut self.timelines[self.last.min(n - 1)].1
    }
}

impl<'s> Timeline<'s> {
    fn build(s: &'s Schedule, code: &[u8], origin: &[u8], in_quota: bool) -> Self {
        let inner = (|| {
            let code = TariffCode::parse(std::str::from_utf8(code).ok()?).ok()?;
            let origin = Origin::parse(std::str::from_utf8(origin).ok()?).ok()?;
            if origin == Origin::Unknown {
                return None;
            }
            let of = |c: &TariffCode| -> Vec<usize> {
                s.lines()
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.code == *c)
                    .map(|(i, _)| i)
                    .collect()
            };
            let mut versions = of(&code);
            if versions.is_empty() {
                versions = code.parent8().map(|p| of(&p)).unwrap_or_default();
            }
            if versions.is_empty() {
                return None;
            }
            let mut bounds = Vec::new();
            for &li in &versions {
                let v = s.lines().get(li)?.validity;
                bounds.extend([Some(v.start), v.end].into_iter().flatten());
                for k in s.measure_keys(li) {
                    bounds.extend(
                        [Some(k.validity.start), k.validity.end]
                            .into_iter()
                            .flatten(),
                    );
                    if let Some(g) = s.measure_at(k).grace {
                        bounds.extend([g.imported_until, g.shipped_before]);
                    }
                }
            }
            bounds.sort();
            bounds.dedup();
            let mut switch_days: Vec<i64> = bounds
                .iter()
                .filter(|t| !t.is_midnight())
                .map(|t| t.day())
                .collect();
            switch_days.dedup();
            let plans = (0..=bounds.len()).map(|_| Plan::Unbuilt).collect();
            Some(Segments {
                code,
                origin,
                in_quota,
                bounds,
                switch_days,
                plans,
            })
        })();
        Timeline { inner }
    }
}

impl<'s> Segments<'s> {
    /// The plan of segment `i`, asking the engine on first use.
    fn plan(
        &mut self,
        s: &'s Schedule,
        i: usize,
        write_tail: impl Fn(&mut Vec<u8>, &waiver_domain::Assessment),
    ) -> Option<&FastPlan<'s>> {
        if matches!(self.plans.get(i)?, Plan::Unbuilt) {
            // One instant inside the segment: before the first bound, then each bound itself.
            let at = match i.checked_sub(1) {
                None => BjTime(self.bounds.first().map_or(0, |b| b.0 - 1)),
                Some(j) => *self.bounds.get(j)?,
            };
            let input = LineInput {
                code: self.code,
                origin: self.origin,
                declared_at: at,
                declared_precision: Precision::Minute,
                shipped_on: None,
                quantity: Quantity { grams: 1_000_000 },
                customs_value: Money {
                    minor: 100_000,
                    currency: Currency::CNY,
                },
                in_quota: self.in_quota,
            };
            let plan = match assess(s, &input, waiver_domain::Lift::Nothing) {
                Ok(a) => match Recipe::of(&a) {
                    Some(recipe) => {
                        let grace_open = recipe
                            .additional()
                            .iter()
                            .any(|m| m.grace.is_some_and(|g| at < g.imported_until));
                        let mut tail = Vec::new();
                        write_tail(&mut tail, &a);
                        let ad_valorem = recipe.ad_valorem().map(|r| {
                            let texts = RateTexts {
                                base: Text::pct(r.base),
                                additional: Text::pct(r.additional),
                                vat: Text::pct(r.vat),
                            };
                            (r, texts)
                        });
                        Plan::Fast(Box::new(FastPlan {
                            recipe,
                            ad_valorem,
                            tail,
                            grace_open,
                        }))
                    }
                    None => Plan::Engine,
                },
                Err(_) => Plan::Engine,
            };
            *self.plans.get_mut(i)? = plan;
        }
        match self.plans.get(i)? {
            Plan::Fast(p) => Some(p),
            Plan::Unbuilt | Plan::Engine => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The byte-by-byte reading `plain_instant` replaced, as the reference.
    fn plain_instant_bytes(b: &[u8]) -> Option<(BjTime, Precision, i32)> {
        fn d2(b: &[u8], i: usize) -> Option<i64> {
            let (x, y) = (
                b.get(i)?.wrapping_sub(b'0'),
                b.get(i + 1)?.wrapping_sub(b'0'),
            );
            (x < 10 && y < 10).then_some(i64::from(x) * 10 + i64::from(y))
        }
        if (b.len() != 10 && b.len() != 16) || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let y = d2(b, 0)? * 100 + d2(b, 2)?;
        let (mo, d) = (d2(b, 5)?, d2(b, 8)?);
        let (h, mi, precision) = if b.len() == 16 {
            if b[10] != b'T' || b[13] != b':' {
                return None;
            }
            (d2(b, 11)?, d2(b, 14)?, Precision::Minute)
        } else {
            (0, 0, Precision::DateOnly)
        };
        let t = BjTime::from_civil(y, mo, d, h, mi, 0)?;
        Some((t, precision, (y * 12 + mo - 1) as i32))
    }

    /// `instant` without a memo.
    fn instant_once(b: &[u8]) -> Option<(BjTime, Precision, i32)> {
        instant(&mut (0, usize::MAX, None), b)
    }

    #[test]
    fn plain_instants_read_like_bjtime_parse() {
        for t in [
            "2025-04-10",
            "2025-04-10T12:01",
            "1900-01-01",
            "2199-12-31T23:59",
            "2024-02-29",
            "2023-02-29",
            "2025-04-31",
            "2025-13-01",
            "2025-00-10",
            "2025-04-10T24:00",
            "2025-04-10T12:60",
            "2025-04-10 12:01",
            "2025-04-10t12:01",
            "2025/04/10",
            "1899-12-31",
            "2200-01-01",
            "2025-04-1a",
            "2025-04-10T12:0:",
            "20250-4-10",
            "2025-04-10Z",
        ] {
            let want = plain_instant_bytes(t.as_bytes());
            assert_eq!(instant_once(t.as_bytes()), want, "{t}");
            if let Some((at, p, _)) = want {
                assert_eq!(BjTime::parse(t), Ok((at, p)), "{t}");
            }
        }
    }

    proptest! {
        #[test]
        fn plain_instants_match_the_byte_reader(
            t in "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2})?",
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'0'), Just(b'9'), Just(b'-'), Just(b'T'), Just(b':'), Just(b'/'), any::<u8>()],
                10..=16,
            ),
            pos in 0usize..16,
            byte in any::<u8>(),
        ) {
            let mut changed = t.clone().into_bytes();
            if let Some(c) = changed.get_mut(pos) {
                *c = byte;
            }
            for b in [t.as_bytes(), &bytes, &changed] {
                prop_assert_eq!(instant_once(b), plain_instant_bytes(b));
            }
        }
    }

    #[test]
    fn keys_take_plain_codes_only() {
        assert!(key(b"12019010", b"US", false).is_some());
        assert!(key(b"1201901000", b"US", true).is_some());
        for bad in [
            &b"1201901a"[..],
            b"12019010a0",
            b"1201901/",
            b"1201901:",
            b"1201.9010",
            b"1201.90.10",
            b"120190100",
            b"1201901",
            b"",
            b"12019010\xb0\xb0",
        ] {
            assert_eq!(key(bad, b"US", false), None, "{bad:?}");
        }
        assert_eq!(key(b"12019010", b"USA", false), None);
    }

    proptest! {
        #[test]
        fn distinct_inputs_have_distinct_keys(
            a in "[0-9]{8}([0-9]{2})?", b in "[0-9]{8}([0-9]{2})?",
            oa in "[A-Z]{2}", ob in "[A-Z]{2}", qa in any::<bool>(), qb in any::<bool>(),
        ) {
            let (ka, kb) = (key(a.as_bytes(), oa.as_bytes(), qa), key(b.as_bytes(), ob.as_bytes(), qb));
            prop_assert!(ka.is_some() && kb.is_some());
            prop_assert_eq!(ka == kb, (&a, &oa, qa) == (&b, &ob, qb));
        }

        #[test]
        fn keys_differ_for_codes_one_digit_apart(a in "[0-9]{10}", i in 0usize..10, d in 1u8..10) {
            let mut b = a.clone().into_bytes();
            b[i] = b'0' + (b[i] - b'0' + d) % 10;
            prop_assert_ne!(key(a.as_bytes(), b"US", false), key(&b, b"US", false));
            prop_assert_ne!(key(&a.as_bytes()[..8], b"US", false), key(a.as_bytes(), b"US", false));
        }
    }
}
