using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace MeetingMigrationService.Native;

/// <summary>
/// Finds the mms native library next to the assembly that P/Invokes it, in
/// <c>runtimes/&lt;rid&gt;/native/</c>. pwsh's own fallback probes other folders and names
/// (PowerShell#20740), and <c>AppContext.BaseDirectory</c> is pwsh's folder, so we resolve
/// relative to our own assembly.
/// </summary>
internal static class NativeLibraryLoader
{
    /// <summary>The library name every <c>DllImport</c> in <see cref="MmsNative"/> uses.</summary>
    internal const string LibraryName = "mms";

    /// <summary>Full path of a library to load instead of the bundled one (development builds).</summary>
    internal const string OverrideVariable = "MMS_NATIVE_LIBRARY";

    private static readonly object Gate = new();
    private static bool registered;

    /// <summary>Registers the resolver once per assembly; safe to call from every entry point.</summary>
    internal static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (registered)
            {
                return;
            }

            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
            registered = true;
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != LibraryName)
        {
            return IntPtr.Zero;
        }

        foreach (string candidate in Candidates(assembly))
        {
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out IntPtr handle))
            {
                return handle;
            }
        }

        throw new DllNotFoundException(
            $"The mms native library was not found. Looked for: {string.Join(", ", Candidates(assembly))}. "
            + $"Reinstall the module, or set {OverrideVariable} to the library's full path.");
    }

    /// <summary>Where the library may be, most specific first.</summary>
    internal static string[] Candidates(Assembly assembly)
    {
        string baseDir = Path.GetDirectoryName(assembly.Location) ?? AppContext.BaseDirectory;
        string fileName = PlatformFileName();
        string? overridePath = Environment.GetEnvironmentVariable(OverrideVariable);
        var list = new System.Collections.Generic.List<string>();
        if (!string.IsNullOrEmpty(overridePath))
        {
            list.Add(overridePath);
        }

        list.Add(Path.Combine(baseDir, "runtimes", RuntimeIdentifier(), "native", fileName));
        list.Add(Path.Combine(baseDir, fileName));
        return list.ToArray();
    }

    /// <summary>The runtime identifier folder name, e.g. <c>linux-x64</c>, <c>win-arm64</c>, <c>osx-arm64</c>.</summary>
    internal static string RuntimeIdentifier()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.X86 => "x86",
            Architecture.Arm64 => "arm64",
            Architecture.Arm => "arm",
            Architecture other => other.ToString().ToLowerInvariant(),
        };
        return $"{os}-{arch}";
    }

    /// <summary>The file name cargo gives the cdylib on this platform.</summary>
    internal static string PlatformFileName() =>
        OperatingSystem.IsWindows() ? "mms.dll" : OperatingSystem.IsMacOS() ? "libmms.dylib" : "libmms.so";
}
