/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The image layer (src/criu_core/image/), for real: images are written to a
 * temporary directory with the same calls dump uses, read back field by field,
 * then damaged in every way a disk, a copy or a hand can damage them. TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "crcore.h"
#include "image/image.h"
#include "inventory.pb-c.h"
#include "pstree.pb-c.h"
#include "core.pb-c.h"
#include "mm.pb-c.h"

static int nr_tests, nr_failed;
static char topdir[] = "/tmp/test-image.XXXXXX";

static void __attribute__((format(printf, 2, 3))) check(int cond, const char *fmt, ...)
{
	va_list ap;

	nr_tests++;
	printf("%s %d - ", cond ? "ok" : "not ok", nr_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		nr_failed++;
}

/* why: the reason of the first failure of a multi-part check ("" when none) */
static char why[1024];

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	if (why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

static void check_why(const char *what)
{
	if (why[0])
		check(0, "%s: %s", what, why);
	else
		check(1, "%s", what);
	why[0] = '\0';
}

static char *path_in(const char *dir, const char *name)
{
	static char buf[4][1024];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static int read_file(const char *path, unsigned char **data, size_t *len)
{
	FILE *f = fopen(path, "r");
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*data = malloc(n ? n : 1);
	*len = fread(*data, 1, n, f);
	fclose(f);
	return *len == (size_t)n ? 0 : -1;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len)
		ret = -1;
	close(fd);
	return ret;
}

/* ---- the image set written by test_write and checked by test_read ---- */

#define ROOT_PID 4242
#define NR_PROCS 3
#define RAW_SMALL 3 * 4096
#define RAW_BIG (2u << 20)
#define BIG_XSAVE (3u << 19)	/* a record larger than the write buffer */

static unsigned char raw_byte(size_t i)
{
	return (unsigned char)(i * 131 + (i >> 12) * 7 + 1);
}

static unsigned char *raw_data(size_t len)
{
	unsigned char *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = raw_byte(i);
	return p;
}

static uint32_t tids[NR_PROCS][3] = {
	{ ROOT_PID, ROOT_PID + 1, ROOT_PID + 2 }, { ROOT_PID + 10 }, { ROOT_PID + 20, 77 },
};
static size_t nr_tids[NR_PROCS] = { 3, 1, 2 };

static void fill_core(ProcessCore *pc, CredsEntry *cr, MmEntry *mm, VmaEntry *v, VmaEntry **vp,
		      RlimitEntry *rl, RlimitEntry **rlp, uint32_t *groups)
{
	creds_entry__init(cr);
	cr->uid = 1000;
	cr->euid = 1001;
	cr->suid = 1002;
	cr->fsuid = 1003;
	cr->gid = 2000;
	cr->egid = 2001;
	cr->sgid = 2002;
	cr->fsgid = 2003;
	groups[0] = 5;
	groups[1] = 27;
	cr->n_groups = 2;
	cr->groups = groups;
	cr->cap_inh = 0;
	cr->cap_prm = 0x1ffffffffffULL;
	cr->cap_eff = 0x1ffffffffffULL;
	cr->cap_bnd = 0x3ffffffffffULL;
	cr->has_cap_amb = 1;
	cr->cap_amb = 0x400;

	mm_entry__init(mm);
	mm->start_code = 0x400000;
	mm->end_code = 0x401000;
	mm->start_data = 0x600000;
	mm->end_data = 0x601000;
	mm->start_stack = 0x7ffff000;
	mm->start_brk = 0x602000;
	mm->brk = 0x623000;
	mm->arg_start = 0x7fff0000;
	mm->arg_end = 0x7fff0010;
	mm->env_start = 0x7fff0010;
	mm->env_end = 0x7fff0100;
	for (int i = 0; i < 2; i++) {
		vma_entry__init(&v[i]);
		v[i].start = 0x400000 + i * 0x200000;
		v[i].end = v[i].start + 0x1000 * (i + 1);
		v[i].pgoff = i;
		v[i].prot = 5 - i;
		v[i].flags = 0x22;
		v[i].status = i + 1;
		v[i].has_shmid = i;
		v[i].shmid = 0xdeadbeef00ULL + i;
		vp[i] = &v[i];
	}
	mm->n_vmas = 2;
	mm->vmas = vp;

	for (int i = 0; i < 2; i++) {
		rlimit_entry__init(&rl[i]);
		rl[i].cur = 1024 * (i + 1);
		rl[i].max = i ? UINT64_MAX : 4096;
		rlp[i] = &rl[i];
	}

	process_core__init(pc);
	pc->pid = ROOT_PID;
	pc->umask = 022;
	pc->personality = 0x0040008;
	pc->creds = cr;
	pc->mm = mm;
	pc->n_rlimits = 2;
	pc->rlimits = rlp;
	pc->has_cwd_id = 1;
	pc->cwd_id = 17;
	pc->has_exit_signal = 1;
	pc->exit_signal = 17;
}

static int write_set(const char *dir)
{
	struct img_dir d;
	struct cr_img *img;
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	ProcessCore pc;
	CredsEntry cr;
	MmEntry mm;
	VmaEntry v[2], *vp[2];
	RlimitEntry rl[2], *rlp[2];
	uint32_t groups[2];
	ThreadCore tc = THREAD_CORE__INIT;
	uint8_t gpregs[216];
	unsigned char *raw;
	int ret;

	if ((ret = img_dir_open(&d, dir, true)))
		return fail("img_dir_open(%s, write): %d: %s", dir, ret, log_last_error()), -1;

	img = img_open(&d, IMG_INVENTORY, 0, true);
	if (!img)
		return fail("img_open inventory: %s", log_last_error()), -1;
	inv.img_version = IMG_VERSION;
	inv.root_pid = ROOT_PID;
	inv.has_flags = 1;
	inv.flags = INV_F_SHELL_JOB | INV_F_FILE_LOCKS;
	inv.tool = "test-image \"quoted\"";
	inv.has_dump_time_ns = 1;
	inv.dump_time_ns = 0x123456789abcdefULL;
	inv.has_xsave_size = 1;
	inv.xsave_size = 2696;
	if (img_write_pb(img, &inv.base) || img_close(img))
		return fail("writing inventory: %s", log_last_error()), -1;

	img = img_open(&d, IMG_PSTREE, 0, true);
	if (!img)
		return fail("img_open pstree: %s", log_last_error()), -1;
	for (int i = 0; i < NR_PROCS; i++) {
		PstreeEntry pe = PSTREE_ENTRY__INIT;

		pe.pid = tids[i][0];
		pe.ppid = i ? ROOT_PID : 0;
		pe.pgid = ROOT_PID;
		pe.sid = i == 2 ? tids[i][0] : 1;
		pe.n_threads = nr_tids[i];
		pe.threads = tids[i];
		pe.has_state = 1;
		pe.state = i == 1 ? 2 : 1;
		pe.has_exit_status = i == 1;
		pe.exit_status = -3;
		pe.has_stopped = i == 2;
		pe.stopped = 1;
		if ((ret = img_write_pb(img, &pe.base)))
			return fail("writing pstree %d: %d", i, ret), -1;
	}
	if (img_close(img))
		return fail("closing pstree: %s", log_last_error()), -1;

	img = img_open(&d, IMG_CORE, ROOT_PID, true);
	if (!img)
		return fail("img_open core: %s", log_last_error()), -1;
	fill_core(&pc, &cr, &mm, v, vp, rl, rlp, groups);
	for (size_t i = 0; i < sizeof(gpregs); i++)
		gpregs[i] = i;
	tc.tid = ROOT_PID;
	tc.gpregs.len = sizeof(gpregs);
	tc.gpregs.data = gpregs;
	tc.blk_sigset = 0x8000000000000001ULL;
	tc.comm = "sleep";
	if (img_write_pb(img, &pc.base) || img_write_pb(img, &tc.base))
		return fail("writing core: %s", log_last_error()), -1;
	/* a thread whose xsave is larger than the write buffer */
	tc.tid = ROOT_PID + 1;
	tc.has_xsave = 1;
	tc.xsave.len = BIG_XSAVE;
	tc.xsave.data = raw = raw_data(BIG_XSAVE);
	ret = img_write_pb(img, &tc.base);
	free(raw);
	if (ret || img_close(img))
		return fail("writing the big core record: %s", log_last_error()), -1;

	img = img_open(&d, IMG_PAGES, ROOT_PID, true);
	if (!img)
		return fail("img_open pages: %s", log_last_error()), -1;
	raw = raw_data(RAW_SMALL + RAW_BIG);
	ret = img_write_raw(img, raw, RAW_SMALL);
	if (!ret)
		ret = img_write_raw(img, raw + RAW_SMALL, RAW_BIG);
	free(raw);
	if (ret || img_close(img))
		return fail("writing pages: %s", log_last_error()), -1;

	ret = img_dir_commit(&d);
	img_dir_close(&d);
	if (ret)
		return fail("commit: %s", log_last_error()), -1;
	return 0;
}

static void test_write(const char *dir)
{
	struct stat st;
	char tmp[64];

	write_set(dir);
	snprintf(tmp, sizeof(tmp), ".lxc-cr-dump.%d", getpid());
	if (!why[0] && stat(path_in(dir, tmp), &st) == 0)
		fail("the temporary directory %s is left after commit", tmp);
	if (!why[0] && (stat(path_in(dir, "inventory.img"), &st) || !S_ISREG(st.st_mode) ||
			(st.st_mode & 077)))
		fail("inventory.img is not a private regular file after commit");
	if (!why[0] && (stat(path_in(dir, "pages-4242.img"), &st) ||
			(uint64_t)st.st_size != IMG_PAGES_DATA_OFF + RAW_SMALL + RAW_BIG))
		fail("pages-4242.img has %lld bytes", (long long)st.st_size);
	check_why("write an image set (inventory, pstree, core with a 1.5 MiB record, 2 MiB raw) and commit it");
}

static void test_read(const char *dir)
{
	struct img_dir d;
	struct cr_img *img;
	InventoryEntry *inv;
	PstreeEntry *pe;
	ProcessCore *pc;
	ThreadCore *tc;
	void *extra;
	unsigned char *buf;
	int ret, n;

	if ((ret = img_dir_open(&d, dir, false))) {
		check(0, "img_dir_open(%s, read): %d", dir, ret);
		return;
	}

	img = img_open(&d, IMG_INVENTORY, 0, false);
	if (!img || img_read_one(img, &inventory_entry__descriptor, (void **)&inv)) {
		fail("inventory: %s", log_last_error());
	} else {
		if (inv->img_version != IMG_VERSION || inv->root_pid != ROOT_PID || !inv->has_flags ||
		    inv->flags != (INV_F_SHELL_JOB | INV_F_FILE_LOCKS) || !inv->tool ||
		    strcmp(inv->tool, "test-image \"quoted\"") || !inv->has_dump_time_ns ||
		    inv->dump_time_ns != 0x123456789abcdefULL || !inv->has_xsave_size ||
		    inv->xsave_size != 2696 || inv->has_xfeatures)
			fail("inventory fields differ");
		if (img_read_pb(img, &inventory_entry__descriptor, &extra) != 0)
			fail("inventory: no clean end after its record");
		img_free_pb(inv);
	}
	img_close(img);
	check_why("inventory.img reads back field by field");

	img = img_open(&d, IMG_PSTREE, 0, false);
	if (!img)
		fail("pstree: %s", log_last_error());
	for (n = 0; img && (ret = img_read_pb(img, &pstree_entry__descriptor, (void **)&pe)) > 0; n++) {
		if (n >= NR_PROCS) {
			fail("more than %d records", NR_PROCS);
		} else if (pe->pid != tids[n][0] || pe->ppid != (n ? ROOT_PID : 0u) ||
			   pe->pgid != ROOT_PID || pe->sid != (n == 2 ? tids[n][0] : 1u) ||
			   pe->n_threads != nr_tids[n] || !pe->has_state ||
			   pe->state != (n == 1 ? 2u : 1u) || pe->has_exit_status != (n == 1) ||
			   (n == 1 && pe->exit_status != -3) || pe->has_stopped != (n == 2) ||
			   (n == 2 && !pe->stopped)) {
			fail("record %d differs", n);
		} else {
			for (size_t t = 0; t < nr_tids[n]; t++)
				if (pe->threads[t] != tids[n][t])
					fail("record %d thread %zu differs", n, t);
		}
		img_free_pb(pe);
	}
	if (img && (ret != 0 || n != NR_PROCS))
		fail("%d records, then %d", n, ret);
	img_close(img);
	check_why("pstree.img reads back 3 records and a clean end");

	img = img_open(&d, IMG_CORE, ROOT_PID, false);
	if (!img || img_read_one(img, &process_core__descriptor, (void **)&pc)) {
		fail("core: %s", log_last_error());
	} else {
		CredsEntry *c = pc->creds;
		MmEntry *m = pc->mm;

		if (pc->pid != ROOT_PID || pc->umask != 022 || pc->personality != 0x0040008 ||
		    !pc->has_cwd_id || pc->cwd_id != 17 || pc->has_root_id || !pc->has_exit_signal ||
		    pc->exit_signal != 17 || pc->n_fds || pc->n_sigactions)
			fail("process_core fields differ");
		if (!c || c->uid != 1000 || c->euid != 1001 || c->suid != 1002 || c->fsuid != 1003 ||
		    c->gid != 2000 || c->egid != 2001 || c->sgid != 2002 || c->fsgid != 2003 ||
		    c->n_groups != 2 || c->groups[0] != 5 || c->groups[1] != 27 || c->cap_inh ||
		    c->cap_prm != 0x1ffffffffffULL || c->cap_eff != 0x1ffffffffffULL ||
		    c->cap_bnd != 0x3ffffffffffULL || !c->has_cap_amb || c->cap_amb != 0x400)
			fail("creds differ");
		if (!m || m->start_code != 0x400000 || m->end_code != 0x401000 ||
		    m->start_data != 0x600000 || m->end_data != 0x601000 ||
		    m->start_stack != 0x7ffff000 || m->start_brk != 0x602000 || m->brk != 0x623000 ||
		    m->arg_start != 0x7fff0000 || m->arg_end != 0x7fff0010 ||
		    m->env_start != 0x7fff0010 || m->env_end != 0x7fff0100 || m->has_auxv ||
		    m->n_vmas != 2)
			fail("mm differs");
		for (size_t i = 0; m && i < m->n_vmas && i < 2; i++) {
			VmaEntry *v = m->vmas[i];

			if (v->start != 0x400000 + i * 0x200000 || v->end != v->start + 0x1000 * (i + 1) ||
			    v->pgoff != i || v->prot != 5 - i || v->flags != 0x22 || v->status != i + 1 ||
			    v->has_shmid != (i == 1) || (i && v->shmid != 0xdeadbeef01ULL) ||
			    v->has_file_id || v->has_madv)
				fail("vma %zu differs", i);
		}
		if (pc->n_rlimits != 2 || pc->rlimits[0]->cur != 1024 || pc->rlimits[0]->max != 4096 ||
		    pc->rlimits[1]->cur != 2048 || pc->rlimits[1]->max != UINT64_MAX)
			fail("rlimits differ");
		img_free_pb(pc);
		for (int t = 0; t < 2 && !why[0]; t++) {
			if (img_read_one(img, &thread_core__descriptor, (void **)&tc)) {
				fail("thread %d: %s", t, log_last_error());
				break;
			}
			if (tc->tid != (uint32_t)ROOT_PID + t || tc->gpregs.len != 216 ||
			    tc->blk_sigset != 0x8000000000000001ULL || !tc->comm ||
			    strcmp(tc->comm, "sleep") || tc->has_xsave != (t == 1) ||
			    (t && tc->xsave.len != BIG_XSAVE))
				fail("thread %d fields differ", t);
			for (size_t i = 0; i < tc->gpregs.len && !why[0]; i++)
				if (tc->gpregs.data[i] != i)
					fail("thread %d gpregs byte %zu differs", t, i);
			for (size_t i = 0; t && i < tc->xsave.len && !why[0]; i++)
				if (tc->xsave.data[i] != raw_byte(i))
					fail("thread %d xsave byte %zu differs", t, i);
			img_free_pb(tc);
		}
		if (!why[0] && img_read_pb(img, &thread_core__descriptor, &extra) != 0)
			fail("core: no clean end after the last thread");
	}
	img_close(img);
	check_why("core-4242.img reads back (creds, mm, vmas, rlimits, threads, a 1.5 MiB record)");

	img = img_open(&d, IMG_PAGES, ROOT_PID, false);
	buf = malloc(RAW_SMALL + RAW_BIG + 1);
	if (!img) {
		fail("pages: %s", log_last_error());
	} else {
		if (img_raw_size(img) != RAW_SMALL + RAW_BIG)
			fail("img_raw_size %llu", (unsigned long long)img_raw_size(img));
		if (img_read_raw(img, buf, 100) || img_read_raw(img, buf + 100, RAW_SMALL + RAW_BIG - 100))
			fail("img_read_raw: %s", log_last_error());
		for (size_t i = 0; i < RAW_SMALL + RAW_BIG && !why[0]; i++)
			if (buf[i] != raw_byte(i))
				fail("byte %zu differs", i);
		log_clear_error();
		if (!why[0] && img_read_raw(img, buf, 1) == 0)
			fail("reading past the end succeeded");
		if (!why[0] && !strstr(log_last_error(), "pages-4242.img"))
			fail("reading past the end: error \"%s\" does not name the file", log_last_error());
	}
	free(buf);
	img_close(img);
	check_why("pages-4242.img raw bytes read back; reading past the end is an error");

	log_clear_error();
	img = img_open(&d, IMG_CORE, 1, false);
	check(!img && strstr(log_last_error(), "core-1.img") && strstr(log_last_error(), dir),
	      "a missing image is an error naming it: \"%s\"", log_last_error());
	img_close(img);
	log_clear_error();
	errno = 0;
	img = img_open_optional(&d, IMG_PIPES, 0);
	check(!img && errno == ENOENT && !log_last_error()[0],
	      "a missing optional image is ENOENT without an error");
	img_close(img);
	img_dir_close(&d);
}

/* ---- damaged images ---- */

/* Read every record of the image file `name` in dir with desc (core: process then threads). */
static int read_all_records(const char *dir, enum img_type type, unsigned id, int *nr)
{
	struct img_dir d;
	struct cr_img *img;
	int ret;

	*nr = 0;
	if ((ret = img_dir_open(&d, dir, false)))
		return ret;
	img = img_open(&d, type, id, false);
	if (!img) {
		img_dir_close(&d);
		return -EINVAL;
	}
	for (;;) {
		const ProtobufCMessageDescriptor *desc = img_pb_desc(type);
		void *m;

		if (type == IMG_CORE)
			desc = *nr ? &thread_core__descriptor : &process_core__descriptor;
		ret = img_read_pb(img, desc, &m);
		if (ret <= 0)
			break;
		img_free_pb(m);
		(*nr)++;
	}
	img_close(img);
	img_dir_close(&d);
	return ret;
}

/* Record boundaries of a good image: offsets where a reader may stop cleanly. */
static size_t boundaries(const unsigned char *data, size_t len, size_t *b, size_t max)
{
	size_t n = 0, off = IMG_HDR_SIZE;

	while (n < max) {
		uint32_t l;

		b[n++] = off;
		if (off + 4 > len)
			break;
		memcpy(&l, data + off, 4);
		off += 4 + l;
	}
	return n;
}

struct subject {
	const char *name;
	enum img_type type;
	unsigned id;
};

static const struct subject subjects[] = {
	{ "inventory.img", IMG_INVENTORY, 0 },
	{ "pstree.img", IMG_PSTREE, 0 },
	{ "core-4242.img", IMG_CORE, ROOT_PID },
};

static void test_truncated(const char *good)
{
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/trunc", topdir);
	mkdir(dir, 0700);
	for (size_t s = 0; s < sizeof(subjects) / sizeof(subjects[0]); s++) {
		const struct subject *sj = &subjects[s];
		unsigned char *data;
		size_t len, b[16], nb;
		int ret, nr;

		if (read_file(path_in(good, sj->name), &data, &len)) {
			check(0, "%s: cannot read the good image", sj->name);
			continue;
		}
		nb = boundaries(data, len, b, 16);
		/* every length below 4 KiB; in a bigger image every length within 8 bytes of a
		 * record boundary or of the end, and every 4099th between */
		for (size_t l = 0; l < len && !why[0]; l++) {
			bool at_boundary = false, near = l < 4096 || l + 8 >= len || l % 4099 == 0;
			int expect_nr = 0;

			for (size_t k = 0; k < nb; k++) {
				if (b[k] == l) {
					at_boundary = true;
					expect_nr = k;
				}
				if (l + 8 >= b[k] && l <= b[k] + 8)
					near = true;
			}
			if (!near)
				continue;
			write_file(path_in(dir, sj->name), data, l);
			log_clear_error();
			ret = read_all_records(dir, sj->type, sj->id, &nr);
			if (at_boundary && (ret != 0 || nr != expect_nr))
				fail("cut at record boundary %zu: %d records then %d (%s)", l, nr, ret,
				     log_last_error());
			else if (!at_boundary && ret >= 0)
				fail("cut at %zu inside a record: %d records then a clean end", l, nr);
			else if (!at_boundary && !strstr(log_last_error(), sj->name))
				fail("cut at %zu: error \"%s\" does not name the file", l,
				     log_last_error());
			else if (l < IMG_HDR_SIZE && !strstr(log_last_error(), "header"))
				fail("cut at %zu: error \"%s\" does not say the header", l,
				     log_last_error());
		}
		unlink(path_in(dir, sj->name));
		free(data);
		{
			char what[128];

			snprintf(what, sizeof(what),
				 "%s cut at every length: an error naming it, or a clean end at record boundaries",
				 sj->name);
			check_why(what);
		}
	}
	rmdir(dir);
}

static void test_flipped(const char *good)
{
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/flip", topdir);
	mkdir(dir, 0700);
	for (size_t s = 0; s < 2; s++) {
		const struct subject *sj = &subjects[s];
		unsigned char *data;
		size_t len;
		unsigned nr_err = 0;
		int ret, nr;

		if (read_file(path_in(good, sj->name), &data, &len)) {
			check(0, "%s: cannot read the good image", sj->name);
			continue;
		}
		for (size_t i = 0; i < len; i++) {
			for (int how = 0; how < 3; how++) {
				unsigned char saved = data[i];

				data[i] ^= how == 0 ? 0xff : how == 1 ? 0x80 : 0x01;
				write_file(path_in(dir, sj->name), data, len);
				log_clear_error();
				ret = read_all_records(dir, sj->type, sj->id, &nr);
				data[i] = saved;
				if (ret < 0) {
					nr_err++;
					if (!strstr(log_last_error(), sj->name))
						fail("byte %zu flipped: error \"%s\" does not name the file",
						     i, log_last_error());
				}
				if (i < IMG_HDR_SIZE && ret >= 0)
					fail("byte %zu of the header flipped: accepted", i);
				if (i < IMG_HDR_SIZE && ret < 0 &&
				    !strstr(log_last_error(), i < 4 ? "magic" : "version"))
					fail("byte %zu of the header flipped: error \"%s\" does not say %s",
					     i, log_last_error(), i < 4 ? "magic" : "version");
			}
		}
		unlink(path_in(dir, sj->name));
		free(data);
		{
			char what[160];

			snprintf(what, sizeof(what),
				 "%s with each byte flipped 3 ways: no crash, %u/%zu refused with its name",
				 sj->name, nr_err, len * 3);
			check_why(what);
		}
	}
	/* the core is big (the 1.5 MiB record): flip its first 4 KiB and its last bytes */
	{
		const struct subject *sj = &subjects[2];
		unsigned char *data;
		size_t len;
		int nr;

		if (!read_file(path_in(good, sj->name), &data, &len)) {
			for (size_t i = 0; i < len; i = i < 4096 ? i + 1 : i < len - 64 ? len - 64 : i + 1) {
				data[i] ^= 0xff;
				write_file(path_in(dir, sj->name), data, len);
				log_clear_error();
				if (read_all_records(dir, sj->type, sj->id, &nr) < 0 &&
				    !strstr(log_last_error(), sj->name))
					fail("byte %zu flipped: error \"%s\" does not name the file", i,
					     log_last_error());
				data[i] ^= 0xff;
			}
			free(data);
		} else {
			fail("cannot read the good core image");
		}
		unlink(path_in(dir, sj->name));
		check_why("core-4242.img with its first 4 KiB and last 64 bytes flipped: no crash");
	}
	rmdir(dir);
}

/* One image file with the given bytes; returns the result of reading all its records. */
static int try_bytes(const char *name, enum img_type type, unsigned id, const void *data,
		     size_t len, int *nr)
{
	char dir[600];
	int ret;

	snprintf(dir, sizeof(dir), "%s/bad", topdir);
	mkdir(dir, 0700);
	write_file(path_in(dir, name), data, len);
	log_clear_error();
	ret = read_all_records(dir, type, id, nr);
	unlink(path_in(dir, name));
	rmdir(dir);
	return ret;
}

static void test_headers(void)
{
	uint32_t buf[8];
	int nr, ret;

	buf[0] = img_descs[IMG_PSTREE].magic;	/* a pstree file named inventory.img */
	buf[1] = IMG_VERSION;
	ret = try_bytes("inventory.img", IMG_INVENTORY, 0, buf, 8, &nr);
	check(ret < 0 && strstr(log_last_error(), "inventory.img") &&
	      strstr(log_last_error(), "magic"),
	      "wrong magic (a pstree image named inventory.img) refused: \"%s\"", log_last_error());

	buf[0] = img_descs[IMG_INVENTORY].magic;
	buf[1] = IMG_VERSION + 1;
	ret = try_bytes("inventory.img", IMG_INVENTORY, 0, buf, 8, &nr);
	check(ret < 0 && strstr(log_last_error(), "inventory.img") &&
	      strstr(log_last_error(), "version"),
	      "wrong version refused: \"%s\"", log_last_error());

	buf[0] = img_descs[IMG_PSTREE].magic;
	buf[1] = IMG_VERSION;
	buf[2] = 100;	/* 100 bytes claimed, 12 present */
	memset(&buf[3], 0, 12);
	ret = try_bytes("pstree.img", IMG_PSTREE, 0, buf, 24, &nr);
	check(ret < 0 && strstr(log_last_error(), "pstree.img") &&
	      strstr(log_last_error(), "beyond the file"),
	      "a record longer than the file refused: \"%s\"", log_last_error());

	buf[2] = 0xffffffff;
	ret = try_bytes("pstree.img", IMG_PSTREE, 0, buf, 24, &nr);
	check(ret < 0 && strstr(log_last_error(), "pstree.img") &&
	      strstr(log_last_error(), "4294967295"),
	      "a record length of 0xffffffff refused: \"%s\"", log_last_error());

	buf[2] = IMG_MAX_ENTRY + 1;
	ret = try_bytes("pstree.img", IMG_PSTREE, 0, buf, 24, &nr);
	check(ret < 0 && strstr(log_last_error(), "pstree.img"),
	      "a record length above the limit refused: \"%s\"", log_last_error());

	buf[2] = 0;	/* an empty record: a pstree_entry lacks its required fields */
	ret = try_bytes("pstree.img", IMG_PSTREE, 0, buf, 12, &nr);
	check(ret < 0 && strstr(log_last_error(), "pstree.img") &&
	      strstr(log_last_error(), "corrupted"),
	      "an empty record missing required fields refused: \"%s\"", log_last_error());

	ret = try_bytes("pstree.img", IMG_PSTREE, 0, buf, 8, &nr);
	check(ret == 0 && nr == 0, "a header alone is an image with no records");
}

/* Run fn in a child with a timeout: a hang is a failure, not a stuck test. */
static int in_child(int (*fn)(const char *), const char *arg, int timeout_s, bool *hung)
{
	pid_t pid = fork();
	int st;

	*hung = false;
	if (pid == 0) {
		alarm(timeout_s + 5);
		_exit(fn(arg) ? 1 : 0);
	}
	for (int i = 0; i < timeout_s * 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	*hung = true;
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* 0 when img_open refused pstree.img in dir with an error naming it */
static int open_refused(const char *dir)
{
	struct img_dir d;
	struct cr_img *img;

	if (img_dir_open(&d, dir, false))
		return 2;
	log_clear_error();
	img = img_open(&d, IMG_PSTREE, 0, false);
	if (img) {
		img_close(img);
		return 3;
	}
	img_dir_close(&d);
	if (!strstr(log_last_error(), "pstree.img")) {
		fprintf(stderr, "# error \"%s\" does not name pstree.img\n", log_last_error());
		return 4;
	}
	fprintf(stderr, "# refused: %s\n", log_last_error());
	return 0;
}

static int show_refused(const char *dir)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int ret = crc_show(dir, null);

	close(null);
	return ret < 0 ? 0 : 1;
}

static void test_special(void)
{
	char dir[600];
	bool hung;
	int ret;

	snprintf(dir, sizeof(dir), "%s/special", topdir);
	mkdir(dir, 0700);

	mkdir(path_in(dir, "pstree.img"), 0700);
	ret = in_child(open_refused, dir, 10, &hung);
	check(ret == 0, "an image that is a directory is refused%s (%d)", hung ? ": HUNG" : "", ret);
	rmdir(path_in(dir, "pstree.img"));

	mkfifo(path_in(dir, "pstree.img"), 0600);
	ret = in_child(open_refused, dir, 10, &hung);
	check(ret == 0, "an image that is a FIFO is refused without blocking%s (%d)",
	      hung ? ": HUNG" : "", ret);
	ret = in_child(show_refused, dir, 10, &hung);
	check(ret == 0 && !hung, "show refuses a FIFO image without blocking%s (%d)",
	      hung ? ": HUNG" : "", ret);
	unlink(path_in(dir, "pstree.img"));

	symlink("/dev/zero", path_in(dir, "pstree.img"));
	ret = in_child(open_refused, dir, 10, &hung);
	check(ret == 0, "an image that is a character device is refused%s (%d)",
	      hung ? ": HUNG" : "", ret);
	unlink(path_in(dir, "pstree.img"));
	rmdir(dir);
}

static void test_abort(void)
{
	char dir[600], tmp[64];
	struct img_dir d;
	struct cr_img *img;
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	struct stat st;
	int ok = 1;

	snprintf(dir, sizeof(dir), "%s/abort", topdir);
	mkdir(dir, 0700);
	if (img_dir_open(&d, dir, true) || !(img = img_open(&d, IMG_PSTREE, 0, true))) {
		check(0, "abort: cannot open for writing: %s", log_last_error());
		return;
	}
	pe.pid = 1;
	ok &= img_write_pb(img, &pe.base) == 0;
	ok &= img_close(img) == 0;
	img_dir_abort(&d);
	img_dir_close(&d);
	snprintf(tmp, sizeof(tmp), ".lxc-cr-dump.%d", getpid());
	ok &= stat(path_in(dir, "pstree.img"), &st) < 0 && stat(path_in(dir, tmp), &st) < 0;
	check(ok, "an aborted image set leaves nothing behind");
	rmdir(dir);
}

static void test_too_big(void)
{
	char dir[600];
	struct img_dir d;
	struct cr_img *img;
	ThreadCore tc = THREAD_CORE__INIT;
	int ret = 0;

	snprintf(dir, sizeof(dir), "%s/big", topdir);
	mkdir(dir, 0700);
	if (img_dir_open(&d, dir, true) || !(img = img_open(&d, IMG_CORE, 1, true))) {
		check(0, "too big: cannot open for writing: %s", log_last_error());
		return;
	}
	/* the size is computed without touching the bytes */
	tc.gpregs.len = IMG_MAX_ENTRY + 1;
	tc.gpregs.data = malloc(tc.gpregs.len);
	log_clear_error();
	if (tc.gpregs.data)
		ret = img_write_pb(img, &tc.base);
	free(tc.gpregs.data);
	img_close(img);
	img_dir_abort(&d);
	img_dir_close(&d);
	check(ret == -E2BIG && strstr(log_last_error(), "core-1.img"),
	      "writing a record above the limit is refused: \"%s\"", log_last_error());
	rmdir(dir);
}

int main(void)
{
	char good[600];

	log_init("/dev/null", LOG_LVL_ERROR);
	if (!mkdtemp(topdir)) {
		printf("1..0 # SKIP cannot create a temporary directory\n");
		return 0;
	}
	snprintf(good, sizeof(good), "%s/good", topdir);
	mkdir(good, 0700);

	test_write(good);
	test_read(good);
	test_truncated(good);
	test_flipped(good);
	test_headers();
	test_special();
	test_abort();
	test_too_big();

	printf("1..%d\n", nr_tests);
	{
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", topdir);
		if (system(cmd) != 0)
			fprintf(stderr, "# cannot remove %s\n", topdir);
	}
	return nr_failed ? 1 : 0;
}
