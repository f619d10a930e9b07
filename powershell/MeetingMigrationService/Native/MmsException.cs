using System;
using System.Management.Automation;

namespace MeetingMigrationService.Native;

/// <summary>A nonzero <c>MmsResult</c> with the library's message, read on the failing thread.</summary>
public class MmsException : Exception
{
    internal MmsException(string function, MmsResult code, string message)
        : base(message)
    {
        Function = function;
        Code = code;
    }

    /// <summary>The C function that failed, e.g. <c>mms_user_get</c>.</summary>
    public string Function { get; }

    /// <summary>The library's result code.</summary>
    public MmsResult Code { get; }

    /// <summary>Stable error id: <c>Mms</c> + the result code name, e.g. <c>MmsNotFound</c>.</summary>
    public string ErrorId => "Mms" + Code;

    /// <summary>The PowerShell error category an admin expects for this kind of failure.</summary>
    public ErrorCategory Category => Code switch
    {
        MmsResult.NullArgument => ErrorCategory.InvalidArgument,
        MmsResult.InvalidUtf8 => ErrorCategory.InvalidData,
        MmsResult.InvalidArgument => ErrorCategory.InvalidArgument,
        MmsResult.NotFound => ErrorCategory.ObjectNotFound,
        MmsResult.Ambiguous => ErrorCategory.InvalidArgument,
        MmsResult.Conflict => ErrorCategory.ResourceExists,
        MmsResult.Refused => ErrorCategory.InvalidOperation,
        MmsResult.Store => ErrorCategory.ResourceUnavailable,
        MmsResult.ClosedHandle => ErrorCategory.InvalidOperation,
        MmsResult.Panic => ErrorCategory.NotSpecified,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>Builds the ErrorRecord a cmdlet writes for this failure.</summary>
    internal ErrorRecord ToErrorRecord(object? target) => new(this, ErrorId, Category, target);

    internal static MmsException From(string function, int code, string? message)
    {
        var result = Enum.IsDefined(typeof(MmsResult), code) ? (MmsResult)code : MmsResult.Unknown;
        string text = string.IsNullOrEmpty(message) ? $"{function} failed with result {code}." : message!;
        return new MmsException(function, result, text);
    }
}
