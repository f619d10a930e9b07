//! What triggers a meeting migration, and what stops one.
//!
//! Every function here is pure: it looks at a user (before and after a change), the tenant's two
//! settings objects and the change itself, and returns a [`Decision`] with a reason an admin can
//! read. The engine applies the change to the stored user, asks these functions, and queues the job.
//!
//! # Order of the checks (first match wins)
//! 1. Changes that never migrate: online → on-premises moves, SIP address changes, tenant-wide
//!    policy grants, tenant meeting-URL changes, policy modes that keep SfB meetings.
//! 2. Changes that change nothing (licence assigned to a licensed user, same conference ID, ...).
//! 3. `MeetingMigrationEnabled = false` stops every automatic trigger.
//! 4. An on-premises mailbox blocks (MMS needs Exchange Online).
//! 5. A user still homed on-premises: audio-conferencing changes wait for the move online.
//! 6. `AutomaticallyMigrateUserMeetings = false` stops audio-conferencing triggers (not the
//!    on-premises → online move, not a TeamsUpgradePolicy grant).
//! 7. A third-party ACP blocks, unless `AutomaticallyReplaceAcpProvider` is true and the licence is
//!    being assigned (the engine then switches the provider to Microsoft).
//!
//! # MigrationType mapping ([`migration_type_for`])
//! | Source | Target  | MigrationType |
//! |--------|---------|---------------|
//! | All    | Teams   | AllToTeams |
//! | SfB    | Teams   | SfbToTeams (on-premises → online move of a Teams-meeting user) |
//! | Teams  | any     | TeamsToTeams |
//! | SfB    | Current | SfbToSfb (on-premises → online move of an SfB-meeting user) |
//! | All    | Current | TeamsToTeams when the organizer schedules Teams meetings, else ToSameType |
//!
//! The on-premises → online move uses source SfB (the user's meetings were scheduled on the
//! on-premises server) and target Teams when the user now schedules Teams meetings, else Current.
//! Audio-conferencing changes use source All / target Current (every meeting keeps its kind and
//! gets the new dial-in coordinates). A per-user TeamsOnly or SfBWithTeamsCollabAndMeetings grant
//! uses All / Teams.
//!
//! # Manual start
//! `Start-CsExMeetingMigration` is honoured even when `MeetingMigrationEnabled` is false: it is an
//! explicit admin request naming one user, and the seed presents switching MMS off as the way to
//! "manually migrate" meetings. The facts that make migration impossible still block it: an
//! on-premises mailbox, a user homed on-premises, a third-party ACP.

use crate::model::{
    AudioConferencingProvider, DialInConferencingTenantSettings, Homing, MailboxLocation,
    MeetingKind, MigrationType, SourceMeetingType, TargetMeetingType, TeamsUpgradeMode,
    TenantMigrationConfiguration, User,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A change to one user, as the admin cmdlets make it. JSON is tagged by `Change`, e.g.
/// `{"Change":"AssignLicence"}` or `{"Change":"SetConferenceId","ConferenceId":"4455667"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Change", deny_unknown_fields)]
pub enum UserChange {
    /// `Move-CsUser` from Skype for Business Server to Skype for Business Online / Teams.
    MoveToOnline,
    /// `Move-CsUser` from online back to an on-premises server.
    MoveToOnPremises,
    /// Audio Conferencing licence assigned.
    AssignLicence,
    /// Audio Conferencing licence removed.
    RemoveLicence,
    EnableAudioConferencing,
    DisableAudioConferencing,
    /// `Set-CsOnlineDialInConferencingUser -ConferenceId`.
    SetConferenceId {
        #[serde(rename = "ConferenceId")]
        conference_id: String,
    },
    /// `Set-CsOnlineDialInConferencingUser -ResetConferenceId` (the engine picks a new ID).
    ResetConferenceId,
    /// `-BridgeName` / `-BridgeId`: a bridge name or GUID.
    MoveToBridge {
        #[serde(rename = "Bridge")]
        bridge: String,
    },
    /// `-ServiceNumber`: the user's new default toll number (must be on their bridge).
    SetServiceNumber {
        #[serde(rename = "Number")]
        number: String,
    },
    /// `-TollFreeServiceNumber`.
    SetTollFreeServiceNumber {
        #[serde(rename = "Number")]
        number: String,
    },
    /// SIP user part or domain changed (never triggers).
    SetSipAddress {
        #[serde(rename = "SipAddress")]
        sip_address: String,
    },
    /// `Grant-CsTeamsUpgradePolicy -Identity <user> -PolicyName <mode>`.
    GrantTeamsUpgradePolicy {
        #[serde(rename = "PolicyName")]
        policy_name: TeamsUpgradeMode,
    },
    /// Mailbox moved between Exchange on-premises and Exchange Online.
    SetMailboxLocation {
        #[serde(rename = "MailboxLocation")]
        mailbox_location: MailboxLocation,
    },
    /// Audio-conferencing provider changed (third-party ACP ↔ Microsoft).
    SetProvider {
        #[serde(rename = "Provider")]
        provider: AudioConferencingProvider,
    },
}

impl UserChange {
    /// The change's name as it appears in JSON (`Change`).
    pub fn name(&self) -> &'static str {
        match self {
            UserChange::MoveToOnline => "MoveToOnline",
            UserChange::MoveToOnPremises => "MoveToOnPremises",
            UserChange::AssignLicence => "AssignLicence",
            UserChange::RemoveLicence => "RemoveLicence",
            UserChange::EnableAudioConferencing => "EnableAudioConferencing",
            UserChange::DisableAudioConferencing => "DisableAudioConferencing",
            UserChange::SetConferenceId { .. } => "SetConferenceId",
            UserChange::ResetConferenceId => "ResetConferenceId",
            UserChange::MoveToBridge { .. } => "MoveToBridge",
            UserChange::SetServiceNumber { .. } => "SetServiceNumber",
            UserChange::SetTollFreeServiceNumber { .. } => "SetTollFreeServiceNumber",
            UserChange::SetSipAddress { .. } => "SetSipAddress",
            UserChange::GrantTeamsUpgradePolicy { .. } => "GrantTeamsUpgradePolicy",
            UserChange::SetMailboxLocation { .. } => "SetMailboxLocation",
            UserChange::SetProvider { .. } => "SetProvider",
        }
    }
}

/// Tenant-wide events. JSON is tagged by `Event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Event", deny_unknown_fields)]
pub enum TenantEvent {
    /// `Grant-CsTeamsUpgradePolicy -Global -PolicyName <mode>`.
    GrantTeamsUpgradePolicyGlobal {
        #[serde(rename = "PolicyName")]
        policy_name: TeamsUpgradeMode,
    },
    /// `Update-CsTenantMeetingUrl`.
    UpdateTenantMeetingUrl,
}

/// What the rules decided for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Decision")]
pub enum Decision {
    /// Queue (or merge into) a migration job.
    Enqueue {
        #[serde(rename = "MigrationType")]
        migration_type: MigrationType,
        #[serde(rename = "SourceMeetingType")]
        source: SourceMeetingType,
        #[serde(rename = "TargetMeetingType")]
        target: TargetMeetingType,
        #[serde(rename = "Reason")]
        reason: String,
    },
    /// Nothing is queued; the reason says why.
    NoMigration {
        #[serde(rename = "Reason")]
        reason: String,
    },
}

impl Decision {
    pub fn reason(&self) -> &str {
        match self {
            Decision::Enqueue { reason, .. } | Decision::NoMigration { reason } => reason,
        }
    }

    pub fn is_enqueue(&self) -> bool {
        matches!(self, Decision::Enqueue { .. })
    }

    fn no(reason: impl Into<String>) -> Decision {
        Decision::NoMigration {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Enqueue {
                migration_type,
                reason,
                ..
            } => write!(f, "migration queued ({migration_type}): {reason}"),
            Decision::NoMigration { reason } => write!(f, "no migration: {reason}"),
        }
    }
}

/// See the module documentation for the table.
pub fn migration_type_for(
    source: SourceMeetingType,
    target: TargetMeetingType,
    organizer_kind: MeetingKind,
) -> MigrationType {
    match (source, target) {
        (SourceMeetingType::Teams, _) => MigrationType::TeamsToTeams,
        (SourceMeetingType::All, TargetMeetingType::Teams) => MigrationType::AllToTeams,
        (SourceMeetingType::SfB, TargetMeetingType::Teams) => MigrationType::SfbToTeams,
        (SourceMeetingType::SfB, TargetMeetingType::Current) => MigrationType::SfbToSfb,
        (SourceMeetingType::All, TargetMeetingType::Current) => match organizer_kind {
            MeetingKind::Teams => MigrationType::TeamsToTeams,
            MeetingKind::SkypeForBusiness => MigrationType::ToSameType,
        },
    }
}

/// Which group of triggers a change belongs to (the tenant switches act per group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TriggerKind {
    /// On-premises → online move: only `MeetingMigrationEnabled` stops it.
    MoveOnline,
    /// Per-user TeamsUpgradePolicy grant: only `MeetingMigrationEnabled` stops it.
    UpgradePolicy,
    /// Audio-conferencing change: `AutomaticallyMigrateUserMeetings` stops it too.
    AudioConferencing,
}

/// Does assigning the licence to this user switch a third-party ACP to Microsoft?
/// "If the value of this parameter is $true, then MMS will run when a user is assigned a Audio
/// Conferencing license" — and the ACP's numbers are replaced by Microsoft's.
pub fn licence_replaces_acp_provider(
    before: &User,
    change: &UserChange,
    dial_in: &DialInConferencingTenantSettings,
) -> bool {
    matches!(change, UserChange::AssignLicence)
        && before.provider == AudioConferencingProvider::ThirdParty
        && dial_in.automatically_replace_acp_provider
}

/// The rules' decision for a change to one user. `before` is the stored user, `after` the user
/// with the change applied (the engine applies it, including the ACP replacement above).
pub fn decide_user_change(
    change: &UserChange,
    before: &User,
    after: &User,
    tenant: &TenantMigrationConfiguration,
    dial_in: &DialInConferencingTenantSettings,
) -> Decision {
    let kind = match change {
        UserChange::MoveToOnPremises => {
            return Decision::no(
                "moves from online to on-premises never migrate meetings; use the Meeting Migration Tool",
            )
        }
        UserChange::SetSipAddress { .. } => {
            return Decision::no("a SIP address change does not trigger meeting migration")
        }
        UserChange::SetMailboxLocation { .. } => {
            return Decision::no(
                "a mailbox move does not trigger meeting migration; run Start-CsExMeetingMigration if needed",
            )
        }
        UserChange::SetProvider {
            provider: AudioConferencingProvider::ThirdParty,
        } => {
            return Decision::no(
                "switching to a third-party audio conferencing provider does not trigger meeting migration",
            )
        }
        UserChange::GrantTeamsUpgradePolicy { policy_name } => match policy_name {
            TeamsUpgradeMode::TeamsOnly | TeamsUpgradeMode::SfBWithTeamsCollabAndMeetings => {
                TriggerKind::UpgradePolicy
            }
            other => {
                return Decision::no(format!(
                    "TeamsUpgradePolicy {other} does not move meetings to Teams; only TeamsOnly and SfBWithTeamsCollabAndMeetings trigger migration"
                ))
            }
        },
        UserChange::MoveToOnline => TriggerKind::MoveOnline,
        _ => TriggerKind::AudioConferencing,
    };

    if before == after {
        return Decision::no(format!(
            "{} changed nothing for {}",
            change.name(),
            after.user_principal_name
        ));
    }
    if kind == TriggerKind::UpgradePolicy
        && after.meeting_kind == MeetingKind::Teams
        && before.meeting_kind == MeetingKind::Teams
        && before
            .teams_upgrade_policy
            .is_some_and(policy_moves_meetings_to_teams)
    {
        return Decision::no(format!(
            "{} already schedules Teams meetings under a policy that migrates them",
            after.user_principal_name
        ));
    }

    if !tenant.meeting_migration_enabled {
        return Decision::no(
            "meeting migration is disabled for the tenant (MeetingMigrationEnabled is False)",
        );
    }
    if let Some(blocked) = blocked_by_user_facts(before, after, change, dial_in, kind) {
        return blocked;
    }
    if kind == TriggerKind::AudioConferencing && !dial_in.automatically_migrate_user_meetings {
        return Decision::no(
            "meeting migration for audio conferencing changes is disabled (AutomaticallyMigrateUserMeetings is False)",
        );
    }

    let (source, target, reason) = match kind {
        TriggerKind::MoveOnline => {
            let target = match after.meeting_kind {
                MeetingKind::Teams => TargetMeetingType::Teams,
                MeetingKind::SkypeForBusiness => TargetMeetingType::Current,
            };
            (
                SourceMeetingType::SfB,
                target,
                "user moved from Skype for Business Server on-premises to online".to_string(),
            )
        }
        TriggerKind::UpgradePolicy => (
            SourceMeetingType::All,
            TargetMeetingType::Teams,
            format!(
                "TeamsUpgradePolicy {} granted to the user",
                after
                    .teams_upgrade_policy
                    .map_or("(none)", TeamsUpgradeMode::as_str)
            ),
        ),
        TriggerKind::AudioConferencing => (
            SourceMeetingType::All,
            TargetMeetingType::Current,
            audio_reason(change, before),
        ),
    };
    Decision::Enqueue {
        migration_type: migration_type_for(source, target, after.meeting_kind),
        source,
        target,
        reason,
    }
}

fn policy_moves_meetings_to_teams(mode: TeamsUpgradeMode) -> bool {
    matches!(
        mode,
        TeamsUpgradeMode::TeamsOnly | TeamsUpgradeMode::SfBWithTeamsCollabAndMeetings
    )
}

fn audio_reason(change: &UserChange, before: &User) -> String {
    match change {
        UserChange::AssignLicence if before.provider == AudioConferencingProvider::ThirdParty => {
            "Audio Conferencing licence assigned; third-party ACP replaced (AutomaticallyReplaceAcpProvider is True)".to_string()
        }
        UserChange::AssignLicence => "Audio Conferencing licence assigned".to_string(),
        UserChange::RemoveLicence => "Audio Conferencing licence removed".to_string(),
        UserChange::EnableAudioConferencing => "audio conferencing enabled".to_string(),
        UserChange::DisableAudioConferencing => "audio conferencing disabled".to_string(),
        UserChange::SetConferenceId { .. } => "conference ID changed".to_string(),
        UserChange::ResetConferenceId => "conference ID reset".to_string(),
        UserChange::MoveToBridge { .. } => "user moved to a new audio conferencing bridge".to_string(),
        UserChange::SetServiceNumber { .. } => "default toll number changed".to_string(),
        UserChange::SetTollFreeServiceNumber { .. } => {
            "default toll-free number changed".to_string()
        }
        UserChange::SetProvider { .. } => {
            "audio conferencing provider changed to Microsoft".to_string()
        }
        other => format!("{} changed the user's audio conferencing", other.name()),
    }
}

/// Facts about the user that make automatic migration impossible.
fn blocked_by_user_facts(
    before: &User,
    after: &User,
    change: &UserChange,
    dial_in: &DialInConferencingTenantSettings,
    kind: TriggerKind,
) -> Option<Decision> {
    if after.mailbox_location == MailboxLocation::OnPremises {
        return Some(Decision::no(
            "the organizer's mailbox is on Exchange Server on-premises; MMS requires Exchange Online (use the Meeting Migration Tool)",
        ));
    }
    if after.homing == Homing::OnPremises {
        return Some(Decision::no(
            "the user is homed on Skype for Business Server on-premises; meetings are migrated when the user is moved online",
        ));
    }
    if kind == TriggerKind::AudioConferencing
        && before.provider == AudioConferencingProvider::ThirdParty
        && after.provider == AudioConferencingProvider::ThirdParty
    {
        let why = if matches!(change, UserChange::AssignLicence) {
            "the user has a third-party audio conferencing provider and AutomaticallyReplaceAcpProvider is False; the ACP's dial-in numbers are kept"
        } else {
            "the user has a third-party audio conferencing provider; MMS only updates meetings on the Microsoft bridge (use the Meeting Migration Tool)"
        };
        return Some(Decision::no(why));
    }
    if kind != TriggerKind::AudioConferencing
        && after.provider == AudioConferencingProvider::ThirdParty
        && !licence_replaces_acp_provider(before, change, dial_in)
    {
        return Some(Decision::no(
            "the user has a third-party audio conferencing provider; MMS won't run (use the Meeting Migration Tool)",
        ));
    }
    None
}

/// Tenant-wide events never migrate meetings.
pub fn decide_tenant_event(event: &TenantEvent) -> Decision {
    match event {
        TenantEvent::GrantTeamsUpgradePolicyGlobal { policy_name } => Decision::no(format!(
            "a tenant-wide TeamsUpgradePolicy grant ({policy_name}) does not trigger meeting migration; grant the policy per user or run Start-CsExMeetingMigration"
        )),
        TenantEvent::UpdateTenantMeetingUrl => Decision::no(
            "changing the tenant meeting URL (Update-CsTenantMeetingUrl) does not trigger meeting migration",
        ),
    }
}

/// A number unregistered from a bridge: the decision for one user whose default number it was.
/// `after` already carries the replacement default.
pub fn decide_number_unregistered(
    user: &User,
    number: &str,
    tenant: &TenantMigrationConfiguration,
    dial_in: &DialInConferencingTenantSettings,
) -> Decision {
    if !tenant.meeting_migration_enabled {
        return Decision::no(
            "meeting migration is disabled for the tenant (MeetingMigrationEnabled is False)",
        );
    }
    let placeholder = UserChange::SetServiceNumber {
        number: number.to_string(),
    };
    if let Some(blocked) = blocked_by_user_facts(
        user,
        user,
        &placeholder,
        dial_in,
        TriggerKind::AudioConferencing,
    ) {
        return blocked;
    }
    if !dial_in.automatically_migrate_user_meetings {
        return Decision::no(
            "meeting migration for audio conferencing changes is disabled (AutomaticallyMigrateUserMeetings is False)",
        );
    }
    Decision::Enqueue {
        migration_type: migration_type_for(
            SourceMeetingType::All,
            TargetMeetingType::Current,
            user.meeting_kind,
        ),
        source: SourceMeetingType::All,
        target: TargetMeetingType::Current,
        reason: format!("default number {number} was unassigned from the user's bridge"),
    }
}

/// Is this user one whose default number `number` (on bridge `bridge_default`-aware terms) was?
/// `is_bridge_default` says whether the number is the bridge's default of its type; users without
/// a number of their own of that type use the bridge default.
pub fn number_was_users_default(
    user: &User,
    bridge_id: uuid::Uuid,
    number: &str,
    number_type: crate::model::ServiceNumberType,
    is_bridge_default: bool,
) -> bool {
    if user.bridge_id != Some(bridge_id) {
        return false;
    }
    let own = match number_type {
        crate::model::ServiceNumberType::Toll => &user.service_number,
        crate::model::ServiceNumberType::TollFree => &user.toll_free_service_number,
    };
    match own {
        Some(n) => n == number,
        None => is_bridge_default,
    }
}

/// `Start-CsExMeetingMigration` (see the module documentation for the disabled-tenant choice).
pub fn decide_manual_start(
    user: &User,
    source: SourceMeetingType,
    target: TargetMeetingType,
) -> Decision {
    if user.mailbox_location == MailboxLocation::OnPremises {
        return Decision::no(
            "the organizer's mailbox is on Exchange Server on-premises; MMS requires Exchange Online (use the Meeting Migration Tool)",
        );
    }
    if user.homing == Homing::OnPremises {
        return Decision::no(
            "the user is homed on Skype for Business Server on-premises; move the user online first",
        );
    }
    if user.provider == AudioConferencingProvider::ThirdParty {
        return Decision::no(
            "the user has a third-party audio conferencing provider; MMS only updates meetings on the Microsoft bridge (use the Meeting Migration Tool)",
        );
    }
    Decision::Enqueue {
        migration_type: migration_type_for(source, target, user.meeting_kind),
        source,
        target,
        reason: "migration started by an administrator (Start-CsExMeetingMigration)".to_string(),
    }
}

/// A second trigger for a user who already has a Pending job: the job must do both requests'
/// work, so the candidates widen to the union and a conversion to Teams wins over keeping kinds.
pub fn merge_job_requests(
    pending: (MigrationType, SourceMeetingType, TargetMeetingType),
    new: (MigrationType, SourceMeetingType, TargetMeetingType),
    organizer_kind: MeetingKind,
) -> (MigrationType, SourceMeetingType, TargetMeetingType) {
    if pending == new {
        return pending;
    }
    let source = if pending.1 == new.1 {
        new.1
    } else {
        SourceMeetingType::All
    };
    let target = if pending.2 == TargetMeetingType::Teams || new.2 == TargetMeetingType::Teams {
        TargetMeetingType::Teams
    } else {
        TargetMeetingType::Current
    };
    // A pending on-premises move keeps its label when audio changes pile onto it.
    let migration_type = if target == TargetMeetingType::Current
        && (pending.0 == MigrationType::SfbToSfb || new.0 == MigrationType::SfbToSfb)
    {
        MigrationType::SfbToSfb
    } else {
        migration_type_for(source, target, organizer_kind)
    };
    (migration_type, source, target)
}

/// Conference IDs are digits only; Microsoft's are 5 to 12 digits long (the service rejects IDs
/// that "don't meet the format requirements").
pub fn validate_conference_id(id: &str) -> Result<(), String> {
    if !(5..=12).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "conference ID '{id}' is invalid: it must be 5 to 12 digits"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn online_user() -> User {
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

    fn on() -> (
        TenantMigrationConfiguration,
        DialInConferencingTenantSettings,
    ) {
        (
            TenantMigrationConfiguration::default(),
            DialInConferencingTenantSettings::default(),
        )
    }

    fn decide(change: UserChange, before: &User, after: &User) -> Decision {
        let (t, d) = on();
        decide_user_change(&change, before, after, &t, &d)
    }

    fn assert_enqueued(d: &Decision, expected: MigrationType) {
        match d {
            Decision::Enqueue { migration_type, .. } => assert_eq!(*migration_type, expected),
            other => panic!("expected Enqueue({expected}), got {other:?}"),
        }
    }

    fn assert_no_migration(d: &Decision, needle: &str) {
        match d {
            Decision::NoMigration { reason } => assert!(reason.contains(needle), "{reason}"),
            other => panic!("expected NoMigration, got {other:?}"),
        }
    }

    // "When the user is migrated from on-premises Skype for Business Server to Skype for Business
    // Online." (SfB-meeting user, target Current)
    #[test]
    fn move_from_on_premises_to_online_triggers() {
        let mut before = online_user();
        before.homing = Homing::OnPremises;
        before.meeting_kind = MeetingKind::SkypeForBusiness;
        let mut after = before.clone();
        after.homing = Homing::Online;
        let d = decide(UserChange::MoveToOnline, &before, &after);
        assert_enqueued(&d, MigrationType::SfbToSfb);
        after.meeting_kind = MeetingKind::Teams;
        let d = decide(UserChange::MoveToOnline, &before, &after);
        assert_enqueued(&d, MigrationType::SfbToTeams);
    }

    // "Migrating users from Skype for Business Online to on-premises Skype Server" — MMS won't run.
    #[test]
    fn move_from_online_to_on_premises_never_migrates() {
        let before = online_user();
        let mut after = before.clone();
        after.homing = Homing::OnPremises;
        assert_no_migration(
            &decide(UserChange::MoveToOnPremises, &before, &after),
            "never",
        );
    }

    // "When you assign or remove Audio Conferencing license."
    #[test]
    fn licence_assigned_triggers() {
        let mut before = online_user();
        before.audio_conferencing_licensed = false;
        let after = online_user();
        assert_enqueued(
            &decide(UserChange::AssignLicence, &before, &after),
            MigrationType::TeamsToTeams,
        );
    }

    // "When you assign or remove Audio Conferencing license."
    #[test]
    fn licence_removed_triggers() {
        let before = online_user();
        let mut after = before.clone();
        after.audio_conferencing_licensed = false;
        after.meeting_kind = MeetingKind::SkypeForBusiness;
        let mut b2 = before.clone();
        b2.meeting_kind = MeetingKind::SkypeForBusiness;
        assert_enqueued(
            &decide(UserChange::RemoveLicence, &b2, &after),
            MigrationType::ToSameType,
        );
    }

    // "When you enable or disable audio conferencing."
    #[test]
    fn audio_conferencing_enabled_or_disabled_triggers() {
        let mut before = online_user();
        before.audio_conferencing_enabled = false;
        let after = online_user();
        assert!(decide(UserChange::EnableAudioConferencing, &before, &after).is_enqueue());
        assert!(decide(UserChange::DisableAudioConferencing, &after, &before).is_enqueue());
    }

    // "When you change or reset the Conference ID for a user configured to use public meetings."
    #[test]
    fn conference_id_changed_or_reset_triggers() {
        let before = online_user();
        let mut after = before.clone();
        after.conference_id = "4455667".into();
        let change = UserChange::SetConferenceId {
            conference_id: "4455667".into(),
        };
        assert!(decide(change, &before, &after).is_enqueue());
        assert!(decide(UserChange::ResetConferenceId, &before, &after).is_enqueue());
    }

    // "When you move the user to a new audio conferencing bridge."
    #[test]
    fn moved_to_new_bridge_triggers() {
        let before = online_user();
        let mut after = before.clone();
        after.bridge_id = Some(Uuid::from_u128(8));
        let change = UserChange::MoveToBridge {
            bridge: "Bridge B".into(),
        };
        assert!(decide(change, &before, &after).is_enqueue());
    }

    // S5: "assigned a new default service number" is a change in the user's PSTN coordinates.
    #[test]
    fn new_default_service_number_triggers() {
        let before = online_user();
        let mut after = before.clone();
        after.service_number = Some("+14255550101".into());
        let change = UserChange::SetServiceNumber {
            number: "+14255550101".into(),
        };
        assert!(decide(change, &before, &after).is_enqueue());
        let mut after = before.clone();
        after.toll_free_service_number = Some("+18005550100".into());
        let change = UserChange::SetTollFreeServiceNumber {
            number: "+18005550100".into(),
        };
        assert!(decide(change, &before, &after).is_enqueue());
    }

    // "When a phone number is unassigned from a audio conferencing bridge."
    #[test]
    fn number_unassigned_from_bridge_triggers_users_whose_default_it_was() {
        let (t, d) = on();
        let user = online_user();
        let bridge = Uuid::from_u128(7);
        assert!(number_was_users_default(
            &user,
            bridge,
            "+14255550100",
            crate::model::ServiceNumberType::Toll,
            true
        ));
        let mut own = user.clone();
        own.service_number = Some("+14255550199".into());
        assert!(!number_was_users_default(
            &own,
            bridge,
            "+14255550100",
            crate::model::ServiceNumberType::Toll,
            true
        ));
        assert!(!number_was_users_default(
            &user,
            Uuid::from_u128(9),
            "+14255550100",
            crate::model::ServiceNumberType::Toll,
            true
        ));
        assert!(decide_number_unregistered(&user, "+14255550100", &t, &d).is_enqueue());
    }

    // "When you change the SIP address for the meeting organizer (either their SIP user name or
    // their SIP domain)" — won't result in MMS updating meetings.
    #[test]
    fn sip_address_change_never_triggers() {
        let before = online_user();
        let mut after = before.clone();
        after.sip_address = "amy.shaw@fabrikam.com".into();
        let change = UserChange::SetSipAddress {
            sip_address: "amy.shaw@fabrikam.com".into(),
        };
        assert_no_migration(&decide(change, &before, &after), "SIP");
    }

    // "When you change your organization's meeting URL using the Update-CsTenantMeetingUrl
    // command." — won't result in MMS updating meetings.
    #[test]
    fn tenant_meeting_url_change_never_triggers() {
        assert_no_migration(
            &decide_tenant_event(&TenantEvent::UpdateTenantMeetingUrl),
            "Update-CsTenantMeetingUrl",
        );
    }

    // Reference §5: TeamsUpgradePolicy TeamsOnly/SfBWithTeamsCollabAndMeetings granted per user
    // triggers; a tenant-wide grant does not.
    #[test]
    fn teams_upgrade_policy_per_user_grant_triggers_only_for_meeting_modes() {
        let mut before = online_user();
        before.meeting_kind = MeetingKind::SkypeForBusiness;
        for mode in [
            TeamsUpgradeMode::TeamsOnly,
            TeamsUpgradeMode::SfBWithTeamsCollabAndMeetings,
        ] {
            let mut after = before.clone();
            after.teams_upgrade_policy = Some(mode);
            after.meeting_kind = MeetingKind::Teams;
            let d = decide(
                UserChange::GrantTeamsUpgradePolicy { policy_name: mode },
                &before,
                &after,
            );
            assert_enqueued(&d, MigrationType::AllToTeams);
        }
        let mut after = before.clone();
        after.teams_upgrade_policy = Some(TeamsUpgradeMode::Islands);
        let d = decide(
            UserChange::GrantTeamsUpgradePolicy {
                policy_name: TeamsUpgradeMode::Islands,
            },
            &before,
            &after,
        );
        assert_no_migration(&d, "Islands");
    }

    // Reference §5: "(not tenant-wide)".
    #[test]
    fn teams_upgrade_policy_global_grant_never_triggers() {
        let d = decide_tenant_event(&TenantEvent::GrantTeamsUpgradePolicyGlobal {
            policy_name: TeamsUpgradeMode::TeamsOnly,
        });
        assert_no_migration(&d, "tenant-wide");
    }

    // "Set-CsTenantMigrationConfiguration -MeetingMigrationEnabled $false" disables MMS.
    #[test]
    fn meeting_migration_disabled_stops_automatic_triggers() {
        let (mut t, d) = on();
        t.meeting_migration_enabled = false;
        let mut before = online_user();
        before.audio_conferencing_licensed = false;
        let after = online_user();
        let dec = decide_user_change(&UserChange::AssignLicence, &before, &after, &t, &d);
        assert_no_migration(&dec, "MeetingMigrationEnabled");
        let mut onprem = online_user();
        onprem.homing = Homing::OnPremises;
        let dec = decide_user_change(&UserChange::MoveToOnline, &onprem, &after, &t, &d);
        assert_no_migration(&dec, "MeetingMigrationEnabled");
        assert_no_migration(
            &decide_number_unregistered(&after, "+14255550100", &t, &d),
            "MeetingMigrationEnabled",
        );
    }

    // "You can also disable MMS only for audio conferencing changes. It will still run when a user
    // is migrated from Skype for Business on-premises to Skype for Business Online."
    #[test]
    fn automatically_migrate_user_meetings_false_stops_only_audio_triggers() {
        let (t, mut d) = on();
        d.automatically_migrate_user_meetings = false;
        let mut before = online_user();
        before.audio_conferencing_enabled = false;
        let after = online_user();
        let dec = decide_user_change(
            &UserChange::EnableAudioConferencing,
            &before,
            &after,
            &t,
            &d,
        );
        assert_no_migration(&dec, "AutomaticallyMigrateUserMeetings");
        let mut onprem = online_user();
        onprem.homing = Homing::OnPremises;
        let dec = decide_user_change(&UserChange::MoveToOnline, &onprem, &after, &t, &d);
        assert!(dec.is_enqueue(), "{dec:?}");
        let mut teams = online_user();
        teams.teams_upgrade_policy = Some(TeamsUpgradeMode::TeamsOnly);
        let dec = decide_user_change(
            &UserChange::GrantTeamsUpgradePolicy {
                policy_name: TeamsUpgradeMode::TeamsOnly,
            },
            &online_user(),
            &teams,
            &t,
            &d,
        );
        assert!(dec.is_enqueue(), "{dec:?}");
    }

    // "MMS requires the mailboxes of meeting organizers to be on Exchange Online."
    #[test]
    fn on_premises_mailbox_blocks() {
        let mut before = online_user();
        before.mailbox_location = MailboxLocation::OnPremises;
        before.audio_conferencing_enabled = false;
        let mut after = before.clone();
        after.audio_conferencing_enabled = true;
        assert_no_migration(
            &decide(UserChange::EnableAudioConferencing, &before, &after),
            "Exchange Online",
        );
        assert_no_migration(
            &decide_manual_start(&after, SourceMeetingType::All, TargetMeetingType::Current),
            "Exchange Online",
        );
    }

    // "Assign the Audio Conferencing license to the user before you run the Move-CsUser cmdlet ...
    // If you don't assign the license first, MMS will update all meetings again when you assign
    // the license." — so a licence assigned while homed on-premises does not migrate.
    #[test]
    fn audio_change_while_homed_on_premises_waits_for_move() {
        let mut before = online_user();
        before.homing = Homing::OnPremises;
        before.audio_conferencing_licensed = false;
        let mut after = before.clone();
        after.audio_conferencing_licensed = true;
        assert_no_migration(
            &decide(UserChange::AssignLicence, &before, &after),
            "on-premises",
        );
    }

    // "If the value of this parameter is $false, then MMS won't update the meetings even if a
    // user is assigned a Audio Conferencing licence."
    #[test]
    fn third_party_acp_blocks_without_automatic_replacement() {
        let mut before = online_user();
        before.provider = AudioConferencingProvider::ThirdParty;
        before.audio_conferencing_licensed = false;
        let mut after = before.clone();
        after.audio_conferencing_licensed = true;
        assert_no_migration(
            &decide(UserChange::AssignLicence, &before, &after),
            "AutomaticallyReplaceAcpProvider is False",
        );
        let mut moved = before.clone();
        moved.conference_id = "1234567".into();
        assert_no_migration(
            &decide(
                UserChange::SetConferenceId {
                    conference_id: "1234567".into(),
                },
                &before,
                &moved,
            ),
            "third-party",
        );
    }

    // "If the value of this parameter is $true, then MMS will run when a user is assigned a Audio
    // Conferencing license and update their meetings."
    #[test]
    fn third_party_acp_replaced_when_licence_assigned_and_replacement_on() {
        let (t, mut d) = on();
        d.automatically_replace_acp_provider = true;
        let mut before = online_user();
        before.provider = AudioConferencingProvider::ThirdParty;
        before.audio_conferencing_licensed = false;
        assert!(licence_replaces_acp_provider(
            &before,
            &UserChange::AssignLicence,
            &d
        ));
        assert!(!licence_replaces_acp_provider(
            &before,
            &UserChange::EnableAudioConferencing,
            &d
        ));
        let after = online_user(); // provider Microsoft, licensed
        let dec = decide_user_change(&UserChange::AssignLicence, &before, &after, &t, &d);
        assert!(dec.is_enqueue(), "{dec:?}");
        assert!(dec.reason().contains("ACP replaced"));
    }

    // Reference §5: "change ACP to Microsoft" triggers.
    #[test]
    fn provider_changed_to_microsoft_triggers() {
        let mut before = online_user();
        before.provider = AudioConferencingProvider::ThirdParty;
        let after = online_user();
        let change = UserChange::SetProvider {
            provider: AudioConferencingProvider::Microsoft,
        };
        assert!(decide(change, &before, &after).is_enqueue());
    }

    #[test]
    fn change_that_changes_nothing_does_not_trigger() {
        let u = online_user();
        assert_no_migration(
            &decide(UserChange::AssignLicence, &u, &u),
            "changed nothing",
        );
    }

    // "you can also run the meeting migration manually for a user by running the cmdlet
    // Start-CsExMeetingMigration" — honoured even with MeetingMigrationEnabled false.
    #[test]
    fn manual_start_is_honoured_and_maps_migration_type() {
        let u = online_user();
        assert_enqueued(
            &decide_manual_start(&u, SourceMeetingType::All, TargetMeetingType::Teams),
            MigrationType::AllToTeams,
        );
        assert_enqueued(
            &decide_manual_start(&u, SourceMeetingType::SfB, TargetMeetingType::Current),
            MigrationType::SfbToSfb,
        );
        assert_enqueued(
            &decide_manual_start(&u, SourceMeetingType::Teams, TargetMeetingType::Current),
            MigrationType::TeamsToTeams,
        );
        let mut sfb = u.clone();
        sfb.meeting_kind = MeetingKind::SkypeForBusiness;
        assert_enqueued(
            &decide_manual_start(&sfb, SourceMeetingType::All, TargetMeetingType::Current),
            MigrationType::ToSameType,
        );
    }

    #[test]
    fn merge_widens_source_and_prefers_teams_target() {
        let a = (
            MigrationType::ToSameType,
            SourceMeetingType::All,
            TargetMeetingType::Current,
        );
        assert_eq!(merge_job_requests(a, a, MeetingKind::Teams), a);
        let b = (
            MigrationType::SfbToTeams,
            SourceMeetingType::SfB,
            TargetMeetingType::Teams,
        );
        assert_eq!(
            merge_job_requests(a, b, MeetingKind::Teams),
            (
                MigrationType::AllToTeams,
                SourceMeetingType::All,
                TargetMeetingType::Teams
            )
        );
        let s = (
            MigrationType::SfbToSfb,
            SourceMeetingType::SfB,
            TargetMeetingType::Current,
        );
        assert_eq!(
            merge_job_requests(s, a, MeetingKind::SkypeForBusiness).0,
            MigrationType::SfbToSfb
        );
    }

    #[test]
    fn user_change_json_is_tagged_by_change() {
        let c: UserChange =
            serde_json::from_str(r#"{"Change":"SetConferenceId","ConferenceId":"4455667"}"#)
                .unwrap();
        assert_eq!(
            c,
            UserChange::SetConferenceId {
                conference_id: "4455667".into()
            }
        );
        let c: UserChange = serde_json::from_str(r#"{"Change":"AssignLicence"}"#).unwrap();
        assert_eq!(c, UserChange::AssignLicence);
        assert!(serde_json::from_str::<UserChange>(r#"{"Change":"Explode"}"#).is_err());
        assert!(serde_json::from_str::<UserChange>(
            r#"{"Change":"GrantTeamsUpgradePolicy","PolicyName":"Nope"}"#
        )
        .is_err());
        let d = Decision::NoMigration { reason: "x".into() };
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"Decision":"NoMigration","Reason":"x"}"#
        );
    }

    #[test]
    fn conference_id_must_be_5_to_12_digits() {
        assert!(validate_conference_id("291633251").is_ok());
        assert!(validate_conference_id("1234").is_err());
        assert!(validate_conference_id("12a45678").is_err());
        assert!(validate_conference_id("1234567890123").is_err());
    }
}
