// SPDX-License-Identifier: MIT
/*
 * vpanthor's KUnit suite: runs the Rust half's kernel-side tests (ktests.rs:
 * lock region, page tables, sparse mappings, VM_BIND, VM access) when the
 * module loads, and reports them through KUnit's TAP output. 6.12 has no
 * Rust KUnit macros for out-of-tree modules, so the cases are C calling Rust.
 */
#include <kunit/test.h>

#include "vpanthor.h"

#define VPANTHOR_CASE(name)                                                  \
	static void vpanthor_test_##name(struct kunit *test)                 \
	{                                                                    \
		int line = vpanthor_rs_test_##name();                        \
		KUNIT_EXPECT_EQ_MSG(test, line, 0,                           \
				    "check failed at ktests.rs line %d", line); \
	}

VPANTHOR_CASE(lock_region)
VPANTHOR_CASE(page_table)
VPANTHOR_CASE(sparse)
VPANTHOR_CASE(vm_bind)
VPANTHOR_CASE(vm_access)

static struct kunit_case vpanthor_cases[] = {
	KUNIT_CASE(vpanthor_test_lock_region),
	KUNIT_CASE(vpanthor_test_page_table),
	KUNIT_CASE(vpanthor_test_sparse),
	KUNIT_CASE(vpanthor_test_vm_bind),
	KUNIT_CASE(vpanthor_test_vm_access),
	{}
};

static struct kunit_suite vpanthor_suite = {
	.name = "vpanthor",
	.test_cases = vpanthor_cases,
};
kunit_test_suite(vpanthor_suite);
