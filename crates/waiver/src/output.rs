//! Allocation-free formatting of amounts for the bulk output, into a caller's fixed buffer.

use waiver_domain::{Fen, RatePpm};

/// The longest text `put_fen_back` or `put_pct_back` writes (a sign, 19 digits, a point, decimals).
pub const MAX_NUMBER: usize = 26;

/// Writes `fen` as CNY with two decimals (`1234.05`) into `buf`, ending just before `end`;
/// returns where it starts. `buf` needs [`MAX_NUMBER`] bytes before `end`.
#[inline(always)]
pub fn put_fen_back(buf: &mut [u8], end: usize, fen: Fen) -> usize {
    const E8: u64 = 100_000_000;
    let a = fen.0.unsigned_abs();
    // The last eight digits at once (two decimals, six integer digits), then the rest.
    let d = eight_digits((a % E8) as u32);
    buf[end - 2..end].copy_from_slice(&d[6..]);
    buf[end - 3] = b'.';
    buf[end - 9..end - 3].copy_from_slice(&d[..6]);
    let mut i = if a < E8 {
        // Leading zeros of the integer part go, one digit stays.
        let zeros = (u64::from_le_bytes(d) ^ 0x3030_3030_3030_3030).trailing_zeros() / 8;
        end - 9 + (zeros as usize).min(5)
    } else if a < E8 * E8 {
        // Up to eight more digits in one group (no loop), less its leading zeros.
        let h = eight_digits((a / E8) as u32);
        buf[end - 17..end - 9].copy_from_slice(&h);
        let zeros = (u64::from_le_bytes(h) ^ 0x3030_3030_3030_3030).trailing_zeros() / 8;
        end - 17 + (zeros as usize).min(7)
    } else {
        digits_back(buf, end - 9, a / E8)
    };
    if fen.0 < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    i
}

/// Room [`put_fen_comma`] needs: a comma and the longest number, with slack for its
/// fixed-width stores.
pub const FEN_SLOT: usize = 33;

/// Writes `,` and `fen` as CNY with two decimals (`,1234.05`) from the start of `w`; returns
/// how many bytes the text takes. Bytes after it may be overwritten. Left to right with
/// fixed-width stores: up to 16 integer digits are made in one or two 64-bit lanes and shifted
/// past their leading zeros, so no byte is written one at a time.
#[inline(always)]
pub fn put_fen_comma(w: &mut [u8; FEN_SLOT], fen: Fen) -> usize {
    const E8: u64 = 100_000_000;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const ZEROS_16: u128 = 0x3030_3030_3030_3030_3030_3030_3030_3030;
    let a = fen.0.unsigned_abs();
    let int = a / 100;
    w[0] = b',';
    w[1] = b'-';
    let off = 1 + usize::from(fen.0 < 0);
    let (digits, len) = if int < E8 {
        let d = u64::from_le_bytes(eight_digits(int as u32));
        // Leading zeros are the low bytes equal to b'0' (one digit stays).
        let zeros = ((d ^ ZEROS).trailing_zeros() / 8).min(7);
        (u128::from(d >> (8 * zeros)), 8 - zeros as usize)
    } else if int < E8 * E8 {
        let hi = u64::from_le_bytes(eight_digits((int / E8) as u32));
        let lo = u64::from_le_bytes(eight_digits((int % E8) as u32));
        let d = u128::from(hi) | (u128::from(lo) << 64);
        let zeros = ((d ^ ZEROS_16).trailing_zeros() / 8).min(15);
        (d >> (8 * zeros), 16 - zeros as usize)
    } else {
        // 10^18 fen or more: the general formatter.
        let mut t = [0u8; MAX_NUMBER];
        let start = put_fen_back(&mut t, MAX_NUMBER, fen);
        w[1..=MAX_NUMBER].copy_from_slice(&t);
        w.copy_within(1 + start..=MAX_NUMBER, 1);
        return 1 + MAX_NUMBER - start;
    };
    w[off..off + 16].copy_from_slice(&digits.to_le_bytes());
    let [d0, d1] = PAIRS[(a % 100) as usize];
    let p = off + len;
    w[p..p + 3].copy_from_slice(&[b'.', d0, d1]);
    p + 3
}

/// Writes a rate as a percentage with trailing zeros trimmed (`30.5`, `25`) into `buf`, ending
/// just before `end`; returns where it starts. `buf` needs [`MAX_NUMBER`] bytes before `end`.
#[inline]
pub fn put_pct_back(buf: &mut [u8], mut end: usize, r: RatePpm) -> usize {
    let v = r.0.unsigned_abs();
    let mut frac = v % 10_000;
    if frac != 0 {
        let mut digits = 4;
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        let start = end - digits;
        buf[start..end].fill(b'0');
        digits_back(buf, end, frac);
        end = start - 1;
        buf[end] = b'.';
    }
    let mut i = digits_back(buf, end, v / 10_000);
    if r.0 < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    i
}

/// `PAIRS[n]` is `n` (0–99) as two ASCII digits.
const PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut n = 0;
    while n < 100 {
        t[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    t
};

/// `v` (below 10^8) as eight ASCII digits with leading zeros, in memory order, computed in
/// 64-bit lanes (four, then two, then one digit per lane) rather than digit by digit.
#[inline(always)]
fn eight_digits(v: u32) -> [u8; 8] {
    let v = u64::from(v);
    // [v / 10^4, v % 10^4] in 32-bit lanes.
    let merged = (v / 10_000) | ((v % 10_000) << 32);
    // Per lane n < 10^4: n / 100 = (n * 10486) >> 20 (checked for every n in the tests).
    let top = ((merged * 10_486) >> 20) & ((0x7f << 32) | 0x7f);
    let hundreds = ((merged - 100 * top) << 16) | top;
    // Per 16-bit lane n < 100: n / 10 = (n * 103) >> 10.
    let tens = ((hundreds * 103) >> 10) & 0x000f_000f_000f_000f;
    let digits = ((hundreds - 10 * tens) << 8) | tens;
    (digits + 0x3030_3030_3030_3030).to_le_bytes()
}

/// Writes the decimal digits of `v` so that they end just before `buf[end]`; returns where they
/// start. `buf` must have room for them (20 digits at most); bytes up to eight before the first
/// digit may be overwritten (callers fill their buffers from the back).
#[inline]
fn digits_back(buf: &mut [u8], mut end: usize, mut v: u64) -> usize {
    const E8: u64 = 100_000_000;
    if end < 24 {
        return digits_back_pairs(buf, end, v);
    }
    // At most two full groups of eight (u64 has 20 digits), then the leading group.
    while v >= E8 {
        buf[end - 8..end].copy_from_slice(&eight_digits((v % E8) as u32));
        v /= E8;
        end -= 8;
    }
    let d = eight_digits(v as u32);
    buf[end - 8..end].copy_from_slice(&d);
    // Leading zeros are the low bytes equal to b'0' (at least one digit stays).
    let zeros = (u64::from_le_bytes(d) ^ 0x3030_3030_3030_3030).trailing_zeros() / 8;
    end - 8 + (zeros as usize).min(7)
}

/// [`digits_back`] two digits at a time, for a buffer with less than eight bytes before `end`.
fn digits_back_pairs(buf: &mut [u8], mut end: usize, mut v: u64) -> usize {
    while v >= 100 {
        end -= 2;
        buf[end..end + 2].copy_from_slice(&PAIRS[(v % 100) as usize]);
        v /= 100;
    }
    if v >= 10 {
        end -= 2;
        buf[end..end + 2].copy_from_slice(&PAIRS[v as usize]);
    } else {
        end -= 1;
        buf[end] = b'0' + v as u8;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_digits_is_exact_for_every_four_digit_lane_and_pair() {
        // The lane arithmetic is exact when both halves are: every n < 10^4 in each half.
        for n in 0..10_000u32 {
            for v in [n, n * 10_000, n * 10_000 + (9_999 - n)] {
                assert_eq!(eight_digits(v), *format!("{v:08}").as_bytes(), "{v}");
            }
        }
        assert_eq!(eight_digits(99_999_999), *b"99999999");
    }

    #[test]
    fn digits_back_writes_every_magnitude() {
        let mut v = 1u64;
        for _ in 0..20 {
            for x in [v - 1, v, v + 1, v.saturating_mul(9)] {
                let mut buf = [b'x'; 30];
                let start = digits_back(&mut buf, 28, x);
                assert_eq!(&buf[start..28], x.to_string().as_bytes(), "{x}");
                assert_eq!(&buf[28..], b"xx");
            }
            v = v.saturating_mul(10);
        }
        let mut buf = [0u8; 21];
        let start = digits_back(&mut buf, 20, u64::MAX);
        assert_eq!(&buf[start..20], u64::MAX.to_string().as_bytes());
        // Fewer than eight bytes before `end`: the pair loop.
        let mut tiny = [b'x'; 5];
        assert_eq!(digits_back(&mut tiny, 5, 12_345), 0);
        assert_eq!(&tiny, b"12345");
    }

    proptest::proptest! {
        #[test]
        fn fen_and_pct_text_match_the_domain_display(v in proptest::prelude::any::<i64>(), small in -10_000_000_000i64..10_000_000_000) {
            for v in [v, small] {
                let mut fixed = [b'x'; MAX_NUMBER + 3];
                let start = put_fen_back(&mut fixed, MAX_NUMBER, Fen(v));
                let want = Fen(v).to_string();
                proptest::prop_assert_eq!(&fixed[start..MAX_NUMBER], want.as_bytes());
                let start = put_pct_back(&mut fixed, MAX_NUMBER, RatePpm(v));
                let want = RatePpm(v).pct_string();
                proptest::prop_assert_eq!(&fixed[start..MAX_NUMBER], want.as_bytes());
                proptest::prop_assert_eq!(&fixed[MAX_NUMBER..], b"xxx");
            }
        }
    }

    /// [`put_fen_comma`]'s text, checked against [`put_fen_back`] in the same call.
    fn fen_comma(v: i64) -> Vec<u8> {
        let mut w = [b'x'; FEN_SLOT];
        let n = put_fen_comma(&mut w, Fen(v));
        let mut back = [b'x'; MAX_NUMBER];
        let start = put_fen_back(&mut back, MAX_NUMBER, Fen(v));
        assert_eq!(&w[1..n], &back[start..], "{v}");
        w[..n].to_vec()
    }

    proptest::proptest! {
        #[test]
        fn fen_comma_matches_the_domain_display(
            v in proptest::prelude::any::<i64>(),
            small in -100_000_000_000i64..100_000_000_000,
            shift in 0u32..63,
        ) {
            for v in [v, small, v >> shift] {
                let want = format!(",{}", Fen(v));
                proptest::prop_assert_eq!(fen_comma(v), want.into_bytes());
            }
        }
    }

    #[test]
    fn fen_comma_at_every_magnitude() {
        let mut p = 1i64;
        for _ in 0..19 {
            for v in [
                p - 1,
                p,
                p + 1,
                p.saturating_mul(9),
                p.saturating_mul(10) - 1,
            ] {
                for v in [v, -v] {
                    assert_eq!(fen_comma(v), format!(",{}", Fen(v)).into_bytes());
                }
            }
            p = p.saturating_mul(10);
        }
        for v in [i64::MIN, i64::MAX, i64::MIN + 1, 0] {
            assert_eq!(fen_comma(v), format!(",{}", Fen(v)).into_bytes());
        }
    }

    #[test]
    fn formats_like_the_domain_display() {
        for v in [
            0i64,
            5,
            100,
            123_456,
            -7,
            1_000_000_000_001,
            i64::MIN,
            i64::MAX,
            9,
            10,
            99,
            99_999_999,
            100_000_000,
            -100_000_005,
            9_999_999_999_999_999,
            10_000_000_000_000_000,
            -10_000_000_000_000_000,
        ] {
            let mut fixed = [b'x'; MAX_NUMBER + 3];
            let start = put_fen_back(&mut fixed, MAX_NUMBER, Fen(v));
            assert_eq!(&fixed[start..MAX_NUMBER], Fen(v).to_string().as_bytes());
            assert_eq!(&fixed[MAX_NUMBER..], b"xxx");
        }
        for v in [
            0i64,
            250_000,
            25_000,
            305_000,
            1_786_000,
            3,
            10_000_000,
            -3,
            -250_000,
            9_999,
            100_001,
            i64::MAX,
            i64::MIN,
        ] {
            let mut fixed = [b'x'; MAX_NUMBER + 3];
            let start = put_pct_back(&mut fixed, MAX_NUMBER, RatePpm(v));
            assert_eq!(
                &fixed[start..MAX_NUMBER],
                RatePpm(v).pct_string().as_bytes()
            );
            assert_eq!(&fixed[MAX_NUMBER..], b"xxx");
        }
    }
}
