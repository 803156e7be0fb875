/*
 * fuzz_log.c -- quoting of untrusted text (log_quote) and redaction
 * (log_redact) with registered secrets (log_secret_add).
 *
 * Input: byte 0 the output buffer's size (4..259), byte 1 how many
 * secrets (mod 4), byte 2 where in the text and byte 3 from where in the
 * first secret that secret's tail is put into the text, then per secret a
 * length byte (8..71) and its bytes (token characters only: real secrets
 * are tokens), then the text.
 * Properties: the result is NUL-terminated within the buffer; a quote
 * has no control byte; no registered secret appears whole, nor any
 * LOG_PIECE_MIN bytes of one, nor 8 bytes or more of its start at the
 * end of a quote (before the "..." of a cut); no JWT-shaped ("eyJ" + 17 token bytes) or
 * Google-token-shaped ("ya29.") string is left where it starts a word
 * (after anything but a letter, digit, '-', '_', '.' or '~').
 */
#define _GNU_SOURCE	/* memmem */
#include <string.h>

#include "fuzz.h"
#include "log.h"

#define SECRETS		4
#define TEXT_MAX	4096

static char	sec[SECRETS][80], text[TEXT_MAX + 80], out[260], line[1100];
static size_t	seclen[SECRETS], nsec;

static int
wordchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("-_.~", c) != NULL);
}

static int
tokchar(unsigned char c)
{
	return wordchar(c) || (c != 0 && strchr("+/=", c) != NULL);
}

/* Whether log_quote cuts src (it then appends "..." when there is room):
 * its filter (control bytes dropped, white space collapsed) fills max. */
static int
quote_cut(const char *src, size_t len, size_t cap)
{
	size_t		i, o = 0, max = cap - 1 < LOG_QUOTE_MAX ? cap - 1 :
			    LOG_QUOTE_MAX;
	unsigned char	c, last = ' ';

	for (i = 0; i < len && o < max; i++) {
		c = (unsigned char)src[i];
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			continue;
		if (c == ' ' && last == ' ')
			continue;
		last = c;
		o++;
	}
	return i < len;
}

/* o[0..n): the output; its first m bytes are text (the rest "..."). A
 * start of a secret at the end must be redacted (tail). */
static void
check_clean(const char *o, size_t cap, size_t m, int quoted, int tail)
{
	size_t	n = strnlen(o, cap), i, k;

	FUZZ_CHECK(n < cap && m <= n);
	if (quoted)
		FUZZ_CHECK(!fuzz_has_ctl(o, n, 0));
	for (i = 0; i < nsec; i++) {
		FUZZ_CHECK(memmem(o, m, sec[i], seclen[i]) == NULL);
		for (k = 0; k + LOG_PIECE_MIN <= seclen[i]; k++)
			FUZZ_CHECK(memmem(o, m, sec[i] + k, LOG_PIECE_MIN) ==
			    NULL);
		for (k = 8; tail && k < seclen[i] && k <= m; k++)
			FUZZ_CHECK(memcmp(o + m - k, sec[i], k) != 0);
	}
	/* after "]" the byte before may have been a redacted token's */
	for (i = 0; i < m; i++) {
		if (i > 0 && (wordchar((unsigned char)o[i - 1]) ||
		    o[i - 1] == ']'))
			continue;
		FUZZ_CHECK(m - i < 5 || strncmp(o + i, "ya29.", 5) != 0);
		for (k = 0; k < 20 && i + k < m &&
		    tokchar((unsigned char)o[i + k]); k++)
			;
		FUZZ_CHECK(k < 20 || strncmp(o + i, "eyJ", 3) != 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	cap, pos = 4, i, k, len, at, skip, n;
	int	cut, dots;

	if (size < 4)
		return 0;
	cap = 4 + data[0];
	nsec = data[1] % SECRETS;
	log_secret_clear();
	for (i = 0; i < nsec; i++) {
		if (pos >= size)
			return 0;
		seclen[i] = 8 + data[pos++] % 64;
		if (seclen[i] > size - pos)
			return 0;
		memcpy(sec[i], data + pos, seclen[i]);
		pos += seclen[i];
		for (k = 0; k < seclen[i]; k++)
			if (!tokchar((unsigned char)sec[i][k]))
				return 0;
		if (memmem("[REDACTED]", 10, sec[i], seclen[i]) != NULL)
			return 0;
		FUZZ_CHECK(log_secret_add(sec[i], seclen[i]) == 0);
	}
	len = size - pos < TEXT_MAX ? size - pos : TEXT_MAX;
	at = data[2] % (len + 1);
	skip = nsec > 0 ? data[3] % seclen[0] : 0;
	k = nsec > 0 ? seclen[0] - skip : 0;
	memcpy(text, data + pos, at);
	memcpy(text + at, sec[0] + skip, k);
	memcpy(text + at + k, data + pos + at, len - at);
	len += k;

	log_quote(out, cap, text, len);
	n = strnlen(out, cap);
	cut = quote_cut(text, len, cap);
	dots = cut && n >= 3 && memcmp(out + n - 3, "...", 3) == 0;
	/* "..." is the cut's mark when there was room for it; after a
	 * redaction filled that room it may be text: then no end check */
	check_clean(out, cap, dots ? n - 3 : n, 1, !dots || n + 4 <= cap);
	k = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
	memcpy(line, text, k);
	line[k] = '\0';
	log_redact(line, sizeof(line));
	check_clean(line, sizeof(line), strlen(line), 0, 0);
	return 0;
}
