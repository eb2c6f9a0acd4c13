/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * liblxccr's reading of libvirt's LXC status files and domain XML, on files
 * captured from real domains of the patched libvirtd (tests/unit/data/lxc-cr/:
 * lvtest with one bridged interface, lvtwo with two and an <initarg>, and
 * lvtest's `virsh dumpxml` live and --inactive), then damaged: every
 * truncation, wrong root, bad PIDs, wrong domain type, memory units, an
 * external entity. Then the save/restore entry points on real processes:
 * they must refuse with a message naming the domain or file and the cause,
 * and create nothing (real save files: test-lxc-cr-saveimage). TAP.
 */
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "lxccr.h"
#include "lxc-cr-testutils.h"

static char *
dataPath(const char *name)
{
    return g_build_filename(TEST_DATA_DIR, name, NULL);
}

static char *
readData(const char *name)
{
    g_autofree char *path = dataPath(name);
    char *xml = NULL;

    if (!g_file_get_contents(path, &xml, NULL, NULL)) {
        printf("Bail out! cannot read %s\n", path);
        exit(1);
    }
    return xml;
}

static int
streq0(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}


static void
testStatusOne(void)
{
    g_autofree char *path = dataPath("status-lvtest.xml");
    lxcCRDomain *def = lxcCRStatusParseFile(path);
    lxcCRNet *n;

    CHECK(def != NULL, "status-lvtest.xml parses: %s", def ? "" : lastMessage());
    if (!def)
        return;
    CHECK(streq0(def->name, "lvtest") && streq0(def->uuid, "dec96e69-4569-43f9-8dc1-f42c8f1eda0c"),
          "name lvtest and its uuid (got '%s' '%s')", def->name, def->uuid);
    CHECK(streq0(def->state, "running") && streq0(def->reason, "booted"),
          "state running, reason booted (got '%s' '%s')", def->state, def->reason);
    CHECK(def->controllerPid == 14408 && def->initPid == 14418,
          "controller pid 14408, init pid 14418 (got %d %d)", def->controllerPid, def->initPid);
    CHECK(streq0(def->consoleTTY, "/dev/pts/0"), "console tty /dev/pts/0 (got '%s')", def->consoleTTY);
    CHECK(def->memoryKiB == 131072, "memory 131072 KiB (got %llu)", def->memoryKiB);
    CHECK(streq0(def->rootfs, "/var/lib/lxc-cr/libvirt-dev/rootfs"),
          "root filesystem (got '%s')", def->rootfs);
    CHECK(streq0(def->init, "/bin/sh") && def->ninitargs == 0, "init /bin/sh, no args (got '%s' %zu)",
          def->init, def->ninitargs);
    CHECK(streq0(def->emulator, "/opt/lxc-cr/libvirt/libexec/libvirt_lxc"),
          "emulator is the controller (got '%s')", def->emulator);
    CHECK(def->nnets == 1, "one interface (got %zu)", def->nnets);
    if (def->nnets == 1) {
        n = &def->nets[0];
        CHECK(streq0(n->type, "bridge") && streq0(n->bridge, "lxccrlvbr0") && !n->network &&
              streq0(n->mac, "52:54:00:4c:56:01") && streq0(n->hostVeth, "vnet0") &&
              streq0(n->guestDev, "eth0"),
              "interface: bridge lxccrlvbr0, 52:54:00:4c:56:01, vnet0 -> eth0 (got %s %s %s %s %s)",
              n->type, n->bridge, n->mac, n->hostVeth, n->guestDev);
    }
    lxcCRDomainFree(def);
}


static void
testStatusTwo(void)
{
    g_autofree char *path = dataPath("status-lvtwo.xml");
    lxcCRDomain *def = lxcCRStatusParseFile(path);

    CHECK(def != NULL, "status-lvtwo.xml parses: %s", def ? "" : lastMessage());
    if (!def)
        return;
    CHECK(def->controllerPid == 15959 && def->initPid == 15961,
          "controller 15959, init 15961 (got %d %d)", def->controllerPid, def->initPid);
    CHECK(def->memoryKiB == 1048576, "memory 1 GiB = 1048576 KiB (got %llu)", def->memoryKiB);
    CHECK(def->ninitargs == 1 && streq0(def->initargs[0], "-i"), "one initarg '-i' (got %zu)",
          def->ninitargs);
    CHECK(streq0(def->consoleTTY, "/dev/pts/1"), "console tty /dev/pts/1 (got '%s')", def->consoleTTY);
    CHECK(def->nnets == 2 &&
          streq0(def->nets[0].bridge, "lxccrlvbr0") && streq0(def->nets[0].hostVeth, "vnet2") &&
          streq0(def->nets[0].guestDev, "eth0") && streq0(def->nets[0].mac, "52:54:00:4c:56:02") &&
          streq0(def->nets[1].bridge, "lxccrlvbr1") && streq0(def->nets[1].hostVeth, "lvtwo1") &&
          streq0(def->nets[1].guestDev, "eth1") && streq0(def->nets[1].mac, "52:54:00:4c:56:03"),
          "two interfaces, in order, with bridges, MACs, veth names");
    lxcCRDomainFree(def);
}


static void
testDomainXML(void)
{
    g_autofree char *live = readData("domain-lvtest-live.xml");
    g_autofree char *inactive = readData("domain-lvtest-inactive.xml");
    g_autofree char *status = readData("status-lvtest.xml");
    lxcCRDomain *def;

    def = lxcCRDomainParseString(live, "domain-lvtest-live.xml");
    CHECK(def && streq0(def->name, "lvtest") && def->memoryKiB == 131072 &&
          def->controllerPid == 0 && def->initPid == 0 && !def->state &&
          def->nnets == 1 && streq0(def->nets[0].hostVeth, "vnet0") &&
          streq0(def->consoleTTY, "/dev/pts/0"),
          "virsh dumpxml (live): name, memory, veth, tty; no PIDs: %s", def ? "" : lastMessage());
    lxcCRDomainFree(def);

    def = lxcCRDomainParseString(inactive, "domain-lvtest-inactive.xml");
    CHECK(def && def->nnets == 1 && !def->nets[0].hostVeth && !def->consoleTTY &&
          streq0(def->nets[0].mac, "52:54:00:4c:56:01"),
          "virsh dumpxml --inactive: MAC, no veth, no tty: %s", def ? "" : lastMessage());
    lxcCRDomainFree(def);

    def = lxcCRDomainParseString(status, "status-as-domain");
    CHECK(!def && errorIs(LXC_CR_ERR_XML, "'status-as-domain'", "<domstatus>", "<domain>", NULL),
          "a status file is not a domain XML: %s", lastMessage());
    lxcCRDomainFree(def);

    def = lxcCRStatusParseString(live, "domain-as-status");
    CHECK(!def && errorIs(LXC_CR_ERR_XML, "'domain-as-status'", "<domain>", "<domstatus>", NULL),
          "a domain XML is not a status file: %s", lastMessage());
    lxcCRDomainFree(def);
}


/* Every prefix of a real status file fails cleanly, naming the file, or parses whole. */
static void
testTruncated(void)
{
    g_autofree char *status = readData("status-lvtest.xml");
    size_t len = strlen(status);
    size_t cut;
    size_t bad = 0;
    size_t parsed = 0;
    char firstBad[512] = "";

    for (cut = 0; cut < len; cut++) {
        g_autofree char *part = g_strndup(status, cut);
        lxcCRDomain *def = lxcCRStatusParseString(part, "cut.xml");

        if (def) {
            parsed++;
            /* only the trailing newline may go */
            if (cut < len - 1 || def->controllerPid != 14408) {
                bad++;
                if (!firstBad[0])
                    snprintf(firstBad, sizeof(firstBad), "%zu bytes parsed", cut);
            }
            lxcCRDomainFree(def);
        } else if (!errorIs(LXC_CR_ERR_XML, "'cut.xml'", NULL)) {
            bad++;
            if (!firstBad[0])
                snprintf(firstBad, sizeof(firstBad), "%zu bytes: %s", cut, lastMessage());
        }
    }
    CHECK(bad == 0, "each of the %zu truncations fails naming the file (or parses whole: %zu) %s",
          len, parsed, firstBad);
}


/* The status file with from replaced by to, parsed: NULL or the domain. */
static lxcCRDomain *
parseEdited(const char *name, const char *from, const char *to)
{
    g_autofree char *xml = readData(name);
    g_autofree char *edited = NULL;
    char *p = strstr(xml, from);

    if (!p) {
        printf("Bail out! '%s' not in %s\n", from, name);
        exit(1);
    }
    *p = '\0';
    edited = g_strconcat(xml, to, p + strlen(from), NULL);
    return lxcCRStatusParseString(edited, "edited.xml");
}


static void
testBadStatus(void)
{
    static const struct {
        const char *from;
        const char *to;
        lxcCRErrorCode code;
        const char *needle;
        const char *desc;
    } cases[] = {
        { "pid='14408'>", "pid='abc'>", LXC_CR_ERR_XML, "controller pid 'abc'", "pid not a number" },
        { "pid='14408'>", "pid='0'>", LXC_CR_ERR_XML, "controller pid '0'", "pid 0" },
        { "pid='14408'>", "pid='-5'>", LXC_CR_ERR_XML, "controller pid '-5'", "negative pid" },
        { "pid='14408'>", "pid='99999999999'>", LXC_CR_ERR_XML, "'99999999999'", "pid too large" },
        { "pid='14408'>", "pid='12x'>", LXC_CR_ERR_XML, "'12x'", "pid with junk" },
        { " pid='14408'>", ">", LXC_CR_ERR_XML, "controller pid ''", "no controller pid" },
        { "<init pid='14418'/>", "<init pid='x'/>", LXC_CR_ERR_XML, "init pid 'x'", "bad init pid" },
        { "state='running' ", "", LXC_CR_ERR_XML, "no state", "no state" },
        { "type='lxc' id", "type='kvm' id", LXC_CR_ERR_XML, "domain type is 'kvm', expected 'lxc'", "not lxc" },
        { "<name>lvtest</name>", "", LXC_CR_ERR_XML, "no <name>", "no name" },
        { "<memory unit='KiB'>131072</memory>", "", LXC_CR_ERR_XML, "no <memory>", "no memory" },
        { "<memory unit='KiB'>131072</memory>", "<memory unit='XB'>1</memory>", LXC_CR_ERR_XML,
          "unknown <memory> unit 'XB'", "unknown unit" },
        { "<memory unit='KiB'>131072</memory>", "<memory>12k</memory>", LXC_CR_ERR_XML,
          "'12k' is not a number", "memory not a number" },
        { "<memory unit='KiB'>131072</memory>", "<memory unit='EiB'>100</memory>", LXC_CR_ERR_XML,
          "too large", "memory too large" },
        { "<source bridge='lxccrlvbr0'/>", "", LXC_CR_ERR_XML, "bridge interface 0 has no <source",
          "bridge without a bridge" },
        { "<domain type='lxc' id='14408'>", "<domain type='lxc' id='14408'></domain><domain type='lxc'>",
          LXC_CR_ERR_XML, "expected one <domain>", "two domains" },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        lxcCRDomain *def = parseEdited("status-lvtest.xml", cases[i].from, cases[i].to);

        CHECK(!def && errorIs(cases[i].code, "'edited.xml'", cases[i].needle, NULL),
              "refused: %s: %s", cases[i].desc, lastMessage());
        lxcCRDomainFree(def);
    }
}


static void
testMemoryUnits(void)
{
    static const struct {
        const char *mem;
        unsigned long long kib;
    } cases[] = {
        { "<memory>2048</memory>", 2048 },
        { "<memory unit='KiB'>7</memory>", 7 },
        { "<memory unit='k'>7</memory>", 7 },
        { "<memory unit='MiB'>128</memory>", 131072 },
        { "<memory unit='M'>128</memory>", 131072 },
        { "<memory unit='G'>1</memory>", 1048576 },
        { "<memory unit='GB'>1</memory>", 976563 },
        { "<memory unit='KB'>1000</memory>", 977 },
        { "<memory unit='bytes'>1</memory>", 1 },
        { "<memory unit='b'>4096</memory>", 4 },
        { "<memory unit='TiB'>1</memory>", 1ULL << 30 },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        lxcCRDomain *def = parseEdited("status-lvtest.xml", "<memory unit='KiB'>131072</memory>",
                                       cases[i].mem);

        CHECK(def && def->memoryKiB == cases[i].kib, "%s is %llu KiB (got %llu) %s", cases[i].mem,
              cases[i].kib, def ? def->memoryKiB : 0, def ? "" : lastMessage());
        lxcCRDomainFree(def);
    }
}


static void
testEntities(void)
{
    g_autofree char *status = readData("status-lvtest.xml");
    g_autofree char *xml = NULL;
    char *root = strstr(status, "<domstatus");
    lxcCRDomain *def;

    xml = g_strconcat("<?xml version='1.0'?>\n"
                      "<!DOCTYPE domstatus [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n",
                      root, NULL);
    {
        char *n = strstr(xml, "<name>lvtest</name>");
        g_autofree char *edited = NULL;

        *n = '\0';
        edited = g_strconcat(xml, "<name>lv&x;</name>", n + strlen("<name>lvtest</name>"), NULL);
        def = lxcCRStatusParseString(edited, "entity.xml");
    }
    CHECK(!def || (def->name && !strstr(def->name, "root:")),
          "an external entity is not loaded (name '%s'%s%s)", def ? def->name : "",
          def ? "" : ", refused: ", def ? "" : lastMessage());
    lxcCRDomainFree(def);
}


static void
testFiles(const char *tmp)
{
    g_autofree char *missing = g_build_filename(tmp, "no-such.xml", NULL);
    g_autofree char *empty = g_build_filename(tmp, "empty.xml", NULL);
    lxcCRDomain *def;

    def = lxcCRStatusParseFile(missing);
    CHECK(!def && errorIs(LXC_CR_ERR_SYSTEM, "cannot read status file", missing,
                          "No such file", NULL) && lxcCRGetLastError()->errnum == ENOENT,
          "a missing status file: %s", lastMessage());
    lxcCRDomainFree(def);

    def = lxcCRStatusParseFile(tmp);
    CHECK(!def && errorIs(LXC_CR_ERR_SYSTEM, tmp, NULL), "a directory as status file: %s",
          lastMessage());
    lxcCRDomainFree(def);

    g_file_set_contents(empty, "", 0, NULL);
    def = lxcCRStatusParseFile(empty);
    CHECK(!def && errorIs(LXC_CR_ERR_XML, empty, NULL), "an empty status file: %s", lastMessage());
    lxcCRDomainFree(def);

    g_file_set_contents(empty, "<domstatus\0pid='1'>", 19, NULL);
    def = lxcCRStatusParseFile(empty);
    CHECK(!def && errorIs(LXC_CR_ERR_XML, empty, "NUL", NULL), "a status file with a NUL byte: %s",
          lastMessage());
    lxcCRDomainFree(def);
}


/* Write stateDir/NAME.xml: lvtest's status with its name and PIDs replaced. */
/* The console of the status files writeStatus() makes: a pty of ours. */
static char testTTY[64] = "/dev/pts/0";

static void
writeStatus(const char *stateDir, const char *name, pid_t ctl, pid_t init)
{
    g_autofree char *xml = readData("status-lvtest.xml");
    g_autofree char *path = g_strdup_printf("%s/%s.xml", stateDir, name);
    g_autofree char *ctlStr = g_strdup_printf("pid='%d'>", (int)ctl);
    g_autofree char *initStr = g_strdup_printf("<init pid='%d'/>", (int)init);
    g_autofree char *nameStr = g_strdup_printf("<name>%s</name>", name);
    g_auto(GStrv) a = g_strsplit(xml, "pid='14408'>", 2);
    g_autofree char *s1 = g_strjoinv(ctlStr, a);
    g_auto(GStrv) b = g_strsplit(s1, "<init pid='14418'/>", 2);
    g_autofree char *s2 = g_strjoinv(initStr, b);
    g_auto(GStrv) c = g_strsplit(s2, "<name>lvtest</name>", 2);
    g_autofree char *s3 = g_strjoinv(nameStr, c);
    g_auto(GStrv) d = g_strsplit(s3, "/dev/pts/0", -1);
    g_autofree char *s4 = g_strjoinv(testTTY, d);

    if (!g_file_set_contents(path, s4, -1, NULL)) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
}


static void
testSaveRestore(const char *tmp)
{
    g_autofree char *save = g_build_filename(tmp, "dom.save", NULL);
    g_autofree char *dxml = readData("domain-lvtest-inactive.xml");
    g_autofree char *ctlNeedle = g_strdup_printf("controller (pid %d)", (int)getpid());
    g_autofree char *initNeedle = NULL;
    struct stat sb;
    pid_t child;
    int status;
    int ptm;

    /* A real "init": a child of ours; the "controller" is this test. */
    if ((child = fork()) == 0) {
        pause();
        _exit(0);
    }
    initNeedle = g_strdup_printf("init pid %d", (int)child);
    if ((ptm = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(ptm) < 0 ||
        unlockpt(ptm) < 0 || ptsname_r(ptm, testTTY, sizeof(testTTY)) != 0) {
        printf("Bail out! cannot open a pty: %s\n", strerror(errno));
        exit(1);
    }
    /* No engine: the save goes as far as running it. */
    setenv("LXC_CR_BIN", "/nonexistent/lxc-cr", 1);

    CHECK(lxcCRDomainSave(tmp, "nodom", save, NULL, 0) < 0 &&
          errorIs(LXC_CR_ERR_SYSTEM, "cannot read status file", "nodom.xml", NULL) &&
          stat(save, &sb) < 0,
          "save of a domain without a status file: %s", lastMessage());

    writeStatus(tmp, "lvtest", 999999999, 999999998);
    CHECK(lxcCRDomainSave(tmp, "lvtest", save, NULL, 0) < 0 &&
          errorIs(LXC_CR_ERR_OPERATION_FAILED, "domain 'lvtest'", "controller (pid 999999999) is not running", NULL) &&
          stat(save, &sb) < 0,
          "save when the controller is gone: %s", lastMessage());

    writeStatus(tmp, "lvtest", getpid(), child);
    CHECK(lxcCRDomainSave(tmp, "lvtest", save, NULL, 1u << 5) < 0 &&
          errorIs(LXC_CR_ERR_INVALID_ARG, "domain 'lvtest'", "unsupported flags 0x20", NULL),
          "save with an unknown flag: %s", lastMessage());
    CHECK(lxcCRDomainSave(tmp, "lvtest", save, NULL, LXC_CR_SAVE_RUNNING | LXC_CR_SAVE_PAUSED) < 0 &&
          errorIs(LXC_CR_ERR_INVALID_ARG, "mutually exclusive", NULL),
          "save --running --paused: %s", lastMessage());
    CHECK(lxcCRDomainSave(tmp, "lvtest", save, "<domain type='lxc'><name>other</name><memory>1</memory></domain>", 0) < 0 &&
          errorIs(LXC_CR_ERR_INVALID_ARG, "domain 'lvtest'", "for domain 'other'", NULL),
          "save with an XML of another domain: %s", lastMessage());
    CHECK(lxcCRDomainSave(tmp, "lvtest", save, dxml, LXC_CR_SAVE_RUNNING) < 0 &&
          errorIs(LXC_CR_ERR_SYSTEM, "cannot save domain 'lvtest'",
                  "cannot run the lxc-cr engine '/nonexistent/lxc-cr'", NULL) &&
          stat(save, &sb) < 0,
          "save of a running domain, every check passed, without the engine: no file: %s",
          lastMessage());
    unsetenv("LXC_CR_BIN");
    close(ptm);

    writeStatus(tmp, "lvtest", getpid(), child);
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    CHECK(lxcCRDomainSave(tmp, "lvtest", save, NULL, 0) < 0 &&
          errorIs(LXC_CR_ERR_OPERATION_FAILED, "its init (pid", "is not running", NULL),
          "save when init is gone: %s", lastMessage());

    CHECK(!lxcCRSaveImageGetXMLDesc(save, 0) &&
          errorIs(LXC_CR_ERR_SYSTEM, "cannot open save file", save, "No such file", NULL),
          "save-image-dumpxml of a missing file: %s", lastMessage());
    CHECK(!lxcCRSaveImageGetXMLDesc(tmp, 0) &&
          errorIs(LXC_CR_ERR_OPERATION_INVALID, tmp, "not a regular file", NULL),
          "save-image-dumpxml of a directory: %s", lastMessage());
    g_file_set_contents(save, "not a save file", -1, NULL);
    CHECK(!lxcCRSaveImageGetXMLDesc(save, 0) &&
          errorIs(LXC_CR_ERR_OPERATION_INVALID, save, "is not an lxc-cr save file", NULL),
          "save-image-dumpxml of another file: %s", lastMessage());
    CHECK(lxcCRDomainRestore(tmp, save, NULL, 0, NULL, NULL) < 0 &&
          errorIs(LXC_CR_ERR_OPERATION_INVALID, save, "is not an lxc-cr save file", NULL),
          "restore of another file: %s", lastMessage());
    unlink(save);
    CHECK(lxcCRDomainRestore(tmp, save, NULL, 0, NULL, NULL) < 0 &&
          errorIs(LXC_CR_ERR_SYSTEM, save, "No such file", NULL),
          "restore of a missing file: %s", lastMessage());
    lxcCRResetLastError();
    CHECK(lxcCRGetLastError()->code == LXC_CR_ERR_NONE && !lxcCRGetLastError()->message,
          "lxcCRResetLastError clears the error");
    CHECK(lxcCRGetAPIVersion() == LXC_CR_API_VERSION, "API version %d", lxcCRGetAPIVersion());
}


int
main(void)
{
    char tmp[] = "/tmp/test-lxc-cr-status.XXXXXX";
    g_autofree char *cmd = NULL;

    if (!mkdtemp(tmp)) {
        printf("1..0 # SKIP cannot create a temporary directory: %s\n", strerror(errno));
        return 0;
    }
    /* Messages are checked in English. */
    setenv("LANGUAGE", "C", 1);
    setenv("LC_ALL", "C", 1);

    testStatusOne();
    testStatusTwo();
    testDomainXML();
    testTruncated();
    testBadStatus();
    testMemoryUnits();
    testEntities();
    testFiles(tmp);
    testSaveRestore(tmp);

    cmd = g_strdup_printf("rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmp);
    printf("1..%d\n", nrTests);
    return nrFailed ? 1 : 0;
}
