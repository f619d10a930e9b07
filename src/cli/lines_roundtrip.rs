//! `mms lines-roundtrip FILE...`: parse each file with the line editor and write it back
//! unchanged; the output must equal the input byte for byte.

use mms::calendar::lines::Document;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(a: Args) -> ExitCode {
    let mut failed = 0;
    for f in &a.files {
        match std::fs::read(f) {
            Ok(bytes) => {
                if Document::parse(&bytes).write_unchanged() != bytes {
                    eprintln!("{}: round trip changed the bytes", f.display());
                    failed += 1;
                }
            }
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                failed += 1;
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
