using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using Xunit;

namespace MeetingMigrationService.Tests;

/// <summary>
/// Issue 8, hostile input at the cmdlets: every cmdlet the module exports, given a value of the
/// wrong type for each of its typed parameters, or an identity that does not exist, writes an
/// ErrorRecord with a proper category and changes nothing in the store.
/// </summary>
public sealed class HostileInputTests
{
    private static readonly HashSet<string> CommonParameters =
        Cmdlet.CommonParameters.Concat(Cmdlet.OptionalCommonParameters).ToHashSet();

    /// <summary>Everything a cmdlet could change: users, bridges, jobs and both settings objects.</summary>
    private static readonly string[] SnapshotCommands =
    {
        "Get-CsOnlineUser", "Get-CsOnlineDialInConferencingUser", "Get-CsOnlineDialInConferencingBridge",
        "Get-CsMeetingMigrationStatus", "Get-CsTenantMigrationConfiguration", "Get-CsOnlineDialInConferencingTenantSettings",
    };

    private static string Show(object? v) => v switch
    {
        null => "null",
        PSObject p when p.BaseObject is not PSCustomObject && p.BaseObject is not string && p.BaseObject is System.Collections.IEnumerable e => Show(e),
        string str => str,
        System.Collections.IEnumerable e => "[" + string.Join(",", e.Cast<object?>().Select(Show)) + "]",
        PSObject p => "{" + string.Join(";", p.Properties.Select(x => x.Name + "=" + Show(SafeValue(x)))) + "}",
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    private static object? SafeValue(PSPropertyInfo p)
    {
        try
        {
            return p.Value is null ? null : p.Value is string or ValueType ? p.Value : PSObject.AsPSObject(p.Value);
        }
        catch (GetValueException)
        {
            return "?";
        }
    }

    private static string Snapshot(ModuleHost h) =>
        string.Join("\n", SnapshotCommands.Select(c => c + ": " + string.Join("|", h.Run(c).Select(o => Show(o)).OrderBy(x => x, StringComparer.Ordinal))));

    /// <summary>The module's cmdlets and their parameters, as PowerShell sees them.</summary>
    private static List<CmdletInfo> Cmdlets(ModuleHost h) =>
        h.Run("Get-Command -Module MeetingMigrationService -CommandType Cmdlet").Select(o => (CmdletInfo)o.BaseObject).ToList();

    private static bool Typed(Type t)
    {
        Type u = Nullable.GetUnderlyingType(t) ?? t;
        return u != typeof(string) && u != typeof(string[]) && u != typeof(SwitchParameter) && u != typeof(PSObject) && u != typeof(object);
    }

    [Fact]
    public void Every_typed_parameter_of_every_cmdlet_refuses_a_wrong_typed_value_and_changes_nothing()
    {
        using var h = Tenant.Create();
        h.Run("Start-CsExMeetingMigration ashaw@contoso.com");
        string before = Snapshot(h);
        int tried = 0;
        var cmdlets = Cmdlets(h);
        Assert.Equal(21, cmdlets.Count);
        foreach (CmdletInfo c in cmdlets)
        {
            foreach (ParameterMetadata p in c.Parameters.Values.Where(p => !CommonParameters.Contains(p.Name) && Typed(p.ParameterType)))
            {
                foreach (object wrong in new object[] { "not-a-value-\u00a7", new Hashtable1() })
                {
                    string script = $"{c.Name} -{p.Name} $args[0]";
                    ErrorRecord e = h.Fail(script, wrong);
                    Assert.True(
                        e.CategoryInfo.Category is ErrorCategory.InvalidArgument or ErrorCategory.InvalidData,
                        $"{c.Name} -{p.Name} ({p.ParameterType.Name}) given {wrong.GetType().Name}: {e.CategoryInfo.Category} {e.FullyQualifiedErrorId}");
                    Assert.Contains(p.Name, e.ToString() + e.FullyQualifiedErrorId + e.CategoryInfo.TargetName, StringComparison.OrdinalIgnoreCase);
                    tried++;
                }
            }
        }

        Assert.True(tried >= 40, $"only {tried} typed parameters found");
        Assert.Equal(before, Snapshot(h));
    }

    /// <summary>A value no typed parameter converts from.</summary>
    private sealed class Hashtable1
    {
        public override string ToString() => "not-a-value";
    }

    /// <summary>
    /// Per cmdlet: a call naming an identity (user, bridge, number, settings instance) that does
    /// not exist, and the error's category (a settings scope other than Global is not a missing
    /// object but an invalid argument: the tenant has only the Global instance). Every exported cmdlet is listed, or listed in <see cref="NoIdentity"/> with why.
    /// </summary>
    public static IEnumerable<object[]> UnknownIdentities() => new[]
    {
        new object[] { "Get-CsOnlineDialInConferencingBridge", "Get-CsOnlineDialInConferencingBridge -Name 'No Such Bridge'", ErrorCategory.ObjectNotFound },
        new object[] { "Get-CsOnlineDialInConferencingBridge", "Get-CsOnlineDialInConferencingBridge -Identity ([guid]::NewGuid())", ErrorCategory.ObjectNotFound },
        new object[] { "Unregister-CsOnlineDialInConferencingServiceNumber", "Unregister-CsOnlineDialInConferencingServiceNumber -BridgeName 'Conference Bridge' +19995550199", ErrorCategory.ObjectNotFound },
        new object[] { "Unregister-CsOnlineDialInConferencingServiceNumber", "Unregister-CsOnlineDialInConferencingServiceNumber -BridgeName 'No Such Bridge' +14255037265", ErrorCategory.ObjectNotFound },
        new object[] { "Register-CsOnlineDialInConferencingServiceNumber", "Register-CsOnlineDialInConferencingServiceNumber -Identity +14255550999 -BridgeName 'No Such Bridge'", ErrorCategory.ObjectNotFound },
        new object[] { "Register-CsOnlineDialInConferencingServiceNumber", "Register-CsOnlineDialInConferencingServiceNumber -Identity +14255550999 -BridgeId ([guid]::NewGuid())", ErrorCategory.ObjectNotFound },
        new object[] { "Get-CsMeetingMigrationStatus", "Get-CsMeetingMigrationStatus -Identity nobody@contoso.com", ErrorCategory.ObjectNotFound },
        new object[] { "Start-CsExMeetingMigration", "Start-CsExMeetingMigration -Identity nobody@contoso.com", ErrorCategory.ObjectNotFound },
        new object[] { "Set-CsTenantMigrationConfiguration", "Set-CsTenantMigrationConfiguration -Identity Site:Nowhere -MeetingMigrationEnabled $false", ErrorCategory.InvalidArgument },
        new object[] { "Set-CsOnlineDialInConferencingTenantSettings", "Set-CsOnlineDialInConferencingTenantSettings -Identity Site:Nowhere -PinLength 7", ErrorCategory.InvalidArgument },
        new object[] { "New-MmsUser", "New-MmsUser -UserPrincipalName new@contoso.com -DisplayName New -BridgeId ([guid]::NewGuid())", ErrorCategory.ObjectNotFound },
        new object[] { "Set-MmsUser", "Set-MmsUser -Identity nobody@contoso.com -SipAddress x@contoso.com", ErrorCategory.ObjectNotFound },
        new object[] { "Get-CsOnlineUser", "Get-CsOnlineUser -Identity nobody@contoso.com", ErrorCategory.ObjectNotFound },
        new object[] { "Get-CsOnlineDialInConferencingUser", "Get-CsOnlineDialInConferencingUser -Identity nobody@contoso.com", ErrorCategory.ObjectNotFound },
        new object[] { "Set-CsOnlineDialInConferencingUser", "Set-CsOnlineDialInConferencingUser -Identity nobody@contoso.com -ResetConferenceId", ErrorCategory.ObjectNotFound },
        new object[] { "Set-CsOnlineDialInConferencingUser", "Set-CsOnlineDialInConferencingUser -Identity ashaw@contoso.com -BridgeName 'No Such Bridge'", ErrorCategory.ObjectNotFound },
        new object[] { "Enable-CsOnlineDialInConferencingUser", "Enable-CsOnlineDialInConferencingUser -Identity nobody@contoso.com", ErrorCategory.ObjectNotFound },
        new object[] { "Disable-CsOnlineDialInConferencingUser", "Disable-CsOnlineDialInConferencingUser -Identity nobody@contoso.com", ErrorCategory.ObjectNotFound },
        new object[] { "Set-MmsUserLicense", "Set-MmsUserLicense -Identity nobody@contoso.com -AudioConferencing $true", ErrorCategory.ObjectNotFound },
        new object[] { "Move-CsUser", "Move-CsUser -Identity nobody@contoso.com -Target sipfed.online.lync.com", ErrorCategory.ObjectNotFound },
        new object[] { "Grant-CsTeamsUpgradePolicy", "Grant-CsTeamsUpgradePolicy -Identity nobody@contoso.com -PolicyName UpgradeToTeams", ErrorCategory.ObjectNotFound },
    };

    /// <summary>Cmdlets that look nothing up by identity, and why.</summary>
    private static readonly Dictionary<string, string> NoIdentity = new()
    {
        ["Connect-MmsStore"] = "takes a path: a new path is a new, empty store",
        ["New-MmsConferencingBridge"] = "creates the bridge it names",
        ["Get-CsTenantMigrationConfiguration"] = "a filter: an unknown Identity matches nothing (checked below)",
        ["Get-CsOnlineDialInConferencingTenantSettings"] = "a filter: an unknown Identity matches nothing (checked below)",
    };

    [Fact]
    public void Every_exported_cmdlet_is_covered_by_the_unknown_identity_cases()
    {
        using var h = new ModuleHost();
        var listed = UnknownIdentities().Select(r => (string)r[0]).Concat(NoIdentity.Keys).ToHashSet();
        var exported = Cmdlets(h).Select(c => c.Name).ToHashSet();
        Assert.Empty(exported.Except(listed));
        Assert.Empty(listed.Except(exported));
    }

    [Theory]
    [MemberData(nameof(UnknownIdentities))]
    public void Unknown_identity_is_an_error_record_and_changes_nothing(string cmdlet, string script, ErrorCategory category)
    {
        using var h = Tenant.Create();
        h.Run("Start-CsExMeetingMigration ashaw@contoso.com");
        string before = Snapshot(h);
        ErrorRecord e = h.Fail(script + " -ErrorAction Continue");
        Assert.Equal(category, e.CategoryInfo.Category);
        Assert.StartsWith("Mms", e.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains(cmdlet.Replace("-", string.Empty, StringComparison.Ordinal), e.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(e.Exception.Message));
        Assert.Equal(before, Snapshot(h));
    }

    [Theory]
    [InlineData("Get-CsTenantMigrationConfiguration")]
    [InlineData("Get-CsOnlineDialInConferencingTenantSettings")]
    public void Unknown_settings_identity_matches_nothing(string cmdlet)
    {
        using var h = Tenant.Create();
        Assert.DoesNotContain(h.Invoke($"{cmdlet} -Identity Site:Nowhere -ErrorAction Continue"), o => o is not null);
        Assert.Single(h.Run($"{cmdlet} -Identity Global"));
    }
}
