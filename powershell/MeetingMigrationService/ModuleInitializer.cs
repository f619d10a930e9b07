using System.Management.Automation;
using MeetingMigrationService.Native;

namespace MeetingMigrationService;

/// <summary>Registers the native-library resolver on import; closes this runspace's store on removal.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport() => NativeLibraryLoader.EnsureRegistered();

    public void OnRemove(PSModuleInfo psModuleInfo) => MmsSession.Current.Close();
}
