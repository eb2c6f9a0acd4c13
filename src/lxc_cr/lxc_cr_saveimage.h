/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc_cr_saveimage.h: the save file of a domain (not installed)
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lxc_cr_internal.h"

/*
 * A save file, all integers little-endian:
 *
 *   header (LXC_CR_SAVE_HEADER_SIZE bytes)
 *     magic[16]         "LXC-CR save\n\0\0\0\0"
 *     version           u32, LXC_CR_SAVE_VERSION
 *     headerSize        u32, LXC_CR_SAVE_HEADER_SIZE
 *     wasRunning        u32, 1 running, 0 paused when saved
 *     flags             u32, lxcCRSaveFlags given to the save
 *     xmlLen            u64, bytes of domain XML (no NUL)
 *     payloadLen        u64, bytes after the header
 *     sha256[32]        of the payload, then of the header with this field zeroed
 *   payload
 *     the domain XML (xmlLen bytes)
 *     the image set, one record per file of the image directory, by name:
 *       nameLen u32, name (no '/', not "." or ".."), mode u32 (permission bits),
 *       size u64, size bytes of data
 *     an end record: nameLen 0
 *
 * It is written to a temporary name in the same directory, fsync'd, renamed
 * into place and the directory fsync'd; 0600. It is read back only after
 * every byte was checked against the header's checksum.
 */
#define LXC_CR_SAVE_MAGIC "LXC-CR save\n\0\0\0\0"
#define LXC_CR_SAVE_MAGIC_LEN 16
#define LXC_CR_SAVE_VERSION 1
#define LXC_CR_SAVE_HEADER_SIZE 80
#define LXC_CR_SAVE_MAX_XML (16 * 1024 * 1024)
#define LXC_CR_SAVE_MAX_NAME 255

typedef struct _lxcCRSaveImage lxcCRSaveImage;
struct _lxcCRSaveImage {
    char *path;
    int fd;                     /* open on path; read only after the checksum matched */
    uint32_t version;
    bool wasRunning;
    uint32_t flags;
    char *xml;
    uint64_t payloadLen;
    uint64_t imagesOffset;      /* file offset of the first image record */
};

/* How far a save file's writing went, and whether it is to stop (shared with
 * other threads: read and set atomically). */
typedef struct _lxcCRSaveProgress lxcCRSaveProgress;
struct _lxcCRSaveProgress {
    gssize total;               /* bytes the file will have, 0 while unknown */
    gssize done;                /* bytes written */
    gint cancel;                /* set: stop writing, fail with OPERATION_ABORTED */
};

/* lxcCRSaveImageWrite() reporting to prog (NULL: nobody). */
int lxcCRSaveImageWriteProgress(const char *path,
                                const char *xml,
                                const char *imgDir,
                                bool wasRunning,
                                unsigned int flags,
                                lxcCRSaveProgress *prog);

/* The bytes of the regular files of dir (for a progress total). */
gssize lxcCRDirSize(const char *dir);

/* Write path from xml and the regular files of imgDir (NULL: none). */
int lxcCRSaveImageWrite(const char *path,
                        const char *xml,
                        const char *imgDir,
                        bool wasRunning,
                        unsigned int flags);

/* Write img's file again (same path, temporary name and rename) with xml and
 * flags in its header and its image records as they are. */
int lxcCRSaveImageRewrite(lxcCRSaveImage *img,
                          const char *xml,
                          unsigned int flags);

/* Open and check the whole file (size, magic, version, checksum, XML). */
lxcCRSaveImage *lxcCRSaveImageOpen(const char *path);

/* Write the image set into the existing, empty directory dir. */
int lxcCRSaveImageExtract(lxcCRSaveImage *img,
                          const char *dir);

/* Does the image set hold a record of that name? */
bool lxcCRSaveImageHasRecord(lxcCRSaveImage *img,
                             const char *name);

/* The contents of record want (at most max bytes, as a string), or NULL. */
char *lxcCRSaveImageGetRecord(lxcCRSaveImage *img,
                              const char *want,
                              size_t max);

/* --bypass-cache: drop the file's pages from the page cache. */
void lxcCRSaveImageDropCache(lxcCRSaveImage *img);

void lxcCRSaveImageFree(lxcCRSaveImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lxcCRSaveImage, lxcCRSaveImageFree);
