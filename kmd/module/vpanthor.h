/* SPDX-License-Identifier: MIT */
/*
 * vpanthor: the calls between the module's C half (device node, file
 * operations, page allocator, KUnit) and its Rust half (kmd/'s core and the
 * ioctl handlers). Every function here is defined on one side and called
 * from the other; the Rust declarations mirror these prototypes.
 */
#ifndef VPANTHOR_H
#define VPANTHOR_H

#include <linux/types.h>

/* ----- defined in Rust (vpanthor_core.rs) ----- */

int vpanthor_rs_init(void);
void vpanthor_rs_exit(void);
int vpanthor_rs_open(u64 task_size, void **file);
void vpanthor_rs_release(void *file);
long vpanthor_rs_ioctl(void *file, unsigned int cmd, unsigned long arg);
/* A counted BO reference for [offset, offset + len) of the file's mmap space. */
int vpanthor_rs_mmap_bo(void *file, u64 offset, u64 len, void **bo, u64 *bo_offset);
/* Physical address of BO byte @offset, 0 past its end. */
u64 vpanthor_rs_bo_pa(void *bo, u64 offset);
void vpanthor_rs_bo_put(void *bo);
/* KUnit entry points: 0 on success, else the line of the failed check. */
int vpanthor_rs_test_lock_region(void);
int vpanthor_rs_test_page_table(void);
int vpanthor_rs_test_sparse(void);
int vpanthor_rs_test_vm_bind(void);
int vpanthor_rs_test_vm_access(void);

/* ----- defined in C (vpanthor_main.c) ----- */

u64 vpanthor_alloc_pages(u64 count, u64 align);
void vpanthor_free_pages(u64 pa, u64 count);
void *vpanthor_phys_to_virt(u64 pa);
int vpanthor_copy_from_user(void *to, u64 from, u64 len);
int vpanthor_copy_to_user(u64 to, const void *from, u64 len);
int vpanthor_clear_user(u64 to, u64 len);
int vpanthor_copy_struct_from_user(void *dst, u64 ksize, u64 src, u64 usize);
s64 vpanthor_now_ns(void);
s64 vpanthor_now_raw_ns(void);
void vpanthor_sleep(const u64 *generation, u64 seen, s64 deadline_ns);
void vpanthor_wake_all(void);
/* signal_pending(current): an interruptible wait must end. */
bool vpanthor_signal_pending(void);
void vpanthor_cond_resched(void);
void vpanthor_log(int level, const u8 *msg, u64 len);
u64 vpanthor_rust_allocations(void);
/* The heap behind Rust's `alloc` (called from the generated alloc_shim.c). */
void *vpanthor_heap_alloc(size_t size, size_t align, bool zero);
void vpanthor_heap_free(void *p);
void *vpanthor_heap_realloc(void *p, size_t old, size_t align, size_t size);

#endif
