//! `CalDavSource`: the organizer's calendars on a CalDAV server (RFC 4791), over ureq.
//!
//! - Discovery: `PROPFIND <base> current-user-principal` → `PROPFIND <principal>
//!   calendar-home-set` → `PROPFIND <home>` Depth 1; a calendar is a collection whose
//!   resourcetype includes `C:calendar` and whose supported-calendar-component-set includes
//!   VEVENT (or is absent, which RFC 4791 §5.2.3 reads as "all").
//! - Candidates: `REPORT calendar-query` with `time-range start=<now>` on VEVENT and no end.
//!   The server matches expanded instances but returns whole resources; we never ask it to
//!   expand (`C:expand`) because we rewrite and store back the resource itself.
//! - `GET`, and `PUT` with `If-Match` holding the ETag exactly as received (Radicale compares
//!   literally). 412 (and 409) → [`PutOutcome::Conflict`]. A PUT answered without an ETag (the
//!   server changed our bytes, RFC 4791 §5.3.4) is followed by a GET for the new ETag.
//!
//! Configuration from the environment ([`CalDavConfig::from_env`]):
//! - `MMS_CALDAV_URL` (required to enable CalDAV): where discovery starts, e.g.
//!   `http://127.0.0.1:5232/`. No user name or password inside the URL (refused).
//! - `MMS_CALDAV_USER`, `MMS_CALDAV_PASSWORD`: Basic auth. The user may contain `{user}` (the
//!   organizer's address) or `{localpart}` (before the `@`) to log in as each organizer, as a
//!   server with trusted-proxy or per-user app passwords allows.
//! - `MMS_CALDAV_HOME`: optional calendar-home URL template (`{user}`, `{localpart}`,
//!   percent-encoded) that skips principal discovery: for a service account with delegated
//!   access to every organizer's calendar home.
//! - `MMS_CALDAV_TIMEOUT_SECS`: whole-request timeout (connect, send, read), default 60.
//!
//! Without `MMS_CALDAV_HOME` and without `{user}` in the login, discovery finds the calendars
//! of the logged-in account, whoever the organizer is: a single-mailbox setup.
//!
//! Limits: a multistatus body larger than [`DEFAULT_MAX_MULTISTATUS_BYTES`] (64 MiB) or one
//! object larger than [`DEFAULT_MAX_OBJECT_BYTES`] (16 MiB) is refused with a permanent error
//! (both configurable); XML nested deeper than [`MAX_XML_DEPTH`] is refused as malformed.
//! Credentials never appear in an error: messages are ours plus server text with the password
//! (and its Basic token) scrubbed.

use super::credentials::{env_var, Credentials};
use super::source::{
    CalendarObject, CalendarRef, CalendarSource, FailureKind, PutOutcome, SourceError,
};
use chrono::{DateTime, Utc};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

pub const DEFAULT_MAX_MULTISTATUS_BYTES: usize = 64 * 1024 * 1024;
pub const DEFAULT_MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;
/// multistatus/response/propstat/prop/x/y/z is 7; anything beyond 64 is not CalDAV.
pub const MAX_XML_DEPTH: usize = 64;
/// How much of an error response body we quote in a message.
const ERROR_BODY_QUOTE: usize = 300;

const NS_DAV: &[u8] = b"DAV:";
const NS_CALDAV: &[u8] = b"urn:ietf:params:xml:ns:caldav";

#[derive(Clone, Debug)]
pub struct CalDavConfig {
    /// Where discovery starts: `scheme://host[:port]/path`, no user info.
    pub base_url: String,
    /// Basic auth. `user` may hold `{user}` / `{localpart}` placeholders.
    pub credentials: Option<Credentials>,
    /// Calendar-home URL template that replaces principal discovery.
    pub home_template: Option<String>,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub max_multistatus_bytes: usize,
    pub max_object_bytes: usize,
}

impl CalDavConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        CalDavConfig {
            base_url: base_url.into(),
            credentials: None,
            home_template: None,
            timeout: Duration::from_secs(60),
            max_multistatus_bytes: DEFAULT_MAX_MULTISTATUS_BYTES,
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
        }
    }

    /// Reads the `MMS_CALDAV_*` variables (see the module documentation). `Ok(None)` when
    /// `MMS_CALDAV_URL` is unset: CalDAV is not configured.
    pub fn from_env() -> Result<Option<CalDavConfig>, SourceError> {
        let Some(url) = env_var("MMS_CALDAV_URL") else {
            return Ok(None);
        };
        let mut config = CalDavConfig::new(url);
        match (env_var("MMS_CALDAV_USER"), env_var("MMS_CALDAV_PASSWORD")) {
            (Some(user), password) => {
                config.credentials = Some(Credentials::new(user, password.unwrap_or_default()))
            }
            (None, None) => {}
            (None, Some(_)) => {
                return Err(SourceError::permanent(
                    "MMS_CALDAV_PASSWORD is set but MMS_CALDAV_USER is not",
                ))
            }
        }
        config.home_template = env_var("MMS_CALDAV_HOME");
        if let Some(t) = env_var("MMS_CALDAV_TIMEOUT_SECS") {
            let secs = t.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                SourceError::permanent(format!(
                    "MMS_CALDAV_TIMEOUT_SECS is not a positive number: {t:?}"
                ))
            })?;
            config.timeout = Duration::from_secs(secs);
        }
        Ok(Some(config))
    }
}

/// The origin (`scheme://authority`) and path of the base URL.
#[derive(Clone, Debug)]
struct BaseUrl {
    origin: String,
    path: String,
}

impl BaseUrl {
    fn parse(url: &str) -> Result<BaseUrl, SourceError> {
        let rest = url
            .strip_prefix("http://")
            .map(|r| ("http://", r))
            .or_else(|| url.strip_prefix("https://").map(|r| ("https://", r)));
        let Some((scheme, rest)) = rest else {
            return Err(SourceError::permanent(
                "the CalDAV URL must start with http:// or https://",
            ));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            // Never echo the URL: the part before '@' is a credential.
            return Err(SourceError::permanent(
                "the CalDAV URL contains user info; give the user and password separately",
            ));
        }
        if authority.is_empty() || authority.contains(|c: char| c.is_whitespace()) {
            return Err(SourceError::permanent("the CalDAV URL has no valid host"));
        }
        Ok(BaseUrl {
            origin: format!("{scheme}{authority}"),
            path: path.to_string(),
        })
    }

    /// An href from the server (absolute URL, absolute path or relative path) as a path on our
    /// origin. Another origin is refused: we would send it our credentials.
    fn path_of(&self, href: &str, relative_to: &str) -> Result<String, SourceError> {
        let href = href.trim();
        if href.starts_with("http://") || href.starts_with("https://") {
            let other = BaseUrl::parse(href)?;
            if !other.origin.eq_ignore_ascii_case(&self.origin) {
                return Err(SourceError::permanent(format!(
                    "the server pointed to another origin ({}); not following it",
                    other.origin
                )));
            }
            return Ok(other.path);
        }
        if href.starts_with('/') {
            return Ok(href.to_string());
        }
        if href.is_empty() || href.contains(|c: char| c.is_control() || c == ' ') {
            return Err(SourceError::permanent(format!(
                "malformed href {:?} in the server's response",
                truncate(href, 80)
            )));
        }
        let dir = match relative_to.rfind('/') {
            Some(i) => &relative_to[..=i],
            None => "/",
        };
        Ok(format!("{dir}{href}"))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.origin, path)
    }
}

/// A CalDAV account (or, with `{user}` in the login, a family of accounts).
pub struct CalDavSource {
    config: CalDavConfig,
    base: BaseUrl,
    agent: ureq::Agent,
    /// Calendar-home path → login used to discover it, so `get`/`put` on an href inside that
    /// home authenticate as the same account.
    homes: Mutex<Vec<(String, Option<Credentials>)>>,
}

impl std::fmt::Debug for CalDavSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalDavSource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// An HTTP response we read (status, ETag, bounded body).
struct HttpResponse {
    status: u16,
    etag: Option<String>,
    body: Vec<u8>,
}

impl CalDavSource {
    pub fn new(config: CalDavConfig) -> Result<CalDavSource, SourceError> {
        let base = BaseUrl::parse(&config.base_url)?;
        let agent = ureq::AgentBuilder::new()
            .timeout(config.timeout)
            .timeout_connect(config.timeout)
            // A redirect could take our Authorization header elsewhere; report it instead.
            .redirects(0)
            .user_agent(concat!("mms/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(CalDavSource {
            config,
            base,
            agent,
            homes: Mutex::new(Vec::new()),
        })
    }

    /// [`CalDavConfig::from_env`], then [`CalDavSource::new`].
    pub fn from_env() -> Result<Option<CalDavSource>, SourceError> {
        match CalDavConfig::from_env()? {
            Some(config) => Ok(Some(CalDavSource::new(config)?)),
            None => Ok(None),
        }
    }

    pub fn config(&self) -> &CalDavConfig {
        &self.config
    }

    fn login_for_user(&self, user: &str) -> Option<Credentials> {
        self.config.credentials.as_ref().map(|c| Credentials {
            user: substitute(&c.user, user, false),
            password: c.password.clone(),
        })
    }

    fn login_for_path(&self, path: &str) -> Result<Option<Credentials>, SourceError> {
        let homes = self.homes.lock().unwrap_or_else(|p| p.into_inner());
        let best = homes
            .iter()
            .filter(|(home, _)| path.starts_with(home.as_str()))
            .max_by_key(|(home, _)| home.len());
        if let Some((_, login)) = best {
            return Ok(login.clone());
        }
        match &self.config.credentials {
            Some(c) if has_placeholder(&c.user) => Err(SourceError::permanent(format!(
                "no known calendar home holds {path:?}; list the user's calendars first"
            ))),
            other => Ok(other.clone()),
        }
    }

    fn remember_home(&self, home: &str, login: &Option<Credentials>) {
        let mut homes = self.homes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = homes.iter_mut().find(|(h, _)| h == home) {
            entry.1 = login.clone();
        } else {
            homes.push((home.to_string(), login.clone()));
        }
    }

    /// Replaces the password and its Basic token in server-supplied text.
    fn scrub(&self, text: &str, login: &Option<Credentials>) -> String {
        let mut out = text.to_string();
        for c in login.iter().chain(self.config.credentials.iter()) {
            let secret = c.password.expose();
            if !secret.is_empty() {
                out = out.replace(secret, "***");
                let token = c.basic_authorization();
                if let Some(t) = token.strip_prefix("Basic ") {
                    out = out.replace(t, "***");
                }
            }
        }
        out
    }

    /// One request with a bounded body. Statuses are returned, not errors: the caller decides
    /// which ones it expects. Transport failures are transient errors.
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        limit: usize,
        login: &Option<Credentials>,
    ) -> Result<HttpResponse, SourceError> {
        let url = self.base.url(path);
        let what = format!("{method} {path}");
        let mut req = self.agent.request(method, &url);
        for (name, value) in headers {
            req = req.set(name, value);
        }
        if let Some(c) = login {
            req = req.set("Authorization", &c.basic_authorization());
        }
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                let detail = match t.message() {
                    Some(m) => format!("{}: {}", t.kind(), self.scrub(m, login)),
                    None => t.kind().to_string(),
                };
                let kind = match t.kind() {
                    ureq::ErrorKind::InvalidUrl
                    | ureq::ErrorKind::UnknownScheme
                    | ureq::ErrorKind::InsecureRequestHttpsOnly
                    | ureq::ErrorKind::InvalidProxyUrl
                    | ureq::ErrorKind::BadStatus
                    | ureq::ErrorKind::BadHeader => FailureKind::Permanent,
                    _ => FailureKind::Transient,
                };
                return Err(SourceError {
                    kind,
                    status: None,
                    message: format!("CalDAV {what}: {detail}"),
                });
            }
        };
        let status = response.status();
        let etag = response.header("ETag").map(|e| e.trim().to_string());
        let success = (200..300).contains(&status);
        if success {
            if let Some(len) = response
                .header("Content-Length")
                .and_then(|l| l.trim().parse::<u64>().ok())
            {
                if len > limit as u64 {
                    return Err(too_large(&what, limit));
                }
            }
        }
        // Error bodies are only quoted, so read a little of them.
        let cap = if success { limit } else { ERROR_BODY_QUOTE * 4 };
        let mut body = Vec::new();
        let read = response
            .into_reader()
            .take(cap as u64 + 1)
            .read_to_end(&mut body);
        if let Err(e) = read {
            return Err(SourceError::transient(format!(
                "CalDAV {what}: reading the response: {}",
                self.scrub(&e.to_string(), login)
            )));
        }
        if success && body.len() > limit {
            return Err(too_large(&what, limit));
        }
        Ok(HttpResponse { status, etag, body })
    }

    /// An error for a status the operation did not expect, quoting the start of the body.
    fn unexpected(
        &self,
        what: &str,
        response: &HttpResponse,
        login: &Option<Credentials>,
    ) -> SourceError {
        let quoted = String::from_utf8_lossy(&response.body);
        let quoted = truncate(quoted.trim(), ERROR_BODY_QUOTE);
        let mut message = format!("CalDAV {what}: HTTP {}", response.status);
        if !quoted.is_empty() {
            message.push_str(": ");
            message.push_str(&self.scrub(quoted, login));
        }
        if response.status == 401 {
            if let Some(c) = login {
                message.push_str(&format!(" (logged in as {:?})", c.user));
            }
        }
        SourceError::from_status(response.status, message)
    }

    fn propfind(
        &self,
        path: &str,
        depth: &str,
        props: &str,
        login: &Option<Credentials>,
    ) -> Result<Vec<DavResponse>, SourceError> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
             <d:propfind xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
             <d:prop>{props}</d:prop></d:propfind>"
        );
        let what = format!("PROPFIND {path}");
        let response = self.request(
            "PROPFIND",
            path,
            &[
                ("Depth", depth),
                ("Content-Type", "application/xml; charset=utf-8"),
            ],
            Some(body.as_bytes()),
            self.config.max_multistatus_bytes,
            login,
        )?;
        if response.status != 207 {
            return Err(self.unexpected(&what, &response, login));
        }
        parse_multistatus(&response.body)
            .map_err(|e| SourceError::permanent(format!("CalDAV {what}: {e}")))
    }

    fn calendar_homes(
        &self,
        user: &str,
        login: &Option<Credentials>,
    ) -> Result<Vec<String>, SourceError> {
        if let Some(template) = &self.config.home_template {
            let url = substitute(template, user, true);
            return Ok(vec![self.base.path_of(&url, &self.base.path)?]);
        }
        let base_path = self.base.path.clone();
        let found = self.propfind(&base_path, "0", "<d:current-user-principal/>", login)?;
        let principal = found
            .iter()
            .find_map(|r| r.current_user_principal.clone())
            .ok_or_else(|| {
                SourceError::permanent(format!(
                    "CalDAV PROPFIND {base_path}: the server named no current-user-principal \
                     (not logged in?)"
                ))
            })?;
        let principal = self.base.path_of(&principal, &base_path)?;
        let found = self.propfind(&principal, "0", "<c:calendar-home-set/>", login)?;
        let mut homes = Vec::new();
        for href in found.iter().flat_map(|r| r.calendar_home_set.iter()) {
            let path = self.base.path_of(href, &principal)?;
            if !homes.contains(&path) {
                homes.push(path);
            }
        }
        if homes.is_empty() {
            return Err(SourceError::permanent(format!(
                "CalDAV PROPFIND {principal}: the principal has no calendar-home-set"
            )));
        }
        Ok(homes)
    }

    /// The object at `path` via GET, `None` on 404/410.
    fn fetch(
        &self,
        path: &str,
        login: &Option<Credentials>,
    ) -> Result<Option<CalendarObject>, SourceError> {
        let what = format!("GET {path}");
        let response = self.request(
            "GET",
            path,
            &[("Accept", "text/calendar")],
            None,
            self.config.max_object_bytes,
            login,
        )?;
        match response.status {
            200 => {
                let etag = response.etag.ok_or_else(|| {
                    SourceError::permanent(format!(
                        "CalDAV {what}: the server sent no ETag, so the object cannot be \
                         updated safely"
                    ))
                })?;
                Ok(Some(CalendarObject {
                    href: path.to_string(),
                    etag,
                    data: response.body,
                }))
            }
            404 | 410 => Ok(None),
            _ => Err(self.unexpected(&what, &response, login)),
        }
    }
}

impl CalendarSource for CalDavSource {
    fn calendars(&self, user: &str) -> Result<Vec<CalendarRef>, SourceError> {
        let login = self.login_for_user(user);
        let homes = self.calendar_homes(user, &login)?;
        let mut calendars = Vec::new();
        for home in homes {
            self.remember_home(&home, &login);
            let found = self.propfind(
                &home,
                "1",
                "<d:resourcetype/><d:displayname/><c:supported-calendar-component-set/>",
                &login,
            )?;
            for r in found {
                let supports_events = match &r.supported_components {
                    None => true,
                    Some(comps) => comps.iter().any(|c| c.eq_ignore_ascii_case("VEVENT")),
                };
                if !(r.is_calendar && supports_events) {
                    continue;
                }
                let path = self.base.path_of(&r.href, &home)?;
                if calendars.iter().any(|c: &CalendarRef| c.id == path) {
                    continue;
                }
                // A calendar outside the home we asked about still belongs to this login.
                if !path.starts_with(&home) {
                    self.remember_home(&path, &login);
                }
                calendars.push(CalendarRef {
                    id: path,
                    display_name: r.display_name,
                });
            }
        }
        Ok(calendars)
    }

    fn list_future_objects(
        &self,
        calendar: &CalendarRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<CalendarObject>, SourceError> {
        let path = self.base.path_of(&calendar.id, &self.base.path)?;
        let login = self.login_for_path(&path)?;
        let start = now.format("%Y%m%dT%H%M%SZ");
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
             <c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
             <d:prop><d:getetag/><c:calendar-data/></d:prop>\
             <c:filter><c:comp-filter name=\"VCALENDAR\"><c:comp-filter name=\"VEVENT\">\
             <c:time-range start=\"{start}\"/>\
             </c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"
        );
        let what = format!("REPORT {path}");
        let response = self.request(
            "REPORT",
            &path,
            &[
                ("Depth", "1"),
                ("Content-Type", "application/xml; charset=utf-8"),
            ],
            Some(body.as_bytes()),
            self.config.max_multistatus_bytes,
            &login,
        )?;
        if response.status != 207 {
            return Err(self.unexpected(&what, &response, &login));
        }
        let found = parse_multistatus(&response.body)
            .map_err(|e| SourceError::permanent(format!("CalDAV {what}: {e}")))?;
        let mut objects = Vec::new();
        for r in found {
            let href = self.base.path_of(&r.href, &path)?;
            if href == path || r.status.is_some_and(|s| !(200..300).contains(&s)) {
                continue;
            }
            match (r.etag, r.calendar_data) {
                (Some(etag), Some(data)) if !data.trim().is_empty() => {
                    if data.len() > self.config.max_object_bytes {
                        return Err(too_large(
                            &format!("{what} ({href})"),
                            self.config.max_object_bytes,
                        ));
                    }
                    objects.push(CalendarObject {
                        href,
                        etag,
                        data: data.into_bytes(),
                    })
                }
                // The server left something out: ask for the object itself.
                _ => {
                    if let Some(o) = self.fetch(&href, &login)? {
                        objects.push(o);
                    }
                }
            }
        }
        Ok(objects)
    }

    fn get(&self, href: &str) -> Result<Option<CalendarObject>, SourceError> {
        let path = self.base.path_of(href, &self.base.path)?;
        let login = self.login_for_path(&path)?;
        self.fetch(&path, &login)
    }

    fn put(&self, href: &str, data: &[u8], if_match: &str) -> Result<PutOutcome, SourceError> {
        let path = self.base.path_of(href, &self.base.path)?;
        let login = self.login_for_path(&path)?;
        if if_match.contains(['\r', '\n']) {
            return Err(SourceError::permanent(format!(
                "CalDAV PUT {path}: the ETag contains a line break"
            )));
        }
        let what = format!("PUT {path}");
        let response = self.request(
            "PUT",
            &path,
            &[
                ("If-Match", if_match),
                ("Content-Type", "text/calendar; charset=utf-8"),
            ],
            Some(data),
            ERROR_BODY_QUOTE * 4,
            &login,
        )?;
        match response.status {
            200 | 201 | 204 => match response.etag {
                Some(etag) => Ok(PutOutcome::Stored { etag }),
                None => match self.fetch(&path, &login)? {
                    Some(o) => Ok(PutOutcome::Stored { etag: o.etag }),
                    None => Err(SourceError::transient(format!(
                        "CalDAV {what}: stored, but the object is gone when read back"
                    ))),
                },
            },
            409 | 412 => Ok(PutOutcome::Conflict),
            _ => Err(self.unexpected(&what, &response, &login)),
        }
    }
}

fn too_large(what: &str, limit: usize) -> SourceError {
    SourceError::permanent(format!(
        "CalDAV {what}: the response is larger than the {limit}-byte limit"
    ))
}

fn has_placeholder(s: &str) -> bool {
    s.contains("{user}") || s.contains("{localpart}")
}

/// Replaces `{user}` and `{localpart}`; percent-encodes them for use in a URL path.
fn substitute(template: &str, user: &str, for_url: bool) -> String {
    let localpart = user.split('@').next().unwrap_or(user);
    let enc = |s: &str| {
        if for_url {
            percent_encode_segment(s)
        } else {
            s.to_string()
        }
    };
    template
        .replace("{user}", &enc(user))
        .replace("{localpart}", &enc(localpart))
}

fn percent_encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// What we read from one `D:response` (only from propstats with a 2xx status).
#[derive(Debug, Default)]
struct DavResponse {
    href: String,
    /// `D:response/D:status`, when the response has one instead of propstats.
    status: Option<u16>,
    etag: Option<String>,
    calendar_data: Option<String>,
    display_name: Option<String>,
    is_calendar: bool,
    supported_components: Option<Vec<String>>,
    current_user_principal: Option<String>,
    calendar_home_set: Vec<String>,
}

/// One propstat's values, kept until its status says whether they count.
#[derive(Debug, Default)]
struct PropValues {
    status: Option<u16>,
    etag: Option<String>,
    calendar_data: Option<String>,
    display_name: Option<String>,
    is_calendar: bool,
    supported_components: Option<Vec<String>>,
    current_user_principal: Option<String>,
    calendar_home_set: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ns {
    Dav,
    CalDav,
    Other,
}

/// Element names we care about; the rest are `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Multistatus,
    Response,
    Href,
    Status,
    Propstat,
    Prop,
    GetEtag,
    DisplayName,
    ResourceType,
    CurrentUserPrincipal,
    CalendarData,
    Calendar,
    CalendarHomeSet,
    SupportedComponents,
    Comp,
    Other,
}

fn tag_of(ns: Ns, local: &[u8]) -> Tag {
    match (ns, local) {
        (Ns::Dav, b"multistatus") => Tag::Multistatus,
        (Ns::Dav, b"response") => Tag::Response,
        (Ns::Dav, b"href") => Tag::Href,
        (Ns::Dav, b"status") => Tag::Status,
        (Ns::Dav, b"propstat") => Tag::Propstat,
        (Ns::Dav, b"prop") => Tag::Prop,
        (Ns::Dav, b"getetag") => Tag::GetEtag,
        (Ns::Dav, b"displayname") => Tag::DisplayName,
        (Ns::Dav, b"resourcetype") => Tag::ResourceType,
        (Ns::Dav, b"current-user-principal") => Tag::CurrentUserPrincipal,
        (Ns::CalDav, b"calendar-data") => Tag::CalendarData,
        (Ns::CalDav, b"calendar") => Tag::Calendar,
        (Ns::CalDav, b"calendar-home-set") => Tag::CalendarHomeSet,
        (Ns::CalDav, b"supported-calendar-component-set") => Tag::SupportedComponents,
        (Ns::CalDav, b"comp") => Tag::Comp,
        _ => Tag::Other,
    }
}

fn ns_of(resolved: &ResolveResult) -> Ns {
    match resolved {
        ResolveResult::Bound(ns) if ns.as_ref() == NS_DAV => Ns::Dav,
        ResolveResult::Bound(ns) if ns.as_ref() == NS_CALDAV => Ns::CalDav,
        _ => Ns::Other,
    }
}

/// `HTTP/1.1 200 OK` → 200.
fn parse_status_line(s: &str) -> Option<u16> {
    let mut parts = s.split_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    parts
        .next()?
        .parse()
        .ok()
        .filter(|c| (100..600).contains(c))
}

/// Parses a `D:multistatus` body, namespace-aware (any prefixes, default namespaces).
/// Streaming: memory stays proportional to the values kept, not to the element count.
fn parse_multistatus(body: &[u8]) -> Result<Vec<DavResponse>, String> {
    let text = std::str::from_utf8(body)
        .map_err(|e| format!("the multistatus is not UTF-8 (byte {})", e.valid_up_to()))?;
    let mut reader = NsReader::from_str(text);
    reader.expand_empty_elements(true).check_end_names(true);
    let mut stack: Vec<Tag> = Vec::new();
    let mut saw_root = false;
    let mut responses = Vec::new();
    let mut response: Option<DavResponse> = None;
    let mut props: Option<PropValues> = None;
    let mut text_buf = String::new();
    let malformed = |reader: &NsReader<&[u8]>, why: String| {
        format!(
            "malformed multistatus near byte {}: {why}",
            reader.buffer_position()
        )
    };
    loop {
        let position = reader.buffer_position();
        let (ns, event) = match reader.read_resolved_event() {
            Ok((resolved, event)) => (ns_of(&resolved), event),
            Err(e) => return Err(format!("malformed multistatus near byte {position}: {e}")),
        };
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(malformed(
                        &reader,
                        format!("nested deeper than {MAX_XML_DEPTH}"),
                    ));
                }
                let tag = tag_of(ns, e.local_name().as_ref());
                let parent = stack.last().copied();
                if stack.is_empty() {
                    if saw_root || tag != Tag::Multistatus {
                        return Err(malformed(&reader, "the root is not D:multistatus".into()));
                    }
                    saw_root = true;
                }
                match (parent, tag) {
                    (Some(Tag::Multistatus), Tag::Response) => {
                        response = Some(DavResponse::default())
                    }
                    (Some(Tag::Response), Tag::Propstat) => props = Some(PropValues::default()),
                    (Some(Tag::ResourceType), Tag::Calendar) => {
                        if let Some(p) = props.as_mut() {
                            p.is_calendar = true;
                        }
                    }
                    (Some(Tag::Prop), Tag::SupportedComponents) => {
                        if let Some(p) = props.as_mut() {
                            p.supported_components.get_or_insert_with(Vec::new);
                        }
                    }
                    (Some(Tag::SupportedComponents), Tag::Comp) => {
                        let name = e
                            .try_get_attribute("name")
                            .map_err(|e| malformed(&reader, e.to_string()))?
                            .map(|a| a.unescape_value().map(|v| v.into_owned()))
                            .transpose()
                            .map_err(|e| malformed(&reader, e.to_string()))?;
                        if let (Some(p), Some(name)) = (props.as_mut(), name) {
                            p.supported_components
                                .get_or_insert_with(Vec::new)
                                .push(name);
                        }
                    }
                    _ => {}
                }
                text_buf.clear();
                stack.push(tag);
            }
            Event::End(_) => {
                let Some(tag) = stack.pop() else {
                    return Err(malformed(&reader, "unbalanced end tag".into()));
                };
                let parent = stack.last().copied();
                let grandparent = stack.len().checked_sub(2).map(|i| stack[i]);
                let value = std::mem::take(&mut text_buf);
                match (grandparent, parent, tag) {
                    (_, Some(Tag::Response), Tag::Href) => {
                        if let Some(r) = response.as_mut() {
                            r.href = value.trim().to_string();
                        }
                    }
                    (_, Some(Tag::Response), Tag::Status) => {
                        if let Some(r) = response.as_mut() {
                            r.status =
                                Some(parse_status_line(&value).ok_or_else(|| {
                                    malformed(&reader, "bad response status".into())
                                })?);
                        }
                    }
                    (_, Some(Tag::Propstat), Tag::Status) => {
                        if let Some(p) = props.as_mut() {
                            p.status =
                                Some(parse_status_line(&value).ok_or_else(|| {
                                    malformed(&reader, "bad propstat status".into())
                                })?);
                        }
                    }
                    (_, Some(Tag::Prop), Tag::GetEtag) => {
                        if let Some(p) = props.as_mut() {
                            p.etag = Some(value.trim().to_string()).filter(|v| !v.is_empty());
                        }
                    }
                    (_, Some(Tag::Prop), Tag::CalendarData) => {
                        if let Some(p) = props.as_mut() {
                            p.calendar_data = Some(value);
                        }
                    }
                    (_, Some(Tag::Prop), Tag::DisplayName) => {
                        if let Some(p) = props.as_mut() {
                            p.display_name = Some(value);
                        }
                    }
                    (Some(Tag::Prop), Some(Tag::CurrentUserPrincipal), Tag::Href) => {
                        if let Some(p) = props.as_mut() {
                            p.current_user_principal = Some(value.trim().to_string());
                        }
                    }
                    (Some(Tag::Prop), Some(Tag::CalendarHomeSet), Tag::Href) => {
                        if let Some(p) = props.as_mut() {
                            p.calendar_home_set.push(value.trim().to_string());
                        }
                    }
                    (_, Some(Tag::Response), Tag::Propstat) => {
                        if let (Some(r), Some(p)) = (response.as_mut(), props.take()) {
                            // A propstat without status, or with a 2xx one, carries values.
                            if p.status.map_or(true, |s| (200..300).contains(&s)) {
                                merge(r, p);
                            }
                        }
                    }
                    (_, Some(Tag::Multistatus), Tag::Response) => {
                        if let Some(r) = response.take() {
                            if r.href.is_empty() {
                                return Err(malformed(&reader, "a response has no href".into()));
                            }
                            responses.push(r);
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) if collects_text(stack.last().copied()) => {
                let unescaped = t
                    .unescape()
                    .map_err(|e| malformed(&reader, e.to_string()))?;
                text_buf.push_str(&unescaped);
            }
            Event::CData(c) if collects_text(stack.last().copied()) => {
                let raw = c.into_inner();
                let s = std::str::from_utf8(&raw)
                    .map_err(|_| malformed(&reader, "CDATA is not UTF-8".into()))?;
                text_buf.push_str(s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(malformed(
            &reader,
            "the document ends inside an element".into(),
        ));
    }
    if !saw_root {
        return Err("the body is not a multistatus document".to_string());
    }
    Ok(responses)
}

fn collects_text(tag: Option<Tag>) -> bool {
    matches!(
        tag,
        Some(Tag::Href | Tag::Status | Tag::GetEtag | Tag::CalendarData | Tag::DisplayName)
    )
}

fn merge(r: &mut DavResponse, p: PropValues) {
    r.etag = r.etag.take().or(p.etag);
    r.calendar_data = r.calendar_data.take().or(p.calendar_data);
    r.display_name = r.display_name.take().or(p.display_name);
    r.is_calendar |= p.is_calendar;
    if p.supported_components.is_some() {
        r.supported_components = p.supported_components;
    }
    r.current_user_principal = r.current_user_principal.take().or(p.current_user_principal);
    r.calendar_home_set.extend(p.calendar_home_set);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multistatus_with_unusual_prefixes_and_default_namespace() {
        let body = br#"<?xml version="1.0"?>
<A:multistatus xmlns:A="DAV:" xmlns:cal="urn:ietf:params:xml:ns:caldav">
 <A:response><A:href>/u/cal/a.ics</A:href>
  <A:propstat><A:prop><A:getetag>"abc"</A:getetag>
   <cal:calendar-data><![CDATA[BEGIN:VCALENDAR
END:VCALENDAR
]]></cal:calendar-data></A:prop><A:status>HTTP/1.1 200 OK</A:status></A:propstat>
 </A:response>
 <response xmlns="DAV:"><href>/u/cal/</href>
  <propstat><prop><resourcetype><collection/><C:calendar xmlns:C="urn:ietf:params:xml:ns:caldav"/></resourcetype>
   <C:supported-calendar-component-set xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp name="VTODO"/><C:comp name="VEVENT"/></C:supported-calendar-component-set>
   <displayname>Work &amp; more</displayname></prop>
   <status>HTTP/1.1 200 OK</status></propstat>
  <propstat><prop><getetag>"ignored"</getetag></prop><status>HTTP/1.1 404 Not Found</status></propstat>
 </response>
</A:multistatus>"#;
        let r = parse_multistatus(body).expect("parses");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].href, "/u/cal/a.ics");
        assert_eq!(r[0].etag.as_deref(), Some("\"abc\""));
        assert_eq!(
            r[0].calendar_data.as_deref(),
            Some("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
        );
        assert!(r[1].is_calendar);
        assert_eq!(r[1].etag, None);
        assert_eq!(r[1].display_name.as_deref(), Some("Work & more"));
        assert_eq!(
            r[1].supported_components.as_deref(),
            Some(&["VTODO".to_string(), "VEVENT".to_string()][..])
        );
    }

    #[test]
    fn calendar_in_another_namespace_is_not_a_calendar() {
        let body = br#"<d:multistatus xmlns:d="DAV:" xmlns:x="urn:example"><d:response><d:href>/a/</d:href>
<d:propstat><d:prop><d:resourcetype><x:calendar/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;
        let r = parse_multistatus(body).expect("parses");
        assert!(!r[0].is_calendar);
    }

    #[test]
    fn malformed_multistatus_bodies_are_errors() {
        let deep = format!(
            "<d:multistatus xmlns:d=\"DAV:\">{}",
            "<d:x>".repeat(MAX_XML_DEPTH + 5)
        );
        let cases: Vec<&[u8]> = vec![
            b"",
            b"not xml at all",
            b"<html><body>oops</body></html>",
            b"<d:multistatus xmlns:d=\"DAV:\"><d:response><d:href>/a</d:href>",
            b"<d:multistatus xmlns:d=\"DAV:\"><d:response></d:wrong></d:multistatus>",
            b"<d:multistatus xmlns:d=\"DAV:\"><d:response><d:propstat/></d:response></d:multistatus>",
            b"<d:multistatus xmlns:d=\"DAV:\"><d:response><d:href>&bogus;</d:href></d:response></d:multistatus>",
            b"\xff\xfe<d:multistatus/>",
            deep.as_bytes(),
        ];
        for body in cases {
            assert!(
                parse_multistatus(body).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn hrefs_resolve_on_our_origin_only() {
        let base = BaseUrl::parse("http://127.0.0.1:5232/dav/").expect("url");
        assert_eq!(base.path_of("/a/b/", "/dav/").unwrap(), "/a/b/");
        assert_eq!(base.path_of("x.ics", "/a/b/").unwrap(), "/a/b/x.ics");
        assert_eq!(
            base.path_of("http://127.0.0.1:5232/a/", "/").unwrap(),
            "/a/"
        );
        assert!(base.path_of("http://evil.example/a/", "/").is_err());
        assert!(BaseUrl::parse("http://user:pw@host/").is_err());
        assert!(BaseUrl::parse("ftp://host/").is_err());
    }

    #[test]
    fn user_placeholders_are_substituted() {
        assert_eq!(
            substitute("http://h/{localpart}/", "a.b@contoso.com", true),
            "http://h/a.b/"
        );
        assert_eq!(
            substitute("http://h/{user}/", "a b@c.com", true),
            "http://h/a%20b@c.com/"
        );
        assert_eq!(substitute("{user}", "a b@c.com", false), "a b@c.com");
    }
}
