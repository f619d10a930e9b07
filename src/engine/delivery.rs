//! How an update reaches the attendees: the `InviteDelivery` trait, with two implementations
//! (the embedded outbox table, the default, and SMTP, `super::smtp`).
//!
//! One call delivers one already-composed iMIP message (RFC 5322 bytes, Message-ID header
//! included) to a set of envelope recipients. The worker records the deterministic Message-ID
//! before calling `send`, so after a crash it re-sends the *same* message, never a new one.

use super::source::FailureKind;
use std::fmt;

/// One recipient the server would not take, and its reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedRecipient {
    pub address: String,
    /// SMTP reply code (e.g. 550, 452), 0 when the implementation has none.
    pub code: u16,
    pub reply: String,
    pub kind: FailureKind,
}

/// What happened to a message that was (at least partly) accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Recipients the server accepted the message for.
    pub accepted: Vec<String>,
    /// Recipients refused at RCPT TO; the message went to the others. The worker counts a
    /// transient refusal as a retry for that attendee and a permanent one as a failure.
    pub rejected: Vec<RejectedRecipient>,
    /// The row of the store's mail drop that holds the message, for a delivery into it (the
    /// worker's outbox record then references that copy instead of keeping its own).
    pub mail_drop_row: Option<i64>,
}

/// A failed delivery: nothing was accepted for anyone. The message never contains a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryError {
    pub kind: FailureKind,
    /// SMTP reply code when the server answered with one.
    pub code: Option<u16>,
    pub message: String,
    /// Per-recipient refusals seen before the transaction failed (e.g. every RCPT refused).
    pub rejected: Vec<RejectedRecipient>,
}

impl DeliveryError {
    pub fn transient(message: impl Into<String>) -> Self {
        DeliveryError {
            kind: FailureKind::Transient,
            code: None,
            message: message.into(),
            rejected: Vec::new(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            kind: FailureKind::Permanent,
            code: None,
            message: message.into(),
            rejected: Vec::new(),
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeliveryError {}

/// Sends composed iMIP messages.
pub trait InviteDelivery {
    /// Delivers `rfc822` (CRLF or LF line ends; implementations normalise as their transport
    /// needs) from envelope sender `envelope_from` to every address in `recipients`.
    /// `message_id` is the message's Message-ID (without angle brackets), for the outbox key and
    /// for messages; it must equal the header inside `rfc822`.
    ///
    /// `Ok` means the message was accepted for at least one recipient; per-recipient refusals
    /// are in the report. `Err` means it was accepted for nobody.
    fn send(
        &self,
        message_id: &str,
        envelope_from: &str,
        recipients: &[String],
        rfc822: &[u8],
    ) -> Result<DeliveryReport, DeliveryError>;

    /// Whether this delivery writes through `journal` itself (the same SQLite connection as the
    /// worker's outbox), so a delivery rolls back together with the outbox after a crash and
    /// the worker may commit many meetings at once. Never true for a transport that sends.
    fn commits_with(&self, _journal: &rusqlite::Connection) -> bool {
        false
    }
}
