using System.IO;
using System.Management.Automation;

namespace MeetingMigrationService.Commands;

/// <summary>Connect-MmsStore: switches this session to another store file (created if missing).</summary>
[Cmdlet(VerbsCommunications.Connect, "MmsStore")]
[OutputType(typeof(MmsStoreInfo))]
public sealed class ConnectMmsStoreCommand : MmsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, HelpMessage = "Path of the SQLite store file. Relative paths are resolved against the current location.")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    [Parameter(HelpMessage = "Write an object describing the connected store.")]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        string full = GetUnresolvedProviderPathFromPSPath(Path);
        TryRun(full, () =>
        {
            MmsEngine engine = MmsSession.Current.Connect(full);
            if (PassThru)
            {
                WriteObject(new MmsStoreInfo { Path = engine.Path });
            }
        });
    }
}

/// <summary>The store a session is connected to.</summary>
public sealed class MmsStoreInfo
{
    public string Path { get; set; } = string.Empty;

    public override string ToString() => Path;
}
