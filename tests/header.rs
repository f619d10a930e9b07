//! The committed C header must be exactly what cbindgen generates from src/ffi.
//!
//! build.rs writes the generated header to OUT_DIR/mms.h (and refreshes include/mms.h). This test
//! fails when include/mms.h differs from the generated one, and, in a git checkout, when
//! include/mms.h differs from the committed version (a regenerated header that was not committed).

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/mms.h"));
const COMMITTED_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/include/mms.h");

#[test]
fn include_mms_h_matches_generated_header() {
    let on_disk = std::fs::read_to_string(COMMITTED_PATH).expect("include/mms.h exists");
    assert!(
        on_disk == GENERATED,
        "include/mms.h differs from the header cbindgen generates from src/ffi; rebuild and commit it"
    );
}

#[test]
fn include_mms_h_is_committed() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let inside = std::process::Command::new("git")
        .args(["-C", dir, "rev-parse", "--is-inside-work-tree"])
        .output();
    let Ok(inside) = inside else {
        return; // no git on this machine: the first test still guards the header
    };
    if !inside.status.success() {
        return; // not a git checkout (e.g. a source tarball)
    }
    let committed = std::process::Command::new("git")
        .args(["-C", dir, "show", "HEAD:include/mms.h"])
        .output()
        .expect("git show runs");
    assert!(
        committed.status.success(),
        "include/mms.h is not committed: git add include/mms.h"
    );
    assert!(
        String::from_utf8_lossy(&committed.stdout) == GENERATED,
        "the committed include/mms.h differs from the generated header: commit include/mms.h"
    );
}

#[test]
fn header_declares_every_export() {
    for name in [
        "mms_engine_open",
        "mms_engine_close",
        "mms_last_error_message",
        "mms_string_free",
        "mms_tenant_migration_configuration_get",
        "mms_tenant_migration_configuration_set",
        "mms_dialin_tenant_settings_get",
        "mms_dialin_tenant_settings_set",
        "mms_user_upsert",
        "mms_user_get",
        "mms_users_list",
        "mms_bridge_upsert",
        "mms_bridge_get",
        "mms_bridges_list",
        "mms_user_change",
        "mms_tenant_event",
        "mms_bridge_unregister_number",
        "mms_default_store_path",
        "#include <stdbool.h>",
        "mms_migration_start",
        "mms_status_query",
        "mms_status_summary",
        "mms_status_purge",
        "mms_meeting_coordinates",
        "MMS_RESULT_CLOSED_HANDLE",
        "#ifndef MMS_H",
    ] {
        assert!(GENERATED.contains(name), "{name} missing from mms.h");
    }
}
