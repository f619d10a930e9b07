//! `SmtpDelivery`: iMIP over SMTP (RFC 5321) with a small client on `std::net::TcpStream`
//! (no SMTP crate is packaged in Debian).
//!
//! Session: greeting, EHLO (HELO when EHLO is refused), AUTH PLAIN or LOGIN when credentials are
//! configured, MAIL FROM, one RCPT TO per recipient (refusals reported per recipient), DATA
//! with CRLF normalisation and dot-stuffing, QUIT. Every read and write has a timeout.
//! A 452 "too many recipients" after some accepted ones splits the recipients over several
//! transactions on the same connection (each recipient still gets the message once). When the
//! server advertises SIZE, the size is declared and an oversized message fails permanently
//! before it is sent.
//! Reply classes: 4xx is transient, 5xx permanent; I/O failures (refused, reset, timeout) are
//! transient; a reply we cannot parse is permanent.
//!
//! STARTTLS and implicit TLS are not implemented: the service talks to a relay on loopback or a
//! trusted network segment. For that reason the client refuses to send credentials unless the
//! server advertises AUTH, and never puts them in any message.
//!
//! Configuration from the environment ([`SmtpConfig::from_env`]):
//! - `MMS_SMTP_HOST` (required to enable SMTP delivery), `MMS_SMTP_PORT` (default 25);
//! - `MMS_SMTP_USER` and `MMS_SMTP_PASSWORD` (optional; both or neither);
//! - `MMS_SMTP_HELO` (optional; the EHLO name, default `localhost`);
//! - `MMS_SMTP_TIMEOUT_SECS` (optional; per read/write and connect, default 60).

use super::credentials::{env_var, Credentials};
use super::delivery::{DeliveryError, DeliveryReport, InviteDelivery, RejectedRecipient};
use super::source::FailureKind;
use crate::calendar::base64;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Longest reply line we accept (RFC 5321 §4.5.3.1.5 says 512 octets; servers exceed it).
const MAX_REPLY_LINE: usize = 8 * 1024;
/// Most lines in one multi-line reply (EHLO lists a few dozen at most).
const MAX_REPLY_LINES: usize = 256;

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// Sent only with AUTH when the server advertises it. `Debug` shows the user, not the password.
    pub credentials: Option<Credentials>,
    /// The name we give in EHLO/HELO.
    pub helo_name: String,
    /// Connect timeout and the timeout of every single read and write.
    pub timeout: Duration,
}

impl SmtpConfig {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        SmtpConfig {
            host: host.into(),
            port,
            credentials: None,
            helo_name: "localhost".to_string(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Reads the `MMS_SMTP_*` variables (see the module documentation). `Ok(None)` when
    /// `MMS_SMTP_HOST` is unset: SMTP delivery is not configured.
    pub fn from_env() -> Result<Option<SmtpConfig>, DeliveryError> {
        let Some(host) = env_var("MMS_SMTP_HOST") else {
            return Ok(None);
        };
        let port = match env_var("MMS_SMTP_PORT") {
            None => 25,
            Some(p) => p.parse::<u16>().map_err(|_| {
                DeliveryError::permanent(format!("MMS_SMTP_PORT is not a port number: {p:?}"))
            })?,
        };
        let mut config = SmtpConfig::new(host, port);
        match (env_var("MMS_SMTP_USER"), env_var("MMS_SMTP_PASSWORD")) {
            (Some(user), Some(password)) => {
                config.credentials = Some(Credentials::new(user, password));
            }
            (None, None) => {}
            _ => {
                return Err(DeliveryError::permanent(
                    "set both MMS_SMTP_USER and MMS_SMTP_PASSWORD, or neither",
                ))
            }
        }
        if let Some(helo) = env_var("MMS_SMTP_HELO") {
            config.helo_name = helo;
        }
        if let Some(t) = env_var("MMS_SMTP_TIMEOUT_SECS") {
            let secs = t.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                DeliveryError::permanent(format!(
                    "MMS_SMTP_TIMEOUT_SECS is not a positive number: {t:?}"
                ))
            })?;
            config.timeout = Duration::from_secs(secs);
        }
        Ok(Some(config))
    }
}

/// Delivers iMIP messages to one SMTP server, one connection per message.
#[derive(Clone, Debug)]
pub struct SmtpDelivery {
    config: SmtpConfig,
}

impl SmtpDelivery {
    pub fn new(config: SmtpConfig) -> Self {
        SmtpDelivery { config }
    }

    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    /// [`SmtpConfig::from_env`], wrapped.
    pub fn from_env() -> Result<Option<SmtpDelivery>, DeliveryError> {
        Ok(SmtpConfig::from_env()?.map(SmtpDelivery::new))
    }
}

impl InviteDelivery for SmtpDelivery {
    fn send(
        &self,
        message_id: &str,
        envelope_from: &str,
        recipients: &[String],
        rfc822: &[u8],
    ) -> Result<DeliveryReport, DeliveryError> {
        let server = format!("{}:{}", self.config.host, self.config.port);
        let context = |e: DeliveryError| DeliveryError {
            message: self.scrub(&format!(
                "SMTP {server}, message <{message_id}>: {}",
                e.message
            )),
            rejected: e
                .rejected
                .into_iter()
                .map(|r| self.scrub_rejected(r))
                .collect(),
            ..e
        };
        if recipients.is_empty() {
            return Err(context(DeliveryError::permanent("no recipients")));
        }
        check_address(envelope_from)
            .map_err(|why| context(DeliveryError::permanent(format!("sender {why}"))))?;
        let mut session = Session::connect(&self.config).map_err(context)?;
        let result = session.deliver(envelope_from, recipients, rfc822);
        session.quit();
        let report = result.map_err(context)?;
        Ok(DeliveryReport {
            accepted: report.accepted,
            rejected: report
                .rejected
                .into_iter()
                .map(|r| self.scrub_rejected(r))
                .collect(),
            mail_drop_row: None,
        })
    }
}

impl SmtpDelivery {
    /// Server text is quoted in errors; a server echoing our credentials must not leak them.
    fn scrub(&self, text: &str) -> String {
        let Some(c) = &self.config.credentials else {
            return text.to_string();
        };
        let password = c.password.expose();
        if password.is_empty() {
            return text.to_string();
        }
        let mut plain = vec![0];
        plain.extend_from_slice(c.user.as_bytes());
        plain.push(0);
        plain.extend_from_slice(password.as_bytes());
        text.replace(password, "***")
            .replace(&base64::encode(&plain), "***")
            .replace(&base64::encode(password.as_bytes()), "***")
    }

    fn scrub_rejected(&self, r: RejectedRecipient) -> RejectedRecipient {
        RejectedRecipient {
            reply: self.scrub(&r.reply),
            ..r
        }
    }
}

/// One transaction's result: who got the message, who was refused, and how many of the
/// recipients it dealt with (the rest were deferred by a 452 "too many recipients").
struct Batch {
    accepted: Vec<String>,
    rejected: Vec<RejectedRecipient>,
    consumed: usize,
}

/// One reply: its code and its text lines (code and separator stripped).
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        self.lines.join(" / ")
    }

    fn kind(&self) -> FailureKind {
        if (400..500).contains(&self.code) {
            FailureKind::Transient
        } else {
            FailureKind::Permanent
        }
    }

    /// An error for a reply the step did not expect. 4xx transient, anything else permanent.
    fn error(&self, step: &str) -> DeliveryError {
        DeliveryError {
            kind: self.kind(),
            code: Some(self.code),
            message: format!("{step} answered {} {}", self.code, self.text()),
            rejected: Vec::new(),
        }
    }
}

struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// EHLO keywords, upper-cased, with their parameters.
    extensions: Vec<(String, String)>,
}

fn io_error(step: &str, e: std::io::Error) -> DeliveryError {
    // Refused, reset, timed out, closed early: all worth another try later.
    DeliveryError::transient(format!("{step}: {e}"))
}

impl Session {
    fn connect(config: &SmtpConfig) -> Result<Session, DeliveryError> {
        let addrs = (config.host.as_str(), config.port)
            .to_socket_addrs()
            .map_err(|e| io_error("resolving the host", e))?;
        let mut last = None;
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, config.timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(io_error("connect", e)),
            (None, None) => return Err(DeliveryError::permanent("host has no address")),
        };
        let setup = |s: &TcpStream| -> std::io::Result<TcpStream> {
            s.set_read_timeout(Some(config.timeout))?;
            s.set_write_timeout(Some(config.timeout))?;
            s.set_nodelay(true)?;
            s.try_clone()
        };
        let writer = setup(&stream).map_err(|e| io_error("connect", e))?;
        let mut session = Session {
            reader: BufReader::new(stream),
            writer,
            extensions: Vec::new(),
        };
        let greeting = session.read_reply("greeting")?;
        if greeting.code != 220 {
            return Err(greeting.error("greeting"));
        }
        session.hello(config)?;
        if let Some(credentials) = &config.credentials {
            session.authenticate(credentials)?;
        }
        Ok(session)
    }

    fn hello(&mut self, config: &SmtpConfig) -> Result<(), DeliveryError> {
        let ehlo = self.command(&format!("EHLO {}", config.helo_name), "EHLO")?;
        if ehlo.code == 250 {
            self.extensions = ehlo
                .lines
                .iter()
                .skip(1) // the first line is the server's greeting name
                .map(|l| {
                    let mut parts = l.splitn(2, ' ');
                    let key = parts.next().unwrap_or("").to_ascii_uppercase();
                    let params = parts.next().unwrap_or("").to_string();
                    (key, params)
                })
                .collect();
            return Ok(());
        }
        if ehlo.kind() == FailureKind::Transient {
            return Err(ehlo.error("EHLO"));
        }
        let helo = self.command(&format!("HELO {}", config.helo_name), "HELO")?;
        if helo.code == 250 {
            Ok(())
        } else {
            Err(helo.error("HELO"))
        }
    }

    fn extension(&self, keyword: &str) -> Option<&str> {
        self.extensions
            .iter()
            .find(|(k, _)| k == keyword)
            .map(|(_, p)| p.as_str())
    }

    fn authenticate(&mut self, credentials: &Credentials) -> Result<(), DeliveryError> {
        let user = &credentials.user;
        let Some(mechanisms) = self.extension("AUTH").map(|m| m.to_ascii_uppercase()) else {
            return Err(DeliveryError::permanent(format!(
                "credentials for {user:?} are configured but the server offers no AUTH; \
                 not sending them"
            )));
        };
        let offered: Vec<&str> = mechanisms.split_whitespace().collect();
        let reply = if offered.contains(&"PLAIN") {
            let mut token = Vec::new();
            token.push(0);
            token.extend_from_slice(user.as_bytes());
            token.push(0);
            token.extend_from_slice(credentials.password.expose().as_bytes());
            self.command(&format!("AUTH PLAIN {}", base64::encode(&token)), "AUTH")?
        } else if offered.contains(&"LOGIN") {
            let first = self.command("AUTH LOGIN", "AUTH")?;
            if first.code != 334 {
                return Err(first.error(&format!("AUTH LOGIN as {user:?}")));
            }
            let second = self.command(&base64::encode(user.as_bytes()), "AUTH")?;
            if second.code != 334 {
                return Err(second.error(&format!("AUTH LOGIN as {user:?}")));
            }
            self.command(
                &base64::encode(credentials.password.expose().as_bytes()),
                "AUTH",
            )?
        } else {
            return Err(DeliveryError::permanent(format!(
                "the server offers AUTH {mechanisms} but neither PLAIN nor LOGIN"
            )));
        };
        if reply.code == 235 {
            Ok(())
        } else {
            Err(reply.error(&format!("AUTH as {user:?}")))
        }
    }

    /// Sends the message to every recipient, in as many transactions as the server's
    /// recipient limit needs (RFC 5321 §4.5.3.1.10: on 452 after some accepted recipients,
    /// deliver to those and go on with the rest in a new transaction).
    fn deliver(
        &mut self,
        envelope_from: &str,
        recipients: &[String],
        rfc822: &[u8],
    ) -> Result<DeliveryReport, DeliveryError> {
        let body = encode_data(rfc822);
        let mut mail = format!("MAIL FROM:<{envelope_from}>");
        if let Some(size) = self.extension("SIZE") {
            let limit = size.trim().parse::<u64>().unwrap_or(0);
            if limit > 0 && body.len() as u64 > limit {
                return Err(DeliveryError::permanent(format!(
                    "the message ({} bytes) exceeds the server's SIZE limit ({limit} bytes)",
                    body.len()
                )));
            }
            mail.push_str(&format!(" SIZE={}", body.len()));
        }
        if rfc822.iter().any(|b| *b >= 0x80) && self.extension("8BITMIME").is_some() {
            mail.push_str(" BODY=8BITMIME");
        }
        if !envelope_from.is_ascii() || recipients.iter().any(|r| !r.is_ascii()) {
            if self.extension("SMTPUTF8").is_none() {
                return Err(DeliveryError::permanent(
                    "an address is not ASCII and the server does not offer SMTPUTF8",
                ));
            }
            mail.push_str(" SMTPUTF8");
        }

        let mut report = DeliveryReport::default();
        let mut start = 0;
        while start < recipients.len() {
            let pending = &recipients[start..];
            match self.transaction(&mail, pending, &body) {
                Ok(batch) => {
                    report.accepted.extend(batch.accepted);
                    report.rejected.extend(batch.rejected);
                    start += batch.consumed.max(1);
                }
                Err(e) if report.accepted.is_empty() => return Err(e),
                Err(e) => {
                    // Earlier transactions delivered; this one failed for its recipients.
                    let refused: Vec<String> =
                        e.rejected.iter().map(|r| r.address.clone()).collect();
                    report.rejected.extend(e.rejected);
                    for address in pending {
                        if !refused.contains(address) {
                            report.rejected.push(RejectedRecipient {
                                address: address.clone(),
                                code: e.code.unwrap_or(0),
                                reply: e.message.clone(),
                                kind: e.kind,
                            });
                        }
                    }
                    break;
                }
            }
        }
        Ok(report)
    }

    fn transaction(
        &mut self,
        mail: &str,
        recipients: &[String],
        body: &[u8],
    ) -> Result<Batch, DeliveryError> {
        let reply = self.command(mail, "MAIL FROM")?;
        if reply.code != 250 {
            return Err(reply.error("MAIL FROM"));
        }
        let mut batch = Batch {
            accepted: Vec::new(),
            rejected: Vec::new(),
            consumed: 0,
        };
        for rcpt in recipients {
            if let Err(why) = check_address(rcpt) {
                batch.rejected.push(RejectedRecipient {
                    address: rcpt.clone(),
                    code: 0,
                    reply: format!("not sent: address {why}"),
                    kind: FailureKind::Permanent,
                });
                batch.consumed += 1;
                continue;
            }
            let reply = self.command(&format!("RCPT TO:<{rcpt}>"), "RCPT TO")?;
            if reply.code == 250 || reply.code == 251 {
                batch.accepted.push(rcpt.clone());
            } else if reply.code == 452 && !batch.accepted.is_empty() {
                // Too many recipients for one transaction: the rest go in the next one.
                break;
            } else {
                batch.rejected.push(RejectedRecipient {
                    address: rcpt.clone(),
                    code: reply.code,
                    reply: reply.text(),
                    kind: reply.kind(),
                });
            }
            batch.consumed += 1;
        }
        if batch.accepted.is_empty() {
            let _ = self.command("RSET", "RSET");
            let kind = if batch.rejected.iter().any(|r| r.kind.is_transient()) {
                FailureKind::Transient
            } else {
                FailureKind::Permanent
            };
            let detail: Vec<String> = batch
                .rejected
                .iter()
                .map(|r| format!("{} ({} {})", r.address, r.code, r.reply))
                .collect();
            return Err(DeliveryError {
                kind,
                code: batch.rejected.first().map(|r| r.code).filter(|c| *c != 0),
                message: format!("every recipient was refused: {}", detail.join("; ")),
                rejected: batch.rejected,
            });
        }

        let reply = self.command("DATA", "DATA")?;
        if reply.code != 354 {
            let mut e = reply.error("DATA");
            e.rejected = batch.rejected;
            return Err(e);
        }
        self.writer
            .write_all(body)
            .and_then(|_| self.writer.flush())
            .map_err(|e| io_error("sending the message", e))?;
        let reply = self.read_reply("end of DATA")?;
        if reply.code != 250 {
            let mut e = reply.error("end of DATA");
            e.rejected = batch.rejected;
            return Err(e);
        }
        Ok(batch)
    }

    /// Polite goodbye; the message is already accepted or already failed, so errors are moot.
    fn quit(&mut self) {
        // Don't wait a full timeout for a goodbye from a server that already stopped talking.
        let _ = self.writer.set_read_timeout(Some(Duration::from_secs(2)));
        if self.writer.write_all(b"QUIT\r\n").is_ok() {
            let _ = self.read_reply("QUIT");
        }
    }

    fn command(&mut self, line: &str, step: &str) -> Result<Reply, DeliveryError> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.writer
            .write_all(&bytes)
            .and_then(|_| self.writer.flush())
            .map_err(|e| io_error(step, e))?;
        self.read_reply(step)
    }

    fn read_reply(&mut self, step: &str) -> Result<Reply, DeliveryError> {
        let mut lines = Vec::new();
        let mut code = None;
        loop {
            if lines.len() >= MAX_REPLY_LINES {
                return Err(DeliveryError::permanent(format!(
                    "{step}: reply longer than {MAX_REPLY_LINES} lines"
                )));
            }
            let mut raw = Vec::new();
            let n = (&mut self.reader)
                .take(MAX_REPLY_LINE as u64 + 1)
                .read_until(b'\n', &mut raw)
                .map_err(|e| io_error(step, e))?;
            if n == 0 {
                return Err(DeliveryError::transient(format!(
                    "{step}: the server closed the connection"
                )));
            }
            if raw.last() != Some(&b'\n') {
                return Err(DeliveryError::permanent(format!(
                    "{step}: reply line longer than {MAX_REPLY_LINE} bytes"
                )));
            }
            let text = String::from_utf8_lossy(&raw);
            let text = text.trim_end_matches(['\r', '\n']);
            let (this_code, last, rest) = parse_reply_line(text).ok_or_else(|| {
                DeliveryError::permanent(format!(
                    "{step}: malformed reply line {:?}",
                    truncate(text, 80)
                ))
            })?;
            match code {
                None => code = Some(this_code),
                Some(c) if c != this_code => {
                    return Err(DeliveryError::permanent(format!(
                        "{step}: reply codes differ within one reply ({c}, {this_code})"
                    )))
                }
                Some(_) => {}
            }
            lines.push(rest.to_string());
            if last {
                return Ok(Reply {
                    code: this_code,
                    lines,
                });
            }
        }
    }
}

/// `"250-text"` → (250, false, "text"); `"250 text"` / `"250"` → (250, true, "text").
fn parse_reply_line(line: &str) -> Option<(u16, bool, &str)> {
    let bytes = line.as_bytes();
    if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code: u16 = line[..3].parse().ok()?;
    if !(200..600).contains(&code) && !(100..200).contains(&code) {
        return None;
    }
    match bytes.get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, &line[4..])),
        Some(b'-') => Some((code, false, &line[4..])),
        Some(_) => None,
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// An address we can put between `<` and `>` without changing the command's meaning.
fn check_address(address: &str) -> Result<(), &'static str> {
    if address.is_empty() {
        return Err("is empty");
    }
    if address
        .chars()
        .any(|c| c.is_control() || c == '<' || c == '>' || c == ' ')
    {
        return Err("contains a space, a control character or an angle bracket");
    }
    if !address.contains('@') {
        return Err("has no @");
    }
    Ok(())
}

/// The DATA payload: every line ending made CRLF (bare LF and bare CR included), a leading
/// `.` doubled (RFC 5321 §4.5.2), a final CRLF added when missing, then the `.` terminator.
pub(crate) fn encode_data(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < message.len() {
        let b = message[i];
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                // CRLF is one line ending, as is a lone CR or a lone LF.
                if b == b'\r' && message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_line_start = true;
            }
            _ => {
                if at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                at_line_start = false;
            }
        }
        i += 1;
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_dot_stuffed_and_crlf_normalised() {
        let input = b"A: b\n.hidden\r\n..two\rlast.\n.";
        let out = encode_data(input);
        assert_eq!(
            out,
            b"A: b\r\n..hidden\r\n...two\r\nlast.\r\n..\r\n.\r\n".to_vec()
        );
    }

    #[test]
    fn data_of_crlf_message_keeps_its_bytes() {
        let input = b"Subject: x\r\n\r\nbody\r\n";
        assert_eq!(
            encode_data(input),
            b"Subject: x\r\n\r\nbody\r\n.\r\n".to_vec()
        );
    }

    #[test]
    fn reply_lines_parse() {
        assert_eq!(
            parse_reply_line("250-PIPELINING"),
            Some((250, false, "PIPELINING"))
        );
        assert_eq!(parse_reply_line("250 OK"), Some((250, true, "OK")));
        assert_eq!(parse_reply_line("221"), Some((221, true, "")));
        assert_eq!(parse_reply_line("25"), None);
        assert_eq!(parse_reply_line("abc def"), None);
        assert_eq!(parse_reply_line("250xOK"), None);
        assert_eq!(parse_reply_line("999 no"), None);
    }

    #[test]
    fn addresses_that_would_inject_commands_are_refused() {
        assert!(check_address("a@b.example").is_ok());
        assert!(check_address("a@b>\r\nRCPT TO:<c@d").is_err());
        assert!(check_address("a b@c").is_err());
        assert!(check_address("").is_err());
        assert!(check_address("nobody").is_err());
    }
}
