using System;
using Microsoft.Win32.SafeHandles;

namespace MeetingMigrationService.Native;

/// <summary>
/// Owns an <c>MmsEngine*</c>. The P/Invoke marshaller ref-counts it across calls, so a handle
/// is never closed while a call that uses it is running, and it is closed exactly once.
/// </summary>
internal sealed class MmsEngineHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public MmsEngineHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        // CLOSED_HANDLE cannot happen (SafeHandle releases once); report any other failure.
        return MmsNative.mms_engine_close(handle) == 0;
    }
}
