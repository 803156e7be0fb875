/* Unit tests for log.c: error formatting, quoting, redaction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static void
test_err_set_and_prefix(void **state)
{
	struct err	e;

	(void)state;
	assert_int_equal(err_set(&e, "HTTP %d", 403), -1);
	assert_string_equal(e.msg, "HTTP 403");
	assert_int_equal(err_prefix(&e, "POST %s", "https://x/"), -1);
	assert_string_equal(e.msg, "POST https://x/: HTTP 403");
}

static void
test_err_set_truncates_visibly(void **state)
{
	struct err	e;
	char		big[ERR_MSG_MAX * 2];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, "%s", big);
	assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
	assert_memory_equal(e.msg + ERR_MSG_MAX - 4, "...", 3);
}

static void
test_quote_strips_controls(void **state)
{
	char	out[64];
	char	in[] = "bad\r\n\x01thing\x7f\there";

	(void)state;
	log_quote(out, sizeof(out), in, sizeof(in) - 1);
	assert_string_equal(out, "bad thing here");
}

static void
test_quote_cuts_at_limit(void **state)
{
	char	in[LOG_QUOTE_MAX * 3], out[LOG_QUOTE_MAX * 2];

	(void)state;
	memset(in, 'x', sizeof(in));
	log_quote(out, sizeof(out), in, sizeof(in));
	assert_int_equal(strlen(out), LOG_QUOTE_MAX);
	assert_string_equal(out + strlen(out) - 3, "...");
	log_quote(out, 8, in, sizeof(in));
	assert_string_equal(out, "xxxx...");
}

static void
test_quote_nul_inside(void **state)
{
	char	out[32];

	(void)state;
	log_quote(out, sizeof(out), "a\0b", 3);
	assert_string_equal(out, "ab");
}

static void
test_redact_registered_secret(void **state)
{
	static const char	secret[] = "s3cr3t-value-xyz";
	char			line[128] = "token s3cr3t-value-xyz was bad";
	char			cut[128];
	char			out[128];

	(void)state;
	assert_int_equal(log_secret_add(secret, strlen(secret)), 0);
	log_redact(line, sizeof(line));
	assert_string_equal(line, "token [REDACTED] was bad");
	/* a secret cut by the end of a quote is still caught */
	snprintf(cut, sizeof(cut), "end s3cr3t-val");
	log_quote(out, sizeof(out), cut, strlen(cut));
	assert_string_equal(out, "end [REDACTED]");
	log_secret_clear();
	snprintf(line, sizeof(line), "s3cr3t-value-xyz");
	log_redact(line, sizeof(line));
	assert_string_equal(line, "s3cr3t-value-xyz");
}

static void
test_redact_token_shapes(void **state)
{
	char	a[128] = "got ya29.a0AfB_byC-xyz.123 here";
	char	b[160] = "jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig_x";
	char	c[64] = "short eyJab stays";
	char	d[64] = "notya29.abc stays";

	(void)state;
	log_redact(a, sizeof(a));
	assert_string_equal(a, "got [REDACTED] here");
	log_redact(b, sizeof(b));
	assert_string_equal(b, "jwt [REDACTED]");
	log_redact(c, sizeof(c));
	assert_string_equal(c, "short eyJab stays");
	log_redact(d, sizeof(d));
	assert_string_equal(d, "notya29.abc stays");
}

/* A secret echoed without its first bytes, or any piece of it of
 * LOG_PIECE_MIN bytes, is redacted too; a shorter piece is not. */
static void
test_redact_secret_pieces(void **state)
{
	static const char	secret[] = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
	char			a[128] = "echo: GhIjKlMnOpQrStUv, end";
	char			b[128] = "tail QrStUvWxYz0123456789";
	char			c[128] = "short IjKlMnOpQr ok";
	char			d[128] = "x=KlMnOpQrStUvWxYz01.";

	(void)state;
	assert_int_equal(log_secret_add(secret, strlen(secret)), 0);
	log_redact(a, sizeof(a));
	assert_string_equal(a, "echo: [REDACTED], end");
	log_redact(b, sizeof(b));
	assert_string_equal(b, "tail [REDACTED]");
	log_redact(c, sizeof(c));
	assert_string_equal(c, "short IjKlMnOpQr ok");
	log_redact(d, sizeof(d));
	assert_string_equal(d, "x=[REDACTED].");
	log_secret_clear();
	snprintf(a, sizeof(a), "echo: GhIjKlMnOpQrStUv, end");
	log_redact(a, sizeof(a));
	assert_string_equal(a, "echo: GhIjKlMnOpQrStUv, end");
}

/* A line cut to fit must not end in a secret's first bytes, even when
 * the bytes after them in the whole line were not the secret's. */
static void
test_redact_cut_tail(void **state)
{
	static const char	secret[] = "AAAAAAAAA";
	char			line[32] = "[AAAAAAAAA] AAAAAAAA zz";

	(void)state;
	assert_int_equal(log_secret_add(secret, strlen(secret)), 0);
	/* whole: "AAAAAAAA zz" is no secret; redacted, the line grows and
	 * is cut to 21 bytes, which would end in 8 of the secret's bytes */
	log_redact(line, 22);
	assert_string_equal(line, "[[REDACTED]] ");
	log_secret_clear();
}

/* A token shape right after '=', '/', '+' or ':' is a token, not part of
 * a word (access_token=ya29... in a server's message). */
static void
test_redact_after_separators(void **state)
{
	char	a[128] = "access_token=ya29.a0AfB_byC-xyz.123&x=1";
	char	b[160] = "url /eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig_x";
	char	c[128] = "a+ya29.a0AfB_byC-xyz b:ya29.c.d-e_f";
	char	d[64] = "wordya29.abc stays";

	(void)state;
	log_redact(a, sizeof(a));
	assert_string_equal(a, "access_token=[REDACTED]&x=1");
	log_redact(b, sizeof(b));
	assert_string_equal(b, "url /[REDACTED]");
	log_redact(c, sizeof(c));
	assert_string_equal(c, "a+[REDACTED] b:[REDACTED]");
	log_redact(d, sizeof(d));
	assert_string_equal(d, "wordya29.abc stays");
}

/* Every line printed: no control byte can start a forged line. */
static void
test_line_has_no_control_bytes(void **state)
{
	char	buf[512];
	FILE	*f = tmpfile();
	int	saved = dup(2);
	long	n;

	(void)state;
	assert_non_null(f);
	assert_true(dup2(fileno(f), 2) >= 0);
	log_init(LOG_TEXT);
	log_info("config", "--namespace %s", "x\nregcred: error kube: forged\r\t");
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = (long)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "regcred: info config: --namespace x regcred: "
	    "error kube: forged  \n");
}

static void
test_short_secrets_not_registered(void **state)
{
	char	line[32] = "abc def";

	(void)state;
	assert_int_equal(log_secret_add("abc", 3), 0);
	log_redact(line, sizeof(line));
	assert_string_equal(line, "abc def");
	log_secret_clear();
}

static void
test_secret_table_is_bounded(void **state)
{
	static const char	s[] = "0123456789abcdef";
	int			i;

	(void)state;
	for (i = 0; i < LOG_SECRETS_MAX; i++)
		assert_int_equal(log_secret_add(s, sizeof(s) - 1), 0);
	assert_int_equal(log_secret_add(s, sizeof(s) - 1), -1);
	log_secret_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_set_and_prefix),
		cmocka_unit_test(test_err_set_truncates_visibly),
		cmocka_unit_test(test_quote_strips_controls),
		cmocka_unit_test(test_quote_cuts_at_limit),
		cmocka_unit_test(test_quote_nul_inside),
		cmocka_unit_test(test_redact_registered_secret),
		cmocka_unit_test(test_redact_token_shapes),
		cmocka_unit_test(test_short_secrets_not_registered),
		cmocka_unit_test(test_redact_secret_pieces),
		cmocka_unit_test(test_redact_after_separators),
		cmocka_unit_test(test_redact_cut_tail),
		cmocka_unit_test(test_line_has_no_control_bytes),
		cmocka_unit_test(test_secret_table_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
