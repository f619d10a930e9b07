using System;
using System.Globalization;
using System.Management.Automation;

namespace MeetingMigrationService.Commands;

/// <summary>
/// Converts a string argument to a DateTime the way a PowerShell cast (<c>[datetime]"10/1/2016"</c>)
/// does: with the invariant culture, so "10/1/2016" is October 1 on every machine. Compiled-cmdlet
/// parameter binding would otherwise use the current culture (1 October only on en-US; 10 January
/// on de-DE), and the seed's example must mean the same everywhere. Strings the invariant culture
/// cannot read fall back to the current culture; non-strings pass through.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class InvariantDateTimeAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        object? value = inputData is PSObject pso ? pso.BaseObject : inputData;
        if (value is not string text)
        {
            return inputData;
        }

        if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTime invariant))
        {
            return invariant;
        }

        if (DateTime.TryParse(text, CultureInfo.CurrentCulture, DateTimeStyles.None, out DateTime local))
        {
            return local;
        }

        throw new ArgumentTransformationMetadataException($"'{text}' is not a date. Use a form such as \"10/1/2016\" (month/day/year) or \"2016-10-01\".");
    }
}
