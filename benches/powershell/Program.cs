using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text.Json;
using MeetingMigrationService.Native;

namespace MeetingMigrationService.Bench;

/// <summary>
/// Get-CsMeetingMigrationStatus -SummaryOnly and -Identity over the status bench's store (100,000
/// jobs at BENCH_SCALE=1), through the module in a hosted engine, each against the same query
/// through the C ABI from this process. Prints <c>ROW|figure|value|baseline|ratio|target|met</c>
/// lines (the format of benches/common/mod.rs) on stdout and notes on stderr.
/// Usage: MmsStatusBench [--profile] STORE MODULE_MANIFEST (--profile adds a Stopwatch breakdown on stderr).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        bool profile = args.Contains("--profile");
        args = args.Where(a => a != "--profile").ToArray();
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: MmsStatusBench [--profile] STORE.db path/to/MeetingMigrationService.psd1");
            return 2;
        }

        string store = Path.GetFullPath(args[0]);
        string manifest = Path.GetFullPath(args[1]);
        string moduleDir = Path.GetDirectoryName(manifest)!;

        // One copy of the library in the process: the module's bundled one, for both layers.
        Environment.SetEnvironmentVariable(
            NativeLibraryLoader.OverrideVariable,
            Path.Combine(moduleDir, "runtimes", NativeLibraryLoader.RuntimeIdentifier(), "native", NativeLibraryLoader.PlatformFileName()));
        Environment.SetEnvironmentVariable("MMS_STORE", store);

        // Baseline: the C ABI through the module's P/Invoke layer, on its own engine handle.
        using MmsEngineHandle handle = MmsNative.EngineOpen(store);
        int users = Count(MmsNative.UsersList(handle));
        int jobs = Count(MmsNative.StatusQuery(handle, null));
        int jobsPerUser = jobs / users;
        string upn = string.Format(CultureInfo.InvariantCulture, "user{0:D5}@contoso.com", users / 2);
        string filter = JsonSerializer.Serialize(new Dictionary<string, string> { ["Identity"] = upn });
        Note($"store {store}: {users} users, {jobs} jobs; -Identity {upn}");

        var import = Stopwatch.StartNew();
        using Runspace runspace = OpenSession(manifest, PSThreadOptions.ReuseThread);
        Note($"runspace open + Import-Module: {Fmt(import.Elapsed.TotalMilliseconds * 1e6)}");

        // -SummaryOnly: four State/UserCount rows.
        using PowerShell summary = Pipeline(runspace, p => p.AddParameter("SummaryOnly"));
        double psSummary = MedianNs(20, 201, () => Expect(summary, 4, "MeetingMigrationStateSummary"));
        double abiSummary = MedianNs(20, 201, () => MmsNative.StatusSummary(handle));
        Row(
            $"SummaryOnly status, {jobs} jobs, PowerShell (Get-CsMeetingMigrationStatus -SummaryOnly, hosted engine)",
            psSummary,
            abiSummary,
            "< 5 ms (the C ABI target)",
            5e6);

        // -Identity: one user's records.
        using PowerShell single = Pipeline(runspace, p => p.AddParameter("Identity", upn));
        double psUser = MedianNs(20, 201, () => Expect(single, jobsPerUser, "MeetingMigrationStatus"));
        double abiUser = MedianNs(20, 201, () => MmsNative.StatusQuery(handle, filter));
        Row(
            $"Single-user status (-Identity), {jobs} jobs, PowerShell (Get-CsMeetingMigrationStatus -Identity, hosted engine)",
            psUser,
            abiUser,
            "< 1 ms (the C ABI target)",
            1e6);

        if (profile)
        {
            Profile(runspace, manifest, handle, upn, jobsPerUser);
        }

        return 0;
    }

    /// <summary>
    /// <c>--profile</c>: where the -Identity time goes (Stopwatch medians, stderr only): the module's
    /// JSON-to-records layer on its own (reached by reflection; it is internal); a cmdlet of the
    /// same module that makes one C ABI call and writes one object, so the fixed cost of an
    /// invocation shows apart from the per-record cost, under the runspace's default thread
    /// options and under pwsh's; and the query called in a loop inside one script.
    /// </summary>
    private static void Profile(Runspace runspace, string manifest, MmsEngineHandle handle, string upn, int jobsPerUser)
    {
        Type engineType = AppDomain.CurrentDomain.GetAssemblies()
            .Single(a => a.GetName().Name == "MeetingMigrationService")
            .GetType("MeetingMigrationService.MmsEngine", throwOnError: true)!;
        const System.Reflection.BindingFlags Any = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic
            | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Instance;
        object engine = engineType.GetMethod("Open", Any)!.Invoke(null, new object[] { Environment.GetEnvironmentVariable("MMS_STORE")! })!;
        using var close = (IDisposable)engine;
        System.Reflection.MethodInfo query = engineType.GetMethod("QueryStatus", Any)!;
        System.Reflection.MethodInfo parseArray = engineType.GetMethod("ParseArray", Any)!;
        System.Reflection.MethodInfo toStatus = engineType.GetMethod("ToStatus", Any)!;
        var filterNode = new System.Text.Json.Nodes.JsonObject { ["Identity"] = upn };
        string json = MmsNative.StatusQuery(handle, filterNode.ToJsonString());
        Note($"profile: MmsEngine.QueryStatus (C ABI + JSON to {jobsPerUser} records): {Fmt(MedianNs(20, 201, () => query.Invoke(engine, new object[] { filterNode })))}");
        Note($"profile: MmsEngine.ParseArray of the {json.Length}-char answer: {Fmt(MedianNs(20, 201, () => parseArray.Invoke(null, new object[] { json })))}");
        var parsed = (System.Collections.IList)parseArray.Invoke(null, new object[] { json })!;
        Note($"profile: MmsEngine.ToStatus x {parsed.Count}: {Fmt(MedianNs(20, 201, () =>
        {
            foreach (object o in parsed)
            {
                toStatus.Invoke(null, new[] { o });
            }
        }))}");

        // The runspace default (a new pipeline thread for every Invoke) and the runspace pwsh
        // itself runs (one pipeline thread reused, as in the rows above).
        foreach (PSThreadOptions threads in new[] { PSThreadOptions.Default, PSThreadOptions.ReuseThread })
        {
            using Runspace rs = OpenSession(manifest, threads);
            using PowerShell single = Pipeline(rs, p => p.AddParameter("Identity", upn));
            Note($"profile: ThreadOptions {threads}: -Identity {Fmt(MedianNs(20, 201, () => Expect(single, jobsPerUser, "MeetingMigrationStatus")))}");
            using PowerShell config = PowerShell.Create();
            config.Runspace = rs;
            config.AddCommand("Get-CsTenantMigrationConfiguration");
            Note($"profile: ThreadOptions {threads}: Get-CsTenantMigrationConfiguration (one C ABI call, one object) {Fmt(MedianNs(20, 201, () => Expect(config, 1, "TenantMigrationConfiguration")))}");
        }

        using PowerShell loop = PowerShell.Create();
        loop.Runspace = runspace;
        loop.AddScript("param($upn) $sw = [System.Diagnostics.Stopwatch]::new(); foreach ($i in 1..221) { $sw.Restart(); $r = Get-CsMeetingMigrationStatus -Identity $upn; $sw.Elapsed.Ticks }").AddArgument(upn);
        double[] ticks = loop.Invoke().Select(o => Convert.ToDouble(o.BaseObject, CultureInfo.InvariantCulture) * 100).Skip(20).OrderBy(x => x).ToArray();
        Note($"profile: in one script, per call: -Identity {Fmt(ticks[ticks.Length / 2])}");
    }

    /// <summary>
    /// A session as a user's script gets it: CreateDefault2 (the Core snap-in only, like the
    /// NuGet-hosted engine of tests/dotnet) and the module imported by manifest path.
    /// </summary>
    private static Runspace OpenSession(string manifest, PSThreadOptions threads)
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ThreadOptions = threads;
        if (OperatingSystem.IsWindows())
        {
            iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
        }

        Runspace runspace = RunspaceFactory.CreateRunspace(iss);
        runspace.Open();
        using PowerShell ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddCommand("Import-Module").AddParameter("Name", manifest).AddParameter("ErrorAction", "Stop").Invoke();
        return runspace;
    }

    /// <summary>A reused pipeline holding one Get-CsMeetingMigrationStatus command.</summary>
    private static PowerShell Pipeline(Runspace runspace, Action<PowerShell> parameters)
    {
        PowerShell ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddCommand("Get-CsMeetingMigrationStatus");
        parameters(ps);
        return ps;
    }

    /// <summary>Runs the pipeline once; any error, or output not of the expected count and type, stops the bench.</summary>
    private static void Expect(PowerShell ps, int count, string typeName)
    {
        Collection<PSObject> result = ps.Invoke();
        if (ps.Streams.Error.Count > 0)
        {
            throw new InvalidOperationException($"Get-CsMeetingMigrationStatus failed: {ps.Streams.Error[0]}");
        }

        if (result.Count != count || result.Any(o => o.BaseObject.GetType().Name != typeName))
        {
            throw new InvalidOperationException($"Get-CsMeetingMigrationStatus wrote {result.Count} objects, expected {count} {typeName}.");
        }

        ps.Streams.ClearStreams();
    }

    /// <summary>Elements of a JSON array (or of the first array in an envelope object).</summary>
    private static int Count(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        if (root.ValueKind == JsonValueKind.Object)
        {
            root = root.EnumerateObject().Select(p => p.Value).First(v => v.ValueKind == JsonValueKind.Array);
        }

        return root.GetArrayLength();
    }

    /// <summary>Median time per call in nanoseconds: <paramref name="warmup"/> calls, then one sample per call.</summary>
    private static double MedianNs(int warmup, int samples, Action f)
    {
        for (int i = 0; i < warmup; i++)
        {
            f();
        }

        var ns = new double[samples];
        for (int i = 0; i < samples; i++)
        {
            long start = Stopwatch.GetTimestamp();
            f();
            ns[i] = (Stopwatch.GetTimestamp() - start) * 1e9 / Stopwatch.Frequency;
        }

        Array.Sort(ns);
        return ns[samples / 2];
    }

    private static void Row(string figure, double valueNs, double baselineNs, string target, double limitNs)
    {
        double ratio = valueNs / baselineNs;
        string r = ratio < 0.1 ? ratio.ToString("F5", CultureInfo.InvariantCulture) : ratio.ToString("F2", CultureInfo.InvariantCulture);
        string baseline = $"{Fmt(baselineNs)} (same query, C ABI via the module's P/Invoke)";
        Console.WriteLine($"ROW|{figure}|{Fmt(valueNs)}|{baseline}|{r}x|{target}|{(valueNs < limitNs ? "yes" : "NO")}");
    }

    /// <summary>A duration in the unit that reads best (as benches/common/mod.rs fmt_ns).</summary>
    private static string Fmt(double ns) => ns switch
    {
        < 1e3 => string.Create(CultureInfo.InvariantCulture, $"{ns:F0} ns"),
        < 1e6 => string.Create(CultureInfo.InvariantCulture, $"{ns / 1e3:F2} us"),
        < 1e9 => string.Create(CultureInfo.InvariantCulture, $"{ns / 1e6:F2} ms"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{ns / 1e9:F2} s"),
    };

    private static void Note(string message) => Console.Error.WriteLine($"[bench] {message}");
}
