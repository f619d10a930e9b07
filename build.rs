//! Generates `include/mms.h` from `src/ffi` with cbindgen (config: `cbindgen.toml`).
//!
//! The header is written to `OUT_DIR/mms.h` on every build and copied to `include/mms.h` when it
//! changed; `tests/header.rs` checks that the committed `include/mms.h` matches.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=include/mms.h");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cannot read cbindgen.toml: {e}"));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed on src/ffi: {e}"));
    bindings.write_to_file(out_dir.join("mms.h"));
    if bindings.write_to_file(crate_dir.join("include/mms.h")) {
        println!("cargo:warning=include/mms.h was regenerated from src/ffi; commit it");
    }
}
