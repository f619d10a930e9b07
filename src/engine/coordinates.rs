//! A user's meeting coordinates: what the new online-meeting block shows for them.
//!
//! Derived, never stored: from the user (kind, conference ID, own numbers), their bridge (default
//! numbers, cities) and their licence/provider state. The join URL is a stable function of the
//! user, so deriving twice gives the same block and a re-run finds meetings already up to date.

use crate::model::{
    AudioConferencingProvider, Bridge, DialInNumber, MeetingCoordinates, MeetingKind,
    ServiceNumberType, User,
};
use uuid::Uuid;

/// Namespace for the per-user meeting tokens (a fixed random UUID).
const MEETING_TOKEN_NAMESPACE: Uuid = Uuid::from_u128(0x5b1f_93a4_6c0e_4d8b_9a57_1e2c_3d4f_6a7b);

/// Does this user get dial-in information in their meetings?
pub fn has_dial_in(user: &User, bridge: Option<&Bridge>) -> bool {
    user.audio_conferencing_licensed
        && user.audio_conferencing_enabled
        && user.provider == AudioConferencingProvider::Microsoft
        && bridge.is_some()
        && !user.conference_id.is_empty()
}

/// The number a user dials in with for one type: their own if set, else the bridge default.
fn dial_in_number(
    user_number: Option<&String>,
    bridge: &Bridge,
    number_type: ServiceNumberType,
) -> Option<DialInNumber> {
    let on_bridge = bridge
        .service_numbers
        .iter()
        .filter(|n| n.number_type == number_type);
    let chosen = match user_number {
        Some(own) => on_bridge.clone().find(|n| &n.number == own),
        None => None,
    }
    .or_else(|| on_bridge.clone().find(|n| n.is_default));
    chosen.map(|n| DialInNumber {
        number: n.number.clone(),
        city: n.city.clone(),
    })
}

/// The user's coordinates. `bridge` must be the user's bridge (or `None`).
pub fn derive_coordinates(user: &User, bridge: Option<&Bridge>) -> MeetingCoordinates {
    let token = Uuid::new_v5(&MEETING_TOKEN_NAMESPACE, user.object_id.as_bytes())
        .simple()
        .to_string();
    let oid = user.object_id;
    let (join_url, meeting_options_url) = match user.meeting_kind {
        MeetingKind::Teams => (
            format!(
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{token}%40thread.v2/0?context=%7b%22Oid%22%3a%22{oid}%22%7d"
            ),
            Some(format!(
                "https://teams.microsoft.com/meetingOptions/?organizerId={oid}&threadId=19_meeting_{token}@thread.v2&messageId=0&language=en-US"
            )),
        ),
        MeetingKind::SkypeForBusiness => {
            let (sip_user, domain) = user
                .sip_address
                .split_once('@')
                .unwrap_or((user.sip_address.as_str(), ""));
            (
                format!(
                    "https://meet.lync.com/{}/{}/{}",
                    domain.to_lowercase(),
                    sip_user.to_lowercase(),
                    sfb_meeting_id(&token)
                ),
                None,
            )
        }
    };
    let mut c = MeetingCoordinates {
        meeting_kind: user.meeting_kind,
        join_url,
        conference_id: String::new(),
        toll_numbers: Vec::new(),
        toll_free_numbers: Vec::new(),
        find_local_number_url: None,
        meeting_options_url,
    };
    if let Some(bridge) = bridge.filter(|b| has_dial_in(user, Some(b))) {
        c.conference_id = user.conference_id.clone();
        c.toll_numbers.extend(dial_in_number(
            user.service_number.as_ref(),
            bridge,
            ServiceNumberType::Toll,
        ));
        c.toll_free_numbers.extend(dial_in_number(
            user.toll_free_service_number.as_ref(),
            bridge,
            ServiceNumberType::TollFree,
        ));
        c.find_local_number_url = Some(match user.meeting_kind {
            MeetingKind::Teams => format!(
                "https://dialin.teams.microsoft.com/{}?id={}",
                bridge.identity, user.conference_id
            ),
            MeetingKind::SkypeForBusiness => {
                format!("https://dialin.lync.com/{}", bridge.identity)
            }
        });
    }
    c
}

/// An 8-character meeting ID in SfB's style (upper-case letters and digits).
fn sfb_meeting_id(token: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    token
        .bytes()
        .take(8)
        .map(|b| ALPHABET[(b as usize) % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn user() -> User {
        User {
            object_id: Uuid::from_u128(1),
            user_principal_name: "ashaw@contoso.com".into(),
            sip_address: "ashaw@contoso.com".into(),
            display_name: "Amy Shaw".into(),
            mailbox_location: MailboxLocation::ExchangeOnline,
            homing: Homing::Online,
            audio_conferencing_licensed: true,
            audio_conferencing_enabled: true,
            provider: AudioConferencingProvider::Microsoft,
            conference_id: "291633251".into(),
            bridge_id: Some(Uuid::from_u128(7)),
            service_number: None,
            toll_free_service_number: None,
            meeting_kind: MeetingKind::Teams,
            teams_upgrade_policy: None,
        }
    }

    fn bridge() -> Bridge {
        let n = |num: &str, city: &str, t, d| ServiceNumber {
            number: num.into(),
            city: city.into(),
            number_type: t,
            is_default: d,
        };
        Bridge {
            identity: Uuid::from_u128(7),
            name: "Conference Bridge".into(),
            region: "NOAM".into(),
            service_numbers: vec![
                n(
                    "+13238867531",
                    "United States, Los Angeles",
                    ServiceNumberType::Toll,
                    true,
                ),
                n(
                    "+14255550101",
                    "United States, Seattle",
                    ServiceNumberType::Toll,
                    false,
                ),
                n(
                    "+18005550100",
                    "United States",
                    ServiceNumberType::TollFree,
                    true,
                ),
            ],
        }
    }

    #[test]
    fn teams_coordinates_use_bridge_defaults_and_are_stable() {
        let c = derive_coordinates(&user(), Some(&bridge()));
        assert!(c
            .join_url
            .starts_with("https://teams.microsoft.com/l/meetup-join/19%3ameeting_"));
        assert_eq!(c.conference_id, "291633251");
        assert_eq!(c.toll_numbers[0].number, "+13238867531");
        assert_eq!(c.toll_numbers[0].city, "United States, Los Angeles");
        assert_eq!(c.toll_free_numbers[0].number, "+18005550100");
        assert_eq!(
            c.find_local_number_url.as_deref(),
            Some("https://dialin.teams.microsoft.com/00000000-0000-0000-0000-000000000007?id=291633251")
        );
        assert!(c.meeting_options_url.is_some());
        assert_eq!(c, derive_coordinates(&user(), Some(&bridge())));
    }

    #[test]
    fn own_service_number_wins_over_bridge_default() {
        let mut u = user();
        u.service_number = Some("+14255550101".into());
        let c = derive_coordinates(&u, Some(&bridge()));
        assert_eq!(c.toll_numbers[0].city, "United States, Seattle");
    }

    #[test]
    fn no_dial_in_without_licence_or_with_third_party_acp() {
        let mut u = user();
        u.audio_conferencing_licensed = false;
        let c = derive_coordinates(&u, Some(&bridge()));
        assert!(c.conference_id.is_empty() && c.toll_numbers.is_empty());
        assert!(c.find_local_number_url.is_none());
        let mut u = user();
        u.provider = AudioConferencingProvider::ThirdParty;
        assert!(derive_coordinates(&u, Some(&bridge()))
            .toll_numbers
            .is_empty());
    }

    #[test]
    fn sfb_coordinates_use_meet_lync_url() {
        let mut u = user();
        u.meeting_kind = MeetingKind::SkypeForBusiness;
        let c = derive_coordinates(&u, Some(&bridge()));
        assert!(c
            .join_url
            .starts_with("https://meet.lync.com/contoso.com/ashaw/"));
        assert_eq!(c.join_url.rsplit('/').next().unwrap().len(), 8);
        assert!(c.meeting_options_url.is_none());
        assert_eq!(
            c.find_local_number_url.as_deref(),
            Some("https://dialin.lync.com/00000000-0000-0000-0000-000000000007")
        );
    }
}
