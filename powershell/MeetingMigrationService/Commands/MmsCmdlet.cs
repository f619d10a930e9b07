using System;
using System.Management.Automation;
using MeetingMigrationService.Native;

namespace MeetingMigrationService.Commands;

/// <summary>Shared plumbing: the runspace's engine, bound-parameter checks, library errors → ErrorRecords.</summary>
public abstract class MmsCmdlet : PSCmdlet
{
    internal static MmsEngine Engine => MmsSession.Current.Engine;

    /// <summary>Whether the caller passed the parameter (so "not given" differs from "given as false").</summary>
    protected bool Bound(string parameterName) => MyInvocation.BoundParameters.ContainsKey(parameterName);

    /// <summary>
    /// Runs one unit of work. A library failure becomes a non-terminating ErrorRecord with the
    /// stable id <c>Mms&lt;Code&gt;</c> and its category, so the next pipeline input still runs.
    /// </summary>
    protected bool TryRun(object? target, Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (MmsException e)
        {
            WriteError(e.ToErrorRecord(target));
            return false;
        }
        catch (DllNotFoundException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "MmsNativeLibraryNotFound", ErrorCategory.ResourceUnavailable, null));
            return false;
        }
    }

    /// <summary>Rejects a bad parameter combination before anything changes.</summary>
    protected void ThrowArgumentError(string errorId, string message, object? target) =>
        ThrowTerminatingError(new ErrorRecord(new ArgumentException(message), errorId, ErrorCategory.InvalidArgument, target));

    /// <summary>Reports the service's decision about a change on the verbose stream.</summary>
    protected void WriteDecision(MeetingMigrationDecision decision) =>
        WriteVerbose(decision.MigrationQueued
            ? $"Meeting migration queued for '{decision.Identity}' ({decision.MigrationType}). {decision.Reason}".TrimEnd()
            : $"No meeting migration for '{decision.Identity}': {decision.Reason}");
}
