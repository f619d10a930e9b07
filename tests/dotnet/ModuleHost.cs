using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using Xunit;

// Tests set MMS_STORE (a process-wide variable) for their own temp store, so they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace MeetingMigrationService.Tests;

/// <summary>Paths baked in at build time.</summary>
internal static class BuildInfo
{
    private static string Meta(string key) =>
        typeof(BuildInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public static string RepoRoot => Meta("RepoRoot");

    public static string ModuleOutput => Meta("ModuleOutput");

    public static string NativeLibrary => Meta("NativeLibrary");
}

/// <summary>
/// The built module laid out as a user installs it (<c>MeetingMigrationService/</c> with the
/// native library under <c>runtimes/&lt;rid&gt;/native/</c>), assembled once per test run.
/// </summary>
internal static class ModuleFolder
{
    private static readonly Lazy<string> Folder = new(Assemble);

    public static string ManifestPath => Path.Combine(Folder.Value, "MeetingMigrationService.psd1");

    private static string Assemble()
    {
        string root = Path.Combine(Path.GetTempPath(), "mms-module-" + Guid.NewGuid().ToString("N"), "MeetingMigrationService");
        Directory.CreateDirectory(root);
        foreach (string name in new[] { "MeetingMigrationService.dll", "MeetingMigrationService.psd1", "MeetingMigrationService.Format.ps1xml" })
        {
            File.Copy(Path.Combine(BuildInfo.ModuleOutput, name), Path.Combine(root, name));
        }

        Directory.CreateDirectory(Path.Combine(root, "en-US"));
        File.Copy(Path.Combine(BuildInfo.ModuleOutput, "en-US", "MeetingMigrationService.dll-Help.xml"), Path.Combine(root, "en-US", "MeetingMigrationService.dll-Help.xml"));
        string native = Path.Combine(root, "runtimes", MeetingMigrationService.Native.NativeLibraryLoader.RuntimeIdentifier(), "native");
        Directory.CreateDirectory(native);
        if (File.Exists(BuildInfo.NativeLibrary))
        {
            File.Copy(BuildInfo.NativeLibrary, Path.Combine(native, Path.GetFileName(BuildInfo.NativeLibrary)));
        }

        return root;
    }
}

/// <summary>
/// One PowerShell session (CreateDefault2: only the Core snap-in, like the NuGet-only host) with
/// the module imported by manifest path and its own empty store.
/// </summary>
public sealed class ModuleHost : IDisposable
{
    private readonly string tempDir;

    public ModuleHost()
    {
        tempDir = Path.Combine(Path.GetTempPath(), "mms-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tempDir);
        StorePath = Path.Combine(tempDir, "mms.db");
        Environment.SetEnvironmentVariable("MMS_STORE", StorePath);
        var iss = InitialSessionState.CreateDefault2();
        if (OperatingSystem.IsWindows())
        {
            iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
        }

        Runspace = RunspaceFactory.CreateRunspace(iss);
        Runspace.Open();
        Run("Import-Module -Name $args[0] -ErrorAction Stop", ModuleFolder.ManifestPath);
    }

    public string StorePath { get; }

    public string TempDir => tempDir;

    public Runspace Runspace { get; }

    /// <summary>Errors of the last <see cref="Invoke"/> (copied: the streams die with their PowerShell).</summary>
    public List<ErrorRecord> Errors { get; private set; } = new();

    /// <summary>Verbose messages of the last <see cref="Invoke"/>.</summary>
    public List<string> Verbose { get; private set; } = new();

    /// <summary>Warnings of the last <see cref="Invoke"/>.</summary>
    public List<string> Warnings { get; private set; } = new();

    /// <summary>Progress records of the last <see cref="Invoke"/>.</summary>
    public List<ProgressRecord> Progress { get; private set; } = new();

    /// <summary>Runs a script and asserts it wrote no error.</summary>
    public Collection<PSObject> Run(string script, params object[] args)
    {
        Collection<PSObject> result = Invoke(script, args);
        Assert.True(Errors.Count == 0, $"Unexpected errors from `{script}`:\n" + string.Join("\n", Errors.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
        return result;
    }

    /// <summary>Runs a script; errors stay in <see cref="Errors"/>; a terminating error is rethrown.</summary>
    public Collection<PSObject> Invoke(string script, params object[] args)
    {
        using PowerShell ps = PowerShell.Create();
        ps.Runspace = Runspace;
        ps.AddScript(script);
        foreach (object a in args)
        {
            ps.AddArgument(a);
        }

        try
        {
            return ps.Invoke();
        }
        finally
        {
            Errors = ps.Streams.Error.ToList();
            Verbose = ps.Streams.Verbose.Select(v => v.Message).ToList();
            Warnings = ps.Streams.Warning.Select(v => v.Message).ToList();
            Progress = ps.Streams.Progress.ToList();
        }
    }

    /// <summary>Runs a script expected to fail; returns the first ErrorRecord, terminating or not.</summary>
    public ErrorRecord Fail(string script, params object[] args)
    {
        try
        {
            Invoke(script, args);
        }
        catch (RuntimeException e)
        {
            return e.ErrorRecord;
        }

        Assert.True(Errors.Count > 0, $"`{script}` was expected to fail but wrote no error.");
        return Errors[0];
    }

    public void Dispose()
    {
        Runspace.Dispose();
        Environment.SetEnvironmentVariable("MMS_STORE", null);
        try
        {
            Directory.Delete(tempDir, recursive: true);
        }
        catch (IOException)
        {
            // A store file still mapped by the library on some platforms; the OS cleans temp.
        }
    }
}
