using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Text.Json.Nodes;

namespace MeetingMigrationService.Commands;

/// <summary>Get-CsOnlineDialInConferencingBridge: the tenant's audio-conferencing bridges.</summary>
[Cmdlet(VerbsCommon.Get, "CsOnlineDialInConferencingBridge", DefaultParameterSetName = "EmptySet")]
[OutputType(typeof(ConferencingBridge))]
public sealed class GetCsOnlineDialInConferencingBridgeCommand : MmsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "UniqueBridgeParams", HelpMessage = "The bridge's Identity (GUID).")]
    public Guid Identity { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "BridgeNameParams", HelpMessage = "The bridge's name.")]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    [Parameter(HelpMessage = "Accepted for compatibility: this cmdlet never prompts.")]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing() =>
        TryRun(ParameterSetName == "EmptySet" ? null : Bound(nameof(Identity)) ? Identity : Name, () =>
        {
            if (ParameterSetName == "EmptySet")
            {
                WriteObject(Engine.ListBridges().Select(MmsEngine.ToBridge), enumerateCollection: true);
                return;
            }

            WriteObject(MmsEngine.ToBridge(Engine.GetBridge(Bound(nameof(Identity)) ? Identity.ToString() : Name)));
        });
}

/// <summary>
/// Unregister-CsOnlineDialInConferencingServiceNumber: removes a number from a bridge; every
/// user whose default number it was gets new coordinates, and the service decides per user
/// whether their meetings migrate.
/// </summary>
[Cmdlet(VerbsLifecycle.Unregister, "CsOnlineDialInConferencingServiceNumber", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MeetingMigrationDecision))]
public sealed class UnregisterCsOnlineDialInConferencingServiceNumberCommand : MmsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The service number to unregister (E.164, +E.164 or tel:+E.164).")]
    [Alias("Number")]
    [ValidateNotNullOrEmpty]
    public string Identity { get; set; } = string.Empty;

    [Parameter(ValueFromPipelineByPropertyName = true, HelpMessage = "The bridge's Identity (GUID).")]
    public Guid? BridgeId { get; set; }

    [Parameter(HelpMessage = "The bridge's name.")]
    public string? BridgeName { get; set; }

    [Parameter(HelpMessage = "Also unregister the number when it is the bridge's default number.")]
    public SwitchParameter RemoveDefaultServiceNumber { get; set; }

    [Parameter(HelpMessage = "Write the service's decision for each affected user.")]
    public SwitchParameter PassThru { get; set; }

    [Parameter(HelpMessage = "Accepted for compatibility: this cmdlet never prompts beyond -Confirm.")]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        if (BridgeId is null == string.IsNullOrEmpty(BridgeName))
        {
            ThrowArgumentError("BridgeRequired", "Specify exactly one of -BridgeId or -BridgeName.", Identity);
        }

        string bridge = BridgeId?.ToString() ?? BridgeName!;
        if (!ShouldProcess($"{Identity} on bridge {bridge}", "Unregister service number"))
        {
            return;
        }

        TryRun(Identity, () =>
        {
            List<MeetingMigrationDecision> decisions = Engine.UnregisterServiceNumber(bridge, Identity, RemoveDefaultServiceNumber);
            WriteVerbose($"Unregistered {Identity} from bridge {bridge}; {decisions.Count(d => d.MigrationQueued)} of {decisions.Count} affected users queued for meeting migration.");
            foreach (MeetingMigrationDecision d in decisions)
            {
                WriteDecision(d);
            }

            if (PassThru)
            {
                WriteObject(decisions, enumerateCollection: true);
            }
        });
    }
}

/// <summary>
/// Register-CsOnlineDialInConferencingServiceNumber: adds a number to a bridge. Microsoft's
/// cmdlet takes numbers the tenant already owns; ours also records the city and type shown in
/// invitations (-City, -Type, -Default are our additions).
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "CsOnlineDialInConferencingServiceNumber", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ConferencingBridge))]
public sealed class RegisterCsOnlineDialInConferencingServiceNumberCommand : MmsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, HelpMessage = "The service number (E.164 with a leading +).")]
    [Alias("Number")]
    [ValidateNotNullOrEmpty]
    public string Identity { get; set; } = string.Empty;

    [Parameter(HelpMessage = "The bridge's Identity (GUID).")]
    public Guid? BridgeId { get; set; }

    [Parameter(HelpMessage = "The bridge's name.")]
    public string? BridgeName { get; set; }

    [Parameter(HelpMessage = "The city shown next to the number in invitations, e.g. 'United States, Los Angeles'.")]
    [AllowEmptyString]
    public string City { get; set; } = string.Empty;

    [Parameter(HelpMessage = "Toll (the default) or TollFree.")]
    [ValidateSet("Toll", "TollFree")]
    public string Type { get; set; } = "Toll";

    [Parameter(HelpMessage = "Make the number the bridge's default number of its type.")]
    public SwitchParameter Default { get; set; }

    [Parameter(HelpMessage = "Write the updated bridge.")]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (BridgeId is null == string.IsNullOrEmpty(BridgeName))
        {
            ThrowArgumentError("BridgeRequired", "Specify exactly one of -BridgeId or -BridgeName.", Identity);
        }

        string bridge = BridgeId?.ToString() ?? BridgeName!;
        if (!ShouldProcess($"{Identity} on bridge {bridge}", "Register service number"))
        {
            return;
        }

        TryRun(Identity, () =>
        {
            JsonObject b = Engine.GetBridge(bridge);
            var numbers = b["ServiceNumbers"] as JsonArray ?? new JsonArray();
            b["ServiceNumbers"] = numbers;
            numbers.Add(new JsonObject { ["Number"] = Identity, ["City"] = City, ["Type"] = Type, ["IsDefault"] = Default.IsPresent });
            JsonObject saved = Engine.UpsertBridge(b);
            if (PassThru)
            {
                WriteObject(MmsEngine.ToBridge(saved));
            }
        });
    }
}

/// <summary>New-MmsConferencingBridge (ours): creates a bridge in a test tenant.</summary>
[Cmdlet(VerbsCommon.New, "MmsConferencingBridge", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ConferencingBridge))]
public sealed class NewMmsConferencingBridgeCommand : MmsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, HelpMessage = "The bridge's name, e.g. 'Conference Bridge'.")]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    [Parameter(HelpMessage = "The bridge's region, e.g. NOAM.")]
    [AllowEmptyString]
    public string Region { get; set; } = string.Empty;

    [Parameter(HelpMessage = "The bridge's Identity; a new GUID when omitted.")]
    public Guid? Identity { get; set; }

    protected override void ProcessRecord()
    {
        Guid id = Identity ?? Guid.NewGuid();
        if (!ShouldProcess(Name, "Create audio-conferencing bridge"))
        {
            return;
        }

        TryRun(Name, () =>
        {
            var bridge = new JsonObject
            {
                ["Identity"] = id.ToString(),
                ["Name"] = Name,
                ["Region"] = Region,
                ["ServiceNumbers"] = new JsonArray(),
            };
            WriteObject(MmsEngine.ToBridge(Engine.UpsertBridge(bridge)));
        });
    }
}
