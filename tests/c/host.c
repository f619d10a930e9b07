/*
 * C host test: drives the whole libmms API through include/mms.h, including every error path
 * (NULL, invalid UTF-8, unknown user, ambiguous name, bad enum value, bad JSON, closed handle,
 * caught panic) and concurrent use of one engine from several threads.
 * Prints "N passed, M failed" last and exits non-zero on any failure.
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mms.h"

static int passed = 0;
static int failed = 0;

#define CHECK(cond, what)                                                                  \
    do {                                                                                   \
        if (cond) {                                                                        \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s [last error: %s]\n", __FILE__, __LINE__, what, \
                    mms_last_error_message());                                            \
        }                                                                                  \
    } while (0)

/* Expect a result code; on success the caller owns *out (if any). */
#define EXPECT(call, code, what) CHECK((call) == (code), what)

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

static const char *BRIDGE =
    "{\"Identity\":\"0000000b-0000-0000-0000-000000000001\",\"Name\":\"Conference Bridge\","
    "\"Region\":\"NOAM\",\"ServiceNumbers\":["
    "{\"Number\":\"+13238867531\",\"City\":\"United States, Los Angeles\",\"Type\":\"Toll\","
    "\"IsDefault\":true},"
    "{\"Number\":\"+14255550101\",\"City\":\"United States, Seattle\",\"Type\":\"Toll\","
    "\"IsDefault\":false},"
    "{\"Number\":\"+18005550100\",\"City\":\"United States\",\"Type\":\"TollFree\","
    "\"IsDefault\":true}]}";

static char *user_json(const char *object_id, const char *upn, const char *display,
                       const char *licensed, const char *mailbox, const char *conference_id) {
    static const char *fmt =
        "{\"ObjectId\":\"%s\",\"UserPrincipalName\":\"%s\",\"SipAddress\":\"sip:%s\","
        "\"DisplayName\":\"%s\",\"MailboxLocation\":\"%s\",\"Homing\":\"Online\","
        "\"AudioConferencingLicensed\":%s,\"AudioConferencingEnabled\":%s,"
        "\"Provider\":\"Microsoft\",\"ConferenceId\":\"%s\","
        "\"BridgeId\":\"0000000b-0000-0000-0000-000000000001\",\"ServiceNumber\":null,"
        "\"TollFreeServiceNumber\":null,\"MeetingKind\":\"Teams\",\"TeamsUpgradePolicy\":null}";
    size_t n = strlen(fmt) + 2 * strlen(upn) + strlen(object_id) + strlen(display) + 64 +
               strlen(mailbox) + strlen(conference_id);
    char *s = malloc(n);
    if (s == NULL) {
        abort();
    }
    snprintf(s, n, fmt, object_id, upn, upn, display, mailbox, licensed, licensed, conference_id);
    return s;
}

static void test_open_errors(const char *path) {
    MmsEngine *engine = (MmsEngine *)0x1;
    EXPECT(mms_engine_open(NULL, &engine), MMS_RESULT_NULL_ARGUMENT, "open(NULL path)");
    CHECK(engine == NULL, "out_engine cleared on failure");
    CHECK(contains(mms_last_error_message(), "path"), "message names the argument");
    EXPECT(mms_engine_open(path, NULL), MMS_RESULT_NULL_ARGUMENT, "open(NULL out)");
    EXPECT(mms_engine_open("/tmp/\xff\xfe.db", &engine), MMS_RESULT_INVALID_UTF8,
           "open(invalid UTF-8)");
    CHECK(contains(mms_last_error_message(), "UTF-8"), "UTF-8 message");
    EXPECT(mms_engine_open("", &engine), MMS_RESULT_INVALID_ARGUMENT, "open(empty path)");
    EXPECT(mms_engine_open("/proc/definitely/not/here/mms.db", &engine), MMS_RESULT_STORE,
           "open(unwritable path)");
}

/* Runs before any thread starts, so changing the environment here is safe. */
static void test_default_store_path(void) {
    char *out = (char *)0x1;
    EXPECT(mms_default_store_path(NULL), MMS_RESULT_NULL_ARGUMENT, "default path(NULL out)");

    setenv("MMS_STORE", "/srv/mms/tenant.db", 1);
    EXPECT(mms_default_store_path(&out), MMS_RESULT_OK, "default path from MMS_STORE");
    CHECK(out != NULL && strcmp(out, "/srv/mms/tenant.db") == 0, "MMS_STORE wins");
    mms_string_free(out);

    unsetenv("MMS_STORE");
    setenv("HOME", "/home/ashaw", 1);
    setenv("XDG_DATA_HOME", "/data/ashaw", 1);
    EXPECT(mms_default_store_path(&out), MMS_RESULT_OK, "default path from XDG_DATA_HOME");
    CHECK(out != NULL && strcmp(out, "/data/ashaw/mms/mms.db") == 0, "XDG_DATA_HOME/mms/mms.db");
    mms_string_free(out);

    unsetenv("XDG_DATA_HOME");
    EXPECT(mms_default_store_path(&out), MMS_RESULT_OK, "default path from HOME");
    CHECK(out != NULL && strcmp(out, "/home/ashaw/.local/share/mms/mms.db") == 0,
          "~/.local/share/mms/mms.db");
    mms_string_free(out);

    unsetenv("HOME");
    EXPECT(mms_default_store_path(&out), MMS_RESULT_NOT_FOUND, "no MMS_STORE and no HOME");
    CHECK(out == NULL, "no output without a home folder");
    CHECK(contains(mms_last_error_message(), "MMS_STORE"), "message names MMS_STORE");
}

static void test_settings(MmsEngine *e) {
    char *out = NULL;
    EXPECT(mms_tenant_migration_configuration_get(e, &out), MMS_RESULT_OK, "tenant get");
    CHECK(contains(out, "\"Identity\":\"Global\""), "Identity Global");
    CHECK(contains(out, "\"MeetingMigrationEnabled\":true"), "enabled by default");
    CHECK(strcmp(mms_last_error_message(), "") == 0, "last error empty after success");
    mms_string_free(out);

    EXPECT(mms_tenant_migration_configuration_set(e, "{\"MeetingMigrationEnabled\":false}", &out),
           MMS_RESULT_OK, "tenant set false");
    CHECK(contains(out, "\"MeetingMigrationEnabled\":false"), "set returns new value");
    mms_string_free(out);
    EXPECT(mms_tenant_migration_configuration_set(e, "{\"meetingmigrationenabled\":true}", &out),
           MMS_RESULT_OK, "tenant set true, case-insensitive name");
    mms_string_free(out);
    out = (char *)0x1;
    EXPECT(mms_tenant_migration_configuration_set(e, "{not json", &out),
           MMS_RESULT_INVALID_ARGUMENT, "tenant set bad JSON");
    CHECK(out == NULL, "out_json cleared on failure");
    EXPECT(mms_tenant_migration_configuration_set(e, "{\"Bogus\":1}", &out),
           MMS_RESULT_INVALID_ARGUMENT, "tenant set unknown property");
    CHECK(contains(mms_last_error_message(), "Bogus"), "message names the property");
    EXPECT(mms_tenant_migration_configuration_set(e, "{\"Identity\":\"Site:1\"}", &out),
           MMS_RESULT_INVALID_ARGUMENT, "tenant set other identity");
    EXPECT(mms_tenant_migration_configuration_set(e, NULL, &out), MMS_RESULT_NULL_ARGUMENT,
           "tenant set NULL patch");
    EXPECT(mms_tenant_migration_configuration_get(e, NULL), MMS_RESULT_NULL_ARGUMENT,
           "tenant get NULL out");

    EXPECT(mms_dialin_tenant_settings_get(e, &out), MMS_RESULT_OK, "dial-in get");
    CHECK(contains(out, "\"AutomaticallyMigrateUserMeetings\":true"), "AMUM default");
    CHECK(contains(out, "\"PinLength\":5"), "PinLength default");
    CHECK(contains(out, "\"AllowPSTNOnlyMeetingsByDefault\":false"), "PSTN name");
    mms_string_free(out);
    EXPECT(mms_dialin_tenant_settings_set(e, "{\"PinLength\":7,\"EntryExitAnnouncementsType\":"
                                             "\"UseNames\"}",
                                          &out),
           MMS_RESULT_OK, "dial-in set");
    CHECK(contains(out, "\"PinLength\":7"), "PinLength 7");
    mms_string_free(out);
    EXPECT(mms_dialin_tenant_settings_set(e, "{\"PinLength\":13}", &out),
           MMS_RESULT_INVALID_ARGUMENT, "PinLength out of range");
    CHECK(contains(mms_last_error_message(), "PinLength"), "range message");
    EXPECT(mms_dialin_tenant_settings_set(e, "{\"MaskPstnNumbersType\":\"Sometimes\"}", &out),
           MMS_RESULT_INVALID_ARGUMENT, "bad enum value in settings");
    CHECK(contains(mms_last_error_message(), "Sometimes"), "bad enum message");
    EXPECT(mms_dialin_tenant_settings_set(e, "{\"PinLength\":\"\xff\"}", &out),
           MMS_RESULT_INVALID_UTF8, "invalid UTF-8 patch");
    EXPECT(mms_dialin_tenant_settings_get(e, &out), MMS_RESULT_OK, "dial-in get again");
    CHECK(contains(out, "\"PinLength\":7"), "failed sets changed nothing");
    mms_string_free(out);
}

static void test_directory(MmsEngine *e) {
    char *out = NULL;
    EXPECT(mms_bridge_upsert(e, BRIDGE, &out), MMS_RESULT_OK, "bridge upsert");
    mms_string_free(out);
    EXPECT(mms_bridge_upsert(e, "{\"Identity\":\"nope\"}", &out), MMS_RESULT_INVALID_ARGUMENT,
           "bridge upsert bad JSON");
    EXPECT(mms_bridge_get(e, "conference bridge", &out), MMS_RESULT_OK, "bridge get by name");
    CHECK(contains(out, "+18005550100"), "bridge numbers");
    mms_string_free(out);
    EXPECT(mms_bridge_get(e, "No Such Bridge", &out), MMS_RESULT_NOT_FOUND, "bridge not found");
    EXPECT(mms_bridges_list(e, &out), MMS_RESULT_OK, "bridges list");
    CHECK(out != NULL && out[0] == '[', "bridges list is an array");
    mms_string_free(out);

    char *u1 = user_json("00000000-0000-0000-0000-000000000001", "ashaw@contoso.com", "Amy Shaw",
                         "false", "ExchangeOnline", "");
    char *u2 = user_json("00000000-0000-0000-0000-000000000002", "ben@contoso.com", "Ben Miller",
                         "true", "ExchangeOnline", "291633252");
    char *u3 = user_json("00000000-0000-0000-0000-000000000003", "ben.m@contoso.com",
                         "Ben Miller", "true", "OnPremises", "291633253");
    EXPECT(mms_user_upsert(e, u1, &out), MMS_RESULT_OK, "user upsert 1");
    CHECK(contains(out, "\"SipAddress\":\"ashaw@contoso.com\""), "sip: prefix stripped");
    mms_string_free(out);
    EXPECT(mms_user_upsert(e, u2, &out), MMS_RESULT_OK, "user upsert 2");
    mms_string_free(out);
    EXPECT(mms_user_upsert(e, u3, &out), MMS_RESULT_OK, "user upsert 3");
    mms_string_free(out);
    free(u1);
    free(u2);
    free(u3);
    EXPECT(mms_user_upsert(e, "{\"ObjectId\":\"x\"}", &out), MMS_RESULT_INVALID_ARGUMENT,
           "user upsert incomplete");

    const char *identities[] = {"ashaw@contoso.com", "ASHAW@CONTOSO.COM", "sip:ashaw@contoso.com",
                                "00000000-0000-0000-0000-000000000001", "Amy Shaw"};
    for (size_t i = 0; i < sizeof identities / sizeof identities[0]; i++) {
        EXPECT(mms_user_get(e, identities[i], &out), MMS_RESULT_OK, identities[i]);
        CHECK(contains(out, "\"UserPrincipalName\":\"ashaw@contoso.com\""), "resolved user");
        mms_string_free(out);
    }
    EXPECT(mms_user_get(e, "nobody@contoso.com", &out), MMS_RESULT_NOT_FOUND, "unknown user");
    CHECK(contains(mms_last_error_message(), "nobody@contoso.com"), "message names identity");
    EXPECT(mms_user_get(e, "Ben Miller", &out), MMS_RESULT_AMBIGUOUS, "ambiguous display name");
    CHECK(contains(mms_last_error_message(), "ben@contoso.com") &&
              contains(mms_last_error_message(), "ben.m@contoso.com"),
          "ambiguity names the matches");
    EXPECT(mms_user_get(e, "\xc3\x28", &out), MMS_RESULT_INVALID_UTF8, "identity invalid UTF-8");
    EXPECT(mms_user_get(e, NULL, &out), MMS_RESULT_NULL_ARGUMENT, "identity NULL");
    EXPECT(mms_users_list(e, &out), MMS_RESULT_OK, "users list");
    CHECK(contains(out, "ben.m@contoso.com"), "list has users");
    mms_string_free(out);
}

static void test_triggers(MmsEngine *e) {
    char *out = NULL;
    EXPECT(mms_user_change(e, "ashaw@contoso.com", "{\"Change\":\"AssignLicence\"}", &out),
           MMS_RESULT_OK, "assign licence");
    CHECK(contains(out, "\"Decision\":\"Enqueue\""), "licence enqueues");
    CHECK(contains(out, "\"State\":\"Pending\""), "job pending");
    mms_string_free(out);
    EXPECT(mms_user_change(e, "ashaw@contoso.com",
                           "{\"Change\":\"SetServiceNumber\",\"Number\":\"+14255550101\"}", &out),
           MMS_RESULT_OK, "set service number");
    CHECK(contains(out, "\"Merged\":true"), "second trigger merges");
    mms_string_free(out);
    EXPECT(mms_user_change(e, "ben@contoso.com",
                           "{\"Change\":\"SetSipAddress\",\"SipAddress\":\"sip:b@contoso.com\"}",
                           &out),
           MMS_RESULT_OK, "sip change");
    CHECK(contains(out, "\"Decision\":\"NoMigration\""), "sip change never migrates");
    CHECK(contains(out, "\"Job\":null"), "no job");
    mms_string_free(out);
    EXPECT(mms_user_change(e, "ben@contoso.com", "{\"Change\":\"Explode\"}", &out),
           MMS_RESULT_INVALID_ARGUMENT, "unknown change");
    EXPECT(mms_user_change(e, "ben@contoso.com",
                           "{\"Change\":\"GrantTeamsUpgradePolicy\",\"PolicyName\":\"Nope\"}",
                           &out),
           MMS_RESULT_INVALID_ARGUMENT, "bad enum value in change");
    EXPECT(mms_user_change(e, "ghost@contoso.com", "{\"Change\":\"AssignLicence\"}", &out),
           MMS_RESULT_NOT_FOUND, "change for unknown user");
    EXPECT(mms_user_change(e, "ben@contoso.com",
                           "{\"Change\":\"SetConferenceId\",\"ConferenceId\":\"291633253\"}",
                           &out),
           MMS_RESULT_CONFLICT, "conference ID in use on the bridge");
    EXPECT(mms_user_change(e, "ben@contoso.com", NULL, &out), MMS_RESULT_NULL_ARGUMENT,
           "NULL change");

    EXPECT(mms_tenant_event(e, "{\"Event\":\"UpdateTenantMeetingUrl\"}", &out), MMS_RESULT_OK,
           "tenant event");
    CHECK(contains(out, "NoMigration"), "meeting URL change never migrates");
    mms_string_free(out);
    EXPECT(mms_tenant_event(e, "{\"Event\":\"GrantTeamsUpgradePolicyGlobal\",\"PolicyName\":"
                               "\"TeamsOnly\"}",
                            &out),
           MMS_RESULT_OK, "global grant");
    CHECK(contains(out, "NoMigration"), "global grant never migrates");
    mms_string_free(out);

    /* The bridge's default number: refused without remove_default, and nothing changes. */
    char *status_before = NULL;
    EXPECT(mms_status_query(e, NULL, &status_before), MMS_RESULT_OK, "status before refusal");
    out = (char *)0x1;
    EXPECT(mms_bridge_unregister_number(e, "Conference Bridge", "+13238867531", false, &out),
           MMS_RESULT_REFUSED, "default number needs remove_default");
    CHECK(out == NULL, "no output on refusal");
    CHECK(contains(mms_last_error_message(), "default toll number of bridge 'Conference Bridge'"),
          "refusal names the number's role and the bridge");
    CHECK(contains(mms_last_error_message(), "RemoveDefaultServiceNumber"),
          "refusal names the switch");
    EXPECT(mms_bridge_get(e, "Conference Bridge", &out), MMS_RESULT_OK, "bridge after refusal");
    CHECK(contains(out, "\"Number\":\"+13238867531\""), "refused number still registered");
    mms_string_free(out);
    EXPECT(mms_status_query(e, NULL, &out), MMS_RESULT_OK, "status after refusal");
    CHECK(out != NULL && status_before != NULL && strcmp(out, status_before) == 0,
          "refusal queues nothing");
    mms_string_free(out);
    mms_string_free(status_before);

    EXPECT(mms_bridge_unregister_number(e, "Conference Bridge", "+13238867531", true, &out),
           MMS_RESULT_OK, "unregister default number");
    CHECK(contains(out, "\"UserPrincipalName\":\"ben@contoso.com\""), "ben relied on it");
    CHECK(!contains(out, "\"UserPrincipalName\":\"ashaw@contoso.com\""),
          "ashaw has her own number");
    mms_string_free(out);
    EXPECT(mms_bridge_unregister_number(e, "Conference Bridge", "+13238867531", true, &out),
           MMS_RESULT_NOT_FOUND, "number already gone");
    EXPECT(mms_bridge_unregister_number(e, "Conference Bridge", "call me", false, &out),
           MMS_RESULT_INVALID_ARGUMENT, "not a phone number");

    EXPECT(mms_migration_start(e, "Amy Shaw", "All", "Teams", &out), MMS_RESULT_OK,
           "manual start");
    CHECK(contains(out, "\"MigrationType\":\"AllToTeams\""), "AllToTeams");
    mms_string_free(out);
    EXPECT(mms_migration_start(e, "ashaw@contoso.com", "Everything", "Teams", &out),
           MMS_RESULT_INVALID_ARGUMENT, "bad SourceMeetingType");
    CHECK(contains(mms_last_error_message(), "All, SfB, Teams"), "allowed values named");
    EXPECT(mms_migration_start(e, "ashaw@contoso.com", "All", "Skype", &out),
           MMS_RESULT_INVALID_ARGUMENT, "bad TargetMeetingType");
    EXPECT(mms_migration_start(e, "ashaw@contoso.com", "All", NULL, &out),
           MMS_RESULT_NULL_ARGUMENT, "NULL target");
    EXPECT(mms_migration_start(e, "ben.m@contoso.com", "All", "Current", &out),
           MMS_RESULT_REFUSED, "on-premises mailbox refused");
    CHECK(contains(mms_last_error_message(), "Exchange Online"), "refusal reason");
    EXPECT(mms_migration_start(e, "nobody", "All", "Current", &out), MMS_RESULT_NOT_FOUND,
           "manual start unknown user");
}

static void test_status(MmsEngine *e) {
    char *out = NULL;
    EXPECT(mms_status_query(e, NULL, &out), MMS_RESULT_OK, "status all");
    CHECK(contains(out, "\"CorrelationId\"") && contains(out, "\"InvitesUpdate\"") &&
              contains(out, "\"UserPrincipalName\":\"ben@contoso.com\""),
          "status records");
    mms_string_free(out);
    EXPECT(mms_status_query(e, "{\"Identity\":\"sip:ashaw@contoso.com\",\"State\":\"Pending\"}",
                            &out),
           MMS_RESULT_OK, "status by identity and state");
    CHECK(contains(out, "ashaw@contoso.com") && !contains(out, "ben@contoso.com"),
          "filtered by identity");
    mms_string_free(out);
    EXPECT(mms_status_query(e, "{\"StartTime\":\"2000-01-01T00:00:00Z\",\"EndTime\":"
                               "\"2000-01-08T00:00:00Z\"}",
                            &out),
           MMS_RESULT_OK, "status by time range");
    CHECK(out != NULL && strcmp(out, "[]") == 0, "nothing in 2000");
    mms_string_free(out);
    EXPECT(mms_status_query(e, "{\"MigrationType\":\"AllToTeams\"}", &out), MMS_RESULT_OK,
           "status by type");
    CHECK(contains(out, "AllToTeams"), "type filter");
    mms_string_free(out);
    EXPECT(mms_status_query(e, "{\"State\":\"Done\"}", &out), MMS_RESULT_INVALID_ARGUMENT,
           "bad State");
    EXPECT(mms_status_query(e, "{\"Identity\":\"Ben Miller\"}", &out), MMS_RESULT_AMBIGUOUS,
           "ambiguous status identity");
    EXPECT(mms_status_summary(e, &out), MMS_RESULT_OK, "summary");
    CHECK(contains(out, "{\"State\":\"Pending\",\"UserCount\":2}"), "two users pending");
    CHECK(contains(out, "\"InProgress\"") && contains(out, "\"Failed\"") &&
              contains(out, "\"Succeeded\""),
          "all four states");
    mms_string_free(out);
    EXPECT(mms_meeting_coordinates(e, "ashaw@contoso.com", &out), MMS_RESULT_OK, "coordinates");
    CHECK(contains(out, "\"joinUrl\":\"https://teams.microsoft.com/l/meetup-join/"), "join url");
    CHECK(contains(out, "+14255550101"), "own toll number");
    mms_string_free(out);
    uint64_t purged = 99;
    EXPECT(mms_status_purge(e, &purged), MMS_RESULT_OK, "purge");
    CHECK(purged == 0, "nothing old enough to purge");
    EXPECT(mms_status_purge(e, NULL), MMS_RESULT_NULL_ARGUMENT, "purge NULL out");
}

struct worker {
    MmsEngine *engine;
    int ok;
};

static void *hammer(void *arg) {
    struct worker *w = arg;
    w->ok = 1;
    for (int i = 0; i < 25; i++) {
        char *out = NULL;
        if (mms_status_summary(w->engine, &out) != MMS_RESULT_OK) {
            w->ok = 0;
        }
        mms_string_free(out);
        if (mms_migration_start(w->engine, "ben@contoso.com", "All", "Current", &out) !=
            MMS_RESULT_OK) {
            w->ok = 0;
        }
        mms_string_free(out);
        /* The last error is per thread: a failure here does not leak into other threads. */
        if (mms_user_get(w->engine, "nobody", &out) != MMS_RESULT_NOT_FOUND ||
            !contains(mms_last_error_message(), "nobody")) {
            w->ok = 0;
        }
    }
    return NULL;
}

static void test_threads(MmsEngine *e) {
    pthread_t threads[4];
    struct worker workers[4];
    for (int i = 0; i < 4; i++) {
        workers[i].engine = e;
        workers[i].ok = 0;
        CHECK(pthread_create(&threads[i], NULL, hammer, &workers[i]) == 0, "thread start");
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].ok, "concurrent calls on one engine");
    }
}

int main(void) {
    char dir[] = "/tmp/mms-c-host-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/mms.db", dir);

    CHECK(mms_version() != NULL && strlen(mms_version()) > 0, "version");
    test_default_store_path();
    test_open_errors(path);

    MmsEngine *e = NULL;
    EXPECT(mms_engine_open(path, &e), MMS_RESULT_OK, "open");
    CHECK(e != NULL, "engine handle");
    CHECK(access(path, F_OK) == 0, "store file created");

    test_settings(e);
    test_directory(e);
    test_triggers(e);
    test_status(e);
    test_threads(e);

    EXPECT(mms_test_panic(), MMS_RESULT_PANIC, "panic caught");
    CHECK(contains(mms_last_error_message(), "mms_test_panic"), "panic message");
    char *out = NULL;
    EXPECT(mms_status_summary(e, &out), MMS_RESULT_OK, "usable after a panic");
    mms_string_free(out);

    /* A second engine on the same store sees the same data. */
    MmsEngine *e2 = NULL;
    EXPECT(mms_engine_open(path, &e2), MMS_RESULT_OK, "second engine");
    EXPECT(mms_user_get(e2, "Amy Shaw", &out), MMS_RESULT_OK, "second engine reads");
    mms_string_free(out);
    EXPECT(mms_engine_close(e2), MMS_RESULT_OK, "close second");

    EXPECT(mms_engine_close(e), MMS_RESULT_OK, "close");
    EXPECT(mms_status_summary(e, &out), MMS_RESULT_CLOSED_HANDLE, "use after close");
    CHECK(out == NULL, "no output after close");
    EXPECT(mms_user_get(e, "Amy Shaw", &out), MMS_RESULT_CLOSED_HANDLE, "get after close");
    EXPECT(mms_engine_close(e), MMS_RESULT_CLOSED_HANDLE, "double close");
    EXPECT(mms_engine_close(NULL), MMS_RESULT_OK, "close NULL");
    EXPECT(mms_status_summary((MmsEngine *)0xdeadbeef0, &out), MMS_RESULT_CLOSED_HANDLE,
           "made-up handle");
    EXPECT(mms_status_summary(NULL, &out), MMS_RESULT_NULL_ARGUMENT, "NULL engine");
    mms_string_free(NULL);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "warning: could not remove %s\n", dir);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
