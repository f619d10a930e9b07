//! A large tenant for the worker benches: users cloned from the sample tenant's online Teams
//! users (Microsoft audio conferencing, mailbox in Exchange Online: the ones a conference ID
//! change migrates), each organizing `n` future meetings built from the sample tenant's
//! Outlook-shaped single meetings and series with an override.

use chrono::{DateTime, Utc};
use mms::engine::sample::{sample_calendar, sample_tenant, SampleKind, SampleTenant};
use mms::engine::Engine;
use mms::model::{MailboxLocation, MeetingKind, SourceMeetingType, TargetMeetingType, User};
use uuid::Uuid;

const BENCH_NAMESPACE: Uuid = Uuid::from_u128(0x6d6d732d_6265_6e63_682d_6d6967726174);

/// One generated calendar object.
pub struct Invitation {
    pub file_name: String,
    pub uid: String,
    pub data: Vec<u8>,
}

/// The sample tenant (bridges) and `users` bench users.
pub fn bench_tenant(users: usize) -> (SampleTenant, Vec<User>) {
    let tenant = sample_tenant();
    let bases: Vec<&User> = tenant
        .users
        .iter()
        .filter(|u| {
            u.meeting_kind == MeetingKind::Teams
                && u.audio_conferencing_enabled
                && u.mailbox_location == MailboxLocation::ExchangeOnline
        })
        .collect();
    let people = (0..users)
        .map(|k| {
            let mut u = bases[k % bases.len()].clone();
            u.object_id = Uuid::new_v5(&BENCH_NAMESPACE, format!("user-{k}").as_bytes());
            u.user_principal_name = format!("user{k:05}@contoso.com");
            u.sip_address = u.user_principal_name.clone();
            u.display_name = format!("Bench User {k:05}");
            u.conference_id = format!("{}", 100_000_000 + k);
            u
        })
        .collect();
    (tenant, people)
}

/// `n` future meetings organized by `user`, with distinct UIDs, without the HTML body (see
/// [`without_html_body`]).
pub fn invitations(
    user: &User,
    tenant: &SampleTenant,
    n: usize,
    now: DateTime<Utc>,
) -> Vec<Invitation> {
    let colleagues: Vec<&User> = tenant.users.iter().collect();
    let templates: Vec<_> = sample_calendar(user, tenant, &colleagues, now)
        .into_iter()
        .filter(|m| {
            matches!(
                m.kind,
                SampleKind::FutureSingle | SampleKind::RecurringWithOverride
            )
        })
        .collect();
    assert!(!templates.is_empty(), "no future meeting template");
    (0..n)
        .map(|i| {
            let t = &templates[i % templates.len()];
            // Same length as the template's UID (its last 8 hex digits number the meeting), so
            // line folding is unchanged.
            let uid = format!("{}{:08X}", &t.uid[..t.uid.len() - 8], i);
            Invitation {
                file_name: format!("{i:03}.ics"),
                data: without_html_body(&t.data)
                    .replace(&t.uid, &uid)
                    .into_bytes(),
                uid,
            }
        })
        .collect()
}

/// The invitation without its X-ALT-DESC (HTML copy of the body): a few KB, the size of a
/// typical Teams invitation as a CalDAV server or an .ics export holds it.
fn without_html_body(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.split_inclusive("\r\n") {
        if !(line.starts_with(' ') || line.starts_with('\t')) {
            skipping = line.starts_with("X-ALT-DESC");
        }
        if !skipping {
            out.push_str(line);
        }
    }
    out
}

/// Provisions the bridges and `users` through the engine, each with a new conference ID (the
/// meetings from [`invitations`] still carry the old one).
pub fn provision(engine: &Engine, tenant: &SampleTenant, users: &[User]) {
    for b in &tenant.bridges {
        engine.upsert_bridge(b.clone()).expect("bridge");
    }
    for (k, u) in users.iter().enumerate() {
        let mut moved = u.clone();
        moved.conference_id = format!("{}", 500_000_000 + k);
        engine.upsert_user(moved).expect("user");
    }
}

/// `Start-CsExMeetingMigration` for every user: one job each. (Not one
/// `Set-CsOnlineDialInConferencingUser -ConferenceId` per user: that checks the new ID against
/// every user on the bridge, which is quadratic over a 10,000-user tenant.)
pub fn start_migrations(engine: &Engine, users: &[User]) {
    for u in users {
        engine
            .start_migration(
                &u.user_principal_name,
                SourceMeetingType::All,
                TargetMeetingType::Current,
            )
            .expect("start migration");
    }
}
