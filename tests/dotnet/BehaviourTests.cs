using System;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using Xunit;

namespace MeetingMigrationService.Tests;

/// <summary>Pipeline binding, -WhatIf, ErrorRecords, round trips, culture, triggers, store choice.</summary>
public sealed class BehaviourTests
{
    private static object? Prop(PSObject o, string name) => o.Properties[name]?.Value;

    [Fact]
    public void Dialin_users_pipe_into_start_by_property_name()
    {
        using var h = Tenant.Create();
        Assert.Empty(h.Run("Get-CsOnlineDialInConferencingUser | Start-CsExMeetingMigration"));
        var upns = h.Run("Get-CsMeetingMigrationStatus | ForEach-Object UserPrincipalName").Select(o => o.ToString()).OrderBy(s => s).ToList();
        Assert.Equal(new[] { "ashaw@contoso.com", "kmeyers@contoso.com" }, upns);
    }

    [Fact]
    public void Online_users_pipe_into_start_with_fasttrack_parameters_and_confirm_false()
    {
        using var h = new ModuleHost();
        h.Run("$null = New-MmsUser -UserPrincipalName a@contoso.com -DisplayName A; $null = New-MmsUser -UserPrincipalName b@contoso.com -DisplayName B");
        h.Run("Get-CsOnlineUser | Start-CsExMeetingMigration -SourceMeetingType SfB -TargetMeetingType Teams -Confirm:$false");
        var types = h.Run("Get-CsMeetingMigrationStatus | ForEach-Object MigrationType").Select(o => o.ToString()).Distinct().ToList();
        Assert.Equal(new[] { "SfbToTeams" }, types);
        Assert.Equal(2, h.Run("Get-CsMeetingMigrationStatus").Count);
    }

    [Fact]
    public void Strings_pipe_by_value_and_a_bad_identity_does_not_stop_the_rest()
    {
        using var h = Tenant.Create();
        h.Invoke("'nobody@contoso.com', 'ashaw@contoso.com' | Start-CsExMeetingMigration");
        ErrorRecord e = Assert.Single(h.Errors);
        Assert.Equal("MmsNotFound,MeetingMigrationService.Commands.StartCsExMeetingMigrationCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
        Assert.Equal("nobody@contoso.com", e.TargetObject);
        Assert.Single(h.Run("Get-CsMeetingMigrationStatus"));
    }

    [Fact]
    public void Ambiguous_display_name_is_an_invalid_argument_naming_the_matches()
    {
        using var h = Tenant.Create();
        h.Run("$null = New-MmsUser -UserPrincipalName amy2@contoso.com -DisplayName 'Amy Shaw'");
        ErrorRecord e = h.Fail("Start-CsExMeetingMigration 'Amy Shaw'");
        Assert.Equal("MmsAmbiguous,MeetingMigrationService.Commands.StartCsExMeetingMigrationCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
        Assert.Contains("amy2@contoso.com", e.Exception.Message);
        Assert.Empty(h.Run("Get-CsMeetingMigrationStatus"));
    }

    [Fact]
    public void Refused_manual_start_is_an_invalid_operation_and_queues_nothing()
    {
        using var h = Tenant.Create();
        ErrorRecord e = h.Fail("Start-CsExMeetingMigration pat@contoso.com");
        Assert.Equal("MmsRefused,MeetingMigrationService.Commands.StartCsExMeetingMigrationCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidOperation, e.CategoryInfo.Category);
        Assert.Empty(h.Run("Get-CsMeetingMigrationStatus"));
    }

    [Fact]
    public void Unregistering_a_default_number_without_RemoveDefaultServiceNumber_is_refused_and_changes_nothing()
    {
        using var h = Tenant.Create();
        ErrorRecord e = h.Fail("Unregister-CsOnlineDialInConferencingServiceNumber -BridgeName 'Conference Bridge' +14255550100");
        Assert.Equal("MmsRefused,MeetingMigrationService.Commands.UnregisterCsOnlineDialInConferencingServiceNumberCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidOperation, e.CategoryInfo.Category);
        Assert.Contains("+14255550100 is the default toll number of bridge 'Conference Bridge'", e.Exception.Message);
        Assert.Contains("RemoveDefaultServiceNumber", e.Exception.Message);
        Assert.Equal(3, h.Run("(Get-CsOnlineDialInConferencingBridge -Name 'Conference Bridge').ServiceNumbers").Count);
        Assert.Empty(h.Run("Get-CsMeetingMigrationStatus"));

        // A number that is not the default needs no switch.
        h.Run("Unregister-CsOnlineDialInConferencingServiceNumber -BridgeName 'Conference Bridge' +14255037265");
        Assert.Equal(2, h.Run("(Get-CsOnlineDialInConferencingBridge -Name 'Conference Bridge').ServiceNumbers").Count);
    }

    [Fact]
    public void Invalid_settings_identity_changes_nothing()
    {
        using var h = Tenant.Create();
        ErrorRecord e = h.Fail("Set-CsTenantMigrationConfiguration -Identity Site:Redmond -MeetingMigrationEnabled $false");
        Assert.StartsWith("Mms", e.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Equal(true, Prop(h.Run("Get-CsTenantMigrationConfiguration").Single(), "MeetingMigrationEnabled"));
        ErrorRecord e2 = h.Fail("Set-CsOnlineDialInConferencingTenantSettings -SendEmailFromOverride $true -PinLength 9");
        Assert.Equal(ErrorCategory.InvalidArgument, e2.CategoryInfo.Category);
        Assert.Equal(5u, Prop(h.Run("Get-CsOnlineDialInConferencingTenantSettings").Single(), "PinLength"));
    }

    [Fact]
    public void WhatIf_changes_nothing()
    {
        using var h = Tenant.Create();
        h.Run("Set-CsTenantMigrationConfiguration -MeetingMigrationEnabled $false -WhatIf");
        h.Run("Set-CsOnlineDialInConferencingTenantSettings -PinLength 9 -WhatIf");
        h.Run("Set-CsOnlineDialInConferencingUser -Identity ashaw@contoso.com -ResetConferenceId -WhatIf");
        h.Run("Get-CsOnlineUser | Start-CsExMeetingMigration -WhatIf");
        h.Run("Grant-CsTeamsUpgradePolicy -Identity ashaw@contoso.com -PolicyName UpgradeToTeams -WhatIf");
        h.Run("Unregister-CsOnlineDialInConferencingServiceNumber -BridgeName 'Conference Bridge' -RemoveDefaultServiceNumber +14255550100 -WhatIf");
        Assert.Equal(true, Prop(h.Run("Get-CsTenantMigrationConfiguration").Single(), "MeetingMigrationEnabled"));
        Assert.Equal(5u, Prop(h.Run("Get-CsOnlineDialInConferencingTenantSettings").Single(), "PinLength"));
        Assert.Equal("1234567", h.Run("(Get-CsOnlineDialInConferencingUser ashaw@contoso.com).ConferenceId").Single().ToString());
        Assert.Equal(3, h.Run("(Get-CsOnlineDialInConferencingBridge -Name 'Conference Bridge').ServiceNumbers").Count);
        Assert.Empty(h.Run("Get-CsMeetingMigrationStatus"));
    }

    [Fact]
    public void Get_then_Set_Instance_round_trips_both_settings_objects()
    {
        using var h = Tenant.Create();
        h.Run("$c = Get-CsTenantMigrationConfiguration; $c.MeetingMigrationEnabled = $false; $c | Set-CsTenantMigrationConfiguration");
        Assert.Equal(false, Prop(h.Run("Get-CsTenantMigrationConfiguration").Single(), "MeetingMigrationEnabled"));
        h.Run("$s = Get-CsOnlineDialInConferencingTenantSettings; $s.PinLength = 7; $s.MaskPstnNumbersType = 'NoMasking'; $s.AllowedDialOutExternalDomains = @('contoso.com', 'fabrikam.com'); Set-CsOnlineDialInConferencingTenantSettings -Instance $s");
        PSObject s = h.Run("Get-CsOnlineDialInConferencingTenantSettings").Single();
        Assert.Equal(7u, Prop(s, "PinLength"));
        Assert.Equal("NoMasking", Prop(s, "MaskPstnNumbersType"));
        Assert.Equal(new[] { "contoso.com", "fabrikam.com" }, (string[])Prop(s, "AllowedDialOutExternalDomains")!);
        // Explicit parameters win over the instance's values.
        h.Run("Get-CsOnlineDialInConferencingTenantSettings | Set-CsOnlineDialInConferencingTenantSettings -PinLength 8");
        Assert.Equal(8u, Prop(h.Run("Get-CsOnlineDialInConferencingTenantSettings").Single(), "PinLength"));
    }

    [Fact]
    public void Splatting_any_subset_of_get_properties_into_set_round_trips_without_a_prompt()
    {
        using var h = Tenant.Create();
        // Everything unchanged.
        h.Run("$s = Get-CsOnlineDialInConferencingTenantSettings; $p = @{}; foreach ($x in $s.PSObject.Properties) { $p[$x.Name] = $x.Value }; Set-CsOnlineDialInConferencingTenantSettings @p");
        // Every value changed, with its natural type.
        h.Run(@"
$p = @{
  AllowedDialOutExternalDomains = @('contoso.com'); EnableEntryExitNotifications = $false; EntryExitAnnouncementsType = 'UseNames'
  EnableNameRecording = $false; IncludeTollFreeNumberInMeetingInvites = $false; MaskPstnNumbersType = 'MaskedForAllUsers'
  PinLength = [uint32]12; AllowPSTNOnlyMeetingsByDefault = $true; AutomaticallySendEmailsToUsers = $false
  SendEmailFromOverride = $true; SendEmailFromAddress = 'noreply@contoso.com'; SendEmailFromDisplayName = 'Contoso Conferencing'
  AutomaticallyReplaceAcpProvider = $true; UseUniqueConferenceIds = $false; AutomaticallyMigrateUserMeetings = $false
  MigrateServiceNumbersOnCrossForestMove = $true; EnableDialOutJoinConfirmation = $true
  AllowFederatedUsersToDialOutToSelf = 'Yes'; AllowFederatedUsersToDialOutToThirdParty = 'RequireSameEnterpriseUser'
}
Set-CsOnlineDialInConferencingTenantSettings @p
$global:expected = $p
");
        PSObject s = h.Run("Get-CsOnlineDialInConferencingTenantSettings").Single();
        var expected = (System.Collections.Hashtable)h.Run("$global:expected").Single().BaseObject;
        foreach (System.Collections.DictionaryEntry kv in expected)
        {
            object? actual = Prop(s, (string)kv.Key);
            object? want = kv.Value is PSObject pso ? pso.BaseObject : kv.Value;
            if (want is object[] arr)
            {
                Assert.Equal(arr.Cast<string>(), (string[])actual!);
            }
            else
            {
                Assert.Equal(want, actual);
            }
        }

        // A subset, from a fresh Get, into Set: still exact.
        h.Run("$s = Get-CsOnlineDialInConferencingTenantSettings; $p = @{ PinLength = $s.PinLength; MaskPstnNumbersType = $s.MaskPstnNumbersType; Identity = $s.Identity }; Set-CsOnlineDialInConferencingTenantSettings @p");
        Assert.Equal(12u, Prop(h.Run("Get-CsOnlineDialInConferencingTenantSettings").Single(), "PinLength"));
    }

    [Fact]
    public void Date_strings_bind_the_same_under_a_non_us_culture()
    {
        using var h = Tenant.Create();
        string expectedStart = new DateTime(2016, 10, 1, 0, 0, 0, DateTimeKind.Local).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
        string expectedEnd = new DateTime(2016, 10, 8, 0, 0, 0, DateTimeKind.Local).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
        foreach (string culture in new[] { "de-DE", "en-GB", "ja-JP", "en-US" })
        {
            h.Run($"[System.Threading.Thread]::CurrentThread.CurrentCulture = '{culture}'; Get-CsMeetingMigrationStatus -StartTime \"10/1/2016\" -EndTime \"10/8/2016\" -Verbose");
            string message = Assert.Single(h.Verbose, v => v.Contains("StartTime", StringComparison.Ordinal));
            Assert.True(message.Contains(expectedStart, StringComparison.Ordinal), $"{culture}: {message}");
            Assert.Contains(expectedEnd, message);
        }
    }

    [Fact]
    public void Per_user_upgrade_policy_grant_triggers_and_tenant_wide_does_not()
    {
        using var h = Tenant.Create();
        PSObject global = h.Run("Grant-CsTeamsUpgradePolicy -Global -PolicyName UpgradeToTeams -PassThru").Single();
        Assert.Equal(false, Prop(global, "MigrationQueued"));
        Assert.Empty(h.Run("Get-CsMeetingMigrationStatus"));
        PSObject user = h.Run("Grant-CsTeamsUpgradePolicy -Identity ashaw@contoso.com -PolicyName UpgradeToTeams -PassThru").Single();
        Assert.Equal(true, Prop(user, "MigrationQueued"));
        Assert.Equal("AllToTeams", Prop(Assert.Single(h.Run("Get-CsMeetingMigrationStatus")), "MigrationType"));
        Assert.Equal("TeamsOnly", h.Run("(Get-CsOnlineUser ashaw@contoso.com).TeamsUpgradePolicy").Single().ToString());
    }

    [Fact]
    public void Audio_conferencing_and_move_cmdlets_report_the_service_decision()
    {
        using var h = Tenant.Create();
        h.Run("Move-CsUser -Identity tom@contoso.com -Target sipfed.online.lync.com -Verbose");
        Assert.Contains(h.Verbose, v => v.StartsWith("Meeting migration queued for 'tom@contoso.com'", StringComparison.Ordinal));
        Assert.Equal("Online", h.Run("(Get-CsOnlineUser tom@contoso.com).Homing").Single().ToString());

        PSObject sip = h.Run("Set-MmsUser -Identity ashaw@contoso.com -SipAddress amy.shaw@contoso.com -PassThru").Single();
        Assert.Equal(false, Prop(sip, "MigrationQueued"));
        Assert.Equal("sip:amy.shaw@contoso.com", h.Run("(Get-CsOnlineUser ashaw@contoso.com).SipAddress").Single().ToString());

        Assert.Equal(true, Prop(h.Run("Disable-CsOnlineDialInConferencingUser kmeyers@contoso.com -PassThru").Single(), "MigrationQueued"));
        Assert.Equal(true, Prop(h.Run("Set-MmsUserLicense -Identity user@contoso.com -AudioConferencing $true -PassThru").Single(), "MigrationQueued"));
        h.Run("Set-CsTenantMigrationConfiguration -MeetingMigrationEnabled $false");
        PSObject off = h.Run("Enable-CsOnlineDialInConferencingUser kmeyers@contoso.com -PassThru").Single();
        Assert.Equal(false, Prop(off, "MigrationQueued"));
        Assert.False(string.IsNullOrWhiteSpace((string?)Prop(off, "Reason")));
    }

    [Fact]
    public void Connect_MmsStore_switches_the_session_store()
    {
        using var h = Tenant.Create();
        string other = System.IO.Path.Combine(h.TempDir, "other.db");
        h.Run("Connect-MmsStore -Path $args[0]", other);
        Assert.Empty(h.Run("Get-CsOnlineUser"));
        Assert.True(System.IO.File.Exists(other));
        PSObject info = h.Run("Connect-MmsStore $args[0] -PassThru", h.StorePath).Single();
        Assert.Equal(h.StorePath, Prop(info, "Path"));
        Assert.Equal(5, h.Run("Get-CsOnlineUser").Count);
    }

    [Fact]
    public void Long_pipelines_write_progress()
    {
        using var h = Tenant.Create();
        h.Run("'ashaw@contoso.com', 'kmeyers@contoso.com', 'user@contoso.com' | Start-CsExMeetingMigration");
        Assert.Contains(h.Progress, p => p.Activity == "Start-CsExMeetingMigration" && p.RecordType == ProgressRecordType.Completed);
    }
}
