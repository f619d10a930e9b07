//! Public Rust API, the worker and the job state machine. Knows nothing of C.

pub mod delivery;
pub mod embedded;
pub mod sample;
pub mod source;
