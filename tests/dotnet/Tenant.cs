namespace MeetingMigrationService.Tests;

/// <summary>A small test tenant built with the module's own cmdlets.</summary>
internal static class Tenant
{
    /// <summary>
    /// Bridge "Conference Bridge" (default toll +14255550100, extra toll +14255037265, default
    /// toll-free 8005551234); Amy Shaw (ashaw) and Ken Meyers (kmeyers) licensed and enabled on
    /// it; user@contoso.com plain online user; Tom Onprem homed on-premises with SfB meetings;
    /// Pat Mailbox with an on-premises mailbox.
    /// </summary>
    public const string Script = @"
$b = New-MmsConferencingBridge -Name 'Conference Bridge' -Region NOAM
Register-CsOnlineDialInConferencingServiceNumber -Identity +14255550100 -BridgeName 'Conference Bridge' -City 'United States, Redmond' -Default
Register-CsOnlineDialInConferencingServiceNumber -Identity +14255037265 -BridgeName 'Conference Bridge' -City 'United States, Seattle'
Register-CsOnlineDialInConferencingServiceNumber -Identity 8005551234 -BridgeName 'Conference Bridge' -City 'United States' -Type TollFree -Default
$null = New-MmsUser -UserPrincipalName ashaw@contoso.com -DisplayName 'Amy Shaw' -AudioConferencingLicensed -AudioConferencingEnabled -ConferenceId 1234567 -BridgeId $b.Identity
$null = New-MmsUser -UserPrincipalName kmeyers@contoso.com -DisplayName 'Ken Meyers' -AudioConferencingLicensed -AudioConferencingEnabled -ConferenceId 7654321 -BridgeId $b.Identity
$null = New-MmsUser -UserPrincipalName user@contoso.com -DisplayName 'Plain User'
$null = New-MmsUser -UserPrincipalName tom@contoso.com -DisplayName 'Tom Onprem' -Homing OnPremises -MeetingKind SfB
$null = New-MmsUser -UserPrincipalName pat@contoso.com -DisplayName 'Pat Mailbox' -MailboxLocation OnPremises
";

    public static ModuleHost Create()
    {
        var h = new ModuleHost();
        h.Run(Script);
        return h;
    }
}
