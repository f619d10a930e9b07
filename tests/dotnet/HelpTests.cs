using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Text.Json.Nodes;
using Xunit;

namespace MeetingMigrationService.Tests;

/// <summary>Get-Help -Full works for every cmdlet, and the shipped MAML is generated from the code.</summary>
public sealed class HelpTests
{
    private static string HelpPath => Path.Combine(BuildInfo.RepoRoot, "powershell", "MeetingMigrationService", "en-US", "MeetingMigrationService.dll-Help.xml");

    private static string Generate(ModuleHost h)
    {
        var assembly = (Assembly)h.Run("(Get-Module MeetingMigrationService).ImplementingAssembly").Single().BaseObject;
        var texts = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(BuildInfo.RepoRoot, "powershell", "docs", "help.json")))!;
        return MamlWriter.Generate(assembly, texts);
    }

    /// <summary>Set MMS_UPDATE_HELP=1 (make module-help) to rewrite the committed file.</summary>
    [Fact]
    public void Committed_maml_matches_the_cmdlets_and_help_json()
    {
        using var h = new ModuleHost();
        string generated = Generate(h);
        if (Environment.GetEnvironmentVariable("MMS_UPDATE_HELP") == "1")
        {
            File.WriteAllText(HelpPath, generated);
        }

        Assert.True(generated == File.ReadAllText(HelpPath), "en-US/MeetingMigrationService.dll-Help.xml is stale: run `make module-help` and commit it.");
    }

    [Fact]
    public void Get_help_full_has_synopsis_description_parameters_and_examples_for_every_cmdlet()
    {
        using var h = new ModuleHost();
        var names = h.Run("(Get-Module MeetingMigrationService).ExportedCmdlets.Keys").Select(o => o.ToString()!).ToList();
        Assert.NotEmpty(names);
        foreach (string name in names)
        {
            PSObject help = h.Run("Get-Help -Name $args[0] -Full", name).Single();
            string synopsis = help.Properties["Synopsis"].Value?.ToString() ?? "";
            Assert.False(string.IsNullOrWhiteSpace(synopsis), name);
            Assert.DoesNotContain(name + " ", synopsis.TrimStart()); // an auto-generated stub repeats the syntax
            var examples = h.Run("@((Get-Help -Name $args[0] -Full).examples.example)", name);
            Assert.True(examples.Count > 0, $"{name} has no examples");
            var parameters = h.Run("@((Get-Help -Name $args[0] -Full).parameters.parameter | ForEach-Object { $_.name })", name).Select(o => o.ToString()).ToList();
            var cmd = (CommandInfo)h.Run("Get-Command $args[0]", name).Single().BaseObject;
            foreach (string p in cmd.Parameters.Keys.Except(Cmdlet.CommonParameters).Except(Cmdlet.OptionalCommonParameters))
            {
                Assert.Contains(p, parameters);
            }
        }
    }

    [Fact]
    public void Seed_examples_are_in_the_help()
    {
        using var h = new ModuleHost();
        string codes(string n) => string.Join("\n", h.Run("@((Get-Help -Name $args[0] -Full).examples.example | ForEach-Object { $_.code })", n).Select(o => o.ToString()));
        Assert.Contains("Get-CsMeetingMigrationStatus -SummaryOnly", codes("Get-CsMeetingMigrationStatus"));
        Assert.Contains("-StartTime \"10/1/2016\" -EndTime \"10/8/2016\"", codes("Get-CsMeetingMigrationStatus"));
        Assert.Contains("Format-Table UserId,LastMessage", codes("Get-CsMeetingMigrationStatus"));
        Assert.Contains("Start-CsExMeetingMigration -Identity ashaw@contoso.com", codes("Start-CsExMeetingMigration"));
        Assert.Contains("Set-CsTenantMigrationConfiguration -MeetingMigrationEnabled $false", codes("Set-CsTenantMigrationConfiguration"));
        Assert.Contains("-AutomaticallyMigrateUserMeetings $false", codes("Set-CsOnlineDialInConferencingTenantSettings"));
    }
}
