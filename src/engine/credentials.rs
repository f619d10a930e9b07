//! Secrets for the transports (CalDAV, SMTP): a password type that never prints itself, and
//! the Basic authorization header.
//!
//! Credentials come from configuration or the environment only. Every error and log line the
//! transports produce is built from our own words plus the server's reply text; a password is
//! only ever written onto the wire, encoded, inside the request that needs it.

use std::fmt;

/// A password or token. `Debug` and `Display` print `***`; the only way to the text is
/// [`Secret::expose`], which the transports call when they encode it for the wire.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret text, for encoding into a request. Never format this into a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

/// A user name and its password. The user name is not secret (it appears in messages such as
/// "authentication as X refused"); the password is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: Secret,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The `Authorization` header value for HTTP Basic auth (RFC 7617). It carries the
    /// password (encoded): send it, never print it.
    pub fn basic_authorization(&self) -> String {
        let mut raw = Vec::with_capacity(self.user.len() + 1 + self.password.0.len());
        raw.extend_from_slice(self.user.as_bytes());
        raw.push(b':');
        raw.extend_from_slice(self.password.0.as_bytes());
        format!("Basic {}", crate::calendar::base64::encode(&raw))
    }
}

/// Reads an environment variable, treating unset, empty and non-UTF-8 alike as absent.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_authorization_encodes_user_colon_password() {
        let c = Credentials::new("Aladdin", "open sesame");
        assert_eq!(
            c.basic_authorization(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn secret_never_formats_its_text() {
        let c = Credentials::new("alice", "hunter2-very-secret");
        for shown in [
            format!("{c:?}"),
            format!("{:?}", c.password),
            c.password.to_string(),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert!(format!("{c:?}").contains("alice"));
    }
}
