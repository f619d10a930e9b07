using System;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Text.Json.Nodes;

namespace MeetingMigrationService.Commands;

/// <summary>Get-CsMeetingMigrationStatus: per-user migration records, or the per-state summary.</summary>
[Cmdlet(VerbsCommon.Get, "CsMeetingMigrationStatus")]
[OutputType(typeof(MeetingMigrationStatus), typeof(MeetingMigrationStateSummary))]
public sealed class GetCsMeetingMigrationStatusCommand : MmsCmdlet
{
    private const int ProgressThreshold = 1000;

    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The user whose records to return: UPN, SIP address, ObjectId or display name.")]
    [Alias("UserId")]
    public string? Identity { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, HelpMessage = "Return records modified at or after this time. Strings are read like a [datetime] cast (\"10/1/2016\" is October 1 on every culture); a time without a zone is local time.")]
    [InvariantDateTime]
    public DateTime? StartTime { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, HelpMessage = "Return records created at or before this time. Strings are read like a [datetime] cast (\"10/8/2016\" is October 8 on every culture); a time without a zone is local time.")]
    [InvariantDateTime]
    public DateTime? EndTime { get; set; }

    [Parameter(HelpMessage = "Return one State/UserCount row for each of the four states instead of the records.")]
    public SwitchParameter SummaryOnly { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, HelpMessage = "Return only records in this state.")]
    public StateType? State { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, HelpMessage = "Return only records of this migration type.")]
    public MigrationTypes? MigrationType { get; set; }

    protected override void ProcessRecord()
    {
        if (SummaryOnly)
        {
            TryRun(null, () => WriteObject(Engine.Summary(), enumerateCollection: true));
            return;
        }

        var filter = new JsonObject();
        if (!string.IsNullOrEmpty(Identity))
        {
            filter["Identity"] = Identity;
        }

        if (StartTime is DateTime start)
        {
            filter["StartTime"] = Utc(start);
        }

        if (EndTime is DateTime end)
        {
            filter["EndTime"] = Utc(end);
        }

        if (State is StateType state)
        {
            filter["State"] = state.ToString();
        }

        if (MigrationType is MigrationTypes type)
        {
            filter["MigrationType"] = type.ToString();
        }

        WriteVerbose($"Querying meeting migration status with filter {filter.ToJsonString()}");
        TryRun(Identity, () =>
        {
            List<MeetingMigrationStatus> records = Engine.QueryStatus(filter);
            bool progress = records.Count >= ProgressThreshold;
            var record = new ProgressRecord(1, "Get-CsMeetingMigrationStatus", "Reading migration records");
            for (int i = 0; i < records.Count; i++)
            {
                if (progress && i % 500 == 0)
                {
                    record.PercentComplete = i * 100 / records.Count;
                    WriteProgress(record);
                }

                WriteObject(records[i]);
            }

            if (progress)
            {
                record.RecordType = ProgressRecordType.Completed;
                WriteProgress(record);
            }
        });
    }

    /// <summary>RFC 3339 UTC; a DateTime without a kind is the admin's local time, as .NET treats it.</summary>
    internal static string Utc(DateTime t) =>
        t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}

/// <summary>Start-CsExMeetingMigration: queues a migration of a user's future meetings.</summary>
[Cmdlet(VerbsLifecycle.Start, "CsExMeetingMigration", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(MeetingMigrationStatus))]
public sealed class StartCsExMeetingMigrationCommand : MmsCmdlet
{
    private int queued;
    private ProgressRecord? progress;

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, HelpMessage = "The organizer: UPN, SIP address, ObjectId or display name.")]
    [ValidateNotNullOrEmpty]
    public string Identity { get; set; } = string.Empty;

    [Parameter(HelpMessage = "Which meetings to migrate: All (Skype for Business and Teams), SfB, or Teams.")]
    public MmsSourceMeetingTypes SourceMeetingType { get; set; } = MmsSourceMeetingTypes.All;

    [Parameter(HelpMessage = "Current keeps each meeting's kind and updates its coordinates; Teams converts every meeting to Teams.")]
    public MmsTargetMeetingTypes TargetMeetingType { get; set; } = MmsTargetMeetingTypes.Current;

    [Parameter(HelpMessage = "Write the queued migration record.")]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Identity, $"Queue meeting migration (source {SourceMeetingType}, target {TargetMeetingType})"))
        {
            return;
        }

        TryRun(Identity, () =>
        {
            MeetingMigrationStatus job = Engine.StartMigration(Identity, SourceMeetingType, TargetMeetingType);
            queued++;
            if (queued > 1)
            {
                // Piped batches can be long: show how many organizers are queued so far.
                progress ??= new ProgressRecord(2, "Start-CsExMeetingMigration", "Queuing meeting migrations");
                progress.StatusDescription = $"Queued {queued} users; last {job.UserPrincipalName}";
                WriteProgress(progress);
            }

            WriteVerbose($"Meeting migration {job.State} for {job.UserPrincipalName} ({job.MigrationType}), CorrelationId {job.CorrelationId}.");
            if (PassThru)
            {
                WriteObject(job);
            }
        });
    }

    protected override void EndProcessing()
    {
        if (progress is not null)
        {
            progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(progress);
        }
    }
}
