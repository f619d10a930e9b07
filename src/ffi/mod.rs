//! C ABI: translation and validation only.
//!
//! Conventions (copied into `include/mms.h`):
//! - Records cross as UTF-8 JSON with Microsoft's PascalCase property names: the records are
//!   wide and grow over time, and both hosts (C#'s System.Text.Json, PowerShell) parse JSON
//!   natively, whereas typed structs would freeze the layout.
//! - Every function except `mms_last_error_message`, `mms_version` and `mms_string_free` returns
//!   an `MmsResult`; on failure `mms_last_error_message()` gives a readable reason.
//! - Output parameters are set to NULL on entry and written only on success.
//! - Panics never cross the boundary: they become `MMS_RESULT_PANIC`.

use crate::engine::{paths, Engine, EngineError, StatusFilter};
use crate::model::{
    Bridge, DialInConferencingTenantSettings, SourceMeetingType, TargetMeetingType,
    TenantMigrationConfiguration, User,
};
use crate::rules::triggers::{TenantEvent, UserChange};
use once_cell::sync::Lazy;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Result code of every fallible `mms_*` function. 0 is success; values are never reused.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmsResult {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 2,
    /// Malformed JSON, unknown property, bad enum value, value out of range.
    InvalidArgument = 3,
    /// No user, bridge, number or job matches the identity.
    NotFound = 4,
    /// A display name matches several users (the message names them).
    Ambiguous = 5,
    /// A uniqueness rule would be broken (UPN, SIP address, bridge name, number, conference ID).
    Conflict = 6,
    /// The rules refused the request (e.g. a manual start for an on-premises mailbox).
    Refused = 7,
    /// The store failed (I/O, locking, corruption) or a worker lease was lost.
    Store = 8,
    /// The engine handle is closed, or was never returned by `mms_engine_open`.
    ClosedHandle = 9,
    /// An internal error (a Rust panic) was caught; the engine stays usable.
    Panic = 10,
}

/// An open engine. Opaque: only ever used through the pointer `mms_engine_open` returns.
///
/// An engine can be used from many threads at once; each call is one store transaction.
pub struct MmsEngine {
    _private: [u8; 0],
}

/// Live engines by handle value. Handles are tokens, never dereferenced, and never reused, so a
/// closed (or made-up) handle is reported as `MMS_RESULT_CLOSED_HANDLE` instead of touching
/// freed memory.
static ENGINES: Lazy<Mutex<HashMap<usize, Arc<Engine>>>> = Lazy::new(|| Mutex::new(HashMap::new()));
/// Next handle value; starts high and steps by 16 so handles look like aligned pointers.
static NEXT_HANDLE: AtomicUsize = AtomicUsize::new(0x1000);

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

struct FfiError {
    code: MmsResult,
    message: String,
}

type FfiResult<T> = Result<T, FfiError>;

fn error(code: MmsResult, message: impl Into<String>) -> FfiError {
    FfiError {
        code,
        message: message.into(),
    }
}

impl From<EngineError> for FfiError {
    fn from(e: EngineError) -> Self {
        let code = match &e {
            EngineError::InvalidArgument(_) => MmsResult::InvalidArgument,
            EngineError::NotFound(_) => MmsResult::NotFound,
            EngineError::Ambiguous(_) => MmsResult::Ambiguous,
            EngineError::Conflict(_) => MmsResult::Conflict,
            EngineError::Refused(_) => MmsResult::Refused,
            EngineError::LeaseLost(_) | EngineError::Store(_) => MmsResult::Store,
        };
        error(code, e.to_string())
    }
}

fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', "\u{FFFD}")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

/// Runs an export's body: catches panics, records the error text, returns the code.
fn boundary(body: impl FnOnce() -> FfiResult<()>) -> MmsResult {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last_error("");
            MmsResult::Ok
        }
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.code
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            set_last_error(&format!("internal error in mms: {what}"));
            MmsResult::Panic
        }
    }
}

/// Borrows a NUL-terminated UTF-8 argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the call.
unsafe fn in_str<'a>(p: *const c_char, name: &str) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(error(
            MmsResult::NullArgument,
            format!("argument '{name}' is NULL"),
        ));
    }
    CStr::from_ptr(p).to_str().map_err(|e| {
        error(
            MmsResult::InvalidUtf8,
            format!(
                "argument '{name}' is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Checks an output slot and clears it.
///
/// # Safety
/// `p` is NULL or points to writable storage for one pointer.
unsafe fn out_slot<'a, T>(p: *mut *mut T, name: &str) -> FfiResult<&'a mut *mut T> {
    if p.is_null() {
        return Err(error(
            MmsResult::NullArgument,
            format!("output argument '{name}' is NULL"),
        ));
    }
    *p = std::ptr::null_mut();
    Ok(&mut *p)
}

fn engine(handle: *mut MmsEngine) -> FfiResult<Arc<Engine>> {
    if handle.is_null() {
        return Err(error(MmsResult::NullArgument, "argument 'engine' is NULL"));
    }
    let registry = ENGINES.lock().unwrap_or_else(|p| p.into_inner());
    registry.get(&(handle as usize)).cloned().ok_or_else(|| {
        error(
            MmsResult::ClosedHandle,
            "the engine handle is closed or was not returned by mms_engine_open",
        )
    })
}

fn parse_json<T: DeserializeOwned>(text: &str, what: &str) -> FfiResult<T> {
    serde_json::from_str(text).map_err(|e| {
        error(
            MmsResult::InvalidArgument,
            format!("invalid {what} JSON: {e}"),
        )
    })
}

fn write_json<T: Serialize>(slot: &mut *mut c_char, value: &T) -> FfiResult<()> {
    let text = serde_json::to_string(value)
        .map_err(|e| error(MmsResult::Panic, format!("cannot encode result: {e}")))?;
    // serde_json escapes U+0000, so the text has no interior NUL.
    let c =
        CString::new(text).map_err(|_| error(MmsResult::Panic, "result contains a NUL byte"))?;
    *slot = c.into_raw();
    Ok(())
}

/// The calling thread's last error message: UTF-8, NUL-terminated, never NULL ("" after a
/// success). Borrowed: valid until the next `mms_*` call on the same thread; copy it to keep it.
/// Thread-safety: per-thread state, callable from any thread.
#[no_mangle]
pub extern "C" fn mms_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// The library version, e.g. "0.1.0". Static: never freed. Callable from any thread.
#[no_mangle]
pub extern "C" fn mms_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr() as *const c_char
}

/// Frees a string returned through a `char **` output of any `mms_*` function. NULL is fine.
/// Each string must be freed exactly once, and only with this function.
/// Callable from any thread.
///
/// # Safety
/// `s` is NULL or a string from this library that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn mms_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

/// The store the `mms` command opens when given no `--store`: `$MMS_STORE` when set and not
/// empty, else the per-user default (`$XDG_DATA_HOME/mms/mms.db` or `~/.local/share/mms/mms.db`
/// on Linux, `~/Library/Application Support/mms/mms.db` on macOS, `%LOCALAPPDATA%\mms\mms.db`
/// on Windows). Writes the UTF-8 path to `*out_path` (free with `mms_string_free`); the file and
/// its folder are not created. MMS_RESULT_NOT_FOUND when neither the variable nor the home folder
/// is set. Callable from any thread; it reads the native process environment at call time, so
/// it must not race with a host thread calling setenv (not thread-safe). Runtimes that keep
/// their own copy of the environment (.NET on Unix: `$env:` / SetEnvironmentVariable never reach
/// getenv) open the store named by their own MMS_STORE directly when one is set.
///
/// # Safety
/// `out_path` points to writable storage.
#[no_mangle]
pub unsafe extern "C" fn mms_default_store_path(out_path: *mut *mut c_char) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_path, "out_path")?;
        let path = paths::resolve_store_path(None).ok_or_else(|| {
            error(
                MmsResult::NotFound,
                "no default store: MMS_STORE is not set and the home folder is unknown",
            )
        })?;
        let text = path.to_str().ok_or_else(|| {
            error(
                MmsResult::InvalidUtf8,
                format!("the default store path {path:?} is not valid UTF-8"),
            )
        })?;
        let c = CString::new(text)
            .map_err(|_| error(MmsResult::InvalidArgument, "the store path contains a NUL"))?;
        *slot = c.into_raw();
        Ok(())
    })
}

/// Opens (creating if needed, mode 0600) the store at `path` (UTF-8) and returns an engine in
/// `*out_engine`, to be closed with `mms_engine_close`. Several engines (and processes) may open
/// the same store. Callable from any thread.
///
/// # Safety
/// `path` is a NUL-terminated string; `out_engine` points to writable storage.
#[no_mangle]
pub unsafe extern "C" fn mms_engine_open(
    path: *const c_char,
    out_engine: *mut *mut MmsEngine,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_engine, "out_engine")?;
        let path = in_str(path, "path")?;
        if path.is_empty() {
            return Err(error(
                MmsResult::InvalidArgument,
                "argument 'path' is empty",
            ));
        }
        let engine = Engine::open(path)?;
        let handle = NEXT_HANDLE.fetch_add(16, Ordering::Relaxed);
        ENGINES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(handle, Arc::new(engine));
        *slot = handle as *mut MmsEngine;
        Ok(())
    })
}

/// Closes an engine. NULL is a no-op (MMS_RESULT_OK); a handle closed before gives
/// MMS_RESULT_CLOSED_HANDLE. Calls already running on other threads finish first (the engine is
/// released when the last one returns); calls made after this one fail with CLOSED_HANDLE.
///
/// # Safety
/// `engine` is NULL or a value returned by `mms_engine_open`.
#[no_mangle]
pub unsafe extern "C" fn mms_engine_close(engine: *mut MmsEngine) -> MmsResult {
    boundary(|| {
        if engine.is_null() {
            return Ok(());
        }
        let removed = {
            let mut registry = ENGINES.lock().unwrap_or_else(|p| p.into_inner());
            let removed = registry.remove(&(engine as usize));
            if registry.is_empty() {
                // Give the table back, so a host that closed every engine holds no memory of ours.
                *registry = HashMap::new();
            }
            removed
        };
        match removed {
            Some(_) => Ok(()),
            None => Err(error(
                MmsResult::ClosedHandle,
                "the engine handle is already closed or was not returned by mms_engine_open",
            )),
        }
    })
}

/// Get-CsTenantMigrationConfiguration: writes `{"Identity":"Global","MeetingMigrationEnabled":true}`
/// to `*out_json` (free with `mms_string_free`). Callable from any thread.
///
/// # Safety
/// `engine` is from `mms_engine_open`; `out_json` points to writable storage.
#[no_mangle]
pub unsafe extern "C" fn mms_tenant_migration_configuration_get(
    engine: *mut MmsEngine,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let e = self::engine(engine)?;
        let c: TenantMigrationConfiguration = e.tenant_migration_configuration()?;
        write_json(slot, &c)
    })
}

/// Set-CsTenantMigrationConfiguration: `patch_json` is an object of the properties to change,
/// e.g. `{"MeetingMigrationEnabled":false}` (names case-insensitive; `Identity` must be
/// "Global"). Writes the resulting configuration to `*out_json`. Nothing is written to the store
/// unless the whole patch is valid. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_tenant_migration_configuration_set(
    engine: *mut MmsEngine,
    patch_json: *const c_char,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let patch: serde_json::Value = parse_json(
            in_str(patch_json, "patch_json")?,
            "TenantMigrationConfiguration",
        )?;
        let e = self::engine(engine)?;
        write_json(slot, &e.patch_tenant_migration_configuration(&patch)?)
    })
}

/// Get-CsOnlineDialInConferencingTenantSettings: writes every property (Microsoft's names) to
/// `*out_json`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_dialin_tenant_settings_get(
    engine: *mut MmsEngine,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let e = self::engine(engine)?;
        let s: DialInConferencingTenantSettings = e.dial_in_settings()?;
        write_json(slot, &s)
    })
}

/// Set-CsOnlineDialInConferencingTenantSettings: `patch_json` names the properties to change,
/// e.g. `{"AutomaticallyMigrateUserMeetings":false,"PinLength":7}`. Validated as a whole
/// (PinLength 4..12, enum values, SendEmailFromOverride needs address and display name) before
/// anything is written. Writes the resulting settings to `*out_json`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_dialin_tenant_settings_set(
    engine: *mut MmsEngine,
    patch_json: *const c_char,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let patch: serde_json::Value = parse_json(
            in_str(patch_json, "patch_json")?,
            "OnlineDialInConferencingTenantSettings",
        )?;
        let e = self::engine(engine)?;
        write_json(slot, &e.patch_dial_in_settings(&patch)?)
    })
}

/// Creates or replaces a user (keyed by ObjectId) from a full user record (see `mms_user_get`
/// for the shape). Provisioning only: never triggers a migration (use `mms_user_change`).
/// Writes the stored (normalised) user to `*out_json`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_user_upsert(
    engine: *mut MmsEngine,
    user_json: *const c_char,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let user: User = parse_json(in_str(user_json, "user_json")?, "user")?;
        let e = self::engine(engine)?;
        write_json(slot, &e.upsert_user(user)?)
    })
}

/// Looks a user up by UPN, SIP address (with or without `sip:`), ObjectId or display name and
/// writes it to `*out_json`: `{"ObjectId","UserPrincipalName","SipAddress","DisplayName",
/// "MailboxLocation","Homing","AudioConferencingLicensed","AudioConferencingEnabled","Provider",
/// "ConferenceId","BridgeId","ServiceNumber","TollFreeServiceNumber","MeetingKind",
/// "TeamsUpgradePolicy"}`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_user_get(
    engine: *mut MmsEngine,
    identity: *const c_char,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let identity = in_str(identity, "identity")?;
        let e = self::engine(engine)?;
        write_json(slot, &e.user(identity)?)
    })
}

/// Writes a JSON array of every user (ordered by UPN) to `*out_json`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_users_list(
    engine: *mut MmsEngine,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let e = self::engine(engine)?;
        write_json(slot, &e.users()?)
    })
}

/// Creates or replaces a bridge: `{"Identity":"<guid>","Name","Region","ServiceNumbers":[{"Number",
/// "City","Type":"Toll"|"TollFree","IsDefault"}]}`. Numbers are normalised to `+E.164`. Writes the
/// stored bridge to `*out_json`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_bridge_upsert(
    engine: *mut MmsEngine,
    bridge_json: *const c_char,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let bridge: Bridge = parse_json(in_str(bridge_json, "bridge_json")?, "bridge")?;
        let e = self::engine(engine)?;
        write_json(slot, &e.upsert_bridge(bridge)?)
    })
}

/// Looks a bridge up by GUID or name; writes it to `*out_json`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_bridge_get(
    engine: *mut MmsEngine,
    identity: *const c_char,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let identity = in_str(identity, "identity")?;
        let e = self::engine(engine)?;
        write_json(slot, &e.bridge(identity)?)
    })
}

/// Writes a JSON array of every bridge (ordered by name) to `*out_json`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_bridges_list(
    engine: *mut MmsEngine,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let e = self::engine(engine)?;
        write_json(slot, &e.bridges()?)
    })
}

/// Applies an admin change to a user and runs the trigger rules. `change_json` is tagged by
/// `Change`: `{"Change":"MoveToOnline"}`, `MoveToOnPremises`, `AssignLicence`, `RemoveLicence`,
/// `EnableAudioConferencing`, `DisableAudioConferencing`, `{"Change":"SetConferenceId",
/// "ConferenceId":"4455667"}`, `ResetConferenceId`, `{"Change":"MoveToBridge","Bridge":"<name or
/// guid>"}`, `{"Change":"SetServiceNumber","Number":"+1..."}` (empty = bridge default),
/// `SetTollFreeServiceNumber` (same), `{"Change":"SetSipAddress","SipAddress":"sip:..."}`,
/// `{"Change":"GrantTeamsUpgradePolicy","PolicyName":"TeamsOnly"}`,
/// `{"Change":"SetMailboxLocation","MailboxLocation":"ExchangeOnline"|"OnPremises"}`,
/// `{"Change":"SetProvider","Provider":"Microsoft"|"ThirdParty"}`.
/// Writes `{"Decision":"Enqueue","MigrationType","SourceMeetingType","TargetMeetingType","Reason",
/// "Merged","Job":{..},"User":{..}}` or `{"Decision":"NoMigration","Reason","Merged":false,
/// "Job":null,"User":{..}}` to `*out_json`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_user_change(
    engine: *mut MmsEngine,
    identity: *const c_char,
    change_json: *const c_char,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let identity = in_str(identity, "identity")?;
        let change: UserChange = parse_json(in_str(change_json, "change_json")?, "user change")?;
        let e = self::engine(engine)?;
        write_json(slot, &e.apply_user_change(identity, &change)?)
    })
}

/// A tenant-wide event: `{"Event":"GrantTeamsUpgradePolicyGlobal","PolicyName":"TeamsOnly"}` or
/// `{"Event":"UpdateTenantMeetingUrl"}`. Writes the decision (`{"Decision":"NoMigration",
/// "Reason":..}`; these never migrate) to `*out_json`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_tenant_event(
    engine: *mut MmsEngine,
    event_json: *const c_char,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let event: TenantEvent = parse_json(in_str(event_json, "event_json")?, "tenant event")?;
        let e = self::engine(engine)?;
        write_json(slot, &e.apply_tenant_event(&event))
    })
}

/// Unregister-CsOnlineDialInConferencingServiceNumber: removes `number` from the bridge (name or
/// GUID) and queues a migration for every user whose default number it was. Writes
/// `{"Bridge":{..},"AffectedUsers":[{"UserPrincipalName","UserId","Decision",..,"Merged","Job"}]}`
/// to `*out_json`. When `number` is the bridge's default number and `remove_default`
/// (-RemoveDefaultServiceNumber) is false, nothing changes and the result is
/// MMS_RESULT_REFUSED with the reason in `mms_last_error_message()`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_bridge_unregister_number(
    engine: *mut MmsEngine,
    bridge: *const c_char,
    number: *const c_char,
    remove_default: bool,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let bridge = in_str(bridge, "bridge")?;
        let number = in_str(number, "number")?;
        let e = self::engine(engine)?;
        write_json(
            slot,
            &e.unregister_service_number(bridge, number, remove_default)?,
        )
    })
}

/// Start-CsExMeetingMigration: `source` is "All", "SfB" or "Teams", `target` "Current" or
/// "Teams" (case-insensitive). Queues (or merges into) the user's Pending job and writes it to
/// `*out_job_json`. Honoured when MeetingMigrationEnabled is false; MMS_RESULT_REFUSED (with the
/// reason) for an on-premises mailbox, an on-premises user or a third-party ACP. Callable from any
/// thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_migration_start(
    engine: *mut MmsEngine,
    identity: *const c_char,
    source: *const c_char,
    target: *const c_char,
    out_job_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_job_json, "out_job_json")?;
        let identity = in_str(identity, "identity")?;
        let source: SourceMeetingType =
            in_str(source, "source")?
                .parse()
                .map_err(|e: crate::model::ParseEnumError| {
                    error(MmsResult::InvalidArgument, e.to_string())
                })?;
        let target: TargetMeetingType =
            in_str(target, "target")?
                .parse()
                .map_err(|e: crate::model::ParseEnumError| {
                    error(MmsResult::InvalidArgument, e.to_string())
                })?;
        let e = self::engine(engine)?;
        write_json(slot, &e.start_migration(identity, source, target)?)
    })
}

/// Get-CsMeetingMigrationStatus: `filter_json` is NULL (every record) or an object with any of
/// `{"Identity","State","MigrationType","StartTime","EndTime"}` (times in RFC 3339, e.g.
/// "2016-10-01T00:00:00Z"; StartTime keeps records modified at or after it, EndTime records
/// created at or before it). Writes an array of records with the 13 status properties
/// (`CorrelationId, CreateDate, FailedMeeting, InvitesUpdate, LastMessage, MigrationType,
/// ModifiedDate, RetryCount, State, SucceededMeeting, TotalMeeting, UserId, UserPrincipalName`)
/// plus `SourceMeetingType, TargetMeetingType, NotBefore`, ordered by CreateDate. Callable from
/// any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_status_query(
    engine: *mut MmsEngine,
    filter_json: *const c_char,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let filter: StatusFilter = if filter_json.is_null() {
            StatusFilter::default()
        } else {
            parse_json(in_str(filter_json, "filter_json")?, "status filter")?
        };
        let e = self::engine(engine)?;
        write_json(slot, &e.migration_status(&filter)?)
    })
}

/// Get-CsMeetingMigrationStatus -SummaryOnly: writes `[{"State":"Pending","UserCount":n},
/// {"State":"InProgress",..},{"State":"Failed",..},{"State":"Succeeded",..}]` (always all four;
/// UserCount counts distinct users with a record in that state). Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_status_summary(
    engine: *mut MmsEngine,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let e = self::engine(engine)?;
        write_json(slot, &e.migration_summary()?)
    })
}

/// The user's meeting coordinates (what a migrated block shows), camelCase JSON:
/// `{"meetingKind","joinUrl","conferenceId","tollNumbers":[{"number","city"}],
/// "tollFreeNumbers":[..],"findLocalNumberUrl","meetingOptionsUrl"}`. Callable from any thread.
///
/// # Safety
/// Pointers as documented for the other functions.
#[no_mangle]
pub unsafe extern "C" fn mms_meeting_coordinates(
    engine: *mut MmsEngine,
    identity: *const c_char,
    out_json: *mut *mut c_char,
) -> MmsResult {
    boundary(|| {
        let slot = out_slot(out_json, "out_json")?;
        let identity = in_str(identity, "identity")?;
        let e = self::engine(engine)?;
        write_json(slot, &e.meeting_coordinates(identity)?)
    })
}

/// Purges Succeeded/Failed records last modified more than 150 days ago; writes how many to
/// `*out_count`. Callable from any thread.
///
/// # Safety
/// `out_count` points to writable storage.
#[no_mangle]
pub unsafe extern "C" fn mms_status_purge(
    engine: *mut MmsEngine,
    out_count: *mut u64,
) -> MmsResult {
    boundary(|| {
        if out_count.is_null() {
            return Err(error(
                MmsResult::NullArgument,
                "output argument 'out_count' is NULL",
            ));
        }
        *out_count = 0;
        let e = self::engine(engine)?;
        *out_count = e.purge_expired()? as u64;
        Ok(())
    })
}

/// Test hook: panics inside the boundary so hosts can check their MMS_RESULT_PANIC handling.
/// Always returns MMS_RESULT_PANIC; nothing else happens. Callable from any thread.
#[no_mangle]
pub extern "C" fn mms_test_panic() -> MmsResult {
    boundary(|| panic!("mms_test_panic was called"))
}
