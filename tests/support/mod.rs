//! Test servers shared by the integration tests: a real Radicale (CalDAV) and an aiosmtpd sink,
//! both on 127.0.0.1 with ports chosen at run time, both killed on drop.
//!
//! Use from a test crate with `mod support;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const PYTHON: &str = "/usr/bin/python3";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A port that was free a moment ago (bind to :0, read it, release it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn log_file(dir: &Path, name: &str) -> Stdio {
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))
    {
        Ok(f) => Stdio::from(f),
        Err(_) => Stdio::null(),
    }
}

/// A Radicale 3 server over a temporary storage folder.
pub struct RadicaleServer {
    pub url: String,
    pub port: u16,
    /// Holds `collections/` (storage), `radicale.log` and, with auth, `users`.
    pub dir: tempfile::TempDir,
    /// `Some((user, password))` when started with htpasswd Basic auth.
    pub auth: Option<(String, String)>,
    child: Option<Child>,
}

impl RadicaleServer {
    /// `--auth-type none`: any user name is accepted, and owns `/<user>/`.
    pub fn start() -> RadicaleServer {
        Self::start_inner(None)
    }

    /// htpasswd Basic auth with one plain-text user.
    pub fn start_with_auth(user: &str, password: &str) -> RadicaleServer {
        Self::start_inner(Some((user.to_string(), password.to_string())))
    }

    fn start_inner(auth: Option<(String, String)>) -> RadicaleServer {
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some((u, p)) = &auth {
            std::fs::write(dir.path().join("users"), format!("{u}:{p}\n")).expect("htpasswd");
        }
        let mut server = RadicaleServer {
            url: String::new(),
            port: 0,
            dir,
            auth,
            child: None,
        };
        for _ in 0..5 {
            server.port = free_port();
            server.url = format!("http://127.0.0.1:{}/", server.port);
            if server.spawn() {
                return server;
            }
        }
        panic!(
            "Radicale did not start; log:\n{}",
            std::fs::read_to_string(server.dir.path().join("radicale.log")).unwrap_or_default()
        );
    }

    /// Starts the process on `self.port` and waits until it answers HTTP. False if it died.
    fn spawn(&mut self) -> bool {
        let storage = self.dir.path().join("collections");
        let mut cmd = Command::new(PYTHON);
        cmd.args(["-m", "radicale", "--config", ""])
            .arg("--server-hosts")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--storage-filesystem-folder")
            .arg(&storage);
        match &self.auth {
            None => {
                cmd.args(["--auth-type", "none"]);
            }
            Some(_) => {
                cmd.args([
                    "--auth-type",
                    "htpasswd",
                    "--auth-htpasswd-encryption",
                    "plain",
                ])
                .arg("--auth-htpasswd-filename")
                .arg(self.dir.path().join("users"));
            }
        }
        cmd.stdin(Stdio::null())
            .stdout(log_file(self.dir.path(), "radicale.log"))
            .stderr(log_file(self.dir.path(), "radicale.log"));
        let mut child = cmd.spawn().expect("spawn /usr/bin/python3 -m radicale");
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if self.answers() {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    fn answers(&self) -> bool {
        if TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            return false;
        }
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        match agent.request("OPTIONS", &self.url).call() {
            Ok(_) | Err(ureq::Error::Status(..)) => true,
            Err(_) => false,
        }
    }

    /// Kills the server (the storage stays).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        for _ in 0..50 {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("Radicale did not restart on port {}", self.port);
    }

    /// The Basic `Authorization` value tests use for `user` (the configured password with
    /// htpasswd, any password with auth none).
    pub fn authorization(&self, user: &str) -> String {
        let password = match &self.auth {
            Some((_, p)) => p.as_str(),
            None => "unused",
        };
        mms::engine::credentials::Credentials::new(user, password).basic_authorization()
    }

    /// A raw request as `user`; returns (status, ETag header, body).
    pub fn http(
        &self,
        user: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> (u16, Option<String>, String) {
        let url = format!("http://127.0.0.1:{}{}", self.port, path);
        let mut req = ureq::request(method, &url)
            .timeout(Duration::from_secs(30))
            .set("Authorization", &self.authorization(user));
        for (n, v) in headers {
            req = req.set(n, v);
        }
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let etag = resp.header("ETag").map(str::to_string);
        (status, etag, resp.into_string().unwrap_or_default())
    }

    /// MKCALENDAR `/<user>/<name>/`, optionally restricted to some component types.
    pub fn mkcalendar(&self, user: &str, name: &str, components: &[&str]) {
        let path = format!("/{user}/{name}/");
        let body = if components.is_empty() {
            None
        } else {
            let comps: String = components
                .iter()
                .map(|c| format!("<C:comp name=\"{c}\"/>"))
                .collect();
            Some(format!(
                "<?xml version=\"1.0\"?><C:mkcalendar xmlns:D=\"DAV:\" \
                 xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop>\
                 <C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set>\
                 </D:prop></D:set></C:mkcalendar>"
            ))
        };
        let (status, _, text) = self.http(
            user,
            "MKCALENDAR",
            &path,
            &[("Content-Type", "application/xml")],
            body.as_deref().map(str::as_bytes),
        );
        assert_eq!(status, 201, "MKCALENDAR {path}: {text}");
    }

    /// Replaces `/<user>/<name>/` (deleted if present, created again) by a calendar holding
    /// `objects` (file name, iCalendar bytes).
    pub fn replace_calendar(&self, user: &str, name: &str, objects: &[(&str, &[u8])]) {
        let path = format!("/{user}/{name}/");
        let (status, _, text) = self.http(user, "DELETE", &path, &[], None);
        assert!(
            matches!(status, 200 | 204 | 404),
            "DELETE {path}: {status} {text}"
        );
        self.mkcalendar(user, name, &[]);
        for (file, data) in objects {
            self.put_ics(user, &format!("{path}{file}"), data);
        }
    }

    /// Puts every seeded calendar on the server as `/<localpart>/calendar/<file>`, replacing
    /// what an earlier run left.
    pub fn load_seeded(&self, seeded: &mms::engine::sample::SeededTenant) {
        for (upn, meetings) in &seeded.calendars {
            let objects: Vec<(&str, &[u8])> = meetings
                .iter()
                .map(|m| (m.file_name.as_str(), m.data.as_slice()))
                .collect();
            let user = upn.split('@').next().unwrap_or(upn);
            self.replace_calendar(user, "calendar", &objects);
        }
    }

    /// GET an object that must exist; its bytes as the server serves them.
    pub fn get_ok(&self, user: &str, path: &str) -> Vec<u8> {
        let (status, _, body) = self.http(user, "GET", path, &[], None);
        assert_eq!(status, 200, "GET {path}");
        body.into_bytes()
    }

    /// PUT a new object; returns its ETag.
    pub fn put_ics(&self, user: &str, path: &str, ics: &[u8]) -> String {
        let (status, etag, text) = self.http(
            user,
            "PUT",
            path,
            &[("Content-Type", "text/calendar"), ("If-None-Match", "*")],
            Some(ics),
        );
        assert_eq!(status, 201, "PUT {path}: {text}");
        etag.expect("ETag on PUT")
    }
}

impl Drop for RadicaleServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Options of the SMTP sink (see tests/servers/smtp_sink.py).
#[derive(Clone, Debug, Default)]
pub struct SinkOptions {
    /// Answer 451 at end of DATA for this many transactions.
    pub refuse_first: usize,
    /// Answer 550 to RCPT TO for these addresses.
    pub refuse_rcpt: Vec<String>,
    /// Answer 452 to RCPT TO beyond this many recipients per transaction (0: no limit).
    pub max_rcpt: usize,
    /// Require AUTH with this user and password.
    pub auth: Option<(String, String)>,
}

/// One message the sink accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// DATA as received, dot-unstuffed, CRLF line ends.
    pub data: Vec<u8>,
}

/// An aiosmtpd sink writing every accepted message into `maildir`.
pub struct SmtpSink {
    pub port: u16,
    pub maildir: PathBuf,
    options: SinkOptions,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl SmtpSink {
    pub fn start(refuse_first: usize) -> SmtpSink {
        Self::start_with(SinkOptions {
            refuse_first,
            ..SinkOptions::default()
        })
    }

    pub fn start_with(options: SinkOptions) -> SmtpSink {
        let dir = tempfile::tempdir().expect("tempdir");
        let maildir = dir.path().join("mail");
        let mut sink = SmtpSink {
            port: 0,
            maildir,
            options,
            dir,
            child: None,
        };
        for _ in 0..5 {
            sink.port = free_port();
            if sink.spawn() {
                return sink;
            }
        }
        panic!(
            "the SMTP sink did not start; log:\n{}",
            std::fs::read_to_string(sink.dir.path().join("sink.log")).unwrap_or_default()
        );
    }

    fn spawn(&mut self) -> bool {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/smtp_sink.py");
        let mut cmd = Command::new(PYTHON);
        cmd.arg(script)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--maildir")
            .arg(&self.maildir)
            .arg("--refuse-first")
            .arg(self.options.refuse_first.to_string());
        for r in &self.options.refuse_rcpt {
            cmd.arg("--refuse-rcpt").arg(r);
        }
        if self.options.max_rcpt > 0 {
            cmd.arg("--max-rcpt").arg(self.options.max_rcpt.to_string());
        }
        if let Some((u, p)) = &self.options.auth {
            cmd.arg("--auth").arg(format!("{u}:{p}"));
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file(self.dir.path(), "sink.log"));
        let mut child = cmd.spawn().expect("spawn smtp_sink.py");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) if line.starts_with("READY") => {
                self.child = Some(child);
                true
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                false
            }
        }
    }

    /// Kills the sink; received mail stays in `maildir`.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and maildir, refusing the first `refuse_first`
    /// transactions of the new run.
    pub fn restart(&mut self, refuse_first: usize) {
        self.stop();
        self.options.refuse_first = refuse_first;
        for _ in 0..50 {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the SMTP sink did not restart on port {}", self.port);
    }

    /// Waits until at least `count` messages arrived (or `timeout` passed); returns them all.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let mail = self.messages();
            if mail.len() >= count || Instant::now() >= deadline {
                return mail;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every message accepted so far as (data, envelope recipients), in arrival order.
    pub fn envelopes(&self) -> Vec<(Vec<u8>, Vec<String>)> {
        self.messages()
            .into_iter()
            .map(|m| (m.data, m.rcpt_tos))
            .collect()
    }

    /// Every message accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut names: Vec<String> = match std::fs::read_dir(&self.maildir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
            .iter()
            .map(|n| {
                let meta: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(self.maildir.join(n)).expect("read envelope"),
                )
                .expect("envelope JSON");
                let eml = meta["eml"].as_str().expect("eml name");
                ReceivedMail {
                    mail_from: meta["mail_from"].as_str().unwrap_or("").to_string(),
                    rcpt_tos: meta["rcpt_tos"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    data: std::fs::read(self.maildir.join(eml)).expect("read message"),
                }
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
