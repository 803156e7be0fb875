/*
 * fuzz_cred.c -- the credential config (cred_parse) and taking the subject
 * token out of what its source yields (cred_subject_token).
 *
 * Input: the config, then optionally a NUL byte and the source's bytes
 * (without one, the config itself is the source's answer).
 * Properties: an accepted config has its required fields, https token and
 * impersonation URLs, a lifetime in 600..43200, a source URL that is
 * https or plain http to a link-local metadata address, at most
 * CRED_HEADERS_MAX headers of which none is one regcred writes itself,
 * every string NUL-terminated in its buffer; a refused one leaves the
 * struct wiped. A token taken is non-empty, without control bytes,
 * NUL-terminated, equal to the trimmed text for the text format; a
 * refusal leaves it empty.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "cred.h"
#include "file.h"
#include "fuzz.h"
#include "http.h"
#include "log.h"

#define TERMINATED(f)	(strnlen((f), sizeof(f)) < sizeof(f))

static struct cred	c;
static const struct cred zero;
static char		tok[TOKEN_MAX];

/* 169.254.169.254 or [fd00:ec2::254], however the v6 one is written. */
static int
metadata_host(const struct url *u)
{
	struct in6_addr	a, m;

	if (!u->ipv6)
		return strcmp(u->host, "169.254.169.254") == 0;
	return inet_pton(AF_INET6, u->host, &a) == 1 &&
	    inet_pton(AF_INET6, "fd00:ec2::254", &m) == 1 &&
	    memcmp(&a, &m, sizeof(a)) == 0;
}

static void
check_cred(void)
{
	static const char *const own[] = { "Host", "Content-Length",
	    "Transfer-Encoding", "Connection" };
	struct url	u;
	struct err	e;
	size_t		i, k;

	FUZZ_CHECK(TERMINATED(c.audience) && c.audience[0] != '\0');
	FUZZ_CHECK(TERMINATED(c.token_url) && url_parse(c.token_url, &u, &e) == 0);
	FUZZ_CHECK(TERMINATED(c.impersonation_url));
	FUZZ_CHECK(c.impersonation_url[0] == '\0' ||
	    url_parse(c.impersonation_url, &u, &e) == 0);
	FUZZ_CHECK(c.lifetime_s >= 600 && c.lifetime_s <= 43200);
	FUZZ_CHECK(TERMINATED(c.subject_token_type) &&
	    TERMINATED(c.field_name) && TERMINATED(c.client_id) &&
	    TERMINATED(c.client_secret) &&
	    TERMINATED(c.workforce_pool_user_project) &&
	    TERMINATED(c.imds_resource));
	FUZZ_CHECK(c.format != CRED_JSON || c.field_name[0] != '\0');
	if (c.kind == CRED_FILE) {
		FUZZ_CHECK(TERMINATED(c.source_file) && c.source_file[0]);
		return;
	}
	FUZZ_CHECK(c.kind == CRED_URL && TERMINATED(c.source_url));
	FUZZ_CHECK(url_parse_any(c.source_url, &u, &e) == 0);
	FUZZ_CHECK(!u.plain || metadata_host(&u));
	FUZZ_CHECK(c.nheaders <= CRED_HEADERS_MAX);
	for (i = 0; i < c.nheaders; i++) {
		FUZZ_CHECK(TERMINATED(c.headers[i].name) &&
		    TERMINATED(c.headers[i].value) && c.headers[i].name[0]);
		FUZZ_CHECK(!fuzz_has_ctl(c.headers[i].value,
		    strlen(c.headers[i].value), 1));
		for (k = 0; k < sizeof(own) / sizeof(own[0]); k++)
			FUZZ_CHECK(strcasecmp(c.headers[i].name, own[k]) != 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data, *nul, *src;
	struct err	 e;
	size_t		 len = size, slen, toklen = 1;

	if (size > FILE_MAX)
		return 0;
	src = buf;
	slen = size;
	if ((nul = memchr(buf, '\0', size)) != NULL) {
		len = (size_t)(nul - buf);
		src = nul + 1;
		slen = size - len - 1;
	}
	if (cred_parse(&c, buf, len, &e) != 0) {
		FUZZ_CHECK(memcmp(&c, &zero, sizeof(c)) == 0);
		return 0;
	}
	check_cred();
	if (cred_subject_token(&c, "fuzz", src, slen, tok, sizeof(tok),
	    &toklen, &e) != 0) {
		FUZZ_CHECK(toklen == 0 && tok[0] == '\0');
		return 0;
	}
	FUZZ_CHECK(toklen > 0 && toklen < sizeof(tok) && tok[toklen] == '\0');
	FUZZ_CHECK(strlen(tok) == toklen && !fuzz_has_ctl(tok, toklen, 0));
	if (c.format == CRED_TEXT)
		FUZZ_CHECK(toklen == file_rtrim(src, slen) &&
		    memcmp(tok, src, toklen) == 0);
	return 0;
}
