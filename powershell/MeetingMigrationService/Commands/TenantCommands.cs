using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MeetingMigrationService.Commands;

/// <summary>Set cmdlets that patch one settings object from bound parameters and/or an -Instance.</summary>
public abstract class SettingsSetCmdlet : MmsCmdlet
{
    protected const string IdentitySet = "Identity";
    protected const string InstanceSet = "Instance";

    /// <summary>Not a setting: how the target is named or how the cmdlet behaves.</summary>
    private static readonly HashSet<string> NonSettings = new(StringComparer.OrdinalIgnoreCase)
    {
        "Identity", "Instance", "Force", "Tenant", "MsftInternalProcessingMode", "PassThru",
    };

    /// <summary>
    /// The JSON patch: every setting property of -Instance (converted to the parameter's type),
    /// then every explicitly bound setting parameter on top. Unbound parameters are left out,
    /// so the library changes only what the admin named.
    /// </summary>
    protected JsonObject BuildPatch(PSObject? instance, string? identity)
    {
        var patch = new JsonObject();
        foreach (PropertyInfo p in GetType().GetProperties())
        {
            if (p.GetCustomAttribute<ParameterAttribute>() is null || NonSettings.Contains(p.Name))
            {
                continue;
            }

            if (Bound(p.Name))
            {
                patch[p.Name] = JsonSerializer.SerializeToNode(Unwrap(p.GetValue(this)));
            }
            else if (instance?.Properties[p.Name] is PSPropertyInfo prop)
            {
                Type target = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
                object? value = prop.Value is null ? null : LanguagePrimitives.ConvertTo(prop.Value, target);
                patch[p.Name] = JsonSerializer.SerializeToNode(Unwrap(value));
            }
        }

        if (!string.IsNullOrEmpty(identity))
        {
            patch["Identity"] = identity;
        }

        return patch;
    }

    /// <summary>The Identity named by -Identity or carried by -Instance.</summary>
    protected static string? IdentityOf(string? identity, PSObject? instance) =>
        !string.IsNullOrEmpty(identity) ? identity : instance?.Properties["Identity"]?.Value?.ToString();

    private static object? Unwrap(object? v) => v is PSObject pso ? pso.BaseObject : v;
}

/// <summary>Get-CsTenantMigrationConfiguration: is MMS enabled for the tenant?</summary>
[Cmdlet(VerbsCommon.Get, "CsTenantMigrationConfiguration")]
[OutputType(typeof(TenantMigrationConfiguration))]
public sealed class GetCsTenantMigrationConfigurationCommand : MmsCmdlet
{
    [Parameter(Position = 0, HelpMessage = "The configuration to return. The tenant has one, Global.")]
    public string? Identity { get; set; }

    [Parameter(HelpMessage = "Return configurations whose Identity matches this wildcard pattern.")]
    public string? Filter { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility with Microsoft's cmdlet; the store is always local.")]
    public SwitchParameter LocalStore { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility; a store holds one tenant.")]
    public Guid Tenant { get; set; }

    protected override void EndProcessing() =>
        TryRun(Identity, () =>
        {
            TenantMigrationConfiguration c = Engine.GetTenantMigrationConfiguration();
            if (Selection.Matches(this, c.Identity, Identity, Filter))
            {
                WriteObject(c);
            }
        });
}

/// <summary>Set-CsTenantMigrationConfiguration: turns MMS on or off for the tenant.</summary>
[Cmdlet(VerbsCommon.Set, "CsTenantMigrationConfiguration", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = IdentitySet)]
public sealed class SetCsTenantMigrationConfigurationCommand : SettingsSetCmdlet
{
    [Parameter(Position = 0, ParameterSetName = IdentitySet, HelpMessage = "The configuration to change. The tenant has one, Global (the default).")]
    public string? Identity { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InstanceSet, HelpMessage = "A configuration object from Get-CsTenantMigrationConfiguration, possibly modified.")]
    public PSObject? Instance { get; set; }

    [Parameter(HelpMessage = "$false stops every automatic meeting migration; $true (the default) enables them.")]
    public bool MeetingMigrationEnabled { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility: this cmdlet never prompts beyond -Confirm.")]
    public SwitchParameter Force { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility; a store holds one tenant.")]
    public Guid Tenant { get; set; }

    protected override void ProcessRecord()
    {
        string identity = IdentityOf(Identity, Instance) ?? "Global";
        JsonObject patch = BuildPatch(Instance, identity);
        if (ShouldProcess(identity, $"Set tenant migration configuration {patch.ToJsonString()}"))
        {
            TryRun(identity, () => Engine.SetTenantMigrationConfiguration(patch));
        }
    }
}

/// <summary>Get-CsOnlineDialInConferencingTenantSettings: the tenant's audio-conferencing settings.</summary>
[Cmdlet(VerbsCommon.Get, "CsOnlineDialInConferencingTenantSettings")]
[OutputType(typeof(OnlineDialInConferencingTenantSettings))]
public sealed class GetCsOnlineDialInConferencingTenantSettingsCommand : MmsCmdlet
{
    [Parameter(Position = 0, HelpMessage = "The settings to return. The tenant has one instance, Global.")]
    public string? Identity { get; set; }

    [Parameter(HelpMessage = "Return settings whose Identity matches this wildcard pattern.")]
    public string? Filter { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility with Microsoft's cmdlet; the store is always local.")]
    public SwitchParameter LocalStore { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility; a store holds one tenant.")]
    public Guid Tenant { get; set; }

    protected override void EndProcessing() =>
        TryRun(Identity, () =>
        {
            OnlineDialInConferencingTenantSettings s = Engine.GetDialInTenantSettings();
            if (Selection.Matches(this, s.Identity, Identity, Filter))
            {
                WriteObject(s);
            }
        });
}

/// <summary>Set-CsOnlineDialInConferencingTenantSettings: changes the tenant's audio-conferencing settings.</summary>
[Cmdlet(VerbsCommon.Set, "CsOnlineDialInConferencingTenantSettings", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = IdentitySet)]
public sealed class SetCsOnlineDialInConferencingTenantSettingsCommand : SettingsSetCmdlet
{
    [Parameter(Position = 0, ParameterSetName = IdentitySet, HelpMessage = "The settings to change. The tenant has one instance, Global (the default).")]
    public string? Identity { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InstanceSet, HelpMessage = "A settings object from Get-CsOnlineDialInConferencingTenantSettings, possibly modified.")]
    public PSObject? Instance { get; set; }

    [Parameter(HelpMessage = "Domains whose numbers conference participants may dial out to.")]
    [AllowEmptyCollection]
    public string[]? AllowedDialOutExternalDomains { get; set; }

    [Parameter(HelpMessage = "Whether participants hear a notification when someone joins or leaves by phone.")]
    public bool EnableEntryExitNotifications { get; set; }

    [Parameter(HelpMessage = "What announces a participant joining or leaving: UseNames or ToneOnly.")]
    [ValidateSet("UseNames", "ToneOnly")]
    public string? EntryExitAnnouncementsType { get; set; }

    [Parameter(HelpMessage = "Whether callers record their name before joining.")]
    public bool EnableNameRecording { get; set; }

    [Parameter(HelpMessage = "Obsolete in Microsoft's service; stored for compatibility.")]
    public bool IncludeTollFreeNumberInMeetingInvites { get; set; }

    [Parameter(HelpMessage = "Who sees participants' phone numbers masked: MaskedForExternalUsers, MaskedForAllUsers or NoMasking.")]
    [ValidateSet("MaskedForExternalUsers", "MaskedForAllUsers", "NoMasking")]
    public string? MaskPstnNumbersType { get; set; }

    [Parameter(HelpMessage = "Number of digits in organizers' PINs, 4 to 12.")]
    [ValidateRange(4, 12)]
    public uint PinLength { get; set; }

    [Parameter(HelpMessage = "Whether new users may start meetings by phone without an authenticated participant.")]
    public bool AllowPSTNOnlyMeetingsByDefault { get; set; }

    [Parameter(HelpMessage = "Whether users are emailed when their audio-conferencing settings change.")]
    public bool AutomaticallySendEmailsToUsers { get; set; }

    [Parameter(HelpMessage = "Whether emails use SendEmailFromAddress and SendEmailFromDisplayName (deprecated).")]
    public bool SendEmailFromOverride { get; set; }

    [Parameter(HelpMessage = "Sender address of audio-conferencing emails, alias@domain (deprecated).")]
    [AllowEmptyString]
    public string? SendEmailFromAddress { get; set; }

    [Parameter(HelpMessage = "Sender display name of audio-conferencing emails (deprecated).")]
    [AllowEmptyString]
    public string? SendEmailFromDisplayName { get; set; }

    [Parameter(HelpMessage = "Whether assigning an Audio Conferencing licence replaces a third-party provider (and then MMS migrates the user's meetings).")]
    public bool AutomaticallyReplaceAcpProvider { get; set; }

    [Parameter(HelpMessage = "Whether private meetings (unique conference IDs) are enabled.")]
    public bool UseUniqueConferenceIds { get; set; }

    [Parameter(HelpMessage = "$false stops MMS for audio-conferencing changes; on-premises to online moves still migrate.")]
    public bool AutomaticallyMigrateUserMeetings { get; set; }

    [Parameter(HelpMessage = "Whether service numbers move with the tenant across forests.")]
    public bool MigrateServiceNumbersOnCrossForestMove { get; set; }

    [Parameter(HelpMessage = "Whether dialled-out participants confirm before joining.")]
    public bool EnableDialOutJoinConfirmation { get; set; }

    [Parameter(HelpMessage = "Whether federated users may dial out to themselves: No, Yes or RequireSameEnterpriseUser.")]
    [ValidateSet("No", "Yes", "RequireSameEnterpriseUser")]
    public string? AllowFederatedUsersToDialOutToSelf { get; set; }

    [Parameter(HelpMessage = "Whether federated users may dial out to third parties: No, Yes or RequireSameEnterpriseUser.")]
    [ValidateSet("No", "Yes", "RequireSameEnterpriseUser")]
    public string? AllowFederatedUsersToDialOutToThirdParty { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility: this cmdlet never prompts beyond -Confirm.")]
    public SwitchParameter Force { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility; a store holds one tenant.")]
    public Guid Tenant { get; set; }

    [Parameter(HelpMessage = "Reserved for internal Microsoft use; ignored.")]
    public string? MsftInternalProcessingMode { get; set; }

    protected override void ProcessRecord()
    {
        string identity = IdentityOf(Identity, Instance) ?? "Global";
        JsonObject patch = BuildPatch(Instance, identity);
        if (ShouldProcess(identity, $"Set dial-in conferencing tenant settings {patch.ToJsonString()}"))
        {
            TryRun(identity, () => Engine.SetDialInTenantSettings(patch));
        }
    }
}

/// <summary>Identity/-Filter selection for the single-instance Get cmdlets.</summary>
internal static class Selection
{
    internal static bool Matches(PSCmdlet cmdlet, string actual, string? identity, string? filter)
    {
        if (!string.IsNullOrEmpty(identity) && !string.Equals(identity, actual, StringComparison.OrdinalIgnoreCase))
        {
            cmdlet.WriteError(new ErrorRecord(
                new ItemNotFoundException($"No configuration with Identity '{identity}'. The tenant has one: '{actual}'."),
                "MmsNotFound",
                ErrorCategory.ObjectNotFound,
                identity));
            return false;
        }

        return string.IsNullOrEmpty(filter) || new WildcardPattern(filter, WildcardOptions.IgnoreCase).IsMatch(actual);
    }
}
