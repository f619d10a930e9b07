//! Secrets for the transports (CalDAV, SMTP): a password type that never prints itself, and
//! the base64 both Basic auth and SMTP AUTH need.
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
        format!("Basic {}", base64_encode(&raw))
    }
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4).
pub(crate) fn base64_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity((input.len() + 2) / 3 * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, s) in sextets.iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(BASE64_ALPHABET[*s as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Reads an environment variable, treating unset, empty and non-UTF-8 alike as absent.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64_encode(plain.as_bytes()), encoded, "{plain}");
        }
    }

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
