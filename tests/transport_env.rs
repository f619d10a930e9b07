//! Transport configuration from the environment. One test function: the environment is
//! process-wide, so these checks run in sequence in their own test binary.

use mms::engine::caldav::{CalDavConfig, CalDavSource};
use mms::engine::smtp::{SmtpConfig, SmtpDelivery};
use std::time::Duration;

const SECRET: &str = "env-Secret-Value-42";

fn clear() {
    for v in [
        "MMS_CALDAV_URL",
        "MMS_CALDAV_USER",
        "MMS_CALDAV_PASSWORD",
        "MMS_CALDAV_HOME",
        "MMS_CALDAV_TIMEOUT_SECS",
        "MMS_SMTP_HOST",
        "MMS_SMTP_PORT",
        "MMS_SMTP_USER",
        "MMS_SMTP_PASSWORD",
        "MMS_SMTP_HELO",
        "MMS_SMTP_TIMEOUT_SECS",
    ] {
        std::env::remove_var(v);
    }
}

#[test]
fn configuration_from_environment() {
    clear();
    assert!(CalDavConfig::from_env().expect("ok").is_none());
    assert!(SmtpConfig::from_env().expect("ok").is_none());

    std::env::set_var("MMS_CALDAV_URL", "http://127.0.0.1:5232/");
    std::env::set_var("MMS_CALDAV_USER", "{localpart}");
    std::env::set_var("MMS_CALDAV_PASSWORD", SECRET);
    std::env::set_var("MMS_CALDAV_TIMEOUT_SECS", "7");
    let c = CalDavConfig::from_env().expect("ok").expect("configured");
    assert_eq!(c.base_url, "http://127.0.0.1:5232/");
    let creds = c.credentials.as_ref().expect("credentials");
    assert_eq!(creds.user, "{localpart}");
    assert_eq!(creds.password.expose(), SECRET);
    assert_eq!(c.timeout, Duration::from_secs(7));
    let source = CalDavSource::from_env().expect("ok").expect("configured");
    assert!(!format!("{c:?} {source:?}").contains(SECRET));

    std::env::set_var("MMS_CALDAV_TIMEOUT_SECS", "soon");
    assert!(CalDavConfig::from_env().is_err());
    std::env::remove_var("MMS_CALDAV_TIMEOUT_SECS");
    std::env::remove_var("MMS_CALDAV_USER");
    let e = CalDavConfig::from_env().expect_err("password without user");
    assert!(!format!("{e} {e:?}").contains(SECRET));
    std::env::set_var("MMS_CALDAV_URL", format!("http://u:{SECRET}@127.0.0.1/"));
    std::env::set_var("MMS_CALDAV_USER", "u");
    let e = CalDavSource::from_env().expect_err("user info in URL");
    assert!(!format!("{e} {e:?}").contains(SECRET));

    std::env::set_var("MMS_SMTP_HOST", "127.0.0.1");
    let s = SmtpConfig::from_env().expect("ok").expect("configured");
    assert_eq!(s.port, 25);
    assert!(s.credentials.is_none());
    std::env::set_var("MMS_SMTP_PORT", "2525");
    std::env::set_var("MMS_SMTP_USER", "mailer");
    std::env::set_var("MMS_SMTP_PASSWORD", SECRET);
    std::env::set_var("MMS_SMTP_HELO", "mms.contoso.com");
    std::env::set_var("MMS_SMTP_TIMEOUT_SECS", "9");
    let s = SmtpConfig::from_env().expect("ok").expect("configured");
    assert_eq!(s.port, 2525);
    assert_eq!(s.helo_name, "mms.contoso.com");
    assert_eq!(s.timeout, Duration::from_secs(9));
    assert_eq!(s.credentials.as_ref().expect("creds").user, "mailer");
    let d = SmtpDelivery::from_env().expect("ok").expect("configured");
    assert!(!format!("{s:?} {d:?}").contains(SECRET));
    std::env::set_var("MMS_SMTP_PORT", "99999");
    assert!(SmtpConfig::from_env().is_err());
    std::env::set_var("MMS_SMTP_PORT", "2525");
    std::env::remove_var("MMS_SMTP_USER");
    let e = SmtpConfig::from_env().expect_err("password without user");
    assert!(!format!("{e} {e:?}").contains(SECRET));
    clear();
}
