/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-lxc-cr-save: liblxccr's save and restore around the engine, with a
 * stand-in for the lxc-cr command (data/lxc-cr/fake-lxc-cr.sh) that speaks
 * the protocol liblxccr relies on: the dump waits on --post-dump-fd until the
 * save file is written, the restore gets the console master as fd 3.
 *
 * What is checked: a refusal of the engine is reported with its cause and
 * leaves no file; a save file that cannot be written makes the engine let
 * the tree go (no 'k') and leaves no file; a good save gives a 0600 file
 * holding the domain XML; restore refuses a domain that runs; a refused
 * restore leaves no status or pid file; a good restore writes the status
 * file with the console on a new pty, reason "restored", and the pid file.
 *
 * Why a stand-in here: this is liblxccr alone, without libvirtd or a domain,
 * and it covers what the real engine cannot be made to do: an engine that
 * never reaches its post-dump step (liblxccr kills it 10 s after an abort),
 * the exact arguments liblxccr passes, and liblxccr's own files for a
 * restore whose engine ran nothing. Save and restore of a real domain, and
 * their failure paths through the real engine (LXC_CR_FAULT=after-images,
 * dump-stall, before-release), are in tests/e2e/run.sh.
 */
#include <errno.h>
#include <fcntl.h>
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

static char testTTY[64];


static char *
readFile(const char *path)
{
    char *data = NULL;

    if (!g_file_get_contents(path, &data, NULL, NULL))
        return NULL;
    return data;
}


/* The captured status file, with our controller, init and console. */
static void
writeStatus(const char *path, pid_t ctl, pid_t init)
{
    g_autofree char *src = g_build_filename(TEST_DATA_DIR, "status-lvtest.xml", NULL);
    g_autofree char *xml = readFile(src);
    g_autofree char *ctlStr = g_strdup_printf("pid='%d'>", (int)ctl);
    g_autofree char *initStr = g_strdup_printf("<init pid='%d'/>", (int)init);
    g_auto(GStrv) a = NULL;
    g_auto(GStrv) b = NULL;
    g_auto(GStrv) c = NULL;
    g_autofree char *s1 = NULL;
    g_autofree char *s2 = NULL;
    g_autofree char *s3 = NULL;

    if (!xml) {
        printf("Bail out! cannot read %s\n", src);
        exit(1);
    }
    a = g_strsplit(xml, "pid='14408'>", 2);
    s1 = g_strjoinv(ctlStr, a);
    b = g_strsplit(s1, "<init pid='14418'/>", 2);
    s2 = g_strjoinv(initStr, b);
    c = g_strsplit(s2, "/dev/pts/0", -1);
    s3 = g_strjoinv(testTTY, c);
    if (!g_file_set_contents(path, s3, -1, NULL)) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
}


static gpointer
cancelLater(gpointer job)
{
    g_usleep(300 * 1000);
    lxcCRJobCancel(job);
    return NULL;
}


static int
countEntries(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    int n = 0;

    if (!d)
        return -1;
    while (g_dir_read_name(d))
        n++;
    return n;
}


int
main(void)
{
    char tmp[] = "/tmp/test-lxc-cr-save.XXXXXX";
    g_autofree char *fake = g_build_filename(TEST_DATA_DIR, "fake-lxc-cr.sh", NULL);
    g_autofree char *state = NULL;
    g_autofree char *out = NULL;
    g_autofree char *save = NULL;
    g_autofree char *statusPath = NULL;
    g_autofree char *pidPath = NULL;
    g_autofree char *argvPath = NULL;
    g_autofree char *argv = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    g_autofree char *newStatus = NULL;
    g_autofree char *pidData = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *cmd = NULL;
    g_autofree char *needle = NULL;
    g_autofree char *ttyNeedle = NULL;
    struct stat sb;
    bool paused = true;
    pid_t pid = 0;
    pid_t ctl;
    pid_t child;
    int ptm;
    int status;

    if (!mkdtemp(tmp)) {
        printf("1..0 # SKIP cannot create a temporary directory: %s\n", strerror(errno));
        return 0;
    }
    setenv("LANGUAGE", "C", 1);
    setenv("LC_ALL", "C", 1);
    state = g_build_filename(tmp, "state", NULL);
    out = g_build_filename(tmp, "out", NULL);
    save = g_build_filename(out, "lvtest.save", NULL);
    statusPath = g_build_filename(state, "lvtest.xml", NULL);
    pidPath = g_build_filename(state, "lvtest.pid", NULL);
    argvPath = g_build_filename(tmp, "argv", NULL);
    mkdir(state, 0700);
    mkdir(out, 0700);
    setenv("LXC_CR_BIN", fake, 1);
    setenv("FAKE_LXC_CR_ARGV", argvPath, 1);

    /* The "controller" and its "init" are children of ours; the console a pty of ours. */
    if ((ctl = fork()) == 0) {
        pause();
        _exit(0);
    }
    if ((child = fork()) == 0) {
        pause();
        _exit(0);
    }
    if ((ptm = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(ptm) < 0 ||
        unlockpt(ptm) < 0 || ptsname_r(ptm, testTTY, sizeof(testTTY)) != 0) {
        printf("Bail out! cannot open a pty: %s\n", strerror(errno));
        kill(child, SIGKILL);
        return 1;
    }
    writeStatus(statusPath, ctl, child);

    /* --- save */
    {
        g_autofree char *plain = readFile(statusPath);
        g_auto(GStrv) parts = g_strsplit(plain, "</devices>", 2);
        g_autofree char *withdev = g_strjoinv("<hostdev mode='capabilities' type='misc'><source><char>/dev/null</char></source></hostdev></devices>", parts);

        g_file_set_contents(statusPath, withdev, -1, NULL);
        CHECK(lxcCRDomainSave(state, "lvtest", save, NULL, 0) < 0 &&
              errorIs(LXC_CR_ERR_OPERATION_UNSUPPORTED, "cannot save domain 'lvtest'",
                      "1 host device(s) passed through", NULL) &&
              stat(save, &sb) < 0 && countEntries(out) == 0 && !g_file_test(argvPath, G_FILE_TEST_EXISTS),
              "a domain with a host device: refused before the engine runs: %s", lastMessage());
        g_file_set_contents(statusPath, plain, -1, NULL);
    }
    setenv("FAKE_LXC_CR_MODE", "refuse", 1);
    needle = g_strdup_printf("lxc-cr cannot checkpoint its controller (pid %d) and container (init pid %d)",
                             (int)ctl, (int)child);
    CHECK(lxcCRDomainSave(state, "lvtest", save, NULL, 0) < 0 &&
          errorIs(LXC_CR_ERR_OPERATION_FAILED, "cannot save domain 'lvtest'", needle,
                  "lxc-cr: dump of 1 failed: fake refusal", "goes on running", NULL) &&
          stat(save, &sb) < 0 && countEntries(out) == 0,
          "the engine refuses: its cause reported, no file, no work dir: %s", lastMessage());
    argv = readFile(argvPath);
    ttyNeedle = g_strdup_printf("dump -t %d -D ", (int)ctl);
    CHECK(argv && strstr(argv, ttyNeedle) && strstr(argv, "--shell-job") &&
          strstr(argv, "--tcp-established") && strstr(argv, "--external tty[") &&
          strstr(argv, "--post-dump-fd 3") && !strstr(argv, "--leave-running"),
          "dump arguments: %s", argv ? argv : "(none)");

    unsetenv("FAKE_LXC_CR_MODE");
    {
        g_autofree char *nodir = g_build_filename(tmp, "nodir", "lvtest.save", NULL);

        CHECK(lxcCRDomainSave(state, "lvtest", nodir, NULL, 0) < 0 &&
              errorIs(LXC_CR_ERR_SYSTEM, "cannot create save file", nodir, NULL) &&
              stat(nodir, &sb) < 0,
              "a save file that cannot be written: the engine gets no 'k', no file: %s",
              lastMessage());
    }

    {
        g_autofree char *live = readFile(statusPath);
        const char *start = live ? strstr(live, "<domain") : NULL;
        const char *end = start ? strstr(start, "</domain>") : NULL;
        g_autofree char *dom = NULL;
        g_autofree char *bigger = NULL;

        if (end) {
            g_auto(GStrv) parts = NULL;

            dom = g_strndup(start, end + strlen("</domain>") - start);
            parts = g_strsplit(dom, "<memory unit='KiB'>131072</memory>", 2);
            bigger = g_strjoinv("<memory unit='KiB'>262144</memory>", parts);
        }
        CHECK(bigger && lxcCRDomainSave(state, "lvtest", save, bigger, 0) < 0 &&
              errorIs(LXC_CR_ERR_INVALID_ARG, "changes its memory", NULL) &&
              stat(save, &sb) < 0 && countEntries(out) == 0,
              "save --xml changing the memory: refused before the domain is touched: %s",
              lastMessage());
    }

    /* the two steps of a save as a job: progress, finish without commit, cancel */
    {
        lxcCRJob *job = lxcCRJobNew();
        unsigned long long ms = 0, total = 0, done = 0;

        CHECK(lxcCRDomainSaveBegin(state, "lvtest", save, NULL, 0, job) == 0 &&
              stat(save, &sb) == 0,
              "save begin: the save file is complete, the engine waits: %s", lastMessage());
        lxcCRJobGetProgress(job, &ms, &total, &done);
        CHECK(done > 0 && total >= done, "job progress: %llu of %llu bytes after %llu ms",
              done, total, ms);
        CHECK(lxcCRDomainSaveFinish(job, false) < 0 && stat(save, &sb) < 0 && countEntries(out) == 0,
              "save finish without commit: no file, no work dir, the tree let go");
        lxcCRJobFree(job);

        job = lxcCRJobNew();
        CHECK(lxcCRDomainSaveBegin(state, "lvtest", save, NULL, 0, job) == 0, "save begin again");
        lxcCRJobCancel(job);
        CHECK(lxcCRDomainSaveFinish(job, true) < 0 &&
              errorIs(LXC_CR_ERR_OPERATION_ABORTED, "cancelled", "goes on running", NULL) &&
              stat(save, &sb) < 0 && countEntries(out) == 0,
              "a save cancelled before its finish: aborted, no file: %s", lastMessage());
        lxcCRJobFree(job);

        job = lxcCRJobNew();
        lxcCRJobCancel(job);
        CHECK(lxcCRDomainSaveBegin(state, "lvtest", save, NULL, 0, job) < 0 &&
              errorIs(LXC_CR_ERR_OPERATION_ABORTED, "cannot save domain 'lvtest': cancelled", NULL) &&
              stat(save, &sb) < 0 && countEntries(out) == 0,
              "a save cancelled while dumping: the save file is not written: %s", lastMessage());
        lxcCRJobFree(job);

        /* an engine that hangs: a cancel gets it killed after 10 s */
        {
            GThread *canceller;
            gint64 t0 = g_get_monotonic_time();

            job = lxcCRJobNew();
            setenv("FAKE_LXC_CR_MODE", "hang", 1);
            canceller = g_thread_new("cancel", cancelLater, job);
            CHECK(lxcCRDomainSaveBegin(state, "lvtest", save, NULL, 0, job) < 0 &&
                  errorIs(LXC_CR_ERR_OPERATION_ABORTED, "cancelled", "was killed", NULL) &&
                  stat(save, &sb) < 0 && countEntries(out) == 0,
                  "a save cancelled while the engine hangs: the engine killed after %lld s, no file: %s",
                  (long long)((g_get_monotonic_time() - t0) / G_USEC_PER_SEC), lastMessage());
            g_thread_join(canceller);
            unsetenv("FAKE_LXC_CR_MODE");
            lxcCRJobFree(job);
        }

        job = lxcCRJobNew();
        CHECK(lxcCRDomainSaveBegin(state, "lvtest", save, NULL, 0, job) == 0, "save begin, then the job freed");
        lxcCRJobFree(job);
        CHECK(stat(save, &sb) < 0 && countEntries(out) == 0, "a job freed between begin and finish: no file");
    }

    CHECK(lxcCRDomainSave(state, "lvtest", save, NULL, LXC_CR_SAVE_PAUSED) == 0,
          "save: the engine dumped, liblxccr wrote the save file: %s", lastMessage());
    CHECK(stat(save, &sb) == 0 && (sb.st_mode & 07777) == 0600 && countEntries(out) == 1,
          "the save file is 0600 and alone in its directory");
    xml = lxcCRSaveImageGetXMLDesc(save, 0);
    CHECK(xml && strstr(xml, "<name>lvtest</name>") && strstr(xml, "<domain"),
          "its domain XML is the live one: %s", xml ? "" : lastMessage());

    /* --- restore */
    CHECK(lxcCRDomainRestore(state, save, NULL, 0, &pid, &paused) < 0 &&
          errorIs(LXC_CR_ERR_OPERATION_INVALID, "cannot restore domain 'lvtest'",
                  "it is running (controller pid", NULL),
          "restore while the domain runs is refused: %s", lastMessage());
    unlink(statusPath);
    /* saved: the engine would have killed the tree */
    kill(ctl, SIGKILL);
    kill(child, SIGKILL);
    waitpid(ctl, &status, 0);
    waitpid(child, &status, 0);

    before = readFile(save);
    setenv("FAKE_LXC_CR_MODE", "refuse", 1);
    CHECK(lxcCRDomainRestore(state, save, NULL, 0, &pid, &paused) < 0 &&
          errorIs(LXC_CR_ERR_OPERATION_FAILED, "cannot restore domain 'lvtest'", save,
                  "fake refusal", NULL) &&
          countEntries(state) == 0 && countEntries(out) == 1 && pid == 0,
          "the engine refuses the restore: nothing left (%d in the state dir): %s",
          countEntries(state), lastMessage());
    unsetenv("FAKE_LXC_CR_MODE");

    CHECK(lxcCRDomainRestore(state, save, "<domain type='lxc'><name>lvtest</name><memory>1</memory></domain>",
                             0, &pid, &paused) < 0 &&
          errorIs(LXC_CR_ERR_INVALID_ARG, "the XML given for domain 'lvtest'", save,
                  "changes its memory from '131072 KiB' to '1 KiB'", NULL) &&
          countEntries(state) == 0,
          "restore --xml changing the memory: refused naming the field, nothing made: %s",
          lastMessage());

    /* save-image-define: the bridge and the description may change, not the init */
    {
        g_auto(GStrv) parts = g_strsplit(xml, "lxccrlvbr0", -1);
        g_autofree char *rebridged = g_strjoinv("lxccrnewbr", parts);
        g_auto(GStrv) parts2 = g_strsplit(rebridged, "<name>lvtest</name>", 2);
        g_autofree char *edited = g_strjoinv("<name>lvtest</name><description>moved</description>", parts2);
        g_auto(GStrv) parts3 = g_strsplit(edited, "<init>", 2);
        g_autofree char *badInit = g_strjoinv("<init>/bin/other", parts3);
        g_autofree char *got = NULL;
        g_autofree char *mid = readFile(save);

        CHECK(lxcCRSaveImageDefineXML(save, badInit, 0) < 0 &&
              errorIs(LXC_CR_ERR_INVALID_ARG, "changes its init", NULL) &&
              (after = readFile(save)) && strcmp(after, mid) == 0,
              "save-image-define changing init: refused naming it, file untouched: %s", lastMessage());
        g_clear_pointer(&after, g_free);
        CHECK(lxcCRSaveImageDefineXML(save, edited, LXC_CR_SAVE_RUNNING) == 0 &&
              (got = lxcCRSaveImageGetXMLDesc(save, 0)) && strstr(got, "lxccrnewbr") &&
              strstr(got, "<description>moved</description>") &&
              stat(save, &sb) == 0 && (sb.st_mode & 07777) == 0600 && countEntries(out) == 1,
              "save-image-define with a new bridge and description: written again, 0600: %s",
              lastMessage());
        g_free(before);
        before = readFile(save);
    }

    CHECK(lxcCRDomainRestore(state, save, NULL, 0, &pid, &paused) == 0 && pid == ctl,
          "restore: the engine rebuilt the tree, controller pid %d: %s", (int)pid,
          lxcCRGetLastError()->message ? lxcCRGetLastError()->message : "");
    CHECK(!paused, "save-image-define --running: the driver is told to let it run");
    argv = (g_free(argv), readFile(argvPath));
    CHECK(argv && strstr(argv, "restore -D ") && strstr(argv, "--restore-detached") &&
          strstr(argv, "--inherit-fd fd[3]:tty[") &&
          strstr(argv, "--external veth[eth0]:vnet0@lxccrnewbr"),
          "restore arguments: %s", argv ? argv : "(none)");
    newStatus = readFile(statusPath);
    CHECK(newStatus && strstr(newStatus, "reason=\"restored\"") &&
          !strstr(newStatus, testTTY) && strstr(newStatus, "tty=\"/dev/pts/") &&
          strstr(newStatus, "<description>moved</description>") &&
          strstr(newStatus, "bridge=\"lxccrnewbr\""),
          "the status file has the console on a new pty, reason restored, the edited bridge and description");
    pidData = readFile(pidPath);
    CHECK(pidData && atoi(pidData) == ctl, "the pid file holds the controller's pid");
    after = readFile(save);
    CHECK(before && after && strcmp(before, after) == 0 && countEntries(out) == 1,
          "the save file is untouched, no work dir is left");
    CHECK(lxcCRDomainRestore(state, save, NULL, LXC_CR_SAVE_RUNNING, &pid, &paused) < 0 &&
          errorIs(LXC_CR_ERR_OPERATION_INVALID, "its status file", "exists", NULL),
          "a second restore is refused: %s", lastMessage());

    close(ptm);
    cmd = g_strdup_printf("rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmp);
    printf("1..%d\n", nrTests);
    return nrFailed ? 1 : 0;
}
