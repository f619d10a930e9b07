@{
    RootModule           = 'MeetingMigrationService.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '7d3c2f0e-5b8a-4e61-9c3d-2a7f4b1e9d05'
    Author               = 'MMS engine team'
    CompanyName          = 'MMS engine team'
    Copyright            = '(c) MMS engine team'
    Description          = "Meeting Migration Service: Microsoft's MMS cmdlets (Get-CsMeetingMigrationStatus, Start-CsExMeetingMigration, Get-/Set-CsTenantMigrationConfiguration, Get-/Set-CsOnlineDialInConferencingTenantSettings and the user and bridge cmdlets that trigger migrations) over the mms engine. The store is `$env:MMS_STORE, else the per-user default; Connect-MmsStore switches it."
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('MeetingMigrationService.Format.ps1xml')
    CmdletsToExport      = @(
        'Connect-MmsStore'
        'Disable-CsOnlineDialInConferencingUser'
        'Enable-CsOnlineDialInConferencingUser'
        'Get-CsMeetingMigrationStatus'
        'Get-CsOnlineDialInConferencingBridge'
        'Get-CsOnlineDialInConferencingTenantSettings'
        'Get-CsOnlineDialInConferencingUser'
        'Get-CsOnlineUser'
        'Get-CsTenantMigrationConfiguration'
        'Grant-CsTeamsUpgradePolicy'
        'Move-CsUser'
        'New-MmsConferencingBridge'
        'New-MmsUser'
        'Register-CsOnlineDialInConferencingServiceNumber'
        'Set-CsOnlineDialInConferencingTenantSettings'
        'Set-CsOnlineDialInConferencingUser'
        'Set-CsTenantMigrationConfiguration'
        'Set-MmsUser'
        'Set-MmsUserLicense'
        'Start-CsExMeetingMigration'
        'Unregister-CsOnlineDialInConferencingServiceNumber'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags = @('Teams', 'SkypeForBusiness', 'MeetingMigration', 'MMS', 'Linux', 'Windows', 'MacOS')
        }
    }
}
