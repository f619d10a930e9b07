//! C ABI: translation and validation only.
