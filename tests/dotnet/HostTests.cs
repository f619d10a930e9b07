using System;
using System.Text.Json;
using MeetingMigrationService.Native;
using Xunit;

namespace MeetingMigrationService.Tests;

/// <summary>A C# host driving the library directly through the module's P/Invoke layer (no PowerShell).</summary>
public sealed class HostTests : IDisposable
{
    private readonly string dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mms-host-" + Guid.NewGuid().ToString("N"));

    public HostTests() => System.IO.Directory.CreateDirectory(dir);

    public void Dispose() => System.IO.Directory.Delete(dir, recursive: true);

    [Fact]
    public void Library_loads_from_runtimes_rid_native_next_to_the_assembly()
    {
        Assert.False(string.IsNullOrEmpty(MmsNative.Version()));
        string expected = System.IO.Path.Combine("runtimes", NativeLibraryLoader.RuntimeIdentifier(), "native", NativeLibraryLoader.PlatformFileName());
        Assert.Contains(NativeLibraryLoader.Candidates(typeof(MmsNative).Assembly), c => c.EndsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Settings_round_trip_as_json()
    {
        using MmsEngineHandle e = MmsNative.EngineOpen(System.IO.Path.Combine(dir, "s.db"));
        using (JsonDocument d = JsonDocument.Parse(MmsNative.TenantMigrationConfigurationGet(e)))
        {
            Assert.True(d.RootElement.GetProperty("MeetingMigrationEnabled").GetBoolean());
        }

        MmsNative.TenantMigrationConfigurationSet(e, "{\"MeetingMigrationEnabled\":false}");
        using (JsonDocument d = JsonDocument.Parse(MmsNative.TenantMigrationConfigurationGet(e)))
        {
            Assert.False(d.RootElement.GetProperty("MeetingMigrationEnabled").GetBoolean());
        }

        using JsonDocument s = JsonDocument.Parse(MmsNative.DialInTenantSettingsSet(e, "{\"PinLength\":6}"));
        Assert.Equal(6u, s.RootElement.GetProperty("PinLength").GetUInt32());
    }

    [Fact]
    public void Failures_become_typed_exceptions_with_the_library_message()
    {
        using MmsEngineHandle e = MmsNative.EngineOpen(System.IO.Path.Combine(dir, "e.db"));
        MmsException bad = Assert.Throws<MmsException>(() => MmsNative.DialInTenantSettingsSet(e, "{\"PinLength\":99}"));
        Assert.Equal(MmsResult.InvalidArgument, bad.Code);
        Assert.Contains("PinLength", bad.Message);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, bad.Category);

        MmsException missing = Assert.Throws<MmsException>(() => MmsNative.UserGet(e, "nobody@contoso.com"));
        Assert.Equal(MmsResult.NotFound, missing.Code);
        Assert.Equal("MmsNotFound", missing.ErrorId);
        Assert.Contains("nobody@contoso.com", missing.Message);

        MmsException json = Assert.Throws<MmsException>(() => MmsNative.StatusQuery(e, "{not json"));
        Assert.Equal(MmsResult.InvalidArgument, json.Code);

        MmsException panic = Assert.Throws<MmsException>(MmsNative.TestPanic);
        Assert.Equal(MmsResult.Panic, panic.Code);

        // The engine is still usable after every failure.
        Assert.Equal("[]", MmsNative.StatusQuery(e, null).Replace(" ", string.Empty, StringComparison.Ordinal));
    }

    [Fact]
    public void Errors_are_read_on_the_failing_thread()
    {
        using MmsEngineHandle e = MmsNative.EngineOpen(System.IO.Path.Combine(dir, "t.db"));
        var threads = new System.Threading.Thread[4];
        var failures = new string?[threads.Length];
        for (int i = 0; i < threads.Length; i++)
        {
            int n = i;
            threads[i] = new System.Threading.Thread(() =>
            {
                for (int k = 0; k < 50; k++)
                {
                    try
                    {
                        MmsNative.UserGet(e, $"user{n}@contoso.com");
                        failures[n] = "no error";
                    }
                    catch (MmsException ex) when (!ex.Message.Contains($"user{n}@contoso.com", StringComparison.Ordinal))
                    {
                        failures[n] = ex.Message;
                    }
                    catch (MmsException)
                    {
                    }
                }
            });
            threads[i].Start();
        }

        foreach (var t in threads)
        {
            t.Join();
        }

        Assert.All(failures, f => Assert.Null(f));
    }

    [Fact]
    public void A_disposed_engine_handle_is_never_passed_to_the_library()
    {
        MmsEngineHandle e = MmsNative.EngineOpen(System.IO.Path.Combine(dir, "d.db"));
        e.Dispose();
        Assert.True(e.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => MmsNative.UsersList(e));
    }

    [Fact]
    public void Open_failure_reports_the_path()
    {
        string blocked = System.IO.Path.Combine(dir, "file");
        System.IO.File.WriteAllText(blocked, "x");
        MmsException ex = Assert.Throws<MmsException>(() => MmsNative.EngineOpen(System.IO.Path.Combine(blocked, "sub", "mms.db")));
        Assert.Contains("file", ex.Message);
    }
}
