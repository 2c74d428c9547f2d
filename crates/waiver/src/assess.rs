//! `waiver assess`: streaming bulk assessment of a declarations CSV.
//!
//! A reader thread cuts the input into blocks at record boundaries (the last newline with an
//! even number of quotes before it), worker threads split each block into records
//! ([`crate::records`]: in place for unquoted records, with the `csv` state machine for the
//! rest), parse and assess them into output bytes and rejected rows, and the calling thread
//! writes blocks back in input order, numbering reject lines from the newlines each worker
//! counted. Channels and buffer pools are bounded, so memory stays flat whatever the input size.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use crossbeam_channel::bounded;
use waiver_domain::bulk::{BulkAssessor, Priced};
use waiver_domain::{Assessment, BjTime, Fen, Precision, RawLine, RegistrationCode, Schedule};

use crate::fast::{ColumnPositions, FastPath};
use crate::output::{put_fen_back, put_pct_back, MAX_NUMBER};
use crate::records::{Splitter, TextRecord};

#[derive(Args)]
pub struct AssessArgs {
    /// Input CSV with a header row (`-` for standard input).
    input: PathBuf,
    /// Output CSV (default: standard output).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Where rows that cannot be assessed go, with an `error` column.
    #[arg(long, default_value = "rejects.csv")]
    rejects: PathBuf,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub const REQUIRED: [&str; 10] = [
    "declaration",
    "line",
    "importer",
    "code",
    "origin",
    "declared_at",
    "quantity",
    "unit",
    "customs_value",
    "currency",
];
pub const OUTPUT_COLUMNS: [&str; 11] = [
    "customs_value_cny",
    "base_rate_pct",
    "base_duty_cny",
    "additional_rate_pct",
    "additional_duty_cny",
    "vat_rate_pct",
    "vat_cny",
    "total_cny",
    "exclusion_saving_cny",
    "measures",
    "warnings",
];
const BLOCK_BYTES: usize = 128 << 10;
/// A single record may not exceed this (a guard against a file with an unclosed quote).
const MAX_RECORD_BYTES: usize = 1 << 20;
const MAX_COLUMNS: usize = 256;

/// The input's columns: where each one the assessment reads is, and how many there are.
#[derive(Clone)]
struct Columns {
    pos: ColumnPositions,
    count: usize,
}

struct Block {
    seq: u64,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Stats {
    rows: u64,
    /// Rows priced by the fast path.
    fast: u64,
    rejected: u64,
    total: i64,
    saving: i64,
    reasons: BTreeMap<String, u64>,
}

struct Done {
    seq: u64,
    in_len: u64,
    /// The `\n` bytes in the block: the writer numbers lines (the reader does not count them).
    newlines: u64,
    out: Vec<u8>,
    rejects: Vec<Rejected>,
    stats: Stats,
}

/// A rejected row, its line counted from its block's first line (0-based) until the writer,
/// which knows where the block starts, writes it.
struct Rejected {
    line: u64,
    fields: Vec<Vec<u8>>,
    msg: String,
}

/// Writes rejected rows as CSV: their original fields, then `line N: <what is wrong>`.
fn write_rejects(w: &mut impl Write, first_line: u64, rows: &[Rejected]) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut cw = csv::WriterBuilder::new().flexible(true).from_writer(w);
    for r in rows {
        for f in &r.fields {
            cw.write_field(f)?;
        }
        cw.write_field(format!("line {}: {}", first_line + r.line, r.msg))?;
        cw.write_record(None::<&[u8]>)?;
    }
    cw.flush()
}

/// Finds the end (exclusive) of the last complete record in `buf`: just after the last `\n`
/// with an even number of `"` before it. Only quotes are counted, so the common block is
/// scanned once for them and once backwards for a newline.
fn last_record_end(buf: &[u8]) -> Option<usize> {
    let mut end = memchr::memrchr(b'\n', buf)? + 1;
    let mut quotes = memchr::memchr_iter(b'"', &buf[..end]).count();
    while quotes % 2 == 1 {
        // That newline is inside a quoted field: try the one before it.
        let prev = memchr::memrchr(b'\n', &buf[..end - 1])? + 1;
        quotes -= memchr::memchr_iter(b'"', &buf[prev..end]).count();
        end = prev;
    }
    Some(end)
}

fn open_input(path: &PathBuf) -> anyhow::Result<(Box<dyn Read + Send>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(io::stdin()), None));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(f), len))
}

/// Reads until the first complete record (the header) and returns it with what follows.
fn read_header(r: &mut dyn Read) -> anyhow::Result<(csv::StringRecord, Vec<u8>)> {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut chunk = [0u8; 64 * 1024];
    loop {
        if let Some(end) = last_record_end(&buf) {
            let first_end = {
                // The first record end, not the last.
                let mut in_q = false;
                let mut e = end;
                for i in memchr::memchr2_iter(b'"', b'\n', &buf) {
                    if buf[i] == b'"' {
                        in_q = !in_q;
                    } else if !in_q {
                        e = i + 1;
                        break;
                    }
                }
                e
            };
            let header = parse_header(&buf[..first_end])?;
            return Ok((header, buf[first_end..].to_vec()));
        }
        if buf.len() > MAX_RECORD_BYTES {
            bail!("the header row is longer than {MAX_RECORD_BYTES} bytes; is this a CSV file?");
        }
        let n = r.read(&mut chunk).context("cannot read the input")?;
        if n == 0 {
            if buf.iter().all(u8::is_ascii_whitespace) {
                bail!(
                    "the input is empty; it needs a header row with the columns {}",
                    REQUIRED.join(",")
                );
            }
            let header = parse_header(&buf)?;
            return Ok((header, Vec::new()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn parse_header(bytes: &[u8]) -> anyhow::Result<csv::StringRecord> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    let mut rec = csv::StringRecord::new();
    if !rdr
        .read_record(&mut rec)
        .context("cannot read the header row (is it UTF-8 CSV?)")?
    {
        bail!("the input has no header row");
    }
    Ok(rec)
}

fn columns(header: &csv::StringRecord) -> anyhow::Result<Columns> {
    if header.len() > MAX_COLUMNS {
        bail!(
            "the header has {} columns; at most {MAX_COLUMNS} are accepted",
            header.len()
        );
    }
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == name)
    };
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| find(c).is_none())
        .collect();
    if !missing.is_empty() {
        bail!(
            "the header lacks the required column(s) {}; the input needs {} (optional: shipped_on, in_quota)",
            missing.join(", "),
            REQUIRED.join(",")
        );
    }
    for c in OUTPUT_COLUMNS.iter().chain(["error"].iter()) {
        if find(c).is_some() {
            bail!("the input already has a column `{c}`, which assess adds; rename or drop it");
        }
    }
    let mut required = [0usize; 10];
    for (slot, name) in required.iter_mut().zip(REQUIRED) {
        *slot = find(name).unwrap_or(0);
    }
    Ok(Columns {
        pos: ColumnPositions {
            required,
            shipped_on: find("shipped_on"),
            in_quota: find("in_quota"),
        },
        count: header.len(),
    })
}

/// One worker's reusable state: the record splitter, the last parsed fields, and the layers in
/// force per line, origin and time segment.
struct Worker<'s> {
    splitter: Splitter,
    cache: ParseCache,
    assessor: BulkAssessor<'s>,
    /// The fast path for common rows (`None`: every row goes to the engine, as in tests).
    fast: Option<FastPath<'s>>,
}

impl<'s> Worker<'s> {
    fn new(schedule: &'s Schedule) -> Self {
        Worker {
            splitter: Splitter::default(),
            cache: ParseCache::default(),
            assessor: BulkAssessor::new(schedule),
            fast: Some(FastPath::new(schedule)),
        }
    }

    /// Assesses a block into `out` (a recycled buffer, cleared here).
    fn process_block(&mut self, cols: &Columns, block: &Block, mut out: Vec<u8>) -> Done {
        let Block { seq, ref bytes } = *block;
        let in_len = bytes.len() as u64;
        // Output rows are a little over twice the input's size; avoid growing mid-block.
        out.clear();
        out.reserve(bytes.len() * 5 / 2 + 4096);
        let mut rejects = Vec::new();
        let mut stats = Stats::default();
        self.splitter.start_block(bytes);
        // One UTF-8 check for the whole block when it passes (the common case; SIMD, as the block
        // is large); otherwise per record.
        let block_text = simdutf8::basic::from_utf8(bytes).ok();
        let (mut pos, mut line_no) = (0usize, 0u64);
        let mut before;
        let mut numbers = [0u8; crate::fast::NUMBERS_BUF];
        loop {
            before = pos;
            let Some(rec) = self.splitter.next(bytes, &mut pos) else {
                break;
            };
            stats.rows += 1;
            let this_line = line_no;
            line_no += rec.newlines;
            let Some(text) = rec.text_within(bytes, block_text) else {
                let msg = "the row is not UTF-8 text; save the file as UTF-8".to_owned();
                reject(
                    &mut rejects,
                    &mut stats,
                    this_line,
                    rec.iter(),
                    msg,
                    "encoding",
                );
                continue;
            };
            if let Some(fast) = self
                .fast
                .as_mut()
                .filter(|_| text.field_count() == cols.count)
            {
                if let Some(row) = fast.row(&cols.pos, &text, write_tail) {
                    out.extend_from_slice(rec.raw);
                    crate::fast::write_numbers(&mut out, &row.priced, row.rates, &mut numbers);
                    out.extend_from_slice(row.tail);
                    stats.total += row.priced.total.0;
                    stats.saving += row.priced.exclusion_saving.0;
                    stats.fast += 1;
                    continue;
                }
            }
            match assess_record(&mut self.assessor, cols, &text, &mut self.cache) {
                Ok(a) => {
                    // The record's own bytes, copied verbatim so carried columns keep their exact form.
                    out.extend_from_slice(rec.raw);
                    write_numbers(&mut out, &Priced::of(&a));
                    write_tail(&mut out, &a);
                    stats.total += a.total.0;
                    stats.saving += a.exclusion_saving.0;
                }
                Err((msg, kind)) => {
                    reject(&mut rejects, &mut stats, this_line, rec.iter(), msg, &kind);
                }
            }
        }
        // Blank lines after the last record were read past without a record.
        line_no += memchr::memchr_iter(b'\n', bytes.get(before..pos).unwrap_or(&[])).count() as u64;
        Done {
            seq,
            in_len,
            newlines: line_no,
            out,
            rejects,
            stats,
        }
    }
}

fn reject<'a>(
    rejects: &mut Vec<Rejected>,
    stats: &mut Stats,
    line: u64,
    fields: impl Iterator<Item = &'a [u8]>,
    msg: String,
    kind: &str,
) {
    stats.rejected += 1;
    *stats.reasons.entry(kind.to_owned()).or_default() += 1;
    rejects.push(Rejected {
        line,
        fields: fields.map(<[u8]>::to_vec).collect(),
        msg,
    });
}

type RowError = (String, String);

/// An output number: CNY, or a rate as a percentage.
enum Num {
    Fen(Fen),
    Pct(waiver_domain::RatePpm),
}

/// The last parsed `declared_at` and `importer` texts with their values: the lines of one
/// declaration repeat them, so most rows skip parsing them again.
#[derive(Default)]
struct ParseCache {
    declared_at: Option<(String, (BjTime, Precision))>,
    importer: Option<(String, RegistrationCode)>,
}

/// Parses with `parse` unless `raw` is the text last parsed successfully.
fn cached<T: Copy, E>(
    slot: &mut Option<(String, T)>,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, E> {
    if let Some((text, v)) = slot {
        if text == raw {
            return Ok(*v);
        }
    }
    let v = parse(raw)?;
    let (text, slot_v) = slot.get_or_insert_with(|| (String::new(), v));
    text.clear();
    text.push_str(raw);
    *slot_v = v;
    Ok(v)
}

fn assess_record<'s>(
    assessor: &mut BulkAssessor<'s>,
    cols: &Columns,
    rec: &TextRecord,
    cache: &mut ParseCache,
) -> Result<Assessment<'s>, RowError> {
    if rec.field_count() != cols.count {
        let msg = format!(
            "the row has {} fields but the header has {}; quote fields that contain commas",
            rec.field_count(),
            cols.count
        );
        return Err((msg, "csv".into()));
    }
    let field = |i: usize| rec.get(i).unwrap_or("");
    let r = &cols.pos.required;
    let raw = RawLine {
        declaration: field(r[0]),
        line: field(r[1]),
        importer: field(r[2]),
        code: field(r[3]),
        origin: field(r[4]),
        declared_at: field(r[5]),
        quantity: field(r[6]),
        unit: field(r[7]),
        customs_value: field(r[8]),
        currency: field(r[9]),
        shipped_on: cols.pos.shipped_on.map(field),
        in_quota: cols.pos.in_quota.map(field),
    };
    let ParseCache {
        declared_at,
        importer,
    } = cache;
    let parsed = raw
        .parse_with(
            |t| cached(declared_at, t, BjTime::parse),
            |t| cached(importer, t, RegistrationCode::parse),
        )
        .map_err(|e| (e.to_string(), e.column.to_owned()))?;
    // Exactly `assess(schedule, input, Lift::Nothing)`, without rescanning the measures per row.
    assessor
        .assess(&parsed.input)
        .map_err(|e| (e.to_string(), e.code().to_owned()))
}

/// Appends the nine computed numbers (each after a comma) to an output row.
#[inline]
pub fn write_numbers(out: &mut Vec<u8>, a: &Priced) {
    // The nine numbers are written right to left into one fixed buffer and copied once.
    let mut b = [0u8; 9 * (1 + MAX_NUMBER)];
    let mut i = b.len();
    for v in [
        Num::Fen(a.exclusion_saving),
        Num::Fen(a.total),
        Num::Fen(a.vat),
        Num::Pct(a.vat_rate),
        Num::Fen(a.additional_duty),
        Num::Pct(a.additional_rate),
        Num::Fen(a.base_duty),
        Num::Pct(a.base_rate),
        Num::Fen(a.customs_value),
    ] {
        i = match v {
            Num::Fen(f) => put_fen_back(&mut b, i, f),
            Num::Pct(r) => put_pct_back(&mut b, i, r),
        } - 1;
        b[i] = b',';
    }
    out.extend_from_slice(&b[i..]);
}

/// Appends the `measures` and `warnings` columns (each after a comma) and the newline.
fn write_tail(out: &mut Vec<u8>, a: &Assessment) {
    out.push(b',');
    for (i, id) in a.charged_ids().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(id.as_bytes());
    }
    out.push(b',');
    if !a.warnings.is_empty() {
        let mut text = String::new();
        for (i, w) in a.warnings.iter().enumerate() {
            if i > 0 {
                text.push_str(" | ");
            }
            let _ = write!(text, "{w}");
        }
        if text.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(text.as_bytes());
        }
    }
    out.push(b'\n');
}

/// Output buffer size: smaller than an output block, so blocks are written without a copy.
const WRITE_BUFFER: usize = 64 << 10;

fn create(path: &PathBuf) -> anyhow::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        WRITE_BUFFER,
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    ))
}

pub fn run(schedule: &Schedule, a: AssessArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (mut input, input_len) = open_input(&a.input)?;
    let (header, rest) = read_header(&mut *input)?;
    let cols = columns(&header)?;

    let mut out: Box<dyn Write> = match &a.output {
        Some(p) if p.as_os_str() != "-" => Box::new(create(p)?),
        _ => Box::new(BufWriter::with_capacity(WRITE_BUFFER, io::stdout().lock())),
    };
    let mut rejects = create(&a.rejects)?;
    {
        let mut hw = csv::Writer::from_writer(&mut out);
        hw.write_record(header.iter().chain(OUTPUT_COLUMNS))?;
        hw.flush()?;
        let mut rw = csv::Writer::from_writer(&mut rejects);
        rw.write_record(header.iter().chain(["error"]))?;
        rw.flush()?;
    }

    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, 64);
    let progress = (io::stderr().is_terminal() && input_len.is_some()).then(|| {
        let pb = indicatif::ProgressBar::new(input_len.unwrap_or(0));
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });

    let (work_tx, work_rx) = bounded::<Block>(threads);
    let (done_tx, done_rx) = bounded::<Done>(threads);
    // Buffers go back for reuse (input blocks to the reader, output blocks to the workers). Each
    // pool starts with a fixed number of (empty) buffers and a block waits for one, so the number
    // of big buffers is fixed whatever the timing and memory stays flat. A worker takes its
    // output buffer before its block, so the block the writer waits for always has one.
    let pool = 2 * threads + 2;
    let (spare_in_tx, spare_in_rx) = bounded::<Vec<u8>>(pool);
    let (spare_out_tx, spare_out_rx) = bounded::<Vec<u8>>(pool);
    for _ in 0..pool {
        let _ = spare_in_tx.try_send(Vec::new());
        let _ = spare_out_tx.try_send(Vec::new());
    }
    let mut totals = Stats::default();
    let result: anyhow::Result<()> = std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> anyhow::Result<()> {
            let mut carry = rest;
            let mut seq = 0u64;
            // Bytes after the header row sent so far: where `carry` starts.
            let mut offset = 0u64;
            let mut eof = false;
            while !eof {
                let want = BLOCK_BYTES.saturating_sub(carry.len()).max(64 * 1024) as u64;
                let n = (&mut input)
                    .take(want)
                    .read_to_end(&mut carry)
                    .context("cannot read the input")?;
                if n == 0 {
                    eof = true;
                }
                let cut = if eof { Some(carry.len()) } else { last_record_end(&carry) };
                let Some(end) = cut else {
                    if carry.len() > MAX_RECORD_BYTES {
                        bail!("the record starting {offset} bytes after the header row is longer than {MAX_RECORD_BYTES} bytes; check it for an unclosed quote");
                    }
                    continue;
                };
                // Waits for a buffer; none comes back only when every worker has stopped.
                let mut next = spare_in_rx.recv().unwrap_or_default();
                next.clear();
                next.reserve(BLOCK_BYTES + 64 * 1024);
                next.extend_from_slice(&carry[end..]);
                carry.truncate(end);
                let bytes = std::mem::replace(&mut carry, next);
                if bytes.is_empty() {
                    continue;
                }
                offset += bytes.len() as u64;
                if work_tx.send(Block { seq, bytes }).is_err() {
                    break;
                }
                seq += 1;
            }
            Ok(())
        });
        for _ in 0..threads {
            let (rx, tx, cols) = (work_rx.clone(), done_tx.clone(), cols.clone());
            let (spare_in, spare_out) = (spare_in_tx.clone(), spare_out_rx.clone());
            scope.spawn(move || {
                let mut worker = Worker::new(schedule);
                // The output buffer first, then the block (see the pools above).
                while let Ok(out) = spare_out.recv() {
                    let Ok(block) = rx.recv() else { break };
                    let done = worker.process_block(&cols, &block, out);
                    let _ = spare_in.try_send(block.bytes);
                    if tx.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        drop(work_rx);
        drop(spare_in_tx);
        drop(spare_out_rx);
        let mut pending = BTreeMap::new();
        let mut next = 0u64;
        // The input's line where the next block starts (line 1 is the header row).
        let mut next_line = 2u64;
        let mut write_err = None;
        for done in &done_rx {
            pending.insert(done.seq, done);
            while let Some(d) = pending.remove(&next) {
                next += 1;
                if write_err.is_none() {
                    let r = out
                        .write_all(&d.out)
                        .and_then(|_| write_rejects(&mut rejects, next_line, &d.rejects));
                    if let Err(e) = r {
                        write_err = Some(e);
                    }
                }
                next_line += d.newlines;
                if let Some(pb) = &progress {
                    pb.inc(d.in_len);
                }
                let _ = spare_out_tx.try_send(d.out);
                totals.rows += d.stats.rows;
                totals.rejected += d.stats.rejected;
                totals.total += d.stats.total;
                totals.saving += d.stats.saving;
                for (k, v) in d.stats.reasons {
                    *totals.reasons.entry(k).or_default() += v;
                }
            }
            if write_err.is_some() {
                break;
            }
        }
        // Workers waiting for an output buffer stop, then the reader.
        drop(spare_out_tx);
        drop(done_rx);
        let read = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the reader thread failed"))?;
        if let Some(e) = write_err {
            return Err(anyhow::Error::new(e).context("cannot write the output"));
        }
        read
    });
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    result?;
    out.flush().context("cannot write the output")?;
    rejects.flush().context("cannot write the rejects file")?;

    let secs = started.elapsed().as_secs_f64();
    let assessed = totals.rows - totals.rejected;
    eprintln!(
        "assessed {assessed} of {} lines in {secs:.2} s ({:.0} lines/s); total duty and VAT CNY {}; an exclusion of every excludable layer would save CNY {}",
        totals.rows,
        totals.rows as f64 / secs.max(1e-9),
        Fen(totals.total),
        Fen(totals.saving)
    );
    if totals.rejected > 0 {
        let reasons: Vec<String> = totals
            .reasons
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        eprintln!(
            "rejected {} lines, written to {} with an `error` column ({})",
            totals.rejected,
            a.rejects.display(),
            reasons.join(", ")
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use waiver_domain::schedule_csv::{parse_schedule, ScheduleFiles};

    fn schedule() -> Schedule {
        parse_schedule(&ScheduleFiles {
            lines: include_str!("../../../data/schedule/lines.csv"),
            measures: include_str!("../../../data/schedule/measures.csv"),
            exchange_rates: include_str!("../../../data/schedule/exchange_rates.csv"),
        })
        .unwrap()
    }

    const HEADER: &str = "declaration,line,importer,declared_at,code,origin,quantity,unit,customs_value,currency,shipped_on,in_quota,remarks";

    fn cols(header: &str) -> Columns {
        columns(&parse_header(header.as_bytes()).unwrap()).unwrap()
    }

    /// Output, rejects, row and reject counts, totals and reasons of one block, with or
    /// without the fast path.
    type BlockResult = (Vec<u8>, Vec<u8>, u64, u64, i64, i64, Vec<(String, u64)>);

    fn run_block(s: &Schedule, header: &str, body: &[u8], fast: bool) -> BlockResult {
        let mut w = Worker::new(s);
        if !fast {
            w.fast = None;
        }
        let block = Block {
            seq: 0,
            bytes: body.to_vec(),
        };
        let d = w.process_block(&cols(header), &block, Vec::new());
        assert_eq!(d.newlines, memchr::memchr_iter(b'\n', body).count() as u64);
        let mut rejects = Vec::new();
        write_rejects(&mut rejects, 2, &d.rejects).unwrap();
        (
            d.out,
            rejects,
            d.stats.rows,
            d.stats.rejected,
            d.stats.total,
            d.stats.saving,
            d.stats.reasons.into_iter().collect(),
        )
    }

    /// Whether the fast path itself prices `row` (rather than leaving it to the engine).
    fn fast_takes(s: &Schedule, row: &str) -> bool {
        let c = cols(HEADER);
        let mut fast = FastPath::new(s);
        let mut sp = Splitter::default();
        sp.start_block(row.as_bytes());
        let mut pos = 0;
        let rec = sp.next(row.as_bytes(), &mut pos).unwrap();
        let text = rec.text().unwrap();
        assert_eq!(text.field_count(), c.count);
        fast.row(&c.pos, &text, write_tail).is_some()
    }

    #[test]
    fn the_fast_path_takes_common_rows_and_leaves_the_rest_to_the_engine() {
        let s = schedule();
        let row = |at: &str, code: &str, origin: &str, rest: &str| {
            format!("DEC1,1,3100ABC123,{at},{code},{origin},{rest}\n")
        };
        let plain = "1000.5,t,350000.25,USD,,,";
        for (at, code, origin, rest) in [
            ("2019-09-15T10:00", "12019010", "US", plain),
            ("2019-09-15", "12019010", "BR", plain),
            ("2025-04-10T12:00", "12019010", "US", plain),
            (
                "2025-04-10T12:01",
                "12019010",
                "US",
                "12.345,kg,99.99,CNY,,true,\"a, b\"",
            ),
            // A shipment date outside any grace window.
            (
                "2019-09-15T10:00",
                "02023000",
                "AU",
                "5,t,20000,USD,2019-08-01,,",
            ),
        ] {
            assert!(
                fast_takes(&s, &row(at, code, origin, rest)),
                "{at} {code} {origin} {rest}"
            );
        }
        for (at, code, origin, rest) in [
            // Date only on the day of the 12:01 switch: the engine warns.
            ("2025-04-10", "12019010", "US", plain),
            // A shipment date while a grace window is open.
            (
                "2025-04-11T09:00",
                "12019010",
                "US",
                "1,t,100,USD,2025-04-01,,",
            ),
            ("2019-09-15T10:00", "12019010", "ZZ", plain),
            ("2019-09-15T10:00", "12345678", "US", plain),
            ("2019-09-15T10:00+08:00", "12019010", "US", plain),
            ("2019-09-15T10:00", "12019010", "US", "1,t,100,EUR,,,"),
            ("2019-09-15T10:00", "1201.90.10", "US", plain),
            ("2019-09-15T10:00", "12019010", "US", "1,T,100,USD,,,"),
        ] {
            assert!(
                !fast_takes(&s, &row(at, code, origin, rest)),
                "{at} {code} {origin} {rest}"
            );
        }
    }

    fn date_text() -> impl Strategy<Value = String> {
        let edges = prop::sample::select(vec![
            "2025-04-10",
            "2025-04-10T12:00",
            "2025-04-10T12:01",
            "2025-04-10T12:02",
            "2025-04-12",
            "2025-04-11T23:59",
            "2025-05-14",
            "2025-05-14T12:00",
            "2025-05-14T12:01",
            "2025-05-15",
            "2025-11-10",
            "2025-11-10T13:00",
            "2025-11-10T13:01",
            "2025-03-10",
            "2025-03-09T23:59",
            "2025-04-13",
            "2020-02-14",
            "2020-02-13T23:59",
            "2019-09-01",
            "2018-07-06",
            "2018-04-02",
            "2026-01-01",
            "2017-07-01",
            "2016-12-31",
            "2024-02-29",
            "2023-02-29",
            "2025-04-10T12:01:00+08:00",
            "2025-04-10 12:01",
            "2025-04-10t12:01",
            "2025-04-10T24:00",
            "2025-13-01",
            " 2025-04-10",
            "2025-4-10",
            "",
        ])
        .prop_map(str::to_owned);
        let any_day = (
            2016i32..2028,
            1u32..13,
            1u32..32,
            prop::option::of((0u32..25, 0u32..61)),
        )
            .prop_map(|(y, m, d, t)| match t {
                Some((h, mi)) => format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}"),
                None => format!("{y:04}-{m:02}-{d:02}"),
            });
        let spring_2025 = (3u32..6, 1u32..32, prop::option::of((0u32..24, 0u32..60))).prop_map(
            |(m, d, t)| match t {
                Some((h, mi)) => format!("2025-{m:02}-{d:02}T{h:02}:{mi:02}"),
                None => format!("2025-{m:02}-{d:02}"),
            },
        );
        prop_oneof![2 => edges, 2 => any_day, 3 => spring_2025]
    }

    fn decimal(max_int: u32) -> impl Strategy<Value = String> {
        let plain = (
            (1..=max_int).prop_flat_map(|n| 0u64..10u64.pow(n)),
            prop::option::of(prop_oneof![3 => "[0-9]{0,2}", 1 => "[0-9]{3,8}"]),
        )
            .prop_map(|(i, f)| match f {
                Some(f) => format!("{i}.{f}"),
                None => i.to_string(),
            });
        let odd = prop::sample::select(vec![
            "0",
            "0.00",
            "-1",
            "1,000",
            "1e3",
            " 12",
            "12 ",
            ".5",
            "5.",
            "+5",
            "999999999999",
            "9999999999999.99",
            "0.001",
            "0.0001",
            "100000001",
            "1.5000",
            "000012.50",
        ])
        .prop_map(str::to_owned);
        prop_oneof![4 => plain, 1 => odd]
    }

    fn pick(xs: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop::sample::select(xs.to_vec()).prop_map(str::to_owned)
    }

    /// Mostly a plain value, sometimes an unusual one.
    fn field(good: &'static [&'static str], odd: &'static [&'static str]) -> BoxedStrategy<String> {
        prop_oneof![8 => pick(good), 1 => pick(odd)].boxed()
    }

    fn row() -> impl Strategy<Value = String> {
        (
            (
                field(&["DEC1", "D", "DEC2026000001"], &[" DEC2 ", "", "DEC0123456789012345678901234567890", "DÉC"]),
                field(&["1", "12", "9999", "01"], &["0", "10000", "+1", " 2", "0000"]),
                field(&["3100ABC123", "3100abc123"], &["3100ABC12", " 3100ABC123", "3100ABC12-"]),
                date_text(),
                field(
                    &[
                        "12019010", "12019090", "02032190", "02032200", "02032900", "02023000",
                        "10019900", "10059000", "52010000", "1201901000",
                    ],
                    &["12345678", "1201.90.10", "120190100", "5201000000", "10079000"],
                ),
                field(&["US", "US", "BR", "AR", "CA", "AU", "us"], &["ZZ", "unknown", "XX", "", "DE"]),
            ),
            (
                decimal(7),
                field(&["t", "kg"], &["KG", "T", "lb"]),
                decimal(13),
                field(&["USD", "CNY"], &["usd", "EUR", "XYZ", " USD"]),
                prop_oneof![3 => Just(String::new()), 2 => date_text(), 1 => pick(&[" ", "2025-03-09", "2025-04-10T12:00"])],
                field(&["", "true", "false"], &["yes", "no", "TRUE", "maybe", " true"]),
                pick(&["", "x", "\"a, b\"", "é", "\"q \"\"x\"\"\""]),
            ),
        )
            .prop_map(|((d, l, imp, at, code, o), (q, u, v, c, sh, iq, rem))| {
                format!("{d},{l},{imp},{at},{code},{o},{q},{u},{v},{c},{sh},{iq},{rem}")
            })
    }

    #[test]
    fn random_rows_mostly_take_the_fast_path_and_give_the_same_bytes() {
        use proptest::strategy::ValueTree;
        let s = schedule();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let rows: Vec<String> = (0..3000)
            .map(|_| row().new_tree(&mut runner).unwrap().current())
            .collect();
        let body = rows.join("\n") + "\n";
        let c = cols(HEADER);
        let block = Block {
            seq: 0,
            bytes: body.into_bytes(),
        };
        let fast = Worker::new(&s).process_block(&c, &block, Vec::new());
        let mut w = Worker::new(&s);
        w.fast = None;
        let general = w.process_block(&c, &block, Vec::new());
        assert_eq!(fast.out, general.out);
        let text = |d: &Done| {
            let mut v = Vec::new();
            write_rejects(&mut v, 2, &d.rejects).unwrap();
            v
        };
        assert_eq!(text(&fast), text(&general));
        assert_eq!(general.stats.fast, 0);
        // Enough rows of each kind for the comparison to mean something.
        assert!(
            fast.stats.fast > 300,
            "{} rows on the fast path",
            fast.stats.fast
        );
        assert!(fast.stats.rows - fast.stats.rejected > fast.stats.fast + 100);
        assert!(fast.stats.rejected > 300);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The fast path gives the general path's bytes: output rows, rejects and totals.
        #[test]
        fn fast_path_equals_the_general_path(rows in prop::collection::vec(row(), 1..40)) {
            let s = schedule();
            let body = rows.join("\n") + "\n";
            let fast = run_block(&s, HEADER, body.as_bytes(), true);
            let general = run_block(&s, HEADER, body.as_bytes(), false);
            prop_assert_eq!(String::from_utf8_lossy(&fast.0), String::from_utf8_lossy(&general.0));
            prop_assert_eq!(String::from_utf8_lossy(&fast.1), String::from_utf8_lossy(&general.1));
            prop_assert_eq!(fast, general);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        /// The writer numbers reject lines from each block's newline count, so a worker must count
        /// every `\n` of its block: inside quotes, on blank lines, after the last record.
        #[test]
        fn a_worker_counts_every_newline_of_its_block(
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    ",", "\n", "\r", "\r\n", "\"", "\"\"", "x", "1.5", "\u{e9}",
                    "DEC1,1,3100ABC123,2019-09-15T10:00,12019010,US,1,t,100,USD,,,",
                ]),
                0..60,
            )
        ) {
            let s = schedule();
            let block = Block { seq: 0, bytes: parts.concat().into_bytes() };
            let d = Worker::new(&s).process_block(&cols(HEADER), &block, Vec::new());
            prop_assert_eq!(d.newlines, memchr::memchr_iter(b'\n', &block.bytes).count() as u64);
        }
    }

    #[test]
    fn fast_path_equals_the_general_path_without_optional_columns_and_on_bad_bytes() {
        let s = schedule();
        let header = "remarks,code,origin,declared_at,quantity,unit,customs_value,currency,declaration,line,importer";
        let body: &[u8] = b"x,12019010,US,2025-04-10T12:01,1000,t,350000,USD,D1,1,3100ABC123\n\
            x,12019010,US,2025-04-10,1000,t,350000,USD,D1,2,3100ABC123\n\
            \xff,12019010,US,2019-09-15T10:00,1000,t,350000,USD,D1,3,3100ABC123\n\
            x,12019010,US,2019-09-15T10:00,1000,t,350000\n\
            x,02023000,AU,2026-03-01T08:00,24.5,t,120000.5,CNY,D2,1,4403XYZ001\n";
        let fast = run_block(&s, header, body, true);
        assert_eq!(fast, run_block(&s, header, body, false));
        assert_eq!(fast.2, 5);
        assert_eq!(fast.3, 2);
    }

    #[test]
    fn record_ends_ignore_newlines_inside_quotes() {
        assert_eq!(last_record_end(b"a,b\nc,\"d\ne\"\nf"), Some(12));
        assert_eq!(last_record_end(b"a,b\nc,\"d\ne"), Some(4));
        assert_eq!(last_record_end(b"a,\"b\nc"), None);
        assert_eq!(last_record_end(b"a,\"b\"\"\"\n"), Some(8));
        assert_eq!(last_record_end(b"a,\"b\n\nc\n"), None);
    }
}
