/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc_cr_saveimage.c: write and read a domain's save file
 *
 * The format is in lxc_cr_saveimage.h. Writing never leaves a partial file at
 * the save path: everything goes to a temporary name beside it, which is
 * fsync'd and renamed, or unlinked on any error. Reading checks the size,
 * magic, version and the SHA-256 of every byte before anything is handed
 * out, so a truncated, corrupted or foreign file is refused before a restore
 * creates anything; each message names the file and the cause.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lxc_cr_saveimage.h"

#define LXC_CR_SAVE_CHUNK (1024 * 1024)

#define LXC_CR_SAVE_SHA256_LEN 32

/* Header field offsets. */
#define LXC_CR_SAVE_OFF_VERSION 16
#define LXC_CR_SAVE_OFF_HEADER_SIZE 20
#define LXC_CR_SAVE_OFF_WAS_RUNNING 24
#define LXC_CR_SAVE_OFF_FLAGS 28
#define LXC_CR_SAVE_OFF_XML_LEN 32
#define LXC_CR_SAVE_OFF_PAYLOAD_LEN 40
#define LXC_CR_SAVE_OFF_SHA256 48

G_STATIC_ASSERT(LXC_CR_SAVE_OFF_SHA256 + LXC_CR_SAVE_SHA256_LEN == LXC_CR_SAVE_HEADER_SIZE);

/*
 * SHA-256 of a save file: OpenSSL's (libcrypto, SHA-NI where the CPU has it,
 * ~4x GLib's here) when configure found it, else GLib's. Same digest.
 */
#ifdef HAVE_LIBCRYPTO
# include <openssl/evp.h>
typedef EVP_MD_CTX lxcCRSum;

static lxcCRSum *
lxcCRSumNew(void)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        g_error("cannot start a SHA-256 digest (libcrypto)");
    return ctx;
}

static void
lxcCRSumUpdate(lxcCRSum *sum, const void *buf, size_t len)
{
    if (EVP_DigestUpdate(sum, buf, len) != 1)
        g_error("cannot update a SHA-256 digest (libcrypto)");
}

static void
lxcCRSumDigest(lxcCRSum *sum, unsigned char *out)
{
    unsigned int len = LXC_CR_SAVE_SHA256_LEN;

    if (EVP_DigestFinal_ex(sum, out, &len) != 1 || len != LXC_CR_SAVE_SHA256_LEN)
        g_error("cannot end a SHA-256 digest (libcrypto)");
}

static void
lxcCRSumFree(lxcCRSum *sum)
{
    EVP_MD_CTX_free(sum);
}
#else
typedef GChecksum lxcCRSum;

static lxcCRSum *
lxcCRSumNew(void)
{
    return g_checksum_new(G_CHECKSUM_SHA256);
}

static void
lxcCRSumUpdate(lxcCRSum *sum, const void *buf, size_t len)
{
    g_checksum_update(sum, buf, len);
}

static void
lxcCRSumDigest(lxcCRSum *sum, unsigned char *out)
{
    gsize len = LXC_CR_SAVE_SHA256_LEN;

    g_checksum_get_digest(sum, out, &len);
}

static void
lxcCRSumFree(lxcCRSum *sum)
{
    if (sum)
        g_checksum_free(sum);
}
#endif
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lxcCRSum, lxcCRSumFree)
G_STATIC_ASSERT(sizeof(LXC_CR_SAVE_MAGIC) - 1 == LXC_CR_SAVE_MAGIC_LEN);


static void
lxcCRPutU32(unsigned char *p, uint32_t v)
{
    for (size_t i = 0; i < 4; i++)
        p[i] = v >> (8 * i);
}

static void
lxcCRPutU64(unsigned char *p, uint64_t v)
{
    for (size_t i = 0; i < 8; i++)
        p[i] = v >> (8 * i);
}

static uint32_t
lxcCRGetU32(const unsigned char *p)
{
    uint32_t v = 0;

    for (size_t i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t
lxcCRGetU64(const unsigned char *p)
{
    uint64_t v = 0;

    for (size_t i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}


static int lxcCRSaveImageRead(lxcCRSaveImage *img, void *buf, size_t len, uint64_t off);

/* Writing: a temporary file, its running checksum and length. */
typedef struct {
    const char *path;           /* the save path, for messages */
    int fd;
    lxcCRSum *sum;
    uint64_t payloadLen;
    lxcCRSaveProgress *prog;    /* NULL: nobody watches */
} lxcCRSaveWriter;

static int
lxcCRSaveWriterPut(lxcCRSaveWriter *w,
                   const void *buf,
                   size_t len)
{
    const char *p = buf;
    size_t done = 0;
    ssize_t n;

    if (w->prog && g_atomic_int_get(&w->prog->cancel)) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_ABORTED,
                         _("the writing of save file '%s' was cancelled"), w->path);
        return -1;
    }
    while (done < len) {
        if ((n = write(w->fd, p + done, len - done)) < 0) {
            if (errno == EINTR)
                continue;
            lxcCRReportSystemError(errno, _("cannot write save file '%s'"), w->path);
            return -1;
        }
        done += n;
    }
    lxcCRSumUpdate(w->sum, buf, len);
    w->payloadLen += len;
    if (w->prog)
        g_atomic_pointer_add(&w->prog->done, len);
    return 0;
}


/* Append one image record: the regular file name of dirfd. */
static int
lxcCRSaveWriterPutFile(lxcCRSaveWriter *w,
                       int dirfd,
                       const char *dir,
                       const char *name)
{
    g_autofree char *buf = NULL;
    unsigned char rec[16];
    struct stat sb;
    uint64_t left;
    size_t nameLen = strlen(name);
    ssize_t n;
    int fd;
    int ret = -1;

    if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
        lxcCRReportSystemError(errno, _("cannot save image '%s/%s' in '%s'"), dir, name, w->path);
        return -1;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot save image '%s/%s' in '%s': not a regular file"),
                         dir, name, w->path);
        goto out;
    }
    if (nameLen > LXC_CR_SAVE_MAX_NAME) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                         _("cannot save image '%s/%s' in '%s': name too long"),
                         dir, name, w->path);
        goto out;
    }
    lxcCRPutU32(rec, nameLen);
    if (lxcCRSaveWriterPut(w, rec, 4) < 0 || lxcCRSaveWriterPut(w, name, nameLen) < 0)
        goto out;
    lxcCRPutU32(rec, sb.st_mode & 07777);
    lxcCRPutU64(rec + 4, sb.st_size);
    if (lxcCRSaveWriterPut(w, rec, 12) < 0)
        goto out;

    buf = g_malloc(LXC_CR_SAVE_CHUNK);
    for (left = sb.st_size; left > 0; left -= n) {
        n = read(fd, buf, MIN(left, LXC_CR_SAVE_CHUNK));
        if (n < 0 && errno == EINTR) {
            n = 0;
            continue;
        }
        if (n <= 0) {
            if (n == 0)
                lxcCRReportError(LXC_CR_ERR_OPERATION_FAILED,
                                 _("cannot save image '%s/%s' in '%s': it shrank while being read"),
                                 dir, name, w->path);
            else
                lxcCRReportSystemError(errno, _("cannot read image '%s/%s'"), dir, name);
            goto out;
        }
        if (lxcCRSaveWriterPut(w, buf, n) < 0)
            goto out;
    }
    ret = 0;
 out:
    close(fd);
    return ret;
}


/* g_ptr_array_sort() hands pointers to the elements. */
static gint
lxcCRCompareNames(gconstpointer a,
                  gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


static int
lxcCRSaveWriterPutImages(lxcCRSaveWriter *w,
                         const char *imgDir)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    struct dirent *ent;
    DIR *dir;
    int ret = -1;
    guint i;

    if (!(dir = opendir(imgDir))) {
        lxcCRReportSystemError(errno, _("cannot open image directory '%s'"), imgDir);
        return -1;
    }
    while ((errno = 0, ent = readdir(dir))) {
        if (STREQ(ent->d_name, ".") || STREQ(ent->d_name, ".."))
            continue;
        g_ptr_array_add(names, g_strdup(ent->d_name));
    }
    if (errno) {
        lxcCRReportSystemError(errno, _("cannot read image directory '%s'"), imgDir);
        goto out;
    }
    g_ptr_array_sort(names, lxcCRCompareNames);
    for (i = 0; i < names->len; i++) {
        if (lxcCRSaveWriterPutFile(w, dirfd(dir), imgDir, g_ptr_array_index(names, i)) < 0)
            goto out;
    }
    ret = 0;
 out:
    closedir(dir);
    return ret;
}


/* fsync the directory holding path, so that its rename is durable. */
static int
lxcCRSyncParentDir(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    int fd;

    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) < 0) {
        lxcCRReportSystemError(errno, _("cannot sync directory '%s' of save file '%s'"), dir, path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}


/* Append the image records of src (from its first record to its end) as they are. */
static int
lxcCRSaveWriterPutRecords(lxcCRSaveWriter *w,
                          lxcCRSaveImage *src)
{
    uint64_t end = LXC_CR_SAVE_HEADER_SIZE + src->payloadLen;
    uint64_t off = src->imagesOffset;
    g_autofree char *buf = g_malloc(LXC_CR_SAVE_CHUNK);

    while (off < end) {
        size_t chunk = MIN(end - off, LXC_CR_SAVE_CHUNK);

        if (lxcCRSaveImageRead(src, buf, chunk, off) < 0 ||
            lxcCRSaveWriterPut(w, buf, chunk) < 0)
            return -1;
        off += chunk;
    }
    return 0;
}


static int
lxcCRSaveImageWriteFull(const char *path,
                        const char *xml,
                        const char *imgDir,
                        lxcCRSaveImage *records,
                        bool wasRunning,
                        unsigned int flags,
                        lxcCRSaveProgress *prog);

int
lxcCRSaveImageWrite(const char *path,
                    const char *xml,
                    const char *imgDir,
                    bool wasRunning,
                    unsigned int flags)
{
    lxcCRResetLastError();
    return lxcCRSaveImageWriteFull(path, xml, imgDir, NULL, wasRunning, flags, NULL);
}


int
lxcCRSaveImageWriteProgress(const char *path,
                            const char *xml,
                            const char *imgDir,
                            bool wasRunning,
                            unsigned int flags,
                            lxcCRSaveProgress *prog)
{
    return lxcCRSaveImageWriteFull(path, xml, imgDir, NULL, wasRunning, flags, prog);
}


int
lxcCRSaveImageRewrite(lxcCRSaveImage *img,
                      const char *xml,
                      unsigned int flags)
{
    return lxcCRSaveImageWriteFull(img->path, xml, NULL, img, img->wasRunning, flags, NULL);
}


gssize
lxcCRDirSize(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    gssize total = 0;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        struct stat sb;

        if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            total += sb.st_size + strlen(name) + 16;
    }
    return total;
}


static int
lxcCRSaveImageWriteFull(const char *path,
                        const char *xml,
                        const char *imgDir,
                        lxcCRSaveImage *records,
                        bool wasRunning,
                        unsigned int flags,
                        lxcCRSaveProgress *prog)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
    unsigned char header[LXC_CR_SAVE_HEADER_SIZE] = { 0 };
    unsigned char end[4] = { 0 };
    lxcCRSaveWriter w = { .path = path, .fd = -1, .prog = prog };
    size_t xmlLen = strlen(xml);
    ssize_t n;
    int ret = -1;

    if (xmlLen > LXC_CR_SAVE_MAX_XML) {
        lxcCRReportError(LXC_CR_ERR_INVALID_ARG,
                         _("cannot write save file '%s': the domain XML is %zu bytes"),
                         path, xmlLen);
        return -1;
    }
    if ((w.fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600)) < 0) {
        lxcCRReportSystemError(errno, _("cannot create save file '%s'"), path);
        return -1;
    }
    w.sum = lxcCRSumNew();

    /* The header is written last, once its lengths and checksum are known. */
    if (lseek(w.fd, LXC_CR_SAVE_HEADER_SIZE, SEEK_SET) < 0) {
        lxcCRReportSystemError(errno, _("cannot write save file '%s'"), path);
        goto out;
    }
    if (lxcCRSaveWriterPut(&w, xml, xmlLen) < 0)
        goto out;
    if (records) {
        /* its records end with the end record */
        if (lxcCRSaveWriterPutRecords(&w, records) < 0)
            goto out;
    } else {
        if (imgDir && lxcCRSaveWriterPutImages(&w, imgDir) < 0)
            goto out;
        if (lxcCRSaveWriterPut(&w, end, sizeof(end)) < 0)
            goto out;
    }

    memcpy(header, LXC_CR_SAVE_MAGIC, LXC_CR_SAVE_MAGIC_LEN);
    lxcCRPutU32(header + LXC_CR_SAVE_OFF_VERSION, LXC_CR_SAVE_VERSION);
    lxcCRPutU32(header + LXC_CR_SAVE_OFF_HEADER_SIZE, LXC_CR_SAVE_HEADER_SIZE);
    lxcCRPutU32(header + LXC_CR_SAVE_OFF_WAS_RUNNING, wasRunning ? 1 : 0);
    lxcCRPutU32(header + LXC_CR_SAVE_OFF_FLAGS, flags);
    lxcCRPutU64(header + LXC_CR_SAVE_OFF_XML_LEN, xmlLen);
    lxcCRPutU64(header + LXC_CR_SAVE_OFF_PAYLOAD_LEN, w.payloadLen);
    lxcCRSumUpdate(w.sum, header, sizeof(header));
    lxcCRSumDigest(w.sum, header + LXC_CR_SAVE_OFF_SHA256);

    if ((n = pwrite(w.fd, header, sizeof(header), 0)) != (ssize_t)sizeof(header)) {
        lxcCRReportSystemError(n < 0 ? errno : EIO, _("cannot write save file '%s'"), path);
        goto out;
    }
    if (fsync(w.fd) < 0) {
        lxcCRReportSystemError(errno, _("cannot sync save file '%s'"), path);
        goto out;
    }
    /* --bypass-cache: the file is on disk; its pages need not stay cached. */
    if (flags & LXC_CR_SAVE_BYPASS_CACHE)
        posix_fadvise(w.fd, 0, 0, POSIX_FADV_DONTNEED);
    if (close(w.fd) < 0) {
        w.fd = -1;
        lxcCRReportSystemError(errno, _("cannot write save file '%s'"), path);
        goto out;
    }
    w.fd = -1;
    if (rename(tmp, path) < 0) {
        lxcCRReportSystemError(errno, _("cannot move save file into place as '%s'"), path);
        goto out;
    }
    g_clear_pointer(&tmp, g_free);
    if (lxcCRSyncParentDir(path) < 0)
        goto out;
    ret = 0;

 out:
    if (w.fd >= 0)
        close(w.fd);
    if (tmp)
        unlink(tmp);
    lxcCRSumFree(w.sum);
    return ret;
}


void
lxcCRSaveImageFree(lxcCRSaveImage *img)
{
    if (!img)
        return;
    if (img->fd >= 0)
        close(img->fd);
    g_free(img->path);
    g_free(img->xml);
    g_free(img);
}


/* Read exactly len bytes at off; short means the file changed or is truncated. */
static int
lxcCRSaveImageRead(lxcCRSaveImage *img,
                   void *buf,
                   size_t len,
                   uint64_t off)
{
    size_t done = 0;
    ssize_t n;

    while (done < len) {
        if ((n = pread(img->fd, (char *)buf + done, len - done, off + done)) < 0) {
            if (errno == EINTR)
                continue;
            lxcCRReportSystemError(errno, _("cannot read save file '%s'"), img->path);
            return -1;
        }
        if (n == 0) {
            lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                             _("save file '%s' is truncated"), img->path);
            return -1;
        }
        done += n;
    }
    return 0;
}


/* Walk the image records; with dirfd >= 0 write each into it (created names in made). */
static int
lxcCRSaveImageWalk(lxcCRSaveImage *img,
                   int dirfd,
                   GPtrArray *made)
{
    uint64_t end = LXC_CR_SAVE_HEADER_SIZE + img->payloadLen;
    uint64_t off = img->imagesOffset;
    g_autofree char *buf = NULL;

    for (;;) {
        unsigned char rec[12];
        char name[LXC_CR_SAVE_MAX_NAME + 1];
        uint32_t nameLen;
        uint32_t mode;
        uint64_t size;
        int fd;

        if (end - off < 4 || lxcCRSaveImageRead(img, rec, 4, off) < 0)
            goto bad;
        off += 4;
        if (!(nameLen = lxcCRGetU32(rec)))
            break;
        if (nameLen > LXC_CR_SAVE_MAX_NAME || end - off < nameLen + 12 ||
            lxcCRSaveImageRead(img, name, nameLen, off) < 0)
            goto bad;
        name[nameLen] = '\0';
        off += nameLen;
        if (strlen(name) != nameLen || strchr(name, '/') ||
            STREQ(name, ".") || STREQ(name, "..")) {
            lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                             _("save file '%s': image name '%s' is not a plain file name"),
                             img->path, name);
            return -1;
        }
        if (lxcCRSaveImageRead(img, rec, 12, off) < 0)
            goto bad;
        off += 12;
        mode = lxcCRGetU32(rec);
        size = lxcCRGetU64(rec + 4);
        if (size > end - off)
            goto bad;

        if (dirfd < 0 && made)
            g_ptr_array_add(made, g_strdup(name));
        if (dirfd >= 0) {
            uint64_t left;

            fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        mode & 0777);
            if (fd < 0) {
                lxcCRReportSystemError(errno, _("cannot create image '%s' from save file '%s'"),
                                       name, img->path);
                return -1;
            }
            g_ptr_array_add(made, g_strdup(name));
            if (!buf)
                buf = g_malloc(LXC_CR_SAVE_CHUNK);
            for (left = size; left > 0;) {
                size_t chunk = MIN(left, LXC_CR_SAVE_CHUNK);
                size_t done = 0;
                ssize_t n;

                if (lxcCRSaveImageRead(img, buf, chunk, off + (size - left)) < 0) {
                    close(fd);
                    return -1;
                }
                while (done < chunk) {
                    if ((n = write(fd, buf + done, chunk - done)) < 0) {
                        if (errno == EINTR)
                            continue;
                        lxcCRReportSystemError(errno, _("cannot write image '%s' from save file '%s'"),
                                               name, img->path);
                        close(fd);
                        return -1;
                    }
                    done += n;
                }
                left -= chunk;
            }
            if (close(fd) < 0) {
                lxcCRReportSystemError(errno, _("cannot write image '%s' from save file '%s'"),
                                       name, img->path);
                return -1;
            }
        }
        off += size;
    }
    if (off != end)
        goto bad;
    return 0;

 bad:
    if (lxcCRGetLastError()->code == LXC_CR_ERR_NONE ||
        lxcCRGetLastError()->code == LXC_CR_ERR_OPERATION_INVALID)
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("save file '%s': its image records do not fit its payload"),
                         img->path);
    return -1;
}


lxcCRSaveImage *
lxcCRSaveImageOpen(const char *path)
{
    g_autoptr(lxcCRSaveImage) img = g_new0(lxcCRSaveImage, 1);
    unsigned char header[LXC_CR_SAVE_HEADER_SIZE];
    unsigned char want[LXC_CR_SAVE_SHA256_LEN];
    unsigned char got[LXC_CR_SAVE_SHA256_LEN];
    g_autoptr(lxcCRSum) sum = NULL;
    g_autofree char *buf = NULL;
    struct stat sb;
    uint32_t headerSize;
    uint64_t xmlLen;
    uint64_t off;

    lxcCRResetLastError();
    img->fd = -1;
    img->path = g_strdup(path);
    if ((img->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
        lxcCRReportSystemError(errno, _("cannot open save file '%s'"), path);
        return NULL;
    }
    if (fstat(img->fd, &sb) < 0) {
        lxcCRReportSystemError(errno, _("cannot stat save file '%s'"), path);
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("save file '%s' is not a regular file"), path);
        return NULL;
    }
    if (sb.st_size < LXC_CR_SAVE_HEADER_SIZE) {
        if (sb.st_size >= LXC_CR_SAVE_MAGIC_LEN &&
            lxcCRSaveImageRead(img, header, LXC_CR_SAVE_MAGIC_LEN, 0) == 0 &&
            memcmp(header, LXC_CR_SAVE_MAGIC, LXC_CR_SAVE_MAGIC_LEN) == 0)
            lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                             _("save file '%s' is truncated: %lld bytes, its header alone is %d"),
                             path, (long long)sb.st_size, LXC_CR_SAVE_HEADER_SIZE);
        else
            lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                             _("'%s' is not an lxc-cr save file (%lld bytes)"),
                             path, (long long)sb.st_size);
        return NULL;
    }
    if (lxcCRSaveImageRead(img, header, sizeof(header), 0) < 0)
        return NULL;
    if (memcmp(header, LXC_CR_SAVE_MAGIC, LXC_CR_SAVE_MAGIC_LEN) != 0) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("'%s' is not an lxc-cr save file (bad magic)"), path);
        return NULL;
    }
    img->version = lxcCRGetU32(header + LXC_CR_SAVE_OFF_VERSION);
    if (img->version != LXC_CR_SAVE_VERSION) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_UNSUPPORTED,
                         _("save file '%s' has version %u; this lxc-cr reads version %u"),
                         path, img->version, LXC_CR_SAVE_VERSION);
        return NULL;
    }
    headerSize = lxcCRGetU32(header + LXC_CR_SAVE_OFF_HEADER_SIZE);
    xmlLen = lxcCRGetU64(header + LXC_CR_SAVE_OFF_XML_LEN);
    img->payloadLen = lxcCRGetU64(header + LXC_CR_SAVE_OFF_PAYLOAD_LEN);
    img->wasRunning = lxcCRGetU32(header + LXC_CR_SAVE_OFF_WAS_RUNNING) != 0;
    img->flags = lxcCRGetU32(header + LXC_CR_SAVE_OFF_FLAGS);
    if (headerSize != LXC_CR_SAVE_HEADER_SIZE) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("save file '%s': header size %u, expected %u"),
                         path, headerSize, LXC_CR_SAVE_HEADER_SIZE);
        return NULL;
    }
    if (img->payloadLen != (uint64_t)sb.st_size - LXC_CR_SAVE_HEADER_SIZE) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("save file '%s' is %lld bytes, its header says %llu: truncated or damaged"),
                         path, (long long)sb.st_size,
                         (unsigned long long)(img->payloadLen + LXC_CR_SAVE_HEADER_SIZE));
        return NULL;
    }
    if (xmlLen == 0 || xmlLen > LXC_CR_SAVE_MAX_XML || xmlLen > img->payloadLen) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("save file '%s': domain XML length %llu is not possible"),
                         path, (unsigned long long)xmlLen);
        return NULL;
    }

    /* Every byte: the payload, then the header with its checksum zeroed. */
    sum = lxcCRSumNew();
    buf = g_malloc(LXC_CR_SAVE_CHUNK);
    for (off = 0; off < img->payloadLen;) {
        size_t chunk = MIN(img->payloadLen - off, LXC_CR_SAVE_CHUNK);

        if (lxcCRSaveImageRead(img, buf, chunk, LXC_CR_SAVE_HEADER_SIZE + off) < 0)
            return NULL;
        lxcCRSumUpdate(sum, buf, chunk);
        off += chunk;
    }
    memcpy(want, header + LXC_CR_SAVE_OFF_SHA256, sizeof(want));
    memset(header + LXC_CR_SAVE_OFF_SHA256, 0, LXC_CR_SAVE_SHA256_LEN);
    lxcCRSumUpdate(sum, header, sizeof(header));
    lxcCRSumDigest(sum, got);
    if (memcmp(want, got, sizeof(got)) != 0) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("save file '%s' is damaged: its checksum does not match its contents"),
                         path);
        return NULL;
    }

    img->xml = g_malloc(xmlLen + 1);
    if (lxcCRSaveImageRead(img, img->xml, xmlLen, LXC_CR_SAVE_HEADER_SIZE) < 0)
        return NULL;
    img->xml[xmlLen] = '\0';
    if (strlen(img->xml) != xmlLen) {
        lxcCRReportError(LXC_CR_ERR_OPERATION_INVALID,
                         _("save file '%s': NUL bytes in its domain XML"), path);
        return NULL;
    }
    img->imagesOffset = LXC_CR_SAVE_HEADER_SIZE + xmlLen;
    if (lxcCRSaveImageWalk(img, -1, NULL) < 0)
        return NULL;
    return g_steal_pointer(&img);
}


int
lxcCRSaveImageExtract(lxcCRSaveImage *img,
                      const char *dir)
{
    g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func(g_free);
    int dirfd;
    guint i;
    int ret;

    if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        lxcCRReportSystemError(errno, _("cannot open directory '%s' for the images of save file '%s'"),
                               dir, img->path);
        return -1;
    }
    if ((ret = lxcCRSaveImageWalk(img, dirfd, made)) < 0) {
        /* Leave nothing behind. */
        for (i = 0; i < made->len; i++)
            unlinkat(dirfd, g_ptr_array_index(made, i), 0);
    }
    close(dirfd);
    return ret;
}


bool
lxcCRSaveImageHasRecord(lxcCRSaveImage *img,
                        const char *name)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    guint i;

    if (lxcCRSaveImageWalk(img, -1, names) < 0)
        return false;
    for (i = 0; i < names->len; i++) {
        if (STREQ(g_ptr_array_index(names, i), name))
            return true;
    }
    return false;
}


void
lxcCRSaveImageDropCache(lxcCRSaveImage *img)
{
    posix_fadvise(img->fd, 0, 0, POSIX_FADV_DONTNEED);
}


char *
lxcCRSaveImageGetRecord(lxcCRSaveImage *img,
                        const char *want,
                        size_t max)
{
    uint64_t end = LXC_CR_SAVE_HEADER_SIZE + img->payloadLen;
    uint64_t off = img->imagesOffset;

    /* The file was checked whole by lxcCRSaveImageOpen(): the records fit. */
    for (;;) {
        unsigned char rec[12];
        char name[LXC_CR_SAVE_MAX_NAME + 1];
        uint32_t nameLen;
        uint64_t size;
        char *data;

        if (end - off < 4 || lxcCRSaveImageRead(img, rec, 4, off) < 0)
            return NULL;
        off += 4;
        if (!(nameLen = lxcCRGetU32(rec)) || nameLen > LXC_CR_SAVE_MAX_NAME)
            return NULL;
        if (lxcCRSaveImageRead(img, name, nameLen, off) < 0)
            return NULL;
        name[nameLen] = '\0';
        off += nameLen;
        if (lxcCRSaveImageRead(img, rec, 12, off) < 0)
            return NULL;
        off += 12;
        size = lxcCRGetU64(rec + 4);
        if (size > end - off)
            return NULL;
        if (STREQ(name, want)) {
            if (size > max)
                return NULL;
            data = g_malloc(size + 1);
            if (lxcCRSaveImageRead(img, data, size, off) < 0) {
                g_free(data);
                return NULL;
            }
            data[size] = '\0';
            return data;
        }
        off += size;
    }
}
