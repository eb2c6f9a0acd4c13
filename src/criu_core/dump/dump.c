/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dump orchestration: stop the tree, read every process, write the images
 * into a temporary directory, sync and move them into place; only then kill
 * the tree (or let it go on with --leave-running). Every failure lets the
 * tree go on as it was.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "fault.h"
#include "infect/infect.h"
#include "fd/files.h"
#include "mem/vma.h"
#include "ns/ns.h"
#include "ns/cgroup.h"
#include "task/core.h"
#include "proc_parse.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct cr_img *dump_img(struct dump_ctx *ctx, enum img_type type)
{
	if (!ctx->imgs[type])
		ctx->imgs[type] = img_open(&ctx->dir, type, 0, true);
	return ctx->imgs[type];
}

int dump_close_imgs(struct dump_ctx *ctx)
{
	int ret = 0;

	for (int i = 0; i < IMG_TYPE_MAX; i++) {
		if (ctx->imgs[i] && img_close(ctx->imgs[i]) && !ret)
			ret = -EIO;
		ctx->imgs[i] = NULL;
	}
	return ret;
}

static int check_tree(struct dump_ctx *ctx)
{
	struct pstree_item *root = ctx->items[0];

	if (root->sid != root->pid && !ctx->opts->shell_job) {
		pr_err("pid %d: is not a session leader (its session is %d); use --shell-job",
		       root->pid, root->sid);
		return -EINVAL;
	}
	for (unsigned i = 1; i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i];

		if (it->state == TASK_ZOMBIE)
			continue;
		if (it->sid != it->pid && it->sid != it->parent->sid) {
			/* a session led by a sibling (maybe a zombie now) can be rebuilt */
			struct pstree_item *l = pstree_find(ctx->items, ctx->nr_items, it->sid);

			if (!l || l->parent != it->parent) {
				pr_err("pid %d: its session %d is neither its own, its parent's nor a sibling's; not supported",
				       it->pid, it->sid);
				return -ENOTSUP;
			}
		}
	}
	return 0;
}

static int get_regs(struct pstree_item *item)
{
	item->regs = xzalloc(sizeof(*item->regs) * item->nr_threads);
	if (!item->regs)
		return -ENOMEM;
	for (unsigned t = 0; t < item->nr_threads; t++)
		if (ptrace(PTRACE_GETREGS, item->threads[t], NULL, &item->regs[t]) < 0) {
			pr_perror("thread %d: cannot read registers", item->threads[t]);
			return -errno;
		}
	return 0;
}

static int dump_one_task(struct dump_ctx *ctx, struct pstree_item *item)
{
	ProcessCore *pc = NULL;
	ThreadCore *tc;
	struct cr_img *img;
	int ret;

	if (item->state == TASK_ZOMBIE)
		return 0;
	if ((ret = get_regs(item)) || (ret = vma_collect(item)) || (ret = infect_find_syscall_ip(item)))
		return ret;
	img = img_open(&ctx->dir, IMG_CORE, ns_vpid(item->pid), true);
	if (!img)
		return -EIO;
	ret = dump_task_core(ctx, item, &pc);
	if (!ret)
		ret = vma_dump(ctx, item, pc->mm);
	if (!ret)
		ret = dump_task_files(ctx, item, pc);
	if (!ret)
		ret = img_write_pb(img, &pc->base);
	for (unsigned t = 0; !ret && t < item->nr_threads; t++) {
		tc = NULL;
		ret = dump_thread_core(ctx, item, t, &tc);
		if (!ret)
			ret = img_write_pb(img, &tc->base);
		if (tc)
			protobuf_c_message_free_unpacked(&tc->base, NULL);
	}
	infect_scratch_put(item, item->pid);
	if (pc)
		protobuf_c_message_free_unpacked(&pc->base, NULL);
	vma_free(item);
	if (img_close(img) && !ret)
		ret = -EIO;
	return ret;
}

static int write_pstree(struct dump_ctx *ctx)
{
	struct cr_img *img = dump_img(ctx, IMG_PSTREE);

	if (!img)
		return -EIO;
	for (unsigned i = 0; i < ctx->nr_items; i++) {
		struct pstree_item *it = ctx->items[i];
		PstreeEntry e = PSTREE_ENTRY__INIT;
		uint32_t tids[it->nr_threads ? it->nr_threads : 1];
		int ret;

		/* the tree's own PIDs: seen from inside its PID namespace */
		e.pid = ns_vpid(it->pid);
		e.ppid = it->ppid ? ns_vpid(it->ppid) : 0;
		e.pgid = ns_vpid(it->pgid);
		e.sid = ns_vpid(it->sid);
		for (unsigned t = 0; t < it->nr_threads; t++)
			tids[t] = ns_vpid(it->threads[t]);
		e.threads = tids;
		e.n_threads = it->nr_threads;
		e.has_state = true;
		e.state = it->state;
		if (it->stopped_in_group) {
			e.has_stopped = true;
			e.stopped = true;
		}
		if (it->state == TASK_ZOMBIE) {
			e.has_exit_status = true;
			e.exit_status = it->exit_status;
		}
		ret = ns_pstree_entry(ctx, i, &e);
		if (!ret)
			ret = img_write_pb(img, &e.base);
		if (ret)
			return ret;
	}
	return 0;
}

static int write_inventory(struct dump_ctx *ctx)
{
	InventoryEntry e = INVENTORY_ENTRY__INIT;
	struct cr_img *img = dump_img(ctx, IMG_INVENTORY);

	if (!img)
		return -EIO;
	e.img_version = IMG_VERSION;
	e.root_pid = ns_vpid(ctx->items[0]->pid);
	e.has_flags = true;
	e.flags = (ctx->opts->shell_job ? INV_F_SHELL_JOB : 0) |
		  (ctx->opts->tcp_established ? INV_F_TCP_ESTABLISHED : 0) |
		  (ctx->opts->file_locks ? INV_F_FILE_LOCKS : 0) |
		  (ctx->opts->ext_unix_sk ? INV_F_EXT_UNIX_SK : 0);
	e.tool = (char *)PACKAGE_STRING;
	e.has_dump_time_ns = true;
	e.dump_time_ns = (uint64_t)time(NULL) * 1000000000ULL;
	e.has_xsave_size = true;
	e.xsave_size = ctx->xsave_size;
	return img_write_pb(img, &e.base);
}

/* Kill the tree. Its parents reap it; a restore that finds a PID still taken
 * gives the dying tree a moment (restore/restore.c: check_pids_free). */
static void kill_tree(struct dump_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nr_items; i++)
		if (ctx->items[i]->state != TASK_ZOMBIE)
			kill(ctx->items[i]->pid, SIGKILL);
}

int crc_dump(const struct crc_dump_opts *opts, struct crc_stats *stats)
{
	struct dump_ctx ctx = { .opts = opts, .stats = stats };
	uint64_t t0 = now_ns(), tf;
	int ret;

	ret = tty_dump_check_externals(opts);
	if (ret)
		return ret;
	ret = img_dir_open(&ctx.dir, opts->images_dir, true);
	if (ret)
		return ret;
	ctx.xsave_size = xsave_size();
	ret = infect_seize_tree(opts->pid, &ctx.items, &ctx.nr_items);
	if (ret)
		goto out_dir;
	tf = now_ns();
	pr_info("stopped %u processes in %llu us", ctx.nr_items,
		(unsigned long long)(tf - t0) / 1000);
	ret = check_tree(&ctx);
	if (!ret)
		ret = ns_dump_check(&ctx);
	for (unsigned i = 0; !ret && i < ctx.nr_items; i++) {
		ret = dump_one_task(&ctx, ctx.items[i]);
		if (ret)
			pr_warn("pid %d: dump failed", ctx.items[i]->pid);
	}
	if (!ret)
		ret = files_dump_finish(&ctx);
	if (!ret)
		ret = ns_dump(&ctx);
	if (!ret)
		ret = fuse_dump_finish(&ctx);
	if (!ret)
		ret = cgroup_dump(&ctx);
	if (!ret)
		ret = write_pstree(&ctx);
	if (!ret)
		ret = write_inventory(&ctx);
	if (dump_close_imgs(&ctx) && !ret)
		ret = -EIO;
	if (!ret)
		ret = img_dir_commit(&ctx.dir);
	/* the images are complete, the tree frozen: a failure (or a slow
	 * step) here is the last one before the caller's post-dump step */
	if (!ret && !(ret = fault_inject("after-images")))
		fault_stall("dump-stall");
	if (!ret && opts->post_dump && opts->post_dump(opts->post_dump_arg) < 0) {
		pr_err("the caller's post-dump step failed; the tree goes on running");
		files_dump_resume();
		infect_unseize_tree(ctx.items, ctx.nr_items);
		ret = -ECANCELED;
		goto out_dir;
	}
	if (ret) {
		img_dir_abort(&ctx.dir);
		files_dump_resume();
		infect_unseize_tree(ctx.items, ctx.nr_items);
		pr_info("the tree goes on running");
		goto out_dir;
	}
	/* Images are complete and synced: now the tree may go. */
	if (!opts->leave_running)
		kill_tree(&ctx);
	else
		files_dump_resume();
	if (stats) {
		stats->frozen_ns = now_ns() - tf;
		stats->total_ns = now_ns() - t0;
	}
	pr_info("frozen for %llu ms", (unsigned long long)(now_ns() - tf) / 1000000);
	infect_unseize_tree(ctx.items, ctx.nr_items);
out_dir:
	ns_dump_fini();
	fuse_dump_fini();
	files_dump_fini();
	img_dir_close(&ctx.dir);
	return ret;
}

const char *crc_last_error(void)
{
	return log_last_error();
}

int crc_log_init(const char *path, int level)
{
	return log_init(path, level);
}

void crc_log_fini(void)
{
	log_fini();
}
