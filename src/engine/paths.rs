//! Where the embedded store lives when no `--store` / `MMS_STORE` is given: a per-user data
//! folder, following each platform's convention.

use std::path::PathBuf;

/// The environment variable that names the store file.
pub const STORE_ENV: &str = "MMS_STORE";

/// The default store file:
/// - Linux and other Unix: `$XDG_DATA_HOME/mms/mms.db`, else `~/.local/share/mms/mms.db`;
/// - macOS: `~/Library/Application Support/mms/mms.db`;
/// - Windows: `%LOCALAPPDATA%\mms\mms.db`.
///
/// `None` when the home folder cannot be determined.
pub fn default_store_path() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(windows) {
        env("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library").join("Application Support"))
    } else {
        env("XDG_DATA_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| env("HOME").map(|h| h.join(".local").join("share")))
    }?;
    Some(base.join("mms").join("mms.db"))
}

/// The store to use: `explicit` (a `--store` argument), else `MMS_STORE`, else the default.
pub fn resolve_store_path(explicit: Option<PathBuf>) -> Option<PathBuf> {
    explicit
        .or_else(|| {
            std::env::var_os(STORE_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(default_store_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_store_path_ends_in_mms_db_under_an_mms_folder() {
        if let Some(p) = default_store_path() {
            assert!(
                p.ends_with(std::path::Path::new("mms").join("mms.db")),
                "{p:?}"
            );
            assert!(p.is_absolute(), "{p:?}");
        }
    }

    #[test]
    fn an_explicit_store_wins() {
        let p = resolve_store_path(Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(p, Some(PathBuf::from("/tmp/x.db")));
    }
}
