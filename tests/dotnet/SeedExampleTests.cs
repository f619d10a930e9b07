using System;
using System.Linq;
using System.Management.Automation;
using Xunit;

namespace MeetingMigrationService.Tests;

/// <summary>Every example command of the seed article and the reference, run unchanged.</summary>
public sealed class SeedExampleTests
{
    private static object? Prop(PSObject o, string name) => o.Properties[name]?.Value;

    [Fact]
    public void SummaryOnly_lists_all_four_states_with_user_counts()
    {
        using var h = Tenant.Create();
        h.Run("Start-CsExMeetingMigration -Identity ashaw@contoso.com");
        var rows = h.Run("Get-CsMeetingMigrationStatus -SummaryOnly");
        Assert.Equal(new[] { "Pending", "InProgress", "Failed", "Succeeded" }, rows.Select(r => Prop(r, "State")));
        Assert.Equal(new[] { 1, 0, 0, 0 }, rows.Select(r => (int)Prop(r, "UserCount")!));
        Assert.IsType<MeetingMigrationStateSummaryShape>(new MeetingMigrationStateSummaryShape(rows[0]));
    }

    [Fact]
    public void StartTime_EndTime_example_runs_and_filters_by_date()
    {
        using var h = Tenant.Create();
        h.Run("Start-CsExMeetingMigration -Identity ashaw@contoso.com");
        Assert.Empty(h.Run("Get-CsMeetingMigrationStatus -StartTime \"10/1/2016\" -EndTime \"10/8/2016\""));
        Assert.Single(h.Run("Get-CsMeetingMigrationStatus -StartTime \"10/1/2016\""));
    }

    [Theory]
    [InlineData("Get-CsMeetingMigrationStatus -UserId \"ashaw@contoso.com\"")]
    [InlineData("Get-CsMeetingMigrationStatus -Identity \"ashaw@contoso.com\"")]
    [InlineData("Get-CsMeetingMigrationStatus \"Amy Shaw\"")]
    [InlineData("Get-CsMeetingMigrationStatus -Identity sip:ashaw@contoso.com")]
    public void Status_for_one_user_by_any_identity_form(string script)
    {
        using var h = Tenant.Create();
        h.Run("Start-CsExMeetingMigration -Identity ashaw@contoso.com; Start-CsExMeetingMigration -Identity kmeyers@contoso.com");
        PSObject r = Assert.Single(h.Run(script));
        Assert.Equal("ashaw@contoso.com", Prop(r, "UserPrincipalName"));
    }

    [Fact]
    public void Failed_filter_pipelines_run_up_to_Format_Table_and_the_named_columns_exist()
    {
        using var h = Tenant.Create();
        h.Run("Start-CsExMeetingMigration -Identity ashaw@contoso.com");
        // Format-Table is not in the SMA-only host; everything before it runs unchanged.
        Assert.Empty(h.Run("Get-CsMeetingMigrationStatus | Where {$_.State -eq \"Failed\"}"));
        PSObject pending = Assert.Single(h.Run("Get-CsMeetingMigrationStatus | Where {$_.State -eq \"Pending\"}"));
        foreach (string column in new[] { "UserId", "LastMessage", "UserPrincipalName" })
        {
            Assert.NotNull(pending.Properties[column]);
        }

        Assert.Equal(h.Run("(Get-CsOnlineUser ashaw@contoso.com).ObjectId.ToString()").Single().ToString(), Prop(pending, "UserId"));
    }

    [Fact]
    public void Status_records_carry_the_13_properties_with_their_types()
    {
        using var h = Tenant.Create();
        h.Run("Start-CsExMeetingMigration -Identity ashaw@contoso.com -TargetMeetingType Teams");
        PSObject r = Assert.Single(h.Run("Get-CsMeetingMigrationStatus"));
        Assert.Equal("MeetingMigrationService.MeetingMigrationStatus", r.BaseObject.GetType().FullName);
        var names = r.Properties.Select(p => p.Name).ToList();
        Assert.Equal(new[] { "CorrelationId", "CreateDate", "FailedMeeting", "InvitesUpdate", "LastMessage", "MigrationType", "ModifiedDate", "RetryCount", "State", "SucceededMeeting", "TotalMeeting", "UserId", "UserPrincipalName" }, names);
        Assert.IsType<DateTime>(Prop(r, "CreateDate"));
        Assert.Equal(DateTimeKind.Utc, ((DateTime)Prop(r, "CreateDate")!).Kind);
        Assert.True(Math.Abs((DateTime.UtcNow - (DateTime)Prop(r, "CreateDate")!).TotalMinutes) < 10);
        Assert.IsType<int>(Prop(r, "RetryCount"));
        Assert.IsType<int>(Prop(r, "TotalMeeting"));
        Assert.True(Guid.TryParse((string)Prop(r, "CorrelationId")!, out _));
        Assert.Equal("Pending", Prop(r, "State"));
        Assert.Equal("AllToTeams", Prop(r, "MigrationType"));
        Assert.Equal(string.Empty, Prop(r, "LastMessage"));
    }

    [Fact]
    public void Tenant_migration_configuration_examples()
    {
        using var h = Tenant.Create();
        Assert.Equal(true, Prop(h.Run("Get-CsTenantMigrationConfiguration").Single(), "MeetingMigrationEnabled"));
        Assert.Empty(h.Run("Set-CsTenantMigrationConfiguration -MeetingMigrationEnabled $false"));
        Assert.Equal(false, Prop(h.Run("Get-CsTenantMigrationConfiguration").Single(), "MeetingMigrationEnabled"));
        h.Run("Set-CsTenantMigrationConfiguration -MeetingMigrationEnabled $true");
        PSObject c = h.Run("Get-CsTenantMigrationConfiguration").Single();
        Assert.Equal(true, Prop(c, "MeetingMigrationEnabled"));
        Assert.Equal("Global", Prop(c, "Identity"));
    }

    [Fact]
    public void Dialin_tenant_settings_examples()
    {
        using var h = Tenant.Create();
        PSObject s = h.Run("Get-CsOnlineDialInConferencingTenantSettings").Single();
        Assert.Equal(false, Prop(s, "AutomaticallyReplaceAcpProvider"));
        Assert.Equal(true, Prop(s, "AutomaticallyMigrateUserMeetings"));
        Assert.Equal(5u, Prop(s, "PinLength"));
        h.Run("Set-CsOnlineDialInConferencingTenantSettings -AutomaticallyMigrateUserMeetings $false");
        Assert.Equal(false, Prop(h.Run("Get-CsOnlineDialInConferencingTenantSettings").Single(), "AutomaticallyMigrateUserMeetings"));
        h.Run("Set-CsOnlineDialInConferencingTenantSettings  -AutomaticallyMigrateUserMeetings $true");
        Assert.Equal(true, Prop(h.Run("Get-CsOnlineDialInConferencingTenantSettings").Single(), "AutomaticallyMigrateUserMeetings"));
    }

    [Fact]
    public void Start_examples_queue_a_job_and_write_nothing()
    {
        using var h = Tenant.Create();
        Assert.Empty(h.Run("Start-CsExMeetingMigration -Identity ashaw@contoso.com"));
        Assert.Empty(h.Run("Start-CsExMeetingMigration -Identity ashaw@contoso.com -TargetMeetingType Teams"));
        Assert.Empty(h.Run("Start-CsExMeetingMigration user@contoso.com"));
        var records = h.Run("Get-CsMeetingMigrationStatus");
        Assert.Equal(2, records.Count); // the second start for ashaw merged into the pending job
        PSObject job = h.Run("Start-CsExMeetingMigration -Identity kmeyers@contoso.com -PassThru").Single();
        Assert.Equal("kmeyers@contoso.com", Prop(job, "UserPrincipalName"));
        Assert.Equal("Pending", Prop(job, "State"));
    }

    [Fact]
    public void Reference_trigger_examples_run_unchanged()
    {
        using var h = Tenant.Create();
        h.Run("Set-CsOnlineDialInConferencingUser -Identity \"Ken Meyers\" -ConferenceId 3542699 -ResetLeaderPin -ServiceNumber 14255037265");
        PSObject ken = h.Run("Get-CsOnlineDialInConferencingUser -Identity \"Ken Meyers\"").Single();
        Assert.Equal("3542699", Prop(ken, "ConferenceId"));
        Assert.Equal("+14255037265", Prop(ken, "ServiceNumber"));
        Assert.Single(h.Run("Get-CsMeetingMigrationStatus -Identity kmeyers@contoso.com"));

        h.Run("Unregister-CsOnlineDialInConferencingServiceNumber -BridgeName \"Conference Bridge\" -RemoveDefaultServiceNumber 8005551234");
        var numbers = h.Run("(Get-CsOnlineDialInConferencingBridge -Name \"Conference Bridge\").ServiceNumbers | ForEach-Object Number").Select(o => o.ToString()).ToList();
        Assert.Contains("+14255550100", numbers);
        Assert.Equal(2, numbers.Count);
        Assert.DoesNotContain(numbers, n => n.EndsWith("8005551234", StringComparison.Ordinal));
    }
}

/// <summary>Asserts the summary row shape (State string, UserCount int).</summary>
internal sealed class MeetingMigrationStateSummaryShape
{
    public MeetingMigrationStateSummaryShape(PSObject row)
    {
        Assert.IsType<string>(row.Properties["State"].Value);
        Assert.IsType<int>(row.Properties["UserCount"].Value);
        Assert.Equal(2, row.Properties.Count());
    }
}
