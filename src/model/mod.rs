//! The domain vocabulary: tenant settings, users, bridges, coordinates and migration jobs.
//!
//! Plain data only. Nothing here touches the store, the calendar text or C; every other module
//! speaks in these types. Enum spellings are Microsoft's (they are what admin scripts compare
//! against), so `as_str`/`FromStr` round-trip exactly the strings the cmdlets print.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Declares a fieldless enum whose string form is fixed, with `as_str`, `Display`, `FromStr`
/// (case-insensitive, as PowerShell compares) and `ALL`. Serde uses the same spellings.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact spelling Microsoft's cmdlets use.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $(if t.eq_ignore_ascii_case($text) { return Ok($name::$variant); })+
                Err(ParseEnumError {
                    type_name: stringify!($name),
                    value: s.to_string(),
                    allowed: &[$($text),+],
                })
            }
        }
    };
}

/// A string that is not one of an enum's documented values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseEnumError {
    pub type_name: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

impl fmt::Display for ParseEnumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not a valid {}; expected one of: {}",
            self.value,
            self.type_name,
            self.allowed.join(", ")
        )
    }
}

impl std::error::Error for ParseEnumError {}

named_enum! {
    /// Lifecycle of a migration job (`State` in Get-CsMeetingMigrationStatus).
    MigrationState {
        Pending = "Pending",
        InProgress = "InProgress",
        Failed = "Failed",
        Succeeded = "Succeeded",
    }
}

named_enum! {
    /// `MigrationType` of a status record.
    MigrationType {
        SfbToSfb = "SfbToSfb",
        SfbToTeams = "SfbToTeams",
        TeamsToTeams = "TeamsToTeams",
        AllToTeams = "AllToTeams",
        ToSameType = "ToSameType",
    }
}

named_enum! {
    /// `-SourceMeetingType` of Start-CsExMeetingMigration: which meetings are candidates.
    SourceMeetingType {
        All = "All",
        SfB = "SfB",
        Teams = "Teams",
    }
}

named_enum! {
    /// `-TargetMeetingType`: keep each meeting's kind, or convert everything to Teams.
    TargetMeetingType {
        Current = "Current",
        Teams = "Teams",
    }
}

named_enum! {
    /// The kind of online meeting a block (or a user's coordinates) describes.
    MeetingKind {
        SkypeForBusiness = "SfB",
        Teams = "Teams",
    }
}

named_enum! {
    /// Where the user's mailbox lives. MMS needs Exchange Online.
    MailboxLocation {
        ExchangeOnline = "ExchangeOnline",
        OnPremises = "OnPremises",
    }
}

named_enum! {
    /// Where the user is homed for Skype for Business.
    Homing {
        OnPremises = "OnPremises",
        Online = "Online",
    }
}

named_enum! {
    /// Who provides the user's audio conferencing.
    AudioConferencingProvider {
        Microsoft = "Microsoft",
        ThirdParty = "ThirdParty",
    }
}

named_enum! {
    /// Toll or toll-free service number.
    ServiceNumberType {
        Toll = "Toll",
        TollFree = "TollFree",
    }
}

named_enum! {
    /// `EntryExitAnnouncementsType` of the dial-in tenant settings.
    EntryExitAnnouncementsType {
        UseNames = "UseNames",
        ToneOnly = "ToneOnly",
    }
}

named_enum! {
    /// `MaskPstnNumbersType` of the dial-in tenant settings.
    MaskPstnNumbersType {
        MaskedForExternalUsers = "MaskedForExternalUsers",
        MaskedForAllUsers = "MaskedForAllUsers",
        NoMasking = "NoMasking",
    }
}

named_enum! {
    /// `AllowFederatedUsersToDialOutToSelf` / `...ToThirdParty`.
    FederatedDialOut {
        No = "No",
        Yes = "Yes",
        RequireSameEnterpriseUser = "RequireSameEnterpriseUser",
    }
}

named_enum! {
    /// TeamsUpgradePolicy instances that matter to MMS (others exist; they never trigger).
    TeamsUpgradeMode {
        Islands = "Islands",
        SfBOnly = "SfBOnly",
        SfBWithTeamsCollab = "SfBWithTeamsCollab",
        SfBWithTeamsCollabAndMeetings = "SfBWithTeamsCollabAndMeetings",
        TeamsOnly = "TeamsOnly",
    }
}

/// `Get-CsTenantMigrationConfiguration`: one instance per tenant, Identity `Global`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenantMigrationConfiguration {
    pub identity: String,
    pub meeting_migration_enabled: bool,
}

impl Default for TenantMigrationConfiguration {
    fn default() -> Self {
        TenantMigrationConfiguration {
            identity: "Global".to_string(),
            // "MMS is enabled by default for all organizations".
            meeting_migration_enabled: true,
        }
    }
}

/// `Get-CsOnlineDialInConferencingTenantSettings`, every property in Microsoft's display order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DialInConferencingTenantSettings {
    pub identity: String,
    /// Domains allowed for dial-out (`OnlineDialInConferencingAllowedDomain.Domain` values).
    pub allowed_dial_out_external_domains: Vec<String>,
    pub enable_entry_exit_notifications: bool,
    pub entry_exit_announcements_type: EntryExitAnnouncementsType,
    pub enable_name_recording: bool,
    pub include_toll_free_number_in_meeting_invites: bool,
    pub mask_pstn_numbers_type: MaskPstnNumbersType,
    /// 4..=12.
    pub pin_length: u32,
    #[serde(rename = "AllowPSTNOnlyMeetingsByDefault")]
    pub allow_pstn_only_meetings_by_default: bool,
    pub automatically_send_emails_to_users: bool,
    pub send_email_from_override: bool,
    pub send_email_from_address: String,
    pub send_email_from_display_name: String,
    pub automatically_replace_acp_provider: bool,
    pub use_unique_conference_ids: bool,
    pub automatically_migrate_user_meetings: bool,
    pub migrate_service_numbers_on_cross_forest_move: bool,
    pub enable_dial_out_join_confirmation: bool,
    pub allow_federated_users_to_dial_out_to_self: FederatedDialOut,
    pub allow_federated_users_to_dial_out_to_third_party: FederatedDialOut,
}

/// Documented range of `PinLength`.
pub const PIN_LENGTH_RANGE: std::ops::RangeInclusive<u32> = 4..=12;

impl Default for DialInConferencingTenantSettings {
    fn default() -> Self {
        // Documented defaults where Microsoft documents one; observed tenant values otherwise.
        DialInConferencingTenantSettings {
            identity: "Global".to_string(),
            allowed_dial_out_external_domains: Vec::new(),
            enable_entry_exit_notifications: true,
            entry_exit_announcements_type: EntryExitAnnouncementsType::ToneOnly,
            enable_name_recording: true,
            include_toll_free_number_in_meeting_invites: true,
            mask_pstn_numbers_type: MaskPstnNumbersType::MaskedForExternalUsers,
            pin_length: 5,
            allow_pstn_only_meetings_by_default: false,
            automatically_send_emails_to_users: true,
            send_email_from_override: false,
            send_email_from_address: String::new(),
            send_email_from_display_name: String::new(),
            automatically_replace_acp_provider: false,
            use_unique_conference_ids: true,
            automatically_migrate_user_meetings: true,
            migrate_service_numbers_on_cross_forest_move: false,
            enable_dial_out_join_confirmation: false,
            allow_federated_users_to_dial_out_to_self: FederatedDialOut::No,
            allow_federated_users_to_dial_out_to_third_party: FederatedDialOut::No,
        }
    }
}

/// A phone number on a bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceNumber {
    /// E.164 with a leading `+`, e.g. `+14255550100`.
    pub number: String,
    /// Shown in invitations next to the number, e.g. `United States, Los Angeles`.
    pub city: String,
    #[serde(rename = "Type")]
    pub number_type: ServiceNumberType,
    /// The bridge's default number of its type (used for users who have no number of their own).
    pub is_default: bool,
}

/// An audio-conferencing bridge and its service numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bridge {
    pub identity: Uuid,
    pub name: String,
    pub region: String,
    pub service_numbers: Vec<ServiceNumber>,
}

/// A user as the directory and the conferencing service know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    pub object_id: Uuid,
    pub user_principal_name: String,
    /// Without the `sip:` prefix.
    pub sip_address: String,
    pub display_name: String,
    pub mailbox_location: MailboxLocation,
    pub homing: Homing,
    pub audio_conferencing_licensed: bool,
    pub audio_conferencing_enabled: bool,
    pub provider: AudioConferencingProvider,
    /// Digits only; empty when the user has none.
    pub conference_id: String,
    pub bridge_id: Option<Uuid>,
    /// The user's own toll number (must be on their bridge), else the bridge default is used.
    pub service_number: Option<String>,
    pub toll_free_service_number: Option<String>,
    /// The kind of meeting the user schedules now.
    pub meeting_kind: MeetingKind,
    /// Per-user TeamsUpgradePolicy, if granted.
    pub teams_upgrade_policy: Option<TeamsUpgradeMode>,
}

/// One dial-in number as it appears in an invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DialInNumber {
    pub number: String,
    #[serde(default)]
    pub city: String,
}

/// Everything the new online-meeting block shows for an organizer: what `mms rewrite
/// --coordinates` reads (camelCase keys, unknown keys ignored) and what the engine derives from
/// the user, the bridge and the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingCoordinates {
    pub meeting_kind: MeetingKind,
    pub join_url: String,
    #[serde(default)]
    pub conference_id: String,
    #[serde(default)]
    pub toll_numbers: Vec<DialInNumber>,
    #[serde(default)]
    pub toll_free_numbers: Vec<DialInNumber>,
    #[serde(default)]
    pub find_local_number_url: Option<String>,
    #[serde(default)]
    pub meeting_options_url: Option<String>,
}

/// A migration job: one row of Get-CsMeetingMigrationStatus, with the 13 documented fields
/// plus what the worker needs to schedule it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MigrationJob {
    pub correlation_id: Uuid,
    pub create_date: DateTime<Utc>,
    pub failed_meeting: u32,
    pub invites_update: u32,
    pub last_message: String,
    pub migration_type: MigrationType,
    pub modified_date: DateTime<Utc>,
    pub retry_count: u32,
    pub state: MigrationState,
    pub succeeded_meeting: u32,
    pub total_meeting: u32,
    /// The user's ObjectId.
    pub user_id: Uuid,
    pub user_principal_name: String,
    /// Not shown by Microsoft's cmdlet; drives the worker.
    pub source_meeting_type: SourceMeetingType,
    pub target_meeting_type: TargetMeetingType,
    /// The job is not claimed before this time (queue delay, retry backoff).
    pub not_before: DateTime<Utc>,
}

/// One row of `-SummaryOnly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateSummary {
    pub state: MigrationState,
    pub user_count: u64,
}

/// Messages and skip reasons quote their input (names, values, addresses); a hostile object's
/// megabyte line must not become a megabyte LastMessage. Longer than this is cut.
const MAX_QUOTED_CHARS: usize = 200;

/// `s` for quoting in a message: as it is, or its first [`MAX_QUOTED_CHARS`] characters (cut on
/// a character boundary) and its length.
pub fn clip_quoted(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((i, _)) => format!("{}... ({} bytes)", &s[..i], s.len()).into(),
        None => s.into(),
    }
}

/// A SIP address without surrounding whitespace and without its `sip:` scheme (any case).
pub fn strip_sip(s: &str) -> &str {
    let t = s.trim();
    strip_prefix_ignore_ascii_case(t, "sip:").unwrap_or(t)
}

/// `s` without a leading `prefix` compared case-insensitively in ASCII: the URI schemes that
/// addresses and numbers arrive with (`mailto:`, `sip:`, `tel:`) and property prefixes such as
/// `RRULE:`. A multi-byte character where the prefix would end is no match, never a panic.
pub fn strip_prefix_ignore_ascii_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_strip_in_any_case_and_never_split_a_character() {
        assert_eq!(
            strip_prefix_ignore_ascii_case("SIP:a@b", "sip:"),
            Some("a@b")
        );
        assert_eq!(strip_prefix_ignore_ascii_case("sip:", "sip:"), Some(""));
        assert_eq!(strip_sip("  SIP:ashaw@contoso.com "), "ashaw@contoso.com");
        assert_eq!(strip_sip("ashaw@contoso.com"), "ashaw@contoso.com");
        assert_eq!(strip_prefix_ignore_ascii_case("si", "sip:"), None);
        assert_eq!(strip_prefix_ignore_ascii_case("tel+1", "tel:"), None);
        assert_eq!(strip_prefix_ignore_ascii_case("sié:x", "sip:"), None);
        assert_eq!(
            strip_prefix_ignore_ascii_case("\u{fffd}\u{fffd}x", "mailto:"),
            None
        );
    }

    #[test]
    fn enum_strings_round_trip_case_insensitively() {
        for s in MigrationState::ALL {
            assert_eq!(s.as_str().to_lowercase().parse::<MigrationState>(), Ok(*s));
        }
        for t in MigrationType::ALL {
            assert_eq!(t.as_str().parse::<MigrationType>(), Ok(*t));
        }
        assert_eq!(
            "sfb".parse::<SourceMeetingType>(),
            Ok(SourceMeetingType::SfB)
        );
    }

    #[test]
    fn bad_enum_value_names_the_allowed_values() {
        let err = "Done".parse::<MigrationState>().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("'Done'"), "{text}");
        assert!(
            text.contains("Pending, InProgress, Failed, Succeeded"),
            "{text}"
        );
    }

    #[test]
    fn defaults_match_microsoft_documentation() {
        let t = TenantMigrationConfiguration::default();
        assert!(t.meeting_migration_enabled);
        assert_eq!(t.identity, "Global");
        let d = DialInConferencingTenantSettings::default();
        assert!(d.automatically_migrate_user_meetings);
        assert!(!d.automatically_replace_acp_provider);
        assert_eq!(d.pin_length, 5);
        assert!(PIN_LENGTH_RANGE.contains(&d.pin_length));
    }

    #[test]
    fn tenant_settings_serialize_with_microsoft_property_names() {
        let v = serde_json::to_value(DialInConferencingTenantSettings::default()).unwrap();
        for key in [
            "Identity",
            "AllowedDialOutExternalDomains",
            "AllowPSTNOnlyMeetingsByDefault",
            "AutomaticallyMigrateUserMeetings",
            "AutomaticallyReplaceAcpProvider",
            "PinLength",
            "MaskPstnNumbersType",
            "AllowFederatedUsersToDialOutToThirdParty",
        ] {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
    }

    #[test]
    fn coordinates_accept_minimal_camel_case_json_and_ignore_unknown_keys() {
        let c: MeetingCoordinates = serde_json::from_str(
            r#"{"meetingKind":"Teams","joinUrl":"https://teams.microsoft.com/l/meetup-join/x","conferenceId":"123456789","extra":1}"#,
        )
        .unwrap();
        assert_eq!(c.meeting_kind, MeetingKind::Teams);
        assert!(c.toll_numbers.is_empty());
        assert_eq!(c.find_local_number_url, None);
    }
}
