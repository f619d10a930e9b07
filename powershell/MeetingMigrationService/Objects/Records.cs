using System;

namespace MeetingMigrationService;

/// <summary>One row of Get-CsMeetingMigrationStatus: Microsoft's 13 properties, in their order.</summary>
public sealed class MeetingMigrationStatus
{
    public string CorrelationId { get; set; } = string.Empty;

    public DateTime CreateDate { get; set; }

    public int FailedMeeting { get; set; }

    public int InvitesUpdate { get; set; }

    public string LastMessage { get; set; } = string.Empty;

    public string MigrationType { get; set; } = string.Empty;

    public DateTime ModifiedDate { get; set; }

    public int RetryCount { get; set; }

    public string State { get; set; } = string.Empty;

    public int SucceededMeeting { get; set; }

    public int TotalMeeting { get; set; }

    /// <summary>The user's ObjectId.</summary>
    public string UserId { get; set; } = string.Empty;

    public string UserPrincipalName { get; set; } = string.Empty;

    public override string ToString() => UserPrincipalName;
}

/// <summary>One row of <c>Get-CsMeetingMigrationStatus -SummaryOnly</c>.</summary>
public sealed class MeetingMigrationStateSummary
{
    public string State { get; set; } = string.Empty;

    public int UserCount { get; set; }

    public override string ToString() => $"{State} {UserCount}";
}

/// <summary>Get-CsTenantMigrationConfiguration.</summary>
public sealed class TenantMigrationConfiguration
{
    public string Identity { get; set; } = "Global";

    public bool MeetingMigrationEnabled { get; set; }

    public override string ToString() => Identity;
}

/// <summary>
/// Get-CsOnlineDialInConferencingTenantSettings. Every property is also a parameter of the Set
/// cmdlet with the same type, so a splat of any subset round-trips.
/// </summary>
public sealed class OnlineDialInConferencingTenantSettings
{
    public string Identity { get; set; } = "Global";

    public string[] AllowedDialOutExternalDomains { get; set; } = Array.Empty<string>();

    public bool EnableEntryExitNotifications { get; set; }

    public string EntryExitAnnouncementsType { get; set; } = string.Empty;

    public bool EnableNameRecording { get; set; }

    public bool IncludeTollFreeNumberInMeetingInvites { get; set; }

    public string MaskPstnNumbersType { get; set; } = string.Empty;

    public uint PinLength { get; set; }

    public bool AllowPSTNOnlyMeetingsByDefault { get; set; }

    public bool AutomaticallySendEmailsToUsers { get; set; }

    public bool SendEmailFromOverride { get; set; }

    public string SendEmailFromAddress { get; set; } = string.Empty;

    public string SendEmailFromDisplayName { get; set; } = string.Empty;

    public bool AutomaticallyReplaceAcpProvider { get; set; }

    public bool UseUniqueConferenceIds { get; set; }

    public bool AutomaticallyMigrateUserMeetings { get; set; }

    public bool MigrateServiceNumbersOnCrossForestMove { get; set; }

    public bool EnableDialOutJoinConfirmation { get; set; }

    public string AllowFederatedUsersToDialOutToSelf { get; set; } = string.Empty;

    public string AllowFederatedUsersToDialOutToThirdParty { get; set; } = string.Empty;

    public override string ToString() => Identity;
}

/// <summary>Get-CsOnlineUser: a directory user with the settings MMS cares about.</summary>
public sealed class OnlineUser
{
    /// <summary>The ObjectId as a string (what Microsoft's current module shows).</summary>
    public string Identity { get; set; } = string.Empty;

    public string UserPrincipalName { get; set; } = string.Empty;

    /// <summary>With the <c>sip:</c> prefix, as Microsoft shows it.</summary>
    public string SipAddress { get; set; } = string.Empty;

    public string DisplayName { get; set; } = string.Empty;

    public Guid ObjectId { get; set; }

    /// <summary>ExchangeOnline or OnPremises.</summary>
    public string MailboxLocation { get; set; } = string.Empty;

    /// <summary>Online or OnPremises (Skype for Business homing).</summary>
    public string Homing { get; set; } = string.Empty;

    public bool AudioConferencingLicensed { get; set; }

    public bool AudioConferencingEnabled { get; set; }

    /// <summary>Microsoft or ThirdParty.</summary>
    public string AudioConferencingProvider { get; set; } = string.Empty;

    /// <summary>SfB or Teams: the kind of meeting the user schedules now.</summary>
    public string MeetingKind { get; set; } = string.Empty;

    /// <summary>The per-user TeamsUpgradePolicy mode, empty when inherited from the tenant.</summary>
    public string TeamsUpgradePolicy { get; set; } = string.Empty;

    public override string ToString() => UserPrincipalName;
}

/// <summary>Get-CsOnlineDialInConferencingUser.</summary>
public sealed class OnlineDialInConferencingUser
{
    /// <summary>The ObjectId as a string.</summary>
    public string Identity { get; set; } = string.Empty;

    public string DisplayName { get; set; } = string.Empty;

    public string UserPrincipalName { get; set; } = string.Empty;

    /// <summary>With the <c>sip:</c> prefix.</summary>
    public string SipAddress { get; set; } = string.Empty;

    public string ConferenceId { get; set; } = string.Empty;

    public Guid? BridgeId { get; set; }

    public string BridgeName { get; set; } = string.Empty;

    public string ServiceNumber { get; set; } = string.Empty;

    public string TollFreeServiceNumber { get; set; } = string.Empty;

    /// <summary>The bridge's default toll number.</summary>
    public string DefaultTollNumber { get; set; } = string.Empty;

    /// <summary>The bridge's default toll-free number.</summary>
    public string DefaultTollFreeNumber { get; set; } = string.Empty;

    /// <summary>Microsoft or ThirdParty.</summary>
    public string Provider { get; set; } = string.Empty;

    /// <summary>Whether audio conferencing is enabled for the user.</summary>
    public bool Enabled { get; set; }

    public bool Licensed { get; set; }

    public override string ToString() => UserPrincipalName;
}

/// <summary>A service number on a bridge.</summary>
public sealed class ConferencingServiceNumber
{
    public string Number { get; set; } = string.Empty;

    public string City { get; set; } = string.Empty;

    /// <summary>Toll or TollFree.</summary>
    public string Type { get; set; } = string.Empty;

    public bool IsDefault { get; set; }

    public Guid BridgeId { get; set; }

    public override string ToString() => Number;
}

/// <summary>Get-CsOnlineDialInConferencingBridge.</summary>
public sealed class ConferencingBridge
{
    public Guid Identity { get; set; }

    public string Name { get; set; } = string.Empty;

    public string Region { get; set; } = string.Empty;

    /// <summary>The default toll number, else the default toll-free number.</summary>
    public string DefaultServiceNumber { get; set; } = string.Empty;

    public ConferencingServiceNumber[] ServiceNumbers { get; set; } = Array.Empty<ConferencingServiceNumber>();

    public override string ToString() => Name;
}

/// <summary>What the service decided about a change: written to the verbose stream, or with -PassThru.</summary>
public sealed class MeetingMigrationDecision
{
    public string Identity { get; set; } = string.Empty;

    /// <summary>True when a migration job was queued (or merged into a pending one).</summary>
    public bool MigrationQueued { get; set; }

    public string MigrationType { get; set; } = string.Empty;

    public string Reason { get; set; } = string.Empty;

    public override string ToString() => MigrationQueued ? $"Queued {MigrationType}: {Reason}" : $"No migration: {Reason}";
}
