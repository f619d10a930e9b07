using System;
using System.Runtime.InteropServices;

namespace MeetingMigrationService.Native;

/// <summary>Result codes of every mms_* function (see include/mms.h).</summary>
public enum MmsResult
{
    Ok = 0,
    NullArgument = 1,
    InvalidUtf8 = 2,
    InvalidArgument = 3,
    NotFound = 4,
    Ambiguous = 5,
    Conflict = 6,
    Refused = 7,
    Store = 8,
    ClosedHandle = 9,
    Panic = 10,

    /// <summary>A code this module does not know (a newer library).</summary>
    Unknown = -1,
}

/// <summary>
/// The whole P/Invoke surface of include/mms.h, plus the three rules every call follows:
/// strings go in as UTF-8, a nonzero result becomes an <see cref="MmsException"/> carrying
/// <c>mms_last_error_message()</c> read immediately on the same thread, and every returned
/// string is copied and released with <c>mms_string_free</c>. Records cross as JSON.
/// </summary>
internal static class MmsNative
{
    private const string Lib = NativeLibraryLoader.LibraryName;

    static MmsNative() => NativeLibraryLoader.EnsureRegistered();

    /// <summary>A call that writes one owned string through its last parameter.</summary>
    internal delegate int StringOutCall(out IntPtr result);

    // ---- raw exports (names and shapes exactly as in include/mms.h) ----
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_engine_open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out MmsEngineHandle engine);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern int mms_engine_close(IntPtr engine);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern IntPtr mms_version();

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_test_panic();

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_default_store_path(out IntPtr path);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_bridge_get(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string identity, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern void mms_string_free(IntPtr s);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern IntPtr mms_last_error_message();

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_tenant_migration_configuration_get(MmsEngineHandle engine, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_tenant_migration_configuration_set(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string patch, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_dialin_tenant_settings_get(MmsEngineHandle engine, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_dialin_tenant_settings_set(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string patch, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_user_upsert(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string user, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_user_get(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string identity, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_users_list(MmsEngineHandle engine, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_bridge_upsert(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string bridge, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_bridges_list(MmsEngineHandle engine, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_user_change(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string identity, [MarshalAs(UnmanagedType.LPUTF8Str)] string change, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_tenant_event(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string tenantEvent, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_bridge_unregister_number(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string bridge, [MarshalAs(UnmanagedType.LPUTF8Str)] string number, [MarshalAs(UnmanagedType.U1)] bool removeDefault, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_migration_start(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string identity, [MarshalAs(UnmanagedType.LPUTF8Str)] string source, [MarshalAs(UnmanagedType.LPUTF8Str)] string target, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_status_query(MmsEngineHandle engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string? filter, out IntPtr json);

    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int mms_status_summary(MmsEngineHandle engine, out IntPtr json);

    // ---- checked wrappers ----
    internal static MmsEngineHandle EngineOpen(string path)
    {
        int rc = mms_engine_open(path, out MmsEngineHandle engine);
        if (rc != 0)
        {
            string? message = LastError();
            engine.Dispose();
            throw MmsException.From(nameof(mms_engine_open), rc, message);
        }

        return engine;
    }

    /// <summary>The library version (a static string, never freed).</summary>
    internal static string Version() => Marshal.PtrToStringUTF8(mms_version()) ?? string.Empty;

    /// <summary>Test hook: always fails with <see cref="MmsResult.Panic"/>.</summary>
    internal static void TestPanic()
    {
        int rc = mms_test_panic();
        if (rc != 0)
        {
            throw MmsException.From(nameof(mms_test_panic), rc, LastError());
        }
    }

    /// <summary><c>$MMS_STORE</c>, else the per-user default store the <c>mms</c> command uses.</summary>
    internal static string DefaultStorePath() =>
        Call(nameof(mms_default_store_path), (out IntPtr o) => mms_default_store_path(out o));

    internal static string BridgeGet(MmsEngineHandle e, string identity) =>
        Call(nameof(mms_bridge_get), (out IntPtr o) => mms_bridge_get(e, identity, out o));

    internal static string TenantMigrationConfigurationGet(MmsEngineHandle e) =>
        Call(nameof(mms_tenant_migration_configuration_get), (out IntPtr o) => mms_tenant_migration_configuration_get(e, out o));

    internal static string TenantMigrationConfigurationSet(MmsEngineHandle e, string patchJson) =>
        Call(nameof(mms_tenant_migration_configuration_set), (out IntPtr o) => mms_tenant_migration_configuration_set(e, patchJson, out o));

    internal static string DialInTenantSettingsGet(MmsEngineHandle e) =>
        Call(nameof(mms_dialin_tenant_settings_get), (out IntPtr o) => mms_dialin_tenant_settings_get(e, out o));

    internal static string DialInTenantSettingsSet(MmsEngineHandle e, string patchJson) =>
        Call(nameof(mms_dialin_tenant_settings_set), (out IntPtr o) => mms_dialin_tenant_settings_set(e, patchJson, out o));

    internal static string UserUpsert(MmsEngineHandle e, string userJson) =>
        Call(nameof(mms_user_upsert), (out IntPtr o) => mms_user_upsert(e, userJson, out o));

    internal static string UserGet(MmsEngineHandle e, string identity) =>
        Call(nameof(mms_user_get), (out IntPtr o) => mms_user_get(e, identity, out o));

    internal static string UsersList(MmsEngineHandle e) =>
        Call(nameof(mms_users_list), (out IntPtr o) => mms_users_list(e, out o));

    internal static string BridgeUpsert(MmsEngineHandle e, string bridgeJson) =>
        Call(nameof(mms_bridge_upsert), (out IntPtr o) => mms_bridge_upsert(e, bridgeJson, out o));

    internal static string BridgesList(MmsEngineHandle e) =>
        Call(nameof(mms_bridges_list), (out IntPtr o) => mms_bridges_list(e, out o));

    internal static string UserChange(MmsEngineHandle e, string identity, string changeJson) =>
        Call(nameof(mms_user_change), (out IntPtr o) => mms_user_change(e, identity, changeJson, out o));

    internal static string TenantEvent(MmsEngineHandle e, string eventJson) =>
        Call(nameof(mms_tenant_event), (out IntPtr o) => mms_tenant_event(e, eventJson, out o));

    internal static string BridgeUnregisterNumber(MmsEngineHandle e, string bridge, string number, bool removeDefault) =>
        Call(nameof(mms_bridge_unregister_number), (out IntPtr o) => mms_bridge_unregister_number(e, bridge, number, removeDefault, out o));

    internal static string MigrationStart(MmsEngineHandle e, string identity, string source, string target) =>
        Call(nameof(mms_migration_start), (out IntPtr o) => mms_migration_start(e, identity, source, target, out o));

    internal static string StatusQuery(MmsEngineHandle e, string? filterJson) =>
        Call(nameof(mms_status_query), (out IntPtr o) => mms_status_query(e, filterJson, out o));

    internal static string StatusSummary(MmsEngineHandle e) =>
        Call(nameof(mms_status_summary), (out IntPtr o) => mms_status_summary(e, out o));

    /// <summary>Runs one call; on failure reads the thread's last error before anything else can.</summary>
    internal static string Call(string function, StringOutCall call)
    {
        IntPtr result = IntPtr.Zero;
        int rc = call(out result);
        if (rc != 0)
        {
            string? message = LastError();
            Free(result);
            throw MmsException.From(function, rc, message);
        }

        return Take(result) ?? string.Empty;
    }

    /// <summary>Copies an owned UTF-8 string and frees it with <c>mms_string_free</c>.</summary>
    private static string? Take(IntPtr s)
    {
        if (s == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(s);
        }
        finally
        {
            mms_string_free(s);
        }
    }

    private static void Free(IntPtr s)
    {
        if (s != IntPtr.Zero)
        {
            mms_string_free(s);
        }
    }

    /// <summary>The calling thread's last error (borrowed by the library; copied here).</summary>
    private static string? LastError()
    {
        IntPtr p = mms_last_error_message();
        return p == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(p);
    }
}
