//! The `mms` command-line program: one subcommand per file in `src/cli/`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod lines_roundtrip;
mod rewrite;

#[derive(Parser)]
#[command(name = "mms", version, about = "Meeting Migration Service engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rewrite the online-meeting block of one invitation (.ics, or a bare HTML/text body).
    Rewrite(rewrite::Args),
    /// Check that files round-trip byte for byte through the line editor (test support).
    #[command(hide = true)]
    LinesRoundtrip(lines_roundtrip::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Rewrite(a) => rewrite::run(a),
        Command::LinesRoundtrip(a) => lines_roundtrip::run(a),
    }
}
