//! Public Rust API, the worker and the job state machine. Knows nothing of C.

pub mod caldav;
pub mod credentials;
pub mod delivery;
pub mod smtp;
pub mod source;
