//! Meeting Migration Service engine.
//!
//! Layering (a module may use only those listed after it):
//! - `ffi`      -> engine, model (translation and validation only, no logic)
//! - `engine`   -> store, calendar, rules, model (public Rust API, worker, job state machine)
//! - `store`    -> model (SQLite today; the trait admits PostgreSQL later)
//! - `calendar` -> rules, model (line editor, block find/replace, iCalendar, iTIP/iMIP)
//! - `rules`    -> model (pure functions: what triggers a migration, what is skipped)
//! - `model`    -> nothing (plain data)

pub mod calendar;
pub mod engine;
pub mod ffi;
pub mod model;
pub mod rules;
pub mod store;
