// SPDX-License-Identifier: MIT
/*
 * vpanthor: the C half of the module. It owns what Linux 6.12 offers no
 * Rust abstraction for: the misc device /dev/vpanthor and its
 * file_operations (open, release, ioctl, mmap), the page allocator and user
 * copies the Rust half's Hardware and ioctl code call, and the allocator
 * symbols Rust's `alloc` links against (see gen-alloc-shim.sh). The uAPI
 * semantics (VMs, BOs, VM_BIND, page tables) all live in Rust: kmd/'s core.
 */
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "vpanthor.h"

/* Live page allocations and Rust heap blocks: both must be 0 at unload. */
static atomic64_t vpanthor_pages = ATOMIC64_INIT(0);
static atomic64_t vpanthor_heap_blocks = ATOMIC64_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(vpanthor_wq);

/* ----- memory for the Rust half's Hardware ----- */

u64 vpanthor_alloc_pages(u64 count, u64 align)
{
	unsigned int order;
	struct page *page;

	if (!count || count > (1ULL << MAX_PAGE_ORDER))
		return 0;
	order = get_order(count << PAGE_SHIFT);
	/* The buddy allocator aligns a block to its size; more is not offered. */
	if (align > (PAGE_SIZE << order))
		return 0;
	page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
	if (!page)
		return 0;
	atomic64_add(1ULL << order, &vpanthor_pages);
	return page_to_phys(page);
}

void vpanthor_free_pages(u64 pa, u64 count)
{
	unsigned int order = get_order(count << PAGE_SHIFT);

	__free_pages(pfn_to_page(PHYS_PFN(pa)), order);
	atomic64_sub(1ULL << order, &vpanthor_pages);
}

void *vpanthor_phys_to_virt(u64 pa)
{
	/* Every page vpanthor_alloc_pages returns is in the direct map. */
	return phys_to_virt(pa);
}

/* ----- user memory ----- */

int vpanthor_copy_from_user(void *to, u64 from, u64 len)
{
	return copy_from_user(to, u64_to_user_ptr(from), len) ? -EFAULT : 0;
}

int vpanthor_copy_to_user(u64 to, const void *from, u64 len)
{
	return copy_to_user(u64_to_user_ptr(to), from, len) ? -EFAULT : 0;
}

int vpanthor_clear_user(u64 to, u64 len)
{
	return clear_user(u64_to_user_ptr(to), len) ? -EFAULT : 0;
}

int vpanthor_copy_struct_from_user(void *dst, u64 ksize, u64 src, u64 usize)
{
	return copy_struct_from_user(dst, ksize, u64_to_user_ptr(src), usize);
}

/* ----- time and sleeping (kmd's Waiter) ----- */

s64 vpanthor_now_ns(void)
{
	return ktime_get_ns();
}

s64 vpanthor_now_raw_ns(void)
{
	return ktime_get_raw_ns();
}

void vpanthor_sleep(const u64 *generation, u64 seen, s64 deadline_ns)
{
	s64 left = deadline_ns - (s64)ktime_get_ns();

	if (left <= 0)
		return;
	wait_event_interruptible_timeout(vpanthor_wq, READ_ONCE(*generation) != seen,
					 nsecs_to_jiffies(left) + 1);
}

void vpanthor_wake_all(void)
{
	wake_up_all(&vpanthor_wq);
}

bool vpanthor_signal_pending(void)
{
	return signal_pending(current);
}

void vpanthor_cond_resched(void)
{
	cond_resched();
}

void vpanthor_log(int level, const u8 *msg, u64 len)
{
	if (level)
		pr_warn("vpanthor: %.*s\n", (int)len, msg);
	else
		pr_info("vpanthor: %.*s\n", (int)len, msg);
}

/* ----- the allocator behind Rust's `alloc` (called by alloc_shim.c) ----- */

/*
 * kmalloc aligns power-of-two sizes to their size (up to a page), so a
 * stricter alignment is met by rounding the size up to a power of two.
 */
static size_t vpanthor_heap_size(size_t size, size_t align)
{
	if (align <= ARCH_KMALLOC_MINALIGN)
		return size;
	if (align > PAGE_SIZE)
		return 0;
	return roundup_pow_of_two(max(size, align));
}

void *vpanthor_heap_alloc(size_t size, size_t align, bool zero)
{
	size_t n = vpanthor_heap_size(size, align);
	void *p;

	if (!n)
		return NULL;
	p = kmalloc(n, GFP_KERNEL | __GFP_NOWARN | (zero ? __GFP_ZERO : 0));
	if (p)
		atomic64_inc(&vpanthor_heap_blocks);
	return p;
}

void vpanthor_heap_free(void *p)
{
	if (!p)
		return;
	kfree(p);
	atomic64_dec(&vpanthor_heap_blocks);
}

void *vpanthor_heap_realloc(void *p, size_t old, size_t align, size_t size)
{
	size_t n = vpanthor_heap_size(size, align);
	void *q;

	if (!n)
		return NULL;
	if (align <= ARCH_KMALLOC_MINALIGN)
		return krealloc(p, n, GFP_KERNEL | __GFP_NOWARN);
	q = vpanthor_heap_alloc(size, align, false);
	if (q) {
		memcpy(q, p, min(old, size));
		vpanthor_heap_free(p);
	}
	return q;
}

u64 vpanthor_rust_allocations(void)
{
	return atomic64_read(&vpanthor_heap_blocks);
}

/* ----- the device node ----- */

static int vpanthor_open(struct inode *inode, struct file *filp)
{
	void *file;
	int ret = vpanthor_rs_open(TASK_SIZE, &file);

	if (ret)
		return ret;
	filp->private_data = file;
	return 0;
}

static int vpanthor_release(struct inode *inode, struct file *filp)
{
	vpanthor_rs_release(filp->private_data);
	return 0;
}

static long vpanthor_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	return vpanthor_rs_ioctl(filp->private_data, cmd, arg);
}

/*
 * A CPU mapping holds a BO reference, like a GEM object's mmap. VMAs copied
 * by fork or split share it through a count, so vm_open cannot fail.
 */
struct vpanthor_mapping {
	refcount_t refs;
	void *bo;
};

static void vpanthor_vm_open(struct vm_area_struct *vma)
{
	struct vpanthor_mapping *m = vma->vm_private_data;

	refcount_inc(&m->refs);
}

static void vpanthor_vm_close(struct vm_area_struct *vma)
{
	struct vpanthor_mapping *m = vma->vm_private_data;

	if (refcount_dec_and_test(&m->refs)) {
		vpanthor_rs_bo_put(m->bo);
		kfree(m);
	}
}

static const struct vm_operations_struct vpanthor_vm_ops = {
	.open = vpanthor_vm_open,
	.close = vpanthor_vm_close,
};

static int vpanthor_mmap(struct file *filp, struct vm_area_struct *vma)
{
	u64 len = vma->vm_end - vma->vm_start;
	struct vpanthor_mapping *m;
	u64 bo_offset, off;
	int ret;

	/* drm_gem_shmem_mmap: private writable (COW) mappings are refused. */
	if (is_cow_mapping(vma->vm_flags))
		return -EINVAL;
	m = kmalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	ret = vpanthor_rs_mmap_bo(filp->private_data, (u64)vma->vm_pgoff << PAGE_SHIFT,
				  len, &m->bo, &bo_offset);
	if (ret) {
		kfree(m);
		return ret;
	}
	refcount_set(&m->refs, 1);
	for (off = 0; off < len; off += PAGE_SIZE) {
		u64 pa = vpanthor_rs_bo_pa(m->bo, bo_offset + off);

		ret = pa ? remap_pfn_range(vma, vma->vm_start + off, PHYS_PFN(pa),
					   PAGE_SIZE, vma->vm_page_prot) : -EINVAL;
		if (ret) {
			/* The core unmaps the partial range when mmap fails. */
			vpanthor_rs_bo_put(m->bo);
			kfree(m);
			return ret;
		}
	}
	vma->vm_private_data = m;
	vma->vm_ops = &vpanthor_vm_ops;
	return 0;
}

static const struct file_operations vpanthor_fops = {
	.owner = THIS_MODULE,
	.open = vpanthor_open,
	.release = vpanthor_release,
	.unlocked_ioctl = vpanthor_ioctl,
	.compat_ioctl = vpanthor_ioctl,
	.mmap = vpanthor_mmap,
};

static struct miscdevice vpanthor_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vpanthor",
	.fops = &vpanthor_fops,
	.mode = 0666,
};

static int __init vpanthor_init(void)
{
	int ret = vpanthor_rs_init();

	if (ret)
		return ret;
	ret = misc_register(&vpanthor_misc);
	if (ret)
		vpanthor_rs_exit();
	else
		pr_info("vpanthor: /dev/vpanthor ready (kmd core in Rust)\n");
	return ret;
}

static void __exit vpanthor_exit(void)
{
	misc_deregister(&vpanthor_misc);
	vpanthor_rs_exit();
	pr_info("vpanthor: unloaded: %lld pages, %lld heap blocks still allocated%s\n",
		atomic64_read(&vpanthor_pages), atomic64_read(&vpanthor_heap_blocks),
		atomic64_read(&vpanthor_pages) || atomic64_read(&vpanthor_heap_blocks) ?
			" (LEAK)" : "");
}

module_init(vpanthor_init);
module_exit(vpanthor_exit);
MODULE_DESCRIPTION("panthor's VM/MMU core (kmd) as a virtual device, with KUnit tests");
MODULE_LICENSE("Dual MIT/GPL");
