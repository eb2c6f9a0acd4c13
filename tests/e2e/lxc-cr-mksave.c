/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lxc-cr-mksave: write an lxc-cr save file from a domain XML and an image
 * directory, with liblxccr's own writer. For tests/e2e/run.sh, until a real
 * save can make one: `virsh save-image-dumpxml` and `virsh restore` are
 * then checked on a real save file through the patched libvirtd.
 *
 * Usage: lxc-cr-mksave SAVEFILE DOMAIN.xml [IMGDIR]
 */
#include <stdio.h>

#include "lxc_cr_saveimage.h"

int
main(int argc, char **argv)
{
    g_autofree char *xml = NULL;
    g_autoptr(GError) err = NULL;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s SAVEFILE DOMAIN.xml [IMGDIR]\n", argv[0]);
        return 2;
    }
    if (!g_file_get_contents(argv[2], &xml, NULL, &err)) {
        fprintf(stderr, "lxc-cr-mksave: %s\n", err->message);
        return 1;
    }
    if (lxcCRSaveImageWrite(argv[1], xml, argc == 4 ? argv[3] : NULL, true, 0) < 0) {
        fprintf(stderr, "lxc-cr-mksave: %s\n", lxcCRGetLastError()->message);
        return 1;
    }
    return 0;
}
