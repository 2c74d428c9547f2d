//! The parse-only limit for `waiver assess`: reads a declarations CSV with the `csv` crate, touches
//! every field (summing their lengths so nothing is optimised away) and prints the record count.
//! No parsing of values, no assessment, no output file: what one reader thread costs at best.
//!
//! Usage: cargo run --release --example parse_only -p waiver -- IN.csv

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: parse_only IN.csv");
        return ExitCode::from(2);
    };
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot open {}: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let start = Instant::now();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 20)
        .from_reader(BufReader::with_capacity(1 << 20, file));
    let mut rec = csv::ByteRecord::new();
    let (mut records, mut fields, mut bytes) = (0u64, 0u64, 0u64);
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {
                records += 1;
                for f in rec.iter() {
                    fields += 1;
                    bytes += f.len() as u64;
                }
            }
            Ok(false) => break,
            Err(e) => {
                eprintln!("{}: {e}", path.to_string_lossy());
                return ExitCode::FAILURE;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{records}");
    eprintln!(
        "parse_only: {records} records, {fields} fields, {bytes} field bytes in {secs:.3}s ({:.0} records/s)",
        records as f64 / secs.max(1e-9)
    );
    ExitCode::SUCCESS
}
