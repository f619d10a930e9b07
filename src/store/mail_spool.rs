//! The embedded mail drop's spool: the bytes of every delivered message, appended to one file
//! beside the store (`<store>-maildrop`); each `delivered_mail` row holds where its message
//! begins in the file and how long it is.
//!
//! Why a file: inside the store an update of 12.5 KB takes a 16 KiB page of its own, written
//! twice (into the WAL, then by the checkpoint). Appended here it is written once.
//!
//! What keeps the rows and the bytes in agreement:
//! - Bytes are appended only while the delivering connection holds the store's write lock (the
//!   row is inserted first, see [`super::calendars::deliver_mail`]), so appends from several
//!   connections and processes never interleave, and a row commits only with its bytes
//!   appended.
//! - The bytes reach the disk before the transaction that references them commits: a commit
//!   hook on each delivering connection syncs the spool when anything was appended, and a
//!   failed sync turns the commit into a rollback. A power cut may lose the last commits
//!   (`synchronous = NORMAL`), but never leaves a row pointing at bytes that are not there.
//! - A delivery that rolls back leaves its bytes in the file, referenced by no row: dead space
//!   that nothing reads. A killed process leaves the same.
//! - A store in memory has no file beside it: its rows keep their bytes themselves.

use rusqlite::Connection;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// What the spool's name adds to the store's.
pub const SPOOL_SUFFIX: &str = "-maildrop";

/// One open spool file, shared by every connection of this process to the same store.
pub struct MailSpool {
    path: PathBuf,
    file: File,
    /// Bytes were appended since the last sync.
    unsynced: AtomicBool,
    /// Where the disk writes were started ahead of the sync (see [`WRITE_BACK_AHEAD`]).
    written_back_to: AtomicU64,
}

/// Spools open in this process, by path. Connections to one store share one spool, so whichever
/// connection's commit hook runs syncs every append made before it.
static OPEN_SPOOLS: Mutex<Vec<(PathBuf, Weak<MailSpool>)>> = Mutex::new(Vec::new());

/// The spool of the store `conn` is open on, or `None` for a store without a file (in memory).
pub fn spool_path_of(conn: &Connection) -> rusqlite::Result<Option<PathBuf>> {
    let file: String = conn.query_row(
        "SELECT file FROM pragma_database_list WHERE name = 'main'",
        [],
        |r| r.get(0),
    )?;
    if file.is_empty() {
        return Ok(None);
    }
    Ok(Some(PathBuf::from(file + SPOOL_SUFFIX)))
}

impl MailSpool {
    /// Opens (creating it, mode 0600 like the store) the spool of `conn`'s store and installs
    /// the commit hook that syncs it on `conn`. `None` for a store in memory. Call it before the
    /// first append on a connection; calling it again on the same connection is harmless.
    pub fn attach(conn: &Connection) -> io::Result<Option<Arc<MailSpool>>> {
        let path = match spool_path_of(conn).map_err(|e| io::Error::new(io::ErrorKind::Other, e))? {
            Some(p) => p,
            None => return Ok(None),
        };
        let spool = MailSpool::shared(&path)?;
        let hooked = spool.clone();
        // Returning true turns the commit into a rollback: the rows must not outlive bytes
        // that may not be on the disk.
        conn.commit_hook(Some(move || hooked.sync().is_err()));
        Ok(Some(spool))
    }

    fn shared(path: &Path) -> io::Result<Arc<MailSpool>> {
        let mut open = OPEN_SPOOLS.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|(_, w)| w.strong_count() > 0);
        if let Some(s) = open
            .iter()
            .find(|(p, _)| p == path)
            .and_then(|(_, w)| w.upgrade())
            .filter(|s| s.is_the_file_at(path))
        {
            return Ok(s);
        }
        open.retain(|(p, _)| p != path);
        let spool = Arc::new(MailSpool {
            path: path.to_path_buf(),
            file: open_for_append(path)?,
            unsynced: AtomicBool::new(false),
            written_back_to: AtomicU64::new(0),
        });
        open.push((path.to_path_buf(), Arc::downgrade(&spool)));
        Ok(spool)
    }

    /// Whether the open file is still the one at `path` (a store removed and created again at
    /// the same path gets a new spool, not the removed one's).
    #[cfg(unix)]
    fn is_the_file_at(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(path), self.file.metadata()) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }

    #[cfg(not(unix))]
    fn is_the_file_at(&self, path: &Path) -> bool {
        path.exists()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the next append will begin (the file's length).
    pub fn end(&self) -> io::Result<u64> {
        let mut file = &self.file;
        file.seek(SeekFrom::End(0))
    }

    /// Appends `bytes` at the end of the spool; returns where they begin. The caller holds the
    /// store's write lock (see the module comment).
    pub fn append(&self, bytes: &[u8]) -> io::Result<u64> {
        let mut file = &self.file;
        let offset = file.seek(SeekFrom::End(0))?;
        // Marked before the write: a write that fails half-way is synced too, harmlessly.
        self.unsynced.store(true, Ordering::Release);
        file.write_all(bytes)?;
        let end = offset + bytes.len() as u64;
        let from = self.written_back_to.load(Ordering::Acquire).min(offset);
        if end - from >= WRITE_BACK_AHEAD {
            start_writing_back(&self.file, from, end - from);
            self.written_back_to.store(end, Ordering::Release);
        }
        Ok(offset)
    }

    /// Makes every byte appended so far durable (nothing to do when nothing was appended).
    pub fn sync(&self) -> io::Result<()> {
        if self.unsynced.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.file.sync_data() {
                self.unsynced.store(true, Ordering::Release);
                return Err(e);
            }
            leave_the_page_cache(&self.file);
        }
        Ok(())
    }
}

/// Appended bytes whose disk writes are started at once rather than by the sync before the
/// commit: that sync then waits for the last few writes, not for a whole job's updates (1.25 MB
/// for 100 meetings). Measured over 100,000 meetings: the syncs took 0.5 s instead of 1.5-1.9 s.
const WRITE_BACK_AHEAD: u64 = 256 * 1024;

/// Starts the disk writes of `len` bytes at `offset` without waiting for them. Advice only,
/// like [`leave_the_page_cache`]: the sync still waits for every byte.
#[cfg(target_os = "linux")]
fn start_writing_back(file: &File, offset: u64, len: u64) {
    use std::os::unix::io::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain system call on a descriptor `file` owns; it reads or writes no memory.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writing_back(_file: &File, _offset: u64, _len: u64) {}

/// Drops the spool's pages, clean once synced, from the page cache: it is written once and
/// read rarely, and over a million meetings its 12 GB would push the calendars' pages out.
#[cfg(target_os = "linux")]
fn leave_the_page_cache(file: &File) {
    use std::os::unix::io::AsRawFd;
    // SAFETY: a plain system call on a descriptor `file` owns; it reads or writes no memory.
    // Advice only: a failure changes nothing but what stays cached.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
    }
}

#[cfg(not(target_os = "linux"))]
fn leave_the_page_cache(_file: &File) {}

#[cfg(unix)]
fn open_for_append(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_for_append(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Reads spooled messages from one spool file; opened at the first read.
pub struct SpoolReader {
    path: Option<PathBuf>,
    file: Option<File>,
}

impl SpoolReader {
    /// For the store `conn` is open on.
    pub fn of(conn: &Connection) -> rusqlite::Result<SpoolReader> {
        Ok(SpoolReader {
            path: spool_path_of(conn)?,
            file: None,
        })
    }

    /// The `length` bytes at `offset`, or an error naming the spool when they are not all there.
    pub fn read(&mut self, offset: i64, length: i64) -> Result<Vec<u8>, String> {
        let path = self
            .path
            .as_ref()
            .ok_or("the mail drop names a spool, but the store has no file beside it")?;
        let (start, len) = match (u64::try_from(offset), usize::try_from(length)) {
            (Ok(s), Ok(l)) => (s, l),
            _ => {
                return Err(format!(
                    "the mail drop names bytes {offset}+{length} of its spool"
                ))
            }
        };
        let unreadable = |e: io::Error| {
            format!(
                "cannot read bytes {start}..{} of the mail drop's spool {}: {e}",
                start + len as u64,
                path.display()
            )
        };
        if self.file.is_none() {
            self.file = Some(File::open(path).map_err(unreadable)?);
        }
        let mut file = self.file.as_ref().expect("opened above");
        file.seek(SeekFrom::Start(start)).map_err(unreadable)?;
        let mut bytes = vec![0; len];
        file.read_exact(&mut bytes).map_err(unreadable)?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_in_memory_has_no_spool() {
        let conn = Connection::open_in_memory().unwrap();
        assert!(spool_path_of(&conn).unwrap().is_none());
        assert!(MailSpool::attach(&conn).unwrap().is_none());
    }

    #[test]
    fn appends_are_read_back_where_they_begin() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("s.db")).unwrap();
        let spool = MailSpool::attach(&conn).unwrap().unwrap();
        assert_eq!(spool.path(), dir.path().join("s.db-maildrop"));
        let second = "second: caf\u{e9} \u{1F600}".as_bytes();
        let a = spool.append(b"first message").unwrap();
        let b = spool.append(second).unwrap();
        assert_eq!((a, b), (0, 13));
        spool.sync().unwrap();
        let mut reader = SpoolReader::of(&conn).unwrap();
        assert_eq!(reader.read(13, second.len() as i64).unwrap(), second);
        assert_eq!(reader.read(0, 5).unwrap(), b"first");
    }

    #[test]
    fn connections_to_one_store_share_one_spool() {
        let dir = tempfile::tempdir().unwrap();
        let one = Connection::open(dir.path().join("s.db")).unwrap();
        let two = Connection::open(dir.path().join("s.db")).unwrap();
        let a = MailSpool::attach(&one).unwrap().unwrap();
        let b = MailSpool::attach(&two).unwrap().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        a.append(b"x").unwrap();
        // The other connection's hook syncs what this one appended.
        b.sync().unwrap();
        assert!(!a.unsynced.load(Ordering::Acquire));
    }

    #[test]
    fn a_commit_syncs_the_spool_first() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("s.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        let spool = MailSpool::attach(&conn).unwrap().unwrap();
        conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
            .unwrap();
        spool.append(b"bytes a row will name").unwrap();
        assert!(spool.unsynced.load(Ordering::Acquire));
        conn.execute_batch("COMMIT").unwrap();
        assert!(!spool.unsynced.load(Ordering::Acquire));
    }

    #[test]
    fn a_store_created_again_at_the_same_path_gets_a_new_spool() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let old = Connection::open(&path).unwrap();
        let old_spool = MailSpool::attach(&old).unwrap().unwrap();
        for suffix in super::super::STORE_FILE_SUFFIXES {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
        let new = Connection::open(&path).unwrap();
        let new_spool = MailSpool::attach(&new).unwrap().unwrap();
        assert!(!Arc::ptr_eq(&old_spool, &new_spool));
        assert_eq!(new_spool.append(b"x").unwrap(), 0);
        assert_eq!(std::fs::read(new_spool.path()).unwrap(), b"x");
    }

    #[test]
    fn bytes_missing_from_the_spool_are_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("s.db")).unwrap();
        let spool = MailSpool::attach(&conn).unwrap().unwrap();
        spool.append(b"short").unwrap();
        let mut reader = SpoolReader::of(&conn).unwrap();
        let e = reader.read(2, 10).unwrap_err();
        assert!(
            e.contains("bytes 2..12") && e.contains("s.db-maildrop"),
            "{e}"
        );
        assert!(reader.read(-1, 3).is_err());
    }

    #[test]
    fn the_spool_is_private_to_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("s.db")).unwrap();
        let spool = MailSpool::attach(&conn).unwrap().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(spool.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
