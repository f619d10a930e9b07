using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using Xunit;

namespace MeetingMigrationService.Tests;

/// <summary>What scripts bind to: names, parameter types, positions, pipeline input, ShouldProcess.</summary>
public sealed class ModuleSurfaceTests
{
    private static CommandInfo Command(ModuleHost h, string name) =>
        (CommandInfo)h.Run("Get-Command -Name $args[0] -Module MeetingMigrationService", name).Single().BaseObject;

    private static ParameterMetadata Param(ModuleHost h, string command, string parameter) =>
        Command(h, command).Parameters[parameter];

    [Fact]
    public void Manifest_exports_exactly_the_cmdlets_the_assembly_defines()
    {
        using var h = new ModuleHost();
        var exported = h.Run("(Get-Module MeetingMigrationService).ExportedCmdlets.Keys").Select(o => o.ToString()).OrderBy(s => s).ToList();
        var defined = h.Run("(Get-Module MeetingMigrationService).ImplementingAssembly.GetTypes()")
            .Select(o => (Type)o.BaseObject)
            .Select(t => t.GetCustomAttributes(typeof(CmdletAttribute), false).Cast<CmdletAttribute>().FirstOrDefault())
            .Where(a => a is not null)
            .Select(a => $"{a!.VerbName}-{a.NounName}")
            .OrderBy(s => s)
            .ToList();
        Assert.Equal(defined, exported);
        Assert.Contains("Get-CsMeetingMigrationStatus", exported);
        Assert.Contains("Start-CsExMeetingMigration", exported);
        Assert.Equal(21, exported.Count);
    }

    [Fact]
    public void Manifest_declares_pwsh_74_core_and_the_format_file()
    {
        using var h = new ModuleHost();
        var m = (PSModuleInfo)h.Run("Get-Module MeetingMigrationService").Single().BaseObject;
        Assert.Equal(new Version(7, 4), m.PowerShellVersion);
        Assert.Contains("Core", m.CompatiblePSEditions);
        Assert.Contains(m.ExportedFormatFiles, f => f.EndsWith("MeetingMigrationService.Format.ps1xml", StringComparison.Ordinal));
    }

    [Fact]
    public void Get_status_parameters_have_microsofts_types_and_the_UserId_alias()
    {
        using var h = new ModuleHost();
        Assert.Equal(typeof(DateTime?), Param(h, "Get-CsMeetingMigrationStatus", "StartTime").ParameterType);
        Assert.Equal(typeof(DateTime?), Param(h, "Get-CsMeetingMigrationStatus", "EndTime").ParameterType);
        Assert.Equal(typeof(SwitchParameter), Param(h, "Get-CsMeetingMigrationStatus", "SummaryOnly").ParameterType);
        Assert.Contains("UserId", Param(h, "Get-CsMeetingMigrationStatus", "Identity").Aliases);
        Assert.True(Param(h, "Get-CsMeetingMigrationStatus", "State").ParameterType.GetGenericArguments()[0].IsEnum);
        Assert.True(Param(h, "Get-CsMeetingMigrationStatus", "MigrationType").ParameterType.GetGenericArguments()[0].IsEnum);
    }

    [Fact]
    public void Start_migration_binds_identity_at_position_1_from_the_pipeline_and_never_prompts_by_default()
    {
        using var h = new ModuleHost();
        var cmd = (CmdletInfo)Command(h, "Start-CsExMeetingMigration");
        ParameterSetMetadata identity = cmd.Parameters["Identity"].ParameterSets.Values.Single();
        Assert.Equal(1, identity.Position);
        Assert.True(identity.ValueFromPipeline);
        Assert.True(identity.ValueFromPipelineByPropertyName);
        var attr = (CmdletAttribute)cmd.ImplementingType.GetCustomAttributes(typeof(CmdletAttribute), false).Single();
        Assert.True(attr.SupportsShouldProcess);
        Assert.Equal(ConfirmImpact.Low, attr.ConfirmImpact);
        Assert.Contains("WhatIf", cmd.Parameters.Keys);
        Assert.Contains("Confirm", cmd.Parameters.Keys);
        Assert.Contains("PassThru", cmd.Parameters.Keys);
        Assert.Equal(new[] { "All", "SfB", "Teams" }, Enum.GetNames(cmd.Parameters["SourceMeetingType"].ParameterType));
        Assert.Equal(new[] { "Current", "Teams" }, Enum.GetNames(cmd.Parameters["TargetMeetingType"].ParameterType));
    }

    [Theory]
    [InlineData("Set-CsTenantMigrationConfiguration")]
    [InlineData("Set-CsOnlineDialInConferencingTenantSettings")]
    public void Settings_set_cmdlets_take_instance_from_the_pipeline_and_prompt_only_on_request(string name)
    {
        using var h = new ModuleHost();
        var cmd = (CmdletInfo)Command(h, name);
        var attr = (CmdletAttribute)cmd.ImplementingType.GetCustomAttributes(typeof(CmdletAttribute), false).Single();
        Assert.True(attr.SupportsShouldProcess);
        Assert.Equal(ConfirmImpact.Medium, attr.ConfirmImpact); // below the default $ConfirmPreference (High)
        Assert.True(cmd.Parameters["Instance"].ParameterSets["Instance"].ValueFromPipeline);
        Assert.Equal(0, cmd.Parameters["Identity"].ParameterSets["Identity"].Position);
        Assert.Contains("Force", cmd.Parameters.Keys);
    }

    [Fact]
    public void Dialin_settings_set_has_every_gettable_property_as_a_parameter_of_the_same_type()
    {
        using var h = new ModuleHost();
        var cmd = Command(h, "Set-CsOnlineDialInConferencingTenantSettings");
        var props = typeof(OnlineDialInConferencingTenantSettingsShape).GetProperties();
        Assert.Equal(20, props.Length);
        foreach (var p in props)
        {
            Assert.True(cmd.Parameters.ContainsKey(p.Name), $"missing -{p.Name}");
            Type pt = cmd.Parameters[p.Name].ParameterType;
            Assert.Equal(p.PropertyType, Nullable.GetUnderlyingType(pt) ?? pt);
        }

        Assert.Equal(typeof(uint), cmd.Parameters["PinLength"].ParameterType);
    }

    [Fact]
    public void Every_identity_parameter_is_a_string_resolved_by_the_library()
    {
        using var h = new ModuleHost();
        foreach (string name in new[] { "Start-CsExMeetingMigration", "Get-CsOnlineUser", "Set-CsOnlineDialInConferencingUser", "Get-CsOnlineDialInConferencingUser", "Grant-CsTeamsUpgradePolicy", "Move-CsUser", "Set-MmsUserLicense", "Enable-CsOnlineDialInConferencingUser", "Disable-CsOnlineDialInConferencingUser" })
        {
            Assert.Equal(typeof(string), Param(h, name, "Identity").ParameterType);
        }
    }

    [Fact]
    public void Bad_enum_value_is_a_parameter_binding_error_naming_the_valid_values()
    {
        using var h = new ModuleHost();
        ErrorRecord e = h.Fail("Start-CsExMeetingMigration -Identity ashaw@contoso.com -SourceMeetingType Lync");
        Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
        Assert.StartsWith("CannotConvertArgumentNoMessage", e.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains("All", e.ToString());
    }

    [Fact]
    public void Pin_length_outside_4_to_12_is_rejected_before_anything_changes()
    {
        using var h = new ModuleHost();
        ErrorRecord e = h.Fail("Set-CsOnlineDialInConferencingTenantSettings -PinLength 13");
        Assert.Equal(ErrorCategory.InvalidData, e.CategoryInfo.Category);
        Assert.StartsWith("ParameterArgumentValidationError,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
        ErrorRecord e2 = h.Fail("Set-CsOnlineDialInConferencingTenantSettings -MaskPstnNumbersType Everyone");
        Assert.StartsWith("ParameterArgumentValidationError,", e2.FullyQualifiedErrorId, StringComparison.Ordinal);
    }

    [Fact]
    public void Enum_and_validate_set_parameters_tab_complete()
    {
        using var h = new ModuleHost();
        var completions = h.Run("$s = 'Start-CsExMeetingMigration -TargetMeetingType '; (TabExpansion2 -inputScript $s -cursorColumn $s.Length).CompletionMatches.CompletionText")
            .Select(o => o.ToString()).ToList();
        Assert.Equal(new[] { "Current", "Teams" }, completions);
        var masks = h.Run("$s = 'Set-CsOnlineDialInConferencingTenantSettings -MaskPstnNumbersType '; (TabExpansion2 -inputScript $s -cursorColumn $s.Length).CompletionMatches.CompletionText")
            .Select(o => o.ToString()).ToList();
        Assert.Equal(new[] { "MaskedForAllUsers", "MaskedForExternalUsers", "NoMasking" }, masks.OrderBy(m => m, StringComparer.Ordinal));
    }

    [Fact]
    public void WhatIf_on_start_queues_nothing_and_touches_no_store()
    {
        using var h = new ModuleHost();
        h.Run("Start-CsExMeetingMigration -Identity ashaw@contoso.com -WhatIf");
        Assert.False(System.IO.File.Exists(h.StorePath), "-WhatIf must not even open the store");
    }

    [Fact]
    public void Exclusive_parameters_are_rejected_with_a_stable_error_id()
    {
        using var h = new ModuleHost();
        ErrorRecord e = h.Fail("Set-CsOnlineDialInConferencingUser -Identity ashaw@contoso.com -ConferenceId 1234567 -ResetConferenceId");
        Assert.Equal("ConferenceIdAndResetConferenceIdAreExclusive,MeetingMigrationService.Commands.SetCsOnlineDialInConferencingUserCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
        Assert.False(System.IO.File.Exists(h.StorePath));
    }

    /// <summary>The property list of Get-CsOnlineDialInConferencingTenantSettings (reference §4.1).</summary>
    private sealed class OnlineDialInConferencingTenantSettingsShape
    {
        public string Identity { get; set; } = "";
        public string[] AllowedDialOutExternalDomains { get; set; } = Array.Empty<string>();
        public bool EnableEntryExitNotifications { get; set; }
        public string EntryExitAnnouncementsType { get; set; } = "";
        public bool EnableNameRecording { get; set; }
        public bool IncludeTollFreeNumberInMeetingInvites { get; set; }
        public string MaskPstnNumbersType { get; set; } = "";
        public uint PinLength { get; set; }
        public bool AllowPSTNOnlyMeetingsByDefault { get; set; }
        public bool AutomaticallySendEmailsToUsers { get; set; }
        public bool SendEmailFromOverride { get; set; }
        public string SendEmailFromAddress { get; set; } = "";
        public string SendEmailFromDisplayName { get; set; } = "";
        public bool AutomaticallyReplaceAcpProvider { get; set; }
        public bool UseUniqueConferenceIds { get; set; }
        public bool AutomaticallyMigrateUserMeetings { get; set; }
        public bool MigrateServiceNumbersOnCrossForestMove { get; set; }
        public bool EnableDialOutJoinConfirmation { get; set; }
        public string AllowFederatedUsersToDialOutToSelf { get; set; } = "";
        public string AllowFederatedUsersToDialOutToThirdParty { get; set; } = "";
    }
}
