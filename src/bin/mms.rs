//! The `mms` command-line program.
fn main() {
    println!("mms {}", env!("CARGO_PKG_VERSION"));
}
