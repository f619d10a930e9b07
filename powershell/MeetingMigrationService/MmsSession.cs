using System;
using System.IO;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

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
    /// <c>$env:MMS_STORE</c>, else the per-user default the <c>mms</c> command uses.
    /// TODO: ask the library (an FFI export for the default path) so the rule lives in one place.
    /// </summary>
    internal static string DefaultStorePath()
    {
        string? fromEnv = Environment.GetEnvironmentVariable(StoreVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            return fromEnv;
        }

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (OperatingSystem.IsWindows())
        {
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "mms", "mms.db");
        }

        if (OperatingSystem.IsMacOS())
        {
            return Path.Combine(home, "Library", "Application Support", "mms", "mms.db");
        }

        string? xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        string dataHome = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg) ? xdg : Path.Combine(home, ".local", "share");
        return Path.Combine(dataHome, "mms", "mms.db");
    }
}
