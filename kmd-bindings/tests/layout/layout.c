/*
 * Prints facts about the C panthor uAPI for tests/layout.rs, one per line:
 * "<key> <value>". The test generates items.h (one show(...) call per
 * struct size, field offset, field size and constant it compares), puts it on
 * the include path with the header directory, compiles this file and
 * compares the output with the Rust side.
 *
 *   cc -std=c11 -I<dir with drm/panthor_drm.h> -I<dir with items.h> layout.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The header as linux-source ships it, before `make headers_install`, still
 * marks user pointers with the kernel-only __user annotation (headers_install
 * strips it). Define it away; harmless for installed headers too.
 */
#ifndef __user
#define __user
#endif

#include <drm/panthor_drm.h>

static void show(const char *key, unsigned long long value)
{
	printf("%s %llu\n", key, value);
}

int main(void)
{
#include "items.h"
	return 0;
}
