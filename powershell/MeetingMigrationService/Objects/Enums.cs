namespace MeetingMigrationService;

/// <summary>Values of Get-CsMeetingMigrationStatus -State.</summary>
public enum StateType
{
    Pending,
    InProgress,
    Failed,
    Succeeded,
}

/// <summary>Values of Get-CsMeetingMigrationStatus -MigrationType.</summary>
public enum MigrationTypes
{
    SfbToSfb,
    SfbToTeams,
    TeamsToTeams,
    AllToTeams,
    ToSameType,
}

/// <summary>Start-CsExMeetingMigration -SourceMeetingType: which meetings are candidates.</summary>
public enum MmsSourceMeetingTypes
{
    /// <summary>Skype for Business and Teams meetings.</summary>
    All,

    /// <summary>Skype for Business (on-premises or online) meetings only.</summary>
    SfB,

    /// <summary>Teams meetings only.</summary>
    Teams,
}

/// <summary>Start-CsExMeetingMigration -TargetMeetingType.</summary>
public enum MmsTargetMeetingTypes
{
    /// <summary>Keep each meeting's kind; update its coordinates.</summary>
    Current,

    /// <summary>Convert every migrated meeting to a Teams meeting.</summary>
    Teams,
}
