using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using MeetingMigrationService.Native;

namespace MeetingMigrationService;

/// <summary>
/// An open store: the typed face of <see cref="MmsNative"/>. Translates JSON records into the
/// objects the cmdlets write and parameters into JSON patches; decides nothing itself.
/// </summary>
internal sealed class MmsEngine : IDisposable
{
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = true };

    private readonly MmsEngineHandle handle;

    private MmsEngine(string path, MmsEngineHandle handle)
    {
        Path = path;
        this.handle = handle;
    }

    /// <summary>The store file this engine has open.</summary>
    public string Path { get; }

    public static MmsEngine Open(string path) => new(path, MmsNative.EngineOpen(path));

    public void Dispose() => handle.Dispose();

    // ---- tenant settings ----
    public TenantMigrationConfiguration GetTenantMigrationConfiguration() =>
        ToTenantMigrationConfiguration(Parse(MmsNative.TenantMigrationConfigurationGet(handle)));

    public TenantMigrationConfiguration SetTenantMigrationConfiguration(JsonObject patch) =>
        ToTenantMigrationConfiguration(Parse(MmsNative.TenantMigrationConfigurationSet(handle, patch.ToJsonString())));

    public OnlineDialInConferencingTenantSettings GetDialInTenantSettings() =>
        ToDialInSettings(Parse(MmsNative.DialInTenantSettingsGet(handle)));

    public OnlineDialInConferencingTenantSettings SetDialInTenantSettings(JsonObject patch) =>
        ToDialInSettings(Parse(MmsNative.DialInTenantSettingsSet(handle, patch.ToJsonString())));

    // ---- users and bridges ----
    public JsonObject GetUser(string identity) => Parse(MmsNative.UserGet(handle, identity));

    public List<JsonObject> ListUsers() => ParseArray(MmsNative.UsersList(handle));

    public JsonObject UpsertUser(JsonObject user) => Parse(MmsNative.UserUpsert(handle, user.ToJsonString()));

    public JsonObject GetBridge(string identity) => Parse(MmsNative.BridgeGet(handle, identity));

    public List<JsonObject> ListBridges() => ParseArray(MmsNative.BridgesList(handle));

    public JsonObject UpsertBridge(JsonObject bridge) => Parse(MmsNative.BridgeUpsert(handle, bridge.ToJsonString()));

    public MeetingMigrationDecision ChangeUser(string identity, JsonObject change) =>
        ToDecision(identity, Parse(MmsNative.UserChange(handle, identity, change.ToJsonString())));

    public MeetingMigrationDecision TenantEvent(JsonObject tenantEvent) =>
        ToDecision("Global", Parse(MmsNative.TenantEvent(handle, tenantEvent.ToJsonString())));

    public List<MeetingMigrationDecision> UnregisterServiceNumber(string bridge, string number, bool removeDefault)
    {
        JsonNode? node = JsonNode.Parse(MmsNative.BridgeUnregisterNumber(handle, bridge, number, removeDefault), NodeOptions);
        var result = new List<MeetingMigrationDecision>();
        IEnumerable<JsonNode?> items = node switch
        {
            JsonArray a => a,
            JsonObject o when o["AffectedUsers"] is JsonArray d => d,
            _ => Array.Empty<JsonNode?>(),
        };
        foreach (JsonObject o in items.OfType<JsonObject>())
        {
            result.Add(ToDecision(Str(o, "UserPrincipalName", Str(o, "UserId")), o));
        }

        return result;
    }

    // ---- migrations ----
    public MeetingMigrationStatus StartMigration(string identity, MmsSourceMeetingTypes source, MmsTargetMeetingTypes target) =>
        ToStatus(Parse(MmsNative.MigrationStart(handle, identity, source.ToString(), target.ToString())));

    public List<MeetingMigrationStatus> QueryStatus(JsonObject filter) =>
        ParseArray(MmsNative.StatusQuery(handle, filter.ToJsonString())).Select(ToStatus).ToList();

    public List<MeetingMigrationStateSummary> Summary() =>
        ParseArray(MmsNative.StatusSummary(handle))
            .Select(o => new MeetingMigrationStateSummary { State = Str(o, "State"), UserCount = (int)Long(o, "UserCount") })
            .ToList();

    // ---- JSON → objects ----
    internal static JsonObject Parse(string json) =>
        JsonNode.Parse(json, NodeOptions) as JsonObject
        ?? throw new InvalidOperationException("The mms library returned JSON that is not an object.");

    internal static List<JsonObject> ParseArray(string json)
    {
        JsonNode? node = JsonNode.Parse(json, NodeOptions);
        if (node is JsonObject wrapper)
        {
            // Tolerate { "Records": [...] } / { "Items": [...] } envelopes.
            node = wrapper.Select(kv => kv.Value).OfType<JsonArray>().FirstOrDefault();
        }

        return node is JsonArray array ? array.OfType<JsonObject>().ToList() : new List<JsonObject>();
    }

    internal static TenantMigrationConfiguration ToTenantMigrationConfiguration(JsonObject o) => new()
    {
        Identity = Str(o, "Identity", "Global"),
        MeetingMigrationEnabled = Bool(o, "MeetingMigrationEnabled"),
    };

    internal static OnlineDialInConferencingTenantSettings ToDialInSettings(JsonObject o) => new()
    {
        Identity = Str(o, "Identity", "Global"),
        AllowedDialOutExternalDomains = StrArray(o, "AllowedDialOutExternalDomains"),
        EnableEntryExitNotifications = Bool(o, "EnableEntryExitNotifications"),
        EntryExitAnnouncementsType = Str(o, "EntryExitAnnouncementsType"),
        EnableNameRecording = Bool(o, "EnableNameRecording"),
        IncludeTollFreeNumberInMeetingInvites = Bool(o, "IncludeTollFreeNumberInMeetingInvites"),
        MaskPstnNumbersType = Str(o, "MaskPstnNumbersType"),
        PinLength = (uint)Long(o, "PinLength"),
        AllowPSTNOnlyMeetingsByDefault = Bool(o, "AllowPSTNOnlyMeetingsByDefault"),
        AutomaticallySendEmailsToUsers = Bool(o, "AutomaticallySendEmailsToUsers"),
        SendEmailFromOverride = Bool(o, "SendEmailFromOverride"),
        SendEmailFromAddress = Str(o, "SendEmailFromAddress"),
        SendEmailFromDisplayName = Str(o, "SendEmailFromDisplayName"),
        AutomaticallyReplaceAcpProvider = Bool(o, "AutomaticallyReplaceAcpProvider"),
        UseUniqueConferenceIds = Bool(o, "UseUniqueConferenceIds"),
        AutomaticallyMigrateUserMeetings = Bool(o, "AutomaticallyMigrateUserMeetings"),
        MigrateServiceNumbersOnCrossForestMove = Bool(o, "MigrateServiceNumbersOnCrossForestMove"),
        EnableDialOutJoinConfirmation = Bool(o, "EnableDialOutJoinConfirmation"),
        AllowFederatedUsersToDialOutToSelf = Str(o, "AllowFederatedUsersToDialOutToSelf"),
        AllowFederatedUsersToDialOutToThirdParty = Str(o, "AllowFederatedUsersToDialOutToThirdParty"),
    };

    internal static MeetingMigrationStatus ToStatus(JsonObject o) => new()
    {
        CorrelationId = Str(o, "CorrelationId"),
        CreateDate = Date(o, "CreateDate"),
        FailedMeeting = (int)Long(o, "FailedMeeting"),
        InvitesUpdate = (int)Long(o, "InvitesUpdate"),
        LastMessage = Str(o, "LastMessage"),
        MigrationType = Str(o, "MigrationType"),
        ModifiedDate = Date(o, "ModifiedDate"),
        RetryCount = (int)Long(o, "RetryCount"),
        State = Str(o, "State"),
        SucceededMeeting = (int)Long(o, "SucceededMeeting"),
        TotalMeeting = (int)Long(o, "TotalMeeting"),
        UserId = Str(o, "UserId"),
        UserPrincipalName = Str(o, "UserPrincipalName"),
    };

    internal static OnlineUser ToOnlineUser(JsonObject u) => new()
    {
        Identity = Str(u, "ObjectId"),
        UserPrincipalName = Str(u, "UserPrincipalName"),
        SipAddress = WithSip(Str(u, "SipAddress")),
        DisplayName = Str(u, "DisplayName"),
        ObjectId = GuidOrEmpty(Str(u, "ObjectId")),
        MailboxLocation = Str(u, "MailboxLocation"),
        Homing = Str(u, "Homing"),
        AudioConferencingLicensed = Bool(u, "AudioConferencingLicensed"),
        AudioConferencingEnabled = Bool(u, "AudioConferencingEnabled"),
        AudioConferencingProvider = Str(u, "Provider"),
        MeetingKind = Str(u, "MeetingKind"),
        TeamsUpgradePolicy = Str(u, "TeamsUpgradePolicy"),
    };

    internal static OnlineDialInConferencingUser ToDialInUser(JsonObject u, IReadOnlyList<ConferencingBridge> bridges)
    {
        Guid? bridgeId = Guid.TryParse(Str(u, "BridgeId"), out Guid g) ? g : null;
        ConferencingBridge? bridge = bridgeId is null ? null : bridges.FirstOrDefault(b => b.Identity == bridgeId);
        return new OnlineDialInConferencingUser
        {
            Identity = Str(u, "ObjectId"),
            DisplayName = Str(u, "DisplayName"),
            UserPrincipalName = Str(u, "UserPrincipalName"),
            SipAddress = WithSip(Str(u, "SipAddress")),
            ConferenceId = Str(u, "ConferenceId"),
            BridgeId = bridgeId,
            BridgeName = bridge?.Name ?? string.Empty,
            ServiceNumber = Str(u, "ServiceNumber"),
            TollFreeServiceNumber = Str(u, "TollFreeServiceNumber"),
            DefaultTollNumber = bridge?.ServiceNumbers.FirstOrDefault(n => n.IsDefault && n.Type == "Toll")?.Number ?? string.Empty,
            DefaultTollFreeNumber = bridge?.ServiceNumbers.FirstOrDefault(n => n.IsDefault && n.Type == "TollFree")?.Number ?? string.Empty,
            Provider = Str(u, "Provider"),
            Enabled = Bool(u, "AudioConferencingEnabled"),
            Licensed = Bool(u, "AudioConferencingLicensed"),
        };
    }

    internal static ConferencingBridge ToBridge(JsonObject b)
    {
        Guid id = GuidOrEmpty(Str(b, "Identity"));
        ConferencingServiceNumber[] numbers = (b["ServiceNumbers"] as JsonArray ?? new JsonArray())
            .OfType<JsonObject>()
            .Select(n => new ConferencingServiceNumber
            {
                Number = Str(n, "Number"),
                City = Str(n, "City"),
                Type = Str(n, "Type"),
                IsDefault = Bool(n, "IsDefault"),
                BridgeId = id,
            })
            .ToArray();
        return new ConferencingBridge
        {
            Identity = id,
            Name = Str(b, "Name"),
            Region = Str(b, "Region"),
            DefaultServiceNumber = numbers.FirstOrDefault(n => n.IsDefault && n.Type == "Toll")?.Number
                ?? numbers.FirstOrDefault(n => n.IsDefault)?.Number
                ?? string.Empty,
            ServiceNumbers = numbers,
        };
    }

    internal static MeetingMigrationDecision ToDecision(string identity, JsonObject o)
    {
        // {"Decision":"Enqueue","MigrationType":...,"Reason":...} or {"Decision":"NoMigration","Reason":...},
        // possibly inside a {"Decision": {...}} envelope with the user.
        if (o["Decision"] is JsonObject inner)
        {
            o = inner;
        }

        bool queued = string.Equals(Str(o, "Decision"), "Enqueue", StringComparison.OrdinalIgnoreCase);
        string migrationType = queued ? Str(o, "MigrationType") : string.Empty;
        return new MeetingMigrationDecision
        {
            Identity = identity,
            MigrationQueued = queued,
            MigrationType = migrationType,
            Reason = Str(o, "Reason"),
        };
    }

    // ---- tolerant field readers ----
    internal static string Str(JsonObject o, string key, string fallback = "")
    {
        JsonNode? n = o[key];
        if (n is null)
        {
            return fallback;
        }

        return n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : n.ToJsonString();
    }

    internal static bool Bool(JsonObject o, string key) =>
        o[key] is JsonNode n && n.GetValueKind() == JsonValueKind.True;

    internal static long Long(JsonObject o, string key) =>
        o[key] is JsonNode n && n.GetValueKind() == JsonValueKind.Number ? n.GetValue<long>() : 0;

    internal static string[] StrArray(JsonObject o, string key) =>
        o[key] is JsonArray a
            ? a.Select(x => x is null ? string.Empty
                : x is JsonObject d ? Str(d, "Domain") : x.GetValueKind() == JsonValueKind.String ? x.GetValue<string>() : x.ToJsonString()).ToArray()
            : Array.Empty<string>();

    internal static DateTime Date(JsonObject o, string key)
    {
        // chrono writes nanoseconds; .NET parses at most 7 fractional digits.
        string s = System.Text.RegularExpressions.Regex.Replace(Str(o, key), @"(\.\d{7})\d+", "$1");
        return DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime d)
            ? DateTime.SpecifyKind(d, DateTimeKind.Utc)
            : default;
    }

    private static Guid GuidOrEmpty(string s) => Guid.TryParse(s, out Guid g) ? g : Guid.Empty;

    private static string WithSip(string s) =>
        s.Length == 0 || s.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) ? s : "sip:" + s;
}
