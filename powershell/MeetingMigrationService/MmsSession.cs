using System;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using MeetingMigrationService.Native;

namespace MeetingMigrationService;

/// <summary>
/// The store a runspace works on. Each runspace (pwsh session, ForEach-Object -Parallel worker,
/// test host) has its own; it opens lazily on the first cmdlet that needs it, from
/// <c>$env:MMS_STORE</c> or the per-user default, unless Connect-MmsStore chose one.
/// </summary>
internal sealed class MmsSession
{
    /// <summary>Environment variable naming the store, shared with the <c>mms</c> command.</summary>
    internal const string StoreVariable = "MMS_STORE";

    private static readonly ConditionalWeakTable<object, MmsSession> Sessions = new();
    private static readonly object NoRunspace = new();

    private MmsEngine? engine;

    /// <summary>The session of the runspace running the current pipeline.</summary>
    internal static MmsSession Current
    {
        get
        {
            object key = (object?)Runspace.DefaultRunspace ?? NoRunspace;
            return Sessions.GetValue(key, _ => new MmsSession());
        }
    }

    /// <summary>The open engine, opening the default store on first use.</summary>
    internal MmsEngine Engine => engine ??= MmsEngine.Open(DefaultStorePath());

    /// <summary>Switches this runspace to another store; the previous one is closed.</summary>
    internal MmsEngine Connect(string path)
    {
        MmsEngine opened = MmsEngine.Open(path);
        engine?.Dispose();
        engine = opened;
        return opened;
    }

    /// <summary>Closes the store (Remove-Module).</summary>
    internal void Close()
    {
        engine?.Dispose();
        engine = null;
    }

    /// <summary>
    /// <c>$env:MMS_STORE</c>, else the per-user default the <c>mms</c> command uses; the library
    /// owns the rule (<c>mms_default_store_path</c>). On Unix, .NET keeps its own copy of the
    /// environment (<c>$env:</c> and Environment.SetEnvironmentVariable never reach the native
    /// getenv), so a value set in this process is handed over here rather than read natively.
    /// </summary>
    internal static string DefaultStorePath()
    {
        string? fromEnv = Environment.GetEnvironmentVariable(StoreVariable);
        return string.IsNullOrEmpty(fromEnv) ? MmsNative.DefaultStorePath() : fromEnv;
    }
}
