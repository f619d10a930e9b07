//! The embedded mail drop's spool: the bytes of every delivered message, appended to one file
//! beside the store (`<store>-maildrop`); each `delivered_mail` row holds where its message
//! begins in the file and how long it is.
//!
//! Why a file: inside the store an update of 12.5 KB takes a 16 KiB page of its own, written
//! twice (into the WAL, then by the checkpoint). Appended here it is written once.
//!
//! Why a thread of its own writes it: copying the bytes into the page cache and starting their
//! disk writes cost the worker's thread a fifth of its time; an append now only copies them
//! into a buffer, and the spool's writer thread writes them at the place the append reserved.
//!
//! What keeps the rows and the bytes in agreement:
//! - Places are reserved only while the delivering connection holds the store's write lock (the
//!   row is inserted first, see [`super::calendars::deliver_mail`]), so appends from several
//!   connections and processes never overlap, and a row commits only with its bytes appended.
//! - Every reserved byte is written, and reaches the disk, before the transaction that
//!   references it commits: a commit hook on each delivering connection waits for the writer
//!   thread and syncs the spool when anything was appended, and a failed write or sync turns
//!   the commit into a rollback. A power cut may lose the last commits (`synchronous =
//!   NORMAL`), but never leaves a row pointing at bytes that are not there.
//! - The write lock is never given up with writes still under way (another process would
//!   reserve the same place): a rollback waits for them, and so does closing the connection.
//! - A delivery that rolls back leaves its bytes in the file, referenced by no row: dead space
//!   that nothing reads. A killed process leaves the same.
//! - A store in memory has no file beside it: its rows keep their bytes themselves.

use rusqlite::Connection;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

/// What the spool's name adds to the store's.
pub const SPOOL_SUFFIX: &str = "-maildrop";

/// One open spool file, shared by every connection of this process to the same store.
pub struct MailSpool {
    path: PathBuf,
    shared: Arc<SpoolShared>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// What the delivering connections and the writer thread share.
struct SpoolShared {
    file: File,
    state: Mutex<SpoolState>,
    /// Signalled when bytes are waiting for the writer, and when the writer wrote them.
    changed: Condvar,
}

#[derive(Default)]
struct SpoolState {
    /// Appended bytes the writer has not taken yet; they begin at `waiting_at`.
    waiting: Vec<u8>,
    waiting_at: u64,
    /// The writer is writing bytes it took.
    writing: bool,
    /// Where the next append begins, while bytes are waiting or being written (otherwise the
    /// file's length is, see [`SpoolState::next_offset`]).
    end: u64,
    /// Bytes were appended since the last sync.
    unsynced: bool,
    /// Where the disk writes were started ahead of the sync (see [`WRITE_BACK_AHEAD`]).
    written_back_to: u64,
    /// A write that failed since the last commit or rollback; what every append, and the
    /// commit, then reports.
    failure: Option<String>,
    /// The spool is being closed: the writer stops once nothing waits.
    closing: bool,
    /// Tests hold the writer back, or make its writes fail, to see what waits for it.
    #[cfg(test)]
    held: bool,
    #[cfg(test)]
    failing: bool,
}

/// Appended bytes that may wait for the writer: an append beyond them waits for it, so memory
/// stays flat however fast meetings are delivered and however slow the disk is.
const MAX_WAITING: usize = 4 << 20;

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

/// Held by a connection's hooks: when the connection closes (rusqlite drops its hooks first),
/// the writes it reserved are finished before its write lock goes.
struct AttachedSpool(Arc<MailSpool>);

impl Drop for AttachedSpool {
    fn drop(&mut self) {
        drop(self.0.settle());
    }
}

impl MailSpool {
    /// Opens (creating it, mode 0600 like the store) the spool of `conn`'s store and installs
    /// the hooks that finish and sync its writes on `conn`. `None` for a store in memory. Call
    /// it before the first append on a connection; calling it again on the same connection is
    /// harmless.
    pub fn attach(conn: &Connection) -> io::Result<Option<Arc<MailSpool>>> {
        let path = match spool_path_of(conn).map_err(|e| io::Error::new(io::ErrorKind::Other, e))? {
            Some(p) => p,
            None => return Ok(None),
        };
        let spool = MailSpool::shared(&path)?;
        let on_commit = AttachedSpool(spool.clone());
        // Returning true turns the commit into a rollback: the rows must not outlive bytes
        // that may not be on the disk.
        conn.commit_hook(Some(move || on_commit.0.sync().is_err()));
        let on_rollback = AttachedSpool(spool.clone());
        conn.rollback_hook(Some(move || on_rollback.0.forget_failure()));
        Ok(Some(spool))
    }

    /// The spool of `path` if this process has it open.
    fn open_at(path: &Path) -> Option<Arc<MailSpool>> {
        let open = OPEN_SPOOLS.lock().unwrap_or_else(|e| e.into_inner());
        open.iter()
            .find(|(p, _)| p == path)
            .and_then(|(_, w)| w.upgrade())
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
        let shared = Arc::new(SpoolShared {
            file: open_for_writing(path)?,
            state: Mutex::new(SpoolState::default()),
            changed: Condvar::new(),
        });
        let writes = shared.clone();
        let writer = std::thread::Builder::new()
            .name("mms-mail-spool".into())
            .spawn(move || writes.write_until_closed())?;
        let spool = Arc::new(MailSpool {
            path: path.to_path_buf(),
            shared,
            writer: Some(writer),
        });
        open.push((path.to_path_buf(), Arc::downgrade(&spool)));
        Ok(spool)
    }

    /// Whether the open file is still the one at `path` (a store removed and created again at
    /// the same path gets a new spool, not the removed one's).
    #[cfg(unix)]
    fn is_the_file_at(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(path), self.shared.file.metadata()) {
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

    fn state(&self) -> MutexGuard<'_, SpoolState> {
        self.shared.lock()
    }

    /// Where the next append will begin.
    pub fn end(&self) -> io::Result<u64> {
        let state = self.state();
        state.next_offset(&self.shared.file)
    }

    /// Appends `bytes` at the end of the spool; returns where they begin. The caller holds the
    /// store's write lock (see the module comment). The bytes are written by the spool's
    /// thread; the commit waits for them.
    pub fn append(&self, bytes: &[u8]) -> io::Result<u64> {
        let mut state = self.state();
        while state.waiting.len() + bytes.len() > MAX_WAITING && !state.waiting.is_empty() {
            state = self.shared.wait(state);
        }
        if let Some(f) = &state.failure {
            return Err(io::Error::new(io::ErrorKind::Other, f.clone()));
        }
        let offset = state.next_offset(&self.shared.file)?;
        if state.waiting.is_empty() {
            state.waiting_at = offset;
        }
        state.waiting.extend_from_slice(bytes);
        state.end = offset + bytes.len() as u64;
        state.unsynced = true;
        drop(state);
        self.shared.changed.notify_all();
        Ok(offset)
    }

    /// Waits until every appended byte is written (or its write failed).
    fn settle(&self) -> MutexGuard<'_, SpoolState> {
        let mut state = self.state();
        while state.in_flight() {
            state = self.shared.wait(state);
        }
        state
    }

    /// Makes every byte appended so far durable (nothing to do when nothing was appended).
    pub fn sync(&self) -> io::Result<()> {
        let mut state = self.settle();
        if let Some(f) = state.failure.take() {
            // The commit is refused and rolled back: the rows naming those bytes are gone.
            return Err(io::Error::new(io::ErrorKind::Other, f));
        }
        if state.unsynced {
            self.shared.file.sync_data()?;
            state.unsynced = false;
            leave_the_page_cache(&self.shared.file);
        }
        Ok(())
    }

    /// After a rollback: the writes reserved are finished (the lock is about to go), and a
    /// failed one no longer matters, since no row names its bytes any more.
    fn forget_failure(&self) {
        self.settle().failure = None;
    }

    /// Whether bytes were appended since the last sync (for tests).
    #[cfg(test)]
    fn has_unsynced(&self) -> bool {
        self.settle().unsynced
    }
}

impl Drop for MailSpool {
    fn drop(&mut self) {
        let mut state = self.state();
        state.closing = true;
        #[cfg(test)]
        {
            // A test that failed while holding the writer back must not hang here.
            state.held = false;
        }
        drop(state);
        self.shared.changed.notify_all();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl SpoolState {
    #[cfg(test)]
    fn held_by_test(&self) -> bool {
        self.held
    }

    #[cfg(not(test))]
    fn held_by_test(&self) -> bool {
        false
    }

    #[cfg(test)]
    fn failing_by_test(&self) -> bool {
        self.failing
    }

    #[cfg(not(test))]
    fn failing_by_test(&self) -> bool {
        false
    }

    fn in_flight(&self) -> bool {
        self.writing || !self.waiting.is_empty()
    }

    /// With nothing in flight the file's length is where the next append begins: it counts
    /// what other processes appended since, and drops the end of a failed write.
    fn next_offset(&self, file: &File) -> io::Result<u64> {
        if self.in_flight() {
            Ok(self.end)
        } else {
            Ok(file.metadata()?.len())
        }
    }
}

impl SpoolShared {
    fn lock(&self) -> MutexGuard<'_, SpoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, state: MutexGuard<'a, SpoolState>) -> MutexGuard<'a, SpoolState> {
        self.changed.wait(state).unwrap_or_else(|e| e.into_inner())
    }

    /// The writer thread: takes what was appended, writes it where it was reserved, and starts
    /// its disk writes every [`WRITE_BACK_AHEAD`] bytes.
    fn write_until_closed(&self) {
        let mut taken = Vec::new();
        let mut state = self.lock();
        loop {
            if state.waiting.is_empty() || state.held_by_test() {
                if state.closing && state.waiting.is_empty() {
                    return;
                }
                state = self.wait(state);
                continue;
            }
            std::mem::swap(&mut taken, &mut state.waiting);
            let at = state.waiting_at;
            let failing = state.failing_by_test();
            state.writing = true;
            let written_back_to = state.written_back_to.min(at);
            drop(state);
            // Others may append (into the emptied buffer) while this writes.
            self.changed.notify_all();
            let end = at + taken.len() as u64;
            let wrote = if failing {
                Err(io::Error::new(
                    io::ErrorKind::Other,
                    "no space left (a test)",
                ))
            } else {
                write_all_at(&self.file, &taken, at)
            };
            let written_back = match wrote {
                Ok(()) if end - written_back_to >= WRITE_BACK_AHEAD => {
                    start_writing_back(&self.file, written_back_to, end - written_back_to);
                    Some(end)
                }
                _ => None,
            };
            taken.clear();
            state = self.lock();
            state.writing = false;
            if let Some(to) = written_back {
                state.written_back_to = to;
            }
            if let Err(e) = wrote {
                if state.failure.is_none() {
                    state.failure = Some(format!("bytes {at}..{end}: {e}"));
                }
            }
            self.changed.notify_all();
        }
    }
}

#[cfg(unix)]
fn write_all_at(file: &File, bytes: &[u8], at: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(bytes, at)
}

#[cfg(not(unix))]
fn write_all_at(mut file: &File, bytes: &[u8], at: u64) -> io::Result<()> {
    use std::io::Write;
    file.seek(SeekFrom::Start(at))?;
    file.write_all(bytes)
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
fn open_for_writing(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        // Written at the places appends reserved, never cut: it holds delivered mail.
        .truncate(false)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_for_writing(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
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
        // Bytes this process appended may still be on their way to the file (a read inside
        // the transaction that delivered them).
        if let Some(spool) = MailSpool::open_at(path) {
            drop(spool.settle());
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

    impl MailSpool {
        fn hold_writes(&self, held: bool) {
            self.state().held = held;
            self.shared.changed.notify_all();
        }

        fn fail_writes(&self, failing: bool) {
            self.state().failing = failing;
        }
    }

    /// A store with a table and its spool, in a transaction holding the write lock.
    fn writing(dir: &Path) -> (Connection, Arc<MailSpool>) {
        let conn = Connection::open(dir.join("s.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        let spool = MailSpool::attach(&conn).unwrap().unwrap();
        conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
            .unwrap();
        (conn, spool)
    }

    /// Runs `then` on another thread; returns whether it was still waiting after a while, and
    /// its thread. What `then` returns (a connection: its closing waits too) is kept until the
    /// end.
    fn still_waiting_after_a_while<T: 'static>(
        then: impl FnOnce() -> T + Send + 'static,
    ) -> (bool, std::thread::JoinHandle<()>) {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = done.clone();
        let t = std::thread::spawn(move || {
            let kept = then();
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
            drop(kept);
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        (!done.load(std::sync::atomic::Ordering::SeqCst), t)
    }

    /// Appends `bytes` with the writer held back, runs `end` on the connection on another
    /// thread and checks that it waits for the writer (`what` ended early otherwise); returns
    /// the spool once `end` has run with the writer let go.
    fn ending_waits_for_a_held_write<T: 'static>(
        bytes: &[u8],
        what: &str,
        end: impl FnOnce(Connection) -> T + Send + 'static,
    ) -> (tempfile::TempDir, Arc<MailSpool>) {
        let dir = tempfile::tempdir().unwrap();
        let (conn, spool) = writing(dir.path());
        spool.hold_writes(true);
        spool.append(bytes).unwrap();
        let (waited, t) = still_waiting_after_a_while(move || end(conn));
        assert!(waited, "{what} with a write under way");
        spool.hold_writes(false);
        t.join().unwrap();
        (dir, spool)
    }

    #[test]
    fn a_commit_waits_for_the_writer_and_finds_every_byte_written() {
        let (_dir, spool) = ending_waits_for_a_held_write(b"named by a row", "a commit", |c| {
            c.execute_batch("COMMIT").unwrap();
            c
        });
        assert_eq!(std::fs::read(spool.path()).unwrap(), b"named by a row");
    }

    #[test]
    fn a_rollback_waits_for_the_writes_it_reserved_before_the_lock_goes() {
        let (_dir, spool) = ending_waits_for_a_held_write(b"dead space", "a rollback", |c| {
            c.execute_batch("ROLLBACK").unwrap();
            c
        });
        // Nothing is in flight: the next append begins at the file's end.
        assert_eq!(spool.end().unwrap(), 10);
    }

    #[test]
    fn closing_a_connection_waits_for_the_writes_it_reserved() {
        let (_dir, spool) = ending_waits_for_a_held_write(b"closing", "a close", drop);
        assert_eq!(std::fs::read(spool.path()).unwrap(), b"closing");
    }

    #[test]
    fn a_failed_write_turns_the_commit_into_a_rollback_and_the_next_one_goes_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, spool) = writing(dir.path());
        spool.fail_writes(true);
        spool.append(b"lost").unwrap();
        assert!(conn.execute_batch("COMMIT").is_err());
        let _ = conn.execute_batch("ROLLBACK");
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0, "a row outlived the bytes it names");
        // Appends report the failure until the transaction that saw it has ended.
        spool.fail_writes(false);
        conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (2)")
            .unwrap();
        let at = spool.append(b"kept").unwrap();
        conn.execute_batch("COMMIT").unwrap();
        let mut reader = SpoolReader::of(&conn).unwrap();
        assert_eq!(reader.read(at as i64, 4).unwrap(), b"kept");
    }

    #[test]
    fn an_append_after_a_failed_write_is_refused_until_the_transaction_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, spool) = writing(dir.path());
        spool.fail_writes(true);
        spool.append(b"lost").unwrap();
        drop(spool.settle());
        let e = spool.append(b"after").unwrap_err();
        assert!(e.to_string().contains("bytes 0..4"), "{e}");
        conn.execute_batch("ROLLBACK").unwrap();
        spool.fail_writes(false);
        assert!(spool.append(b"again").is_ok());
    }

    #[test]
    fn bytes_still_on_their_way_are_read_once_written() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, spool) = writing(dir.path());
        spool.hold_writes(true);
        let at = spool.append(b"read inside its transaction").unwrap();
        let release = spool.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            release.hold_writes(false);
        });
        let mut reader = SpoolReader::of(&conn).unwrap();
        assert_eq!(
            reader.read(at as i64, 27).unwrap(),
            b"read inside its transaction"
        );
        t.join().unwrap();
    }

    #[test]
    fn appends_wait_while_too_many_bytes_wait_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let (_conn, spool) = writing(dir.path());
        spool.hold_writes(true);
        spool.append(&vec![b'x'; MAX_WAITING]).unwrap();
        let more = spool.clone();
        let (waited, t) = still_waiting_after_a_while(move || more.append(b"one more").unwrap());
        assert!(
            waited,
            "an append went beyond the bound while the writer was held"
        );
        spool.hold_writes(false);
        t.join().unwrap();
        spool.sync().unwrap();
        assert_eq!(
            std::fs::metadata(spool.path()).unwrap().len(),
            MAX_WAITING as u64 + 8
        );
    }

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
        assert!(!a.has_unsynced());
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
        assert!(spool.has_unsynced());
        conn.execute_batch("COMMIT").unwrap();
        assert!(!spool.has_unsynced());
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
        new_spool.sync().unwrap();
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
