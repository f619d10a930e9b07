//! The seed's rules as plain functions: what triggers a migration, what blocks it, and which
//! meetings are eligible. No I/O, no store, no calendar text.

pub mod eligibility;
pub mod retry;
pub mod service_numbers;
pub mod triggers;
