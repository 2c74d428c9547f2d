//! Allocation-free formatting of amounts for the bulk output.

use waiver_domain::{Fen, RatePpm};

/// Appends `fen` as CNY with two decimals (`1234.05`).
pub fn push_fen(buf: &mut Vec<u8>, fen: Fen) {
    let v = fen.0;
    if v < 0 {
        buf.push(b'-');
    }
    let a = v.unsigned_abs();
    push_u64(buf, a / 100);
    let c = (a % 100) as u8;
    buf.extend_from_slice(&[b'.', b'0' + c / 10, b'0' + c % 10]);
}

/// Appends a rate as a percentage with trailing zeros trimmed (`30.5`, `25`).
pub fn push_pct(buf: &mut Vec<u8>, r: RatePpm) {
    let v = r.0.unsigned_abs();
    if r.0 < 0 {
        buf.push(b'-');
    }
    push_u64(buf, v / 10_000);
    let mut frac = v % 10_000;
    if frac != 0 {
        let mut digits = 4;
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        buf.push(b'.');
        let start = buf.len();
        for _ in 0..digits {
            buf.push(b'0');
        }
        let mut i = buf.len();
        while frac > 0 {
            i -= 1;
            buf[i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        debug_assert!(i >= start);
    }
}

fn push_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_domain_display() {
        for v in [0i64, 5, 100, 123_456, -7, 1_000_000_000_001] {
            let mut b = Vec::new();
            push_fen(&mut b, Fen(v));
            assert_eq!(String::from_utf8(b).unwrap(), Fen(v).to_string());
        }
        for v in [0i64, 250_000, 25_000, 305_000, 1_786_000, 3, 10_000_000] {
            let mut b = Vec::new();
            push_pct(&mut b, RatePpm(v));
            assert_eq!(String::from_utf8(b).unwrap(), RatePpm(v).pct_string());
        }
    }
}
