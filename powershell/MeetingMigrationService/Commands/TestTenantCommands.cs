using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Text.Json.Nodes;

namespace MeetingMigrationService.Commands;

/// <summary>
/// New-MmsUser (ours): creates a directory user in the store, e.g. for a test tenant. Creating a
/// user never triggers a migration; change users afterwards with Microsoft's cmdlets.
/// </summary>
[Cmdlet(VerbsCommon.New, "MmsUser", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(OnlineUser))]
public sealed class NewMmsUserCommand : MmsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The user's UPN, e.g. ashaw@contoso.com.")]
    [ValidateNotNullOrEmpty]
    public string UserPrincipalName { get; set; } = string.Empty;

    [Parameter(ValueFromPipelineByPropertyName = true, HelpMessage = "The display name; the UPN's user part when omitted.")]
    public string? DisplayName { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, HelpMessage = "The SIP address, with or without sip:; the UPN when omitted.")]
    public string? SipAddress { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, HelpMessage = "The ObjectId; a new GUID when omitted.")]
    public Guid? ObjectId { get; set; }

    [Parameter(HelpMessage = "Where the mailbox is: ExchangeOnline (default) or OnPremises.")]
    [ValidateSet("ExchangeOnline", "OnPremises")]
    public string MailboxLocation { get; set; } = "ExchangeOnline";

    [Parameter(HelpMessage = "Where the user is homed for Skype for Business: Online (default) or OnPremises.")]
    [ValidateSet("Online", "OnPremises")]
    public string Homing { get; set; } = "Online";

    [Parameter(HelpMessage = "Who provides audio conferencing: Microsoft (default) or ThirdParty.")]
    [ValidateSet("Microsoft", "ThirdParty")]
    public string AudioConferencingProvider { get; set; } = "Microsoft";

    [Parameter(HelpMessage = "The kind of meeting the user schedules: Teams (default) or SfB.")]
    [ValidateSet("Teams", "SfB")]
    public string MeetingKind { get; set; } = "Teams";

    [Parameter(HelpMessage = "Whether the user has the Audio Conferencing licence.")]
    public SwitchParameter AudioConferencingLicensed { get; set; }

    [Parameter(HelpMessage = "Whether audio conferencing is enabled for the user.")]
    public SwitchParameter AudioConferencingEnabled { get; set; }

    [Parameter(HelpMessage = "The user's conference ID (digits).")]
    [ValidatePattern("^[0-9]*$")]
    public string ConferenceId { get; set; } = string.Empty;

    [Parameter(HelpMessage = "The Identity of the user's bridge.")]
    public Guid? BridgeId { get; set; }

    [Parameter(HelpMessage = "The user's own toll number (on their bridge).")]
    public string? ServiceNumber { get; set; }

    [Parameter(HelpMessage = "The user's own toll-free number.")]
    public string? TollFreeServiceNumber { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(UserPrincipalName, "Create user"))
        {
            return;
        }

        var user = new JsonObject
        {
            ["ObjectId"] = (ObjectId ?? Guid.NewGuid()).ToString(),
            ["UserPrincipalName"] = UserPrincipalName,
            ["SipAddress"] = StripSip(SipAddress ?? UserPrincipalName),
            ["DisplayName"] = DisplayName ?? UserPrincipalName.Split('@')[0],
            ["MailboxLocation"] = MailboxLocation,
            ["Homing"] = Homing,
            ["AudioConferencingLicensed"] = AudioConferencingLicensed.IsPresent,
            ["AudioConferencingEnabled"] = AudioConferencingEnabled.IsPresent,
            ["Provider"] = AudioConferencingProvider,
            ["ConferenceId"] = ConferenceId,
            ["BridgeId"] = BridgeId?.ToString(),
            ["ServiceNumber"] = ServiceNumber,
            ["TollFreeServiceNumber"] = TollFreeServiceNumber,
            ["MeetingKind"] = MeetingKind,
            ["TeamsUpgradePolicy"] = null,
        };
        TryRun(UserPrincipalName, () => WriteObject(MmsEngine.ToOnlineUser(Engine.UpsertUser(user))));
    }

    internal static string StripSip(string s) =>
        s.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) ? s.Substring(4) : s;
}

/// <summary>
/// Set-MmsUser (ours): the user changes Microsoft makes outside the Teams module (SIP address
/// via Set-CsUser, mailbox moves via Exchange, provider changes), reported to the service, which
/// decides whether each triggers a migration (a SIP address change never does).
/// </summary>
[Cmdlet(VerbsCommon.Set, "MmsUser", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MeetingMigrationDecision))]
public sealed class SetMmsUserCommand : UserChangeCmdlet
{
    [Parameter(HelpMessage = "A new SIP address, with or without sip:.")]
    public string? SipAddress { get; set; }

    [Parameter(HelpMessage = "Move the mailbox: ExchangeOnline or OnPremises.")]
    [ValidateSet("ExchangeOnline", "OnPremises")]
    public string? MailboxLocation { get; set; }

    [Parameter(HelpMessage = "Change the audio-conferencing provider: Microsoft or ThirdParty.")]
    [ValidateSet("Microsoft", "ThirdParty")]
    public string? AudioConferencingProvider { get; set; }

    protected override string Action => "Change user";

    protected override IEnumerable<JsonObject> Changes()
    {
        var changes = new List<JsonObject>();
        if (!string.IsNullOrEmpty(SipAddress))
        {
            changes.Add(UserChangeJson.Of("SetSipAddress", "SipAddress", NewMmsUserCommand.StripSip(SipAddress!)));
        }

        if (MailboxLocation is not null)
        {
            changes.Add(UserChangeJson.Of("SetMailboxLocation", "MailboxLocation", MailboxLocation));
        }

        if (AudioConferencingProvider is not null)
        {
            changes.Add(UserChangeJson.Of("SetProvider", "Provider", AudioConferencingProvider));
        }

        if (changes.Count == 0)
        {
            ThrowArgumentError("NoChangeSpecified", "Specify at least one setting to change.", Identity);
        }

        return changes;
    }
}
