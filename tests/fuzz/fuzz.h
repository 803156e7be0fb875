/*
 * fuzz.h -- what the libFuzzer harnesses share: the entry point's
 * prototype, a property check that aborts with its text (so libFuzzer
 * keeps the input), and a control-byte test.
 */
#ifndef REGCRED_FUZZ_H
#define REGCRED_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* 1 if s[0..n) holds a byte below 0x20 (other than HTAB when tab_ok) or
 * DEL. */
static inline int
fuzz_has_ctl(const char *s, size_t n, int tab_ok)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !(tab_ok && c == '\t')) || c == 0x7f)
			return 1;
	}
	return 0;
}

#endif
