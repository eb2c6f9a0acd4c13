/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * liblxccr's save file (src/lxc_cr/lxc_cr_saveimage.c), for real: a save
 * file is written from a real domain XML (captured from the patched
 * libvirtd) and an image directory (files of several sizes, one larger than
 * the copy chunk, one empty, modes kept), read back and extracted, then
 * damaged every way: each truncation, each byte flipped, foreign magic and
 * version, a directory. Every refusal must name the file and the cause, and
 * leave nothing behind: no partial save file, no temporary, no half-extracted
 * image set. Then lxcCRSaveImageGetXMLDesc and lxcCRDomainRestore on them.
 * TAP.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "lxc_cr_saveimage.h"
#include "lxc-cr-testutils.h"

/* Entries of dir other than . and .., or -1. */
static int
countEntries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void
writeFile(const char *dir, const char *name, const char *data, size_t len, mode_t mode)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    if (!g_file_set_contents(path, data, len, NULL) || chmod(path, mode) < 0) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
}

static char *
readAll(const char *path, gsize *len)
{
    char *data = NULL;

    if (!g_file_get_contents(path, &data, len, NULL))
        return NULL;
    return data;
}

/* Are the files of a and b the same (names, bytes, permission bits)? */
static int
sameDirs(const char *a, const char *b, char *why, size_t whyLen)
{
    static const char *names[] = { "core-1.img", "empty.img", "pages-1.img", "pstree.img" };
    size_t i;

    if (countEntries(b) != (int)G_N_ELEMENTS(names)) {
        snprintf(why, whyLen, "%d files extracted", countEntries(b));
        return 0;
    }
    for (i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *pa = g_build_filename(a, names[i], NULL);
        g_autofree char *pb = g_build_filename(b, names[i], NULL);
        g_autofree char *da = NULL;
        g_autofree char *db = NULL;
        gsize la = 0;
        gsize lb = 0;
        struct stat sa;
        struct stat sb;

        da = readAll(pa, &la);
        db = readAll(pb, &lb);
        if (!da || !db || la != lb || memcmp(da, db, la) ||
            stat(pa, &sa) < 0 || stat(pb, &sb) < 0 || (sa.st_mode & 0777) != (sb.st_mode & 0777)) {
            snprintf(why, whyLen, "%s differs", names[i]);
            return 0;
        }
    }
    return 1;
}


int
main(void)
{
    char tmp[] = "/tmp/test-lxc-cr-saveimage.XXXXXX";
    g_autofree char *xmlPath = g_build_filename(TEST_DATA_DIR, "domain-lvtest-inactive.xml", NULL);
    g_autofree char *xml = NULL;
    g_autofree char *imgs = NULL;
    g_autofree char *out = NULL;
    g_autofree char *save = NULL;
    g_autofree char *saves = NULL;
    g_autofree char *bad = NULL;
    g_autofree char *big = NULL;
    g_autofree char *good = NULL;
    g_autofree char *cmd = NULL;
    gsize goodLen = 0;
    size_t bigLen = 3 * 1024 * 1024 + 123;
    lxcCRSaveImage *img;
    struct stat sb;
    char why[256] = "";
    size_t i;
    size_t fails;

    if (!mkdtemp(tmp)) {
        printf("1..0 # SKIP cannot create a temporary directory: %s\n", strerror(errno));
        return 0;
    }
    setenv("LANGUAGE", "C", 1);
    setenv("LC_ALL", "C", 1);
    if (!g_file_get_contents(xmlPath, &xml, NULL, NULL)) {
        printf("Bail out! cannot read %s\n", xmlPath);
        return 1;
    }
    imgs = g_build_filename(tmp, "imgs", NULL);
    out = g_build_filename(tmp, "out", NULL);
    saves = g_build_filename(tmp, "saves", NULL);
    save = g_build_filename(tmp, "saves", "dom.save", NULL);
    bad = g_build_filename(tmp, "saves", "bad.save", NULL);
    mkdir(imgs, 0700);
    mkdir(out, 0700);
    mkdir(saves, 0700);
    big = g_malloc(bigLen);
    for (i = 0; i < bigLen; i++)
        big[i] = (char)(i * 131 + i / 4096);
    writeFile(imgs, "pages-1.img", big, bigLen, 0600);
    writeFile(imgs, "core-1.img", "core", 4, 0640);
    writeFile(imgs, "pstree.img", "pstree", 6, 0644);
    writeFile(imgs, "empty.img", "", 0, 0600);

    /* --- write, read back, extract */
    CHECK(lxcCRSaveImageWrite(save, xml, imgs, true, LXC_CR_SAVE_RUNNING) == 0,
          "a save file is written: %s", lastMessage());
    CHECK(stat(save, &sb) == 0 && (sb.st_mode & 0777) == 0600 && countEntries(saves) == 1,
          "it is 0600, no temporary file is left beside it (mode %o)", sb.st_mode & 0777);
    img = lxcCRSaveImageOpen(save);
    CHECK(img && img->version == LXC_CR_SAVE_VERSION && img->wasRunning &&
          img->flags == LXC_CR_SAVE_RUNNING && img->xml && strcmp(img->xml, xml) == 0,
          "read back: version, was-running, flags, the domain XML byte for byte: %s",
          img ? "" : lastMessage());
    CHECK(img && lxcCRSaveImageExtract(img, out) == 0 && sameDirs(imgs, out, why, sizeof(why)),
          "the image set comes back file for file, bytes and modes (3 MiB one included) %s %s",
          why, img ? "" : lastMessage());
    CHECK(img && lxcCRSaveImageExtract(img, out) < 0 &&
          errorIs(LXC_CR_ERR_SYSTEM, "cannot create image", save, "File exists", NULL) &&
          sameDirs(imgs, out, why, sizeof(why)),
          "extracting over existing files is refused and touches none: %s", lastMessage());
    lxcCRSaveImageFree(img);

    /* an extract that fails half-way leaves nothing: pstree.img is in the way */
    {
        g_autofree char *out2 = g_build_filename(tmp, "out2", NULL);

        mkdir(out2, 0700);
        writeFile(out2, "pstree.img", "x", 1, 0600);
        img = lxcCRSaveImageOpen(save);
        CHECK(img && lxcCRSaveImageExtract(img, out2) < 0 && countEntries(out2) == 1,
              "an extract failing at the third file removes the two it made: %s (%d left)",
              lastMessage(), countEntries(out2));
        lxcCRSaveImageFree(img);
    }

    /* --- no image set, paused */
    CHECK(lxcCRSaveImageWrite(bad, xml, NULL, false, LXC_CR_SAVE_PAUSED) == 0 &&
          (img = lxcCRSaveImageOpen(bad)) && !img->wasRunning && img->flags == LXC_CR_SAVE_PAUSED,
          "a save file without images, saved paused: %s", lastMessage());
    lxcCRSaveImageFree(img);
    unlink(bad);

    /* --- writes that fail leave nothing */
    {
        g_autofree char *nodir = g_build_filename(tmp, "nosuchdir", "dom.save", NULL);
        g_autofree char *sub = g_build_filename(imgs, "subdir", NULL);

        CHECK(lxcCRSaveImageWrite(nodir, xml, imgs, true, 0) < 0 &&
              errorIs(LXC_CR_ERR_SYSTEM, "cannot create save file", nodir, "No such file", NULL),
              "a save into a missing directory: %s", lastMessage());
        mkdir(sub, 0700);
        CHECK(lxcCRSaveImageWrite(bad, xml, imgs, true, 0) < 0 &&
              errorIs(LXC_CR_ERR_OPERATION_FAILED, "subdir", "not a regular file", bad, NULL) &&
              stat(bad, &sb) < 0 && countEntries(saves) == 1,
              "an image dir holding a directory: refused, no file, no temporary: %s", lastMessage());
        rmdir(sub);
        CHECK(lxcCRSaveImageWrite(bad, xml, "/nonexistent-imgs", true, 0) < 0 &&
              errorIs(LXC_CR_ERR_SYSTEM, "/nonexistent-imgs", NULL) &&
              countEntries(saves) == 1,
              "a missing image dir: refused, nothing left: %s", lastMessage());
    }

    /* --- damaged files: refused before anything is handed out */
    good = readAll(save, &goodLen);
    fails = 0;
    why[0] = '\0';
    for (i = 0; i < goodLen; i += (i < 4096 ? 1 : 4093)) {
        g_file_set_contents(bad, good, i, NULL);
        img = lxcCRSaveImageOpen(bad);
        if (img || !lxcCRGetLastError()->message || !strstr(lxcCRGetLastError()->message, bad)) {
            if (!fails++)
                snprintf(why, sizeof(why), "at %zu: %s", i, img ? "accepted" : lastMessage());
        }
        lxcCRSaveImageFree(img);
    }
    CHECK(fails == 0, "every truncation (each byte of the first 4 KiB, then every ~4 KiB) is refused naming the file %s", why);

    fails = 0;
    why[0] = '\0';
    for (i = 0; i < goodLen; i += (i < 4096 ? 1 : 65521)) {
        good[i] ^= 0x20;
        g_file_set_contents(bad, good, goodLen, NULL);
        good[i] ^= 0x20;
        img = lxcCRSaveImageOpen(bad);
        if (img || !lxcCRGetLastError()->message || !strstr(lxcCRGetLastError()->message, bad)) {
            if (!fails++)
                snprintf(why, sizeof(why), "at %zu: %s", i, img ? "accepted" : lastMessage());
        }
        lxcCRSaveImageFree(img);
    }
    CHECK(fails == 0, "a flipped byte anywhere (each of the first 4 KiB, then every 64 KiB) is refused %s", why);

    good[100] ^= 1;
    g_file_set_contents(bad, good, goodLen, NULL);
    good[100] ^= 1;
    CHECK(!lxcCRSaveImageOpen(bad) &&
          errorIs(LXC_CR_ERR_OPERATION_INVALID, bad, "checksum does not match", NULL),
          "a flipped byte in the XML: %s", lastMessage());

    memcpy(good, "NOT-A-SAVE-FILE!", 16);
    g_file_set_contents(bad, good, goodLen, NULL);
    CHECK(!lxcCRSaveImageOpen(bad) && errorIs(LXC_CR_ERR_OPERATION_INVALID, bad, "bad magic", NULL),
          "a foreign magic: %s", lastMessage());
    g_free(good);
    good = readAll(save, &goodLen);
    good[16] = 2;
    g_file_set_contents(bad, good, goodLen, NULL);
    CHECK(!lxcCRSaveImageOpen(bad) &&
          errorIs(LXC_CR_ERR_OPERATION_UNSUPPORTED, bad, "version 2", "reads version 1", NULL),
          "a newer version: %s", lastMessage());
    good[16] = 1;
    g_file_set_contents(bad, good, goodLen, NULL);
    {
        int fd = open(bad, O_WRONLY | O_APPEND);

        if (fd >= 0) {
            if (write(fd, "x", 1) != 1)
                printf("# append failed\n");
            close(fd);
        }
    }
    CHECK(!lxcCRSaveImageOpen(bad) &&
          errorIs(LXC_CR_ERR_OPERATION_INVALID, bad, "its header says", NULL),
          "a byte appended: %s", lastMessage());
    CHECK(!lxcCRSaveImageOpen(tmp) && errorIs(LXC_CR_ERR_OPERATION_INVALID, tmp, "not a regular file", NULL),
          "a directory: %s", lastMessage());
    g_file_set_contents(bad, "", 0, NULL);
    CHECK(!lxcCRSaveImageOpen(bad) && errorIs(LXC_CR_ERR_OPERATION_INVALID, bad, "not an lxc-cr save file", NULL),
          "an empty file: %s", lastMessage());

    /* --- the public calls on real save files */
    {
        g_autofree char *got = lxcCRSaveImageGetXMLDesc(save, 0);
        g_autofree char *before = readAll(save, NULL);
        g_autofree char *after = NULL;

        CHECK(got && strcmp(got, xml) == 0, "lxcCRSaveImageGetXMLDesc gives the saved XML: %s",
              got ? "" : lastMessage());
        CHECK(lxcCRDomainRestore(tmp, save, NULL, 0, NULL, NULL) < 0 &&
              errorIs(LXC_CR_ERR_OPERATION_INVALID, save,
                      "holds no checkpoint of a domain", NULL),
              "restore of a good file without liblxccr's records: refused before anything is made: %s",
              lastMessage());
        CHECK(lxcCRDomainRestore(tmp, save, "<domain type='lxc'><name>other</name><memory>1</memory></domain>", 0, NULL, NULL) < 0 &&
              errorIs(LXC_CR_ERR_INVALID_ARG, "domain 'lvtest'", "for domain 'other'", NULL),
              "restore --xml of another domain: %s", lastMessage());
        CHECK(lxcCRDomainRestore(tmp, save, "<domain/>", 0, NULL, NULL) < 0 &&
              errorIs(LXC_CR_ERR_XML, "expected 'lxc'", NULL),
              "restore --xml with a bad XML: %s", lastMessage());
        g_file_set_contents(bad, before, 200, NULL);
        CHECK(lxcCRDomainRestore(tmp, bad, NULL, 0, NULL, NULL) < 0 &&
              errorIs(LXC_CR_ERR_OPERATION_INVALID, bad, NULL),
              "restore of a truncated file: %s", lastMessage());
        after = readAll(save, NULL);
        CHECK(after && before && strcmp(after, before) == 0 && countEntries(tmp) == 4,
              "the save file is untouched, nothing was created beside it");
    }

    cmd = g_strdup_printf("rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmp);
    printf("1..%d\n", nrTests);
    return nrFailed ? 1 : 0;
}
