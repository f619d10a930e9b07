//! `disable_sqlite_memory_statistics` (what `mms` calls first): alone in its own test program,
//! because `sqlite3_config` must run before SQLite is initialized and while no other thread
//! uses it.

use mms::engine::Engine;

#[test]
fn memory_statistics_go_off_before_the_first_connection_and_cannot_change_after_it() {
    assert!(
        mms::store::sqlite::disable_sqlite_memory_statistics(),
        "SQLite is not initialized yet: the setting takes effect"
    );
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path().join("mms.db")).unwrap();
    // The store works as before (schema created, configuration read) ...
    engine.tenant_migration_configuration().unwrap();
    // ... and SQLite counts nothing (with statistics on it counts its page cache, schema, and
    // statements: many KB for an open store).
    assert_eq!(unsafe { rusqlite::ffi::sqlite3_memory_used() }, 0);
    assert!(
        !mms::store::sqlite::disable_sqlite_memory_statistics(),
        "once SQLite is initialized the call is refused and changes nothing"
    );
}
