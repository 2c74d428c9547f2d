//! The stored form of a declaration's `request` and `answer` (JSON text kept for exact replays).
//!
//! A declaration's answer is ~1.7 KB of repetitive JSON (measure ids, kinds, legal bases); stored
//! as text, one row filled a 4 KiB SQLite page, so every declaration of a group commit wrote a
//! page of its own. Stored compressed, several rows share a page (migration 0014).
//!
//! Format of the stored bytes (BLOB on SQLite, BYTEA on PostgreSQL):
//! - first byte [`LZ4_DICT_V1`]: the text's length as a little-endian `u32`, then an LZ4 block
//!   compressed against [`DICT_V1`] (a frozen, representative request and answer);
//! - anything else: the UTF-8 JSON text itself (rows recorded before 0014, and texts that do
//!   not compress). JSON text never starts with a control byte, so the two cannot be confused.
//!
//! [`DICT_V1`] must never change: rows compressed against it would no longer decode. A better
//! dictionary is a new tag byte.

use crate::{Result, StoreError};

/// Tag of an LZ4 block compressed against [`DICT_V1`].
const LZ4_DICT_V1: u8 = 0x01;
/// The frozen dictionary of [`LZ4_DICT_V1`]: one representative request and answer.
const DICT_V1: &[u8] = include_bytes!("stored_json_dict_v1.txt");
/// Longest text a stored value may decode to (a 200-line answer is well under 1 MiB); guards
/// against allocating a corrupt length.
pub(crate) const MAX_DECODED: usize = 16 << 20;

/// Bytes 0x00..=0x08 are reserved for tags; a text starting with one is always compressed.
fn starts_with_tag(raw: &[u8]) -> bool {
    raw.first().is_some_and(|&b| b <= 0x08)
}

/// The stored bytes of a JSON text: compressed when that is shorter, else the text itself.
pub(crate) fn encode(text: &str) -> Vec<u8> {
    let raw = text.as_bytes();
    let len = match u32::try_from(raw.len()) {
        Ok(n) if raw.len() <= MAX_DECODED => n,
        // Over the limit: the caller's own limits keep texts far below it.
        _ => return raw.to_vec(),
    };
    let block = lz4_flex::block::compress_with_dict(raw, DICT_V1);
    if block.len() + 5 >= raw.len() && !starts_with_tag(raw) {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(block.len() + 5);
    out.push(LZ4_DICT_V1);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&block);
    out
}

/// The JSON text of stored bytes, whichever form they are in.
pub(crate) fn decode(stored: &[u8]) -> Result<String> {
    let bad = |why: &str| StoreError::Invalid(format!("stored declaration JSON: {why}"));
    let text = match stored.split_first() {
        Some((&LZ4_DICT_V1, rest)) => {
            let (len, block) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| bad("truncated header"))?;
            let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
            if len > MAX_DECODED {
                return Err(bad("declared length over the limit"));
            }
            let out = lz4_flex::block::decompress_with_dict(block, len, DICT_V1)
                .map_err(|e| bad(&e.to_string()))?;
            if out.len() != len {
                return Err(bad("length mismatch"));
            }
            out
        }
        Some((&tag, _)) if tag <= 0x08 => return Err(bad(&format!("unknown tag {tag}"))),
        _ => stored.to_vec(),
    };
    String::from_utf8(text).map_err(|_| bad("not UTF-8"))
}

/// Column `i` of a row as JSON text: stored bytes ([`decode`]), or text where a value was never
/// converted (SQLite keeps each value's own type).
pub(crate) fn column(r: &sqlx::any::AnyRow, i: usize) -> Result<String> {
    use sqlx::Row;
    match r.try_get::<Vec<u8>, _>(i) {
        Ok(b) => decode(&b),
        Err(sqlx::Error::ColumnDecode { .. }) => Ok(r.try_get::<String, _>(i)?),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ANSWER: &str = r#"{"number":"D-1","lines":[{"line":1,"covered_quantity":"2","uncovered_quantity":"0","base_duty_cny":"1.00","additional_duty_cny":"0.00","excluded_duty_cny":"7.92","vat_cny":"0.00","total_cny":"0.00","measures":[{"id":"MFN-12019010","kind":"mfn","legal_basis":"Customs Tariff of the People's Republic of China (import tariff schedule)","scope":"base","status":"charged","charged_cny":"0.86","lifted_cny":"0.00"}],"notes":[]}],"total_cny":"0.00"}"#;

    #[test]
    fn an_answer_is_stored_compressed_and_reads_back_identical() {
        let stored = encode(ANSWER);
        assert_eq!(stored[0], LZ4_DICT_V1);
        assert!(stored.len() * 3 < ANSWER.len(), "{} bytes", stored.len());
        assert_eq!(decode(&stored).unwrap(), ANSWER);
    }

    #[test]
    fn text_stored_before_compression_reads_as_it_is() {
        assert_eq!(decode(ANSWER.as_bytes()).unwrap(), ANSWER);
        assert_eq!(decode(b"").unwrap(), "");
        // Too short to gain: kept as text, unless it starts like a tag.
        assert_eq!(encode("{}"), b"{}");
        assert_eq!(encode("\u{1}")[0], LZ4_DICT_V1);
        assert_eq!(decode(&encode("\u{1}")).unwrap(), "\u{1}");
    }

    #[test]
    fn corrupt_stored_bytes_are_an_error_not_a_panic() {
        let mut stored = encode(ANSWER);
        assert!(decode(&stored[..3]).is_err());
        stored[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&stored).is_err());
        let mut stored = encode(ANSWER);
        stored.truncate(stored.len() - 4);
        assert!(decode(&stored).is_err());
        assert!(decode(&[0xff, 0xfe]).is_err());
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_the_identity(s in any::<String>()) {
            prop_assert_eq!(decode(&encode(&s)).unwrap(), s);
        }

        #[test]
        fn json_like_texts_round_trip(parts in proptest::collection::vec(
            prop_oneof![Just("\"legal_basis\":\"Customs Tariff\",".to_owned()),
                        Just("{\"kind\":\"additional\"}".to_owned()),
                        "[ -~]{0,40}"], 0..60)) {
            let s = parts.concat();
            prop_assert_eq!(decode(&encode(&s)).unwrap(), s);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&b);
            let mut tagged = vec![LZ4_DICT_V1];
            tagged.extend_from_slice(&b);
            let _ = decode(&tagged);
        }
    }
}
