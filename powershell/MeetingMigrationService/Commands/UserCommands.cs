using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Text.Json.Nodes;

namespace MeetingMigrationService.Commands;

/// <summary>Get-CsOnlineUser: users with their identities and the settings MMS reads.</summary>
[Cmdlet(VerbsCommon.Get, "CsOnlineUser")]
[OutputType(typeof(OnlineUser))]
public sealed class GetCsOnlineUserCommand : MmsCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, HelpMessage = "The user: UPN, SIP address, ObjectId or display name. Omit to list every user.")]
    public string? Identity { get; set; }

    [Parameter(HelpMessage = "Return at most this many users.")]
    [ValidateRange(1, int.MaxValue)]
    public int? ResultSize { get; set; }

    protected override void ProcessRecord() =>
        TryRun(Identity, () =>
        {
            IEnumerable<JsonObject> users = string.IsNullOrEmpty(Identity) ? Engine.ListUsers() : new[] { Engine.GetUser(Identity!) };
            if (ResultSize is int n)
            {
                users = users.Take(n);
            }

            WriteObject(users.Select(MmsEngine.ToOnlineUser), enumerateCollection: true);
        });
}

/// <summary>Get-CsOnlineDialInConferencingUser: users' audio-conferencing settings.</summary>
[Cmdlet(VerbsCommon.Get, "CsOnlineDialInConferencingUser")]
[OutputType(typeof(OnlineDialInConferencingUser))]
public sealed class GetCsOnlineDialInConferencingUserCommand : MmsCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The user: UPN, SIP address, ObjectId or display name. Omit to list every user enabled for audio conferencing.")]
    public string? Identity { get; set; }

    [Parameter(HelpMessage = "Only users on the bridge with this name.")]
    public string? BridgeName { get; set; }

    [Parameter(HelpMessage = "Only users on the bridge with this Identity.")]
    public Guid? BridgeId { get; set; }

    [Parameter(HelpMessage = "Only users whose toll or toll-free service number is this number.")]
    public string? ServiceNumber { get; set; }

    [Parameter(HelpMessage = "Return at most this many users.")]
    [ValidateRange(1, int.MaxValue)]
    public int? ResultSize { get; set; }

    protected override void ProcessRecord() =>
        TryRun(Identity, () =>
        {
            List<ConferencingBridge> bridges = Engine.ListBridges().Select(MmsEngine.ToBridge).ToList();
            IEnumerable<OnlineDialInConferencingUser> users = string.IsNullOrEmpty(Identity)
                ? Engine.ListUsers().Select(u => MmsEngine.ToDialInUser(u, bridges)).Where(u => u.Enabled)
                : new[] { MmsEngine.ToDialInUser(Engine.GetUser(Identity!), bridges) };
            if (!string.IsNullOrEmpty(BridgeName))
            {
                users = users.Where(u => string.Equals(u.BridgeName, BridgeName, StringComparison.OrdinalIgnoreCase));
            }

            if (BridgeId is Guid id)
            {
                users = users.Where(u => u.BridgeId == id);
            }

            if (!string.IsNullOrEmpty(ServiceNumber))
            {
                string wanted = PhoneNumber.Normalize(ServiceNumber!);
                users = users.Where(u => PhoneNumber.Normalize(u.ServiceNumber) == wanted || PhoneNumber.Normalize(u.TollFreeServiceNumber) == wanted);
            }

            if (ResultSize is int n)
            {
                users = users.Take(n);
            }

            WriteObject(users, enumerateCollection: true);
        });
}

/// <summary>
/// Base of the cmdlets that change one user and let the service decide whether that triggers a
/// meeting migration. The decision goes to the verbose stream, or to the output with -PassThru.
/// </summary>
public abstract class UserChangeCmdlet : MmsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, HelpMessage = "The user: UPN, SIP address, ObjectId or display name.")]
    [ValidateNotNullOrEmpty]
    public string Identity { get; set; } = string.Empty;

    [Parameter(HelpMessage = "Write the service's decision (whether a meeting migration was queued, and why).")]
    public SwitchParameter PassThru { get; set; }

    /// <summary>The changes, in order, as the library's change JSON (<c>{"Change": "...", ...}</c>).</summary>
    protected abstract IEnumerable<JsonObject> Changes();

    /// <summary>What ShouldProcess shows.</summary>
    protected abstract string Action { get; }

    protected override void ProcessRecord()
    {
        List<JsonObject> changes = Changes().ToList();
        if (!ShouldProcess(Identity, Action))
        {
            return;
        }

        TryRun(Identity, () =>
        {
            foreach (JsonObject change in changes)
            {
                MeetingMigrationDecision decision = Engine.ChangeUser(Identity, change);
                WriteDecision(decision);
                if (PassThru)
                {
                    WriteObject(decision);
                }
            }
        });
    }
}

/// <summary>Set-CsOnlineDialInConferencingUser: conference ID, bridge and service numbers of a user.</summary>
[Cmdlet(VerbsCommon.Set, "CsOnlineDialInConferencingUser", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MeetingMigrationDecision))]
public sealed class SetCsOnlineDialInConferencingUserCommand : UserChangeCmdlet
{
    [Parameter(HelpMessage = "A new conference ID for the user's meetings. Cannot be combined with -ResetConferenceId.")]
    [Alias("Passcode")]
    [ValidateRange(0, int.MaxValue)]
    public int? ConferenceId { get; set; }

    [Parameter(HelpMessage = "Give the user a new, generated conference ID. Meetings with the old ID are migrated.")]
    [Alias("ResetPasscode")]
    public SwitchParameter ResetConferenceId { get; set; }

    [Parameter(HelpMessage = "Move the user to the bridge with this name.")]
    public string? BridgeName { get; set; }

    [Parameter(HelpMessage = "Move the user to the bridge with this Identity.")]
    public Guid? BridgeId { get; set; }

    [Parameter(HelpMessage = "The user's toll number (E.164, +E.164 or tel:+E.164); it must be on the user's bridge. An empty string removes it.")]
    [AllowEmptyString]
    public string? ServiceNumber { get; set; }

    [Parameter(HelpMessage = "The user's toll-free number (E.164, +E.164 or tel:+E.164). An empty string removes it.")]
    [AllowEmptyString]
    public string? TollFreeServiceNumber { get; set; }

    [Parameter(HelpMessage = "Accepted so Microsoft's examples run unchanged; this engine does not store leader PINs, so nothing is reset (a verbose message says so).")]
    public SwitchParameter ResetLeaderPin { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility: this cmdlet never prompts beyond -Confirm.")]
    public SwitchParameter Force { get; set; }

    protected override string Action => "Set dial-in conferencing settings";

    protected override IEnumerable<JsonObject> Changes()
    {
        if (ConferenceId is not null && ResetConferenceId)
        {
            ThrowArgumentError("ConferenceIdAndResetConferenceIdAreExclusive", "-ConferenceId and -ResetConferenceId cannot be used together.", Identity);
        }

        if (BridgeId is not null && !string.IsNullOrEmpty(BridgeName))
        {
            ThrowArgumentError("BridgeIdAndBridgeNameAreExclusive", "-BridgeId and -BridgeName cannot be used together.", Identity);
        }

        if (ResetLeaderPin)
        {
            WriteVerbose("-ResetLeaderPin: leader PINs are not stored by this engine; nothing to reset.");
        }

        var changes = new List<JsonObject>();
        if (BridgeId is Guid bridgeId)
        {
            changes.Add(UserChangeJson.Of("MoveToBridge", "Bridge", bridgeId.ToString()));
        }

        if (!string.IsNullOrEmpty(BridgeName))
        {
            changes.Add(UserChangeJson.Of("MoveToBridge", "Bridge", BridgeName));
        }

        if (ServiceNumber is not null)
        {
            changes.Add(UserChangeJson.Of("SetServiceNumber", "Number", ServiceNumber));
        }

        if (TollFreeServiceNumber is not null)
        {
            changes.Add(UserChangeJson.Of("SetTollFreeServiceNumber", "Number", TollFreeServiceNumber));
        }

        if (ConferenceId is int id)
        {
            changes.Add(UserChangeJson.Of("SetConferenceId", "ConferenceId", id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (ResetConferenceId)
        {
            changes.Add(UserChangeJson.Of("ResetConferenceId"));
        }

        if (changes.Count == 0 && !ResetLeaderPin)
        {
            ThrowArgumentError("NoChangeSpecified", "Specify at least one setting to change.", Identity);
        }

        return changes;
    }
}

/// <summary>Enable-CsOnlineDialInConferencingUser: turns audio conferencing on for a user.</summary>
[Cmdlet(VerbsLifecycle.Enable, "CsOnlineDialInConferencingUser", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MeetingMigrationDecision))]
public sealed class EnableCsOnlineDialInConferencingUserCommand : UserChangeCmdlet
{
    [Parameter(HelpMessage = "Replace the user's third-party audio-conferencing provider with Microsoft.")]
    public SwitchParameter ReplaceProvider { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility: this cmdlet never prompts beyond -Confirm.")]
    public SwitchParameter Force { get; set; }

    protected override string Action => ReplaceProvider ? "Enable audio conferencing, replacing the provider" : "Enable audio conferencing";

    protected override IEnumerable<JsonObject> Changes()
    {
        // Replacing a third-party provider is its own change, made before enabling.
        if (ReplaceProvider)
        {
            yield return UserChangeJson.Of("SetProvider", "Provider", "Microsoft");
        }

        yield return UserChangeJson.Of("EnableAudioConferencing");
    }
}

/// <summary>Disable-CsOnlineDialInConferencingUser: turns audio conferencing off for a user.</summary>
[Cmdlet(VerbsLifecycle.Disable, "CsOnlineDialInConferencingUser", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MeetingMigrationDecision))]
public sealed class DisableCsOnlineDialInConferencingUserCommand : UserChangeCmdlet
{
    [Parameter(HelpMessage = "Accepted for compatibility: this cmdlet never prompts beyond -Confirm.")]
    public SwitchParameter Force { get; set; }

    protected override string Action => "Disable audio conferencing";

    protected override IEnumerable<JsonObject> Changes() => new[] { UserChangeJson.Of("DisableAudioConferencing") };
}

/// <summary>Set-MmsUserLicense (ours): assigns or removes the Audio Conferencing licence.</summary>
[Cmdlet(VerbsCommon.Set, "MmsUserLicense", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MeetingMigrationDecision))]
public sealed class SetMmsUserLicenseCommand : UserChangeCmdlet
{
    [Parameter(Mandatory = true, HelpMessage = "$true assigns the Audio Conferencing licence, $false removes it.")]
    public bool AudioConferencing { get; set; }

    protected override string Action => AudioConferencing ? "Assign the Audio Conferencing licence" : "Remove the Audio Conferencing licence";

    protected override IEnumerable<JsonObject> Changes() =>
        new[] { UserChangeJson.Of(AudioConferencing ? "AssignLicence" : "RemoveLicence") };
}

/// <summary>Move-CsUser: moves a user between Skype for Business Server and the online service.</summary>
[Cmdlet(VerbsCommon.Move, "CsUser", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MeetingMigrationDecision))]
public sealed class MoveCsUserCommand : UserChangeCmdlet
{
    /// <summary>The online service's federation FQDN; any other target is an on-premises pool.</summary>
    internal const string OnlineTarget = "sipfed.online.lync.com";

    [Parameter(Mandatory = true, Position = 1, HelpMessage = "sipfed.online.lync.com moves the user online; an on-premises pool FQDN moves the user back on-premises.")]
    [ValidateNotNullOrEmpty]
    public string Target { get; set; } = string.Empty;

    [Parameter(HelpMessage = "Accepted for compatibility: moved users' meetings become Teams meetings without it.")]
    public SwitchParameter MoveToTeams { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility: this cmdlet never prompts beyond -Confirm.")]
    public SwitchParameter Force { get; set; }

    protected override string Action => $"Move user to {Target}";

    protected override IEnumerable<JsonObject> Changes() => new[]
    {
        UserChangeJson.Of(string.Equals(Target.Trim().TrimEnd('.'), OnlineTarget, StringComparison.OrdinalIgnoreCase) ? "MoveToOnline" : "MoveToOnPremises"),
    };
}

/// <summary>Grant-CsTeamsUpgradePolicy: grants a TeamsUpgradePolicy to a user, or tenant-wide with -Global.</summary>
[Cmdlet(VerbsSecurity.Grant, "CsTeamsUpgradePolicy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Identity")]
[OutputType(typeof(MeetingMigrationDecision))]
public sealed class GrantCsTeamsUpgradePolicyCommand : MmsCmdlet
{
    /// <summary>Microsoft's built-in policy instances and the coexistence mode each sets.</summary>
    internal static readonly IReadOnlyDictionary<string, string> ModeOfPolicy = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["Islands"] = "Islands",
        ["IslandsWithNotify"] = "Islands",
        ["SfBOnly"] = "SfBOnly",
        ["SfBOnlyWithNotify"] = "SfBOnly",
        ["SfBWithTeamsCollab"] = "SfBWithTeamsCollab",
        ["SfBWithTeamsCollabWithNotify"] = "SfBWithTeamsCollab",
        ["SfBWithTeamsCollabAndMeetings"] = "SfBWithTeamsCollabAndMeetings",
        ["SfBWithTeamsCollabAndMeetingsWithNotify"] = "SfBWithTeamsCollabAndMeetings",
        ["UpgradeToTeams"] = "TeamsOnly",
    };

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Identity", HelpMessage = "The user: UPN, SIP address, ObjectId or display name.")]
    [ValidateNotNullOrEmpty]
    public string? Identity { get; set; }

    [Parameter(Mandatory = true, Position = 1, HelpMessage = "The policy instance, e.g. UpgradeToTeams (TeamsOnly) or SfBWithTeamsCollabAndMeetings.")]
    [ValidateSet("Islands", "IslandsWithNotify", "SfBOnly", "SfBOnlyWithNotify", "SfBWithTeamsCollab", "SfBWithTeamsCollabWithNotify", "SfBWithTeamsCollabAndMeetings", "SfBWithTeamsCollabAndMeetingsWithNotify", "UpgradeToTeams")]
    public string PolicyName { get; set; } = string.Empty;

    [Parameter(Mandatory = true, ParameterSetName = "Global", HelpMessage = "Grant the policy tenant-wide. A tenant-wide grant never triggers meeting migration.")]
    public SwitchParameter Global { get; set; }

    [Parameter(HelpMessage = "Write the service's decision (whether a meeting migration was queued, and why).")]
    public SwitchParameter PassThru { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility: this cmdlet never prompts beyond -Confirm.")]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        string mode = ModeOfPolicy[PolicyName];
        string target = Global ? "Global" : Identity!;
        if (!ShouldProcess(target, $"Grant TeamsUpgradePolicy '{PolicyName}' (mode {mode})"))
        {
            return;
        }

        TryRun(target, () =>
        {
            MeetingMigrationDecision decision = Global
                ? Engine.TenantEvent(new JsonObject { ["Event"] = "GrantTeamsUpgradePolicyGlobal", ["PolicyName"] = mode })
                : Engine.ChangeUser(Identity!, UserChangeJson.Of("GrantTeamsUpgradePolicy", "PolicyName", mode));
            WriteDecision(decision);
            if (PassThru)
            {
                WriteObject(decision);
            }
        });
    }
}

/// <summary>Builds the library's user-change JSON, tagged by <c>Change</c>.</summary>
internal static class UserChangeJson
{
    internal static JsonObject Of(string change) => new() { ["Change"] = change };

    internal static JsonObject Of(string change, string key, string value) => new() { ["Change"] = change, [key] = value };
}

/// <summary>Normalises the accepted phone-number spellings (E.164, +E.164, tel:+E.164) for comparisons.</summary>
internal static class PhoneNumber
{
    internal static string Normalize(string? n)
    {
        string s = (n ?? string.Empty).Trim();
        if (s.StartsWith("tel:", StringComparison.OrdinalIgnoreCase))
        {
            s = s.Substring(4);
        }

        return new string(s.Where(char.IsDigit).ToArray());
    }
}
