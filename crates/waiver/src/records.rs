//! Splits a block of CSV records the way the `csv` crate's reader does with its default settings
//! (`,` delimiter, `"` quotes doubled inside quoted fields, `\n`, `\r` or `\r\n` ending a record,
//! blank lines skipped), without copying the common record.
//!
//! A record whose line has no `"` and no `\r` is split at its commas in place: for such a line
//! the `csv` state machine only ever copies bytes and ends fields at commas. A line whose quoted
//! fields are simple (`"a, b"`: no doubled quote, no line break inside) is split in place too,
//! each field being the bytes inside its quotes. Every other record (doubled quotes, quoted
//! newlines, CR line ends, blank lines) is handed to `csv_core`, the state
//! machine the `csv` crate itself runs, so the two paths give the same fields, the same record
//! extents and the same line counts. `tests` checks this against the `csv` crate on random input.

use csv_core::ReadRecordResult;

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Reusable splitting state for one worker (no allocation per record once warmed up).
pub struct Splitter {
    core: csv_core::Reader,
    /// Field bytes of a record read by `core`.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Field ranges of the current record, into its `base` (quoted or `csv_core` records).
    fields: Vec<(usize, usize)>,
    /// Field ranges of a line split at its commas.
    inline: [(usize, usize); INLINE_FIELDS],
    stops: Stops,
}

/// Finds a line's first `\n`, `"` or `\r`: with memchr's AVX2 searcher built once per worker
/// when the CPU has AVX2 (no feature dispatch and needle set-up per line), else `memchr3`.
#[derive(Clone, Copy)]
struct Stops {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::Three>,
}

impl Stops {
    fn new() -> Self {
        Stops {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::Three::new(b'\n', b'"', b'\r'),
        }
    }

    #[inline]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(three) = &self.avx2 {
            return three.find(haystack);
        }
        memchr::memchr3(b'\n', b'"', b'\r', haystack)
    }
}

/// One record of a block.
pub struct Record<'a> {
    /// The record's bytes as the `csv` reader consumes them (from the end of the previous record,
    /// so with any blank lines before it), without the trailing `\r` and `\n` bytes.
    pub raw: &'a [u8],
    /// The number of `\n` bytes the record consumed (with blank lines before it).
    pub newlines: u64,
    /// The bytes the field ranges point into.
    base: &'a [u8],
    /// Whether `base` is the record's line, cut only at commas.
    in_place: bool,
    fields: &'a [(usize, usize)],
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of each byte of `word` equal to `b`, exactly (no false positives).
#[inline]
fn bytes_equal(word: u64, b: u8) -> u64 {
    let x = word ^ (ONES * u64::from(b));
    !(((x & LOW7) + LOW7) | x) & (ONES << 7)
}

/// How many fields a line split in place may have (more go to the `csv` state machine).
const INLINE_FIELDS: usize = 64;

/// Sets `fields[..n]` to the ranges of `line` between commas, eight bytes at a time, and
/// returns `n`; `None` when there are more than [`INLINE_FIELDS`]. A fixed array rather than a
/// `Vec`: no capacity check per field.
#[inline]
fn split_at_commas(line: &[u8], fields: &mut [(usize, usize); INLINE_FIELDS]) -> Option<usize> {
    let (mut n, mut s) = (0, 0);
    let chunks = line.chunks_exact(8);
    let tail = chunks.remainder();
    for (k, c) in chunks.enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let mut commas = bytes_equal(u64::from_le_bytes(word), b',');
        while commas != 0 {
            let i = k * 8 + (commas.trailing_zeros() / 8) as usize;
            *fields.get_mut(n)? = (s, i);
            n += 1;
            s = i + 1;
            commas &= commas - 1;
        }
    }
    let base = line.len() - tail.len();
    for (j, &b) in tail.iter().enumerate() {
        if b == b',' {
            *fields.get_mut(n)? = (s, base + j);
            n += 1;
            s = base + j + 1;
        }
    }
    *fields.get_mut(n)? = (s, line.len());
    Some(n + 1)
}

/// A line whose quoted fields are simple (`"..."` with no `"`, `\r` or `\n` inside, followed by
/// a comma, the line's `\n` or the block's end) and whose other fields have no `"` or `\r`:
/// sets `fields` to the ranges of the field contents (inside the quotes) and returns the line's
/// length and whether a `\n` ends it. `None` for anything else (the `csv` state machine reads it).
fn scan_simply_quoted(rest: &[u8], fields: &mut Vec<(usize, usize)>) -> Option<(usize, bool)> {
    fields.clear();
    let mut i = 0;
    loop {
        let end = if rest.get(i) == Some(&b'"') {
            let close = i + 1 + memchr::memchr(b'"', rest.get(i + 1..)?)?;
            if memchr::memchr2(b'\n', b'\r', &rest[i + 1..close]).is_some() {
                return None;
            }
            fields.push((i + 1, close));
            close + 1
        } else {
            let tail = rest.get(i..)?;
            let j = i + tail
                .iter()
                .position(|&b| matches!(b, b',' | b'\n' | b'"' | b'\r'))
                .unwrap_or(tail.len());
            fields.push((i, j));
            j
        };
        match rest.get(end) {
            Some(b',') => i = end + 1,
            Some(b'\n') => return Some((end, true)),
            None => return Some((end, false)),
            Some(_) => return None,
        }
    }
}

impl Default for Splitter {
    fn default() -> Self {
        Splitter {
            core: csv_core::Reader::new(),
            out: vec![0; 4096],
            ends: vec![0; 64],
            fields: Vec::with_capacity(64),
            inline: [(0, 0); INLINE_FIELDS],
            stops: Stops::new(),
        }
    }
}

impl Splitter {
    /// Prepares to read a new block from its start, as a `csv` reader seeked to a record start.
    pub fn start_block(&mut self, block: &[u8]) {
        self.core.reset();
        if !block.starts_with(BOM) {
            // A reset `csv_core` reader strips a UTF-8 byte order mark from its first input only;
            // once it has read anything it keeps one. Mark it as having read (nothing consumed,
            // the output buffer is empty), so only a block that starts with a mark loses it.
            let _ = self.core.read_record(b"\n", &mut [], &mut []);
        }
    }

    /// The record starting at `*pos` in `block`, advancing `*pos` past it; `None` at the end.
    pub fn next<'a>(&'a mut self, block: &'a [u8], pos: &mut usize) -> Option<Record<'a>> {
        let start = *pos;
        let rest = block.get(start..)?;
        if rest.is_empty() {
            return None;
        }
        // The line up to its `\n` (or the block's end), if no `"` or `\r` comes first.
        let (line, newline, quoted) = match self.stops.find(rest) {
            Some(i) if rest[i] == b'\n' => (&rest[..i], true, false),
            Some(i) if rest[i] == b'"' => match scan_simply_quoted(rest, &mut self.fields) {
                Some((len, newline)) => (&rest[..len], newline, true),
                None => (&rest[..0], false, true),
            },
            Some(_) => (&rest[..0], false, false),
            None => (rest, false, false),
        };
        if !line.is_empty() && (start != 0 || !line.starts_with(BOM)) {
            let fields = if quoted {
                &self.fields[..]
            } else {
                match split_at_commas(line, &mut self.inline) {
                    Some(n) => &self.inline[..n],
                    // Very many fields: the state machine reads the line the same way.
                    None => return self.read_with_core(block, pos),
                }
            };
            *pos = start + line.len() + usize::from(newline);
            return Some(Record {
                raw: line,
                newlines: u64::from(newline),
                base: line,
                in_place: true,
                fields,
            });
        }
        self.read_with_core(block, pos)
    }

    /// Reads one record with the `csv` state machine.
    fn read_with_core<'a>(&'a mut self, block: &'a [u8], pos: &mut usize) -> Option<Record<'a>> {
        let start = *pos;
        let line_before = self.core.line();
        let (mut at, mut outlen, mut endlen) = (start, 0, 0);
        loop {
            let input = block.get(at..).unwrap_or(&[]);
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.out[outlen..], &mut self.ends[endlen..]);
            at += nin;
            outlen += nout;
            endlen += nend;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let n = self.out.len().max(4096) * 2;
                    self.out.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len().max(64) * 2;
                    self.ends.resize(n, 0);
                }
                ReadRecordResult::Record => break,
                ReadRecordResult::End => {
                    *pos = at;
                    return None;
                }
            }
        }
        *pos = at;
        self.fields.clear();
        let mut s = 0;
        for &e in &self.ends[..endlen] {
            self.fields.push((s, e));
            s = e;
        }
        let mut raw = &block[start..at];
        while let [r @ .., b'\n' | b'\r'] = raw {
            raw = r;
        }
        Some(Record {
            raw,
            newlines: self.core.line() - line_before,
            base: &self.out[..outlen],
            in_place: false,
            fields: &self.fields,
        })
    }
}

impl<'a> Record<'a> {
    /// The fields as bytes.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let base = self.base;
        self.fields.iter().map(move |&(s, e)| &base[s..e])
    }

    /// [`Record::text`], for a record of `block` whose text is `block_text` if the whole block
    /// is UTF-8: a record split in place is then a slice of it between `\n` bytes (ASCII), so
    /// it is UTF-8 with no check of its own.
    #[inline]
    pub fn text_within(&self, block: &[u8], block_text: Option<&'a str>) -> Option<TextRecord<'a>> {
        if let (true, Some(bt)) = (self.in_place, block_text) {
            let start = (self.base.as_ptr() as usize).wrapping_sub(block.as_ptr() as usize);
            if let Some(text) = start
                .checked_add(self.base.len())
                .and_then(|end| bt.get(start..end))
                .filter(|t| std::ptr::eq(t.as_ptr(), self.base.as_ptr()))
            {
                return Some(TextRecord {
                    text,
                    fields: self.fields,
                });
            }
        }
        self.text()
    }

    /// The record as text if every field is UTF-8 (what `csv::StringRecord` requires).
    pub fn text(&self) -> Option<TextRecord<'a>> {
        let text = std::str::from_utf8(self.base).ok()?;
        // Commas are ASCII, so a UTF-8 line cut at commas is UTF-8 field by field.
        (self.in_place
            || self
                .fields
                .iter()
                .all(|&(s, e)| text.is_char_boundary(s) && text.is_char_boundary(e)))
        .then_some(TextRecord {
            text,
            fields: self.fields,
        })
    }
}

/// A record whose fields are all UTF-8.
pub struct TextRecord<'a> {
    text: &'a str,
    fields: &'a [(usize, usize)],
}

impl<'a> TextRecord<'a> {
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let &(s, e) = self.fields.get(i)?;
        self.text.get(s..e)
    }
    /// Field `i`'s bytes (empty when there is no such field): no character-boundary checks.
    #[inline(always)]
    pub fn bytes(&self, i: usize) -> &'a [u8] {
        match self.fields.get(i) {
            Some(&(s, e)) => self.text.as_bytes().get(s..e).unwrap_or(&[]),
            None => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the `csv` crate's reader (as `assess` used it) gives for a block: per record, the
    /// fields, the raw bytes, and the line number (1-based, within the block) of its start.
    fn with_csv(block: &[u8]) -> Vec<(Vec<Vec<u8>>, Vec<u8>, u64)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(block);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        loop {
            let line = rdr.position().line();
            let start = rdr.position().byte() as usize;
            if !rdr.read_byte_record(&mut rec).unwrap() {
                break;
            }
            let end = rdr.position().byte() as usize;
            let mut raw = &block[start..end];
            while let [r @ .., b'\n' | b'\r'] = raw {
                raw = r;
            }
            out.push((rec.iter().map(<[u8]>::to_vec).collect(), raw.to_vec(), line));
        }
        out
    }

    fn with_splitter(sp: &mut Splitter, block: &[u8]) -> Vec<(Vec<Vec<u8>>, Vec<u8>, u64)> {
        sp.start_block(block);
        let (mut pos, mut line) = (0, 1);
        let mut out = Vec::new();
        while let Some(r) = sp.next(block, &mut pos) {
            out.push((r.iter().map(<[u8]>::to_vec).collect(), r.raw.to_vec(), line));
            line += r.newlines;
        }
        assert_eq!(pos, block.len());
        out
    }

    #[test]
    fn plain_quoted_and_crlf_records() {
        let mut sp = Splitter::default();
        for block in [
            &b"a,b,c\nd,,f\n"[..],
            b"a,\"b,\n\"\"x\"\"\",c\nd,e,f",
            b"a,b\r\nc,d\r\n\r\ne,f\r\n",
            b"\n\na,b\n\nc\n",
            b"a\rb\rc\n",
            b"x,\"unclosed\ny,z\n",
            b"\xef\xbb\xbfa,b\nc,d\n",
            b"a,b\n\xef\xbb\xbfc,d\n",
            b"ab\"c,d\ne,f\n",
            &b",".repeat(70),
            &[&b",".repeat(63)[..], b"\nx\n", &b"a,".repeat(64)[..], b"\n"].concat(),
        ] {
            assert_eq!(with_splitter(&mut sp, block), with_csv(block), "{block:?}");
        }
        let rec = {
            let block = b"a,\"b,\"\"c\"\"\",\n";
            sp.start_block(block);
            let mut pos = 0;
            let r = sp.next(block, &mut pos).unwrap();
            let t = r.text().unwrap();
            (
                t.field_count(),
                t.get(1).unwrap().to_owned(),
                t.get(2).unwrap().to_owned(),
            )
        };
        assert_eq!(rec, (3, "b,\"c\"".to_owned(), String::new()));
    }

    #[test]
    fn text_requires_every_field_to_be_utf8() {
        let mut sp = Splitter::default();
        // "é" split across two quoted fields: valid as a whole, invalid field by field.
        let block = b"\"a\xc3\",\"\xa9b\"\nok,\xc3\xa9\n";
        sp.start_block(block);
        let mut pos = 0;
        assert!(sp.next(block, &mut pos).unwrap().text().is_none());
        let r = sp.next(block, &mut pos).unwrap();
        assert_eq!(r.text().unwrap().get(1), Some("é"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn splits_like_the_csv_crate(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just(&b","[..]), Just(&b"\n"[..]), Just(&b"\r"[..]), Just(&b"\r\n"[..]),
                    Just(&b"\""[..]), Just(&b"\"\""[..]), Just(&b"ab"[..]), Just(&b"1.5"[..]),
                    Just(&b"x y"[..]), Just(&b"\xc3\xa9"[..]), Just(&b"\xc3"[..]),
                    Just(&b"\xef\xbb\xbf"[..]),
                ],
                0..40,
            )
        ) {
            let block: Vec<u8> = parts.concat();
            let mut sp = Splitter::default();
            prop_assert_eq!(with_splitter(&mut sp, &block), with_csv(&block));
        }
    }
}
