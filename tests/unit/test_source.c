/* source.c: which source the subject token comes from, and its files. */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "cred.h"
#include "log.h"
#include "source.h"

static char	test_dir[64];

static void
cred_imds(struct cred *c, const char *resource)
{
	memset(c, 0, sizeof(*c));
	c->kind = CRED_URL;
	snprintf(c->source_url, sizeof(c->source_url), "http://169.254.169.254"
	    "/metadata/identity/oauth2/token?resource=%s", resource);
	snprintf(c->imds_resource, sizeof(c->imds_resource), "%s", resource);
}

static void
azure_set(struct azure *az, const char *client, const char *tenant,
    const char *file)
{
	memset(az, 0, sizeof(*az));
	snprintf(az->client_id, sizeof(az->client_id), "%s", client);
	snprintf(az->tenant_id, sizeof(az->tenant_id), "%s", tenant);
	snprintf(az->token_file, sizeof(az->token_file), "%s", file);
}

static void
test_plan(void **state)
{
	struct source	s;
	struct cred	c;
	struct azure	az;
	struct err	e;
	int		ignored;

	(void)state;
	cred_imds(&c, "api://x");
	azure_set(&az, "", "", "");
	assert_int_equal(source_plan(&s, &c, &az, NULL, &ignored, &e), 0);
	assert_int_equal(s.kind, SOURCE_URL);		/* a VM: IMDS itself */
	assert_int_equal(ignored, 0);
	assert_string_equal(source_step(&s), "subject-token");
	azure_set(&az, "c", "t", "/f");
	assert_int_equal(source_plan(&s, &c, &az, NULL, &ignored, &e), 0);
	assert_int_equal(s.kind, SOURCE_ENTRA);
	assert_string_equal(source_step(&s), "entra");
	azure_set(&az, "c", "", "");
	assert_int_equal(source_plan(&s, &c, &az, NULL, &ignored, &e), -1);
	assert_non_null(strstr(e.msg, "--azure-tenant-id (AZURE_TENANT_ID) "
	    "--azure-token-file (AZURE_FEDERATED_TOKEN_FILE)"));
	assert_null(strstr(e.msg, "--azure-client-id"));
	azure_set(&az, "", "t", "/f");
	assert_int_equal(source_plan(&s, &c, &az, NULL, &ignored, &e), -1);
	assert_non_null(strstr(e.msg, "needs: --azure-client-id "
	    "(AZURE_CLIENT_ID)"));
	/* a file source, or a URL that is not IMDS: settings unused */
	cred_imds(&c, "");
	azure_set(&az, "c", "", "");
	assert_int_equal(source_plan(&s, &c, &az, NULL, &ignored, &e), 0);
	assert_int_equal(s.kind, SOURCE_URL);
	assert_int_equal(ignored, 1);
	c.kind = CRED_FILE;
	assert_int_equal(source_plan(&s, &c, &az, NULL, &ignored, &e), 0);
	assert_int_equal(s.kind, SOURCE_FILE);
	assert_int_equal(ignored, 1);
}

static void
write_file(const char *name, const char *data, char *path, size_t cap)
{
	int	fd;

	snprintf(path, cap, "%s/%s", test_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

/* The Entra assertion is read in the local phase, trimmed, checked. */
static void
test_read_assertion(void **state)
{
	static char	scratch[FILE_MAX], tok[TOKEN_MAX];
	struct source	s;
	struct cred	c;
	struct azure	az;
	struct err	e;
	char		path[128];
	size_t		len;
	int		ignored;

	(void)state;
	snprintf(test_dir, sizeof(test_dir), "/tmp/regcred-test-src.XXXXXX");
	assert_non_null(mkdtemp(test_dir));
	write_file("tok", "eyJh.eyJz.c2ln\n", path, sizeof(path));
	cred_imds(&c, "api://x");
	azure_set(&az, "c", "t", path);
	assert_int_equal(source_plan(&s, &c, &az, NULL, &ignored, &e), 0);
	assert_int_equal(source_read(&s, scratch, sizeof(scratch), tok,
	    sizeof(tok), &len, &e), 0);
	assert_string_equal(s.assertion, "eyJh.eyJz.c2ln");
	assert_int_equal(s.alen, 14);
	assert_int_equal(len, 0);		/* the token comes later */
	source_wipe(&s);
	assert_int_equal(s.assertion[0], '\0');
	log_secret_clear();
	write_file("sp", "eyJh eyJz\n", path, sizeof(path));
	snprintf(az.token_file, sizeof(az.token_file), "%s", path);
	assert_int_equal(source_read(&s, scratch, sizeof(scratch), tok,
	    sizeof(tok), &len, &e), -1);
	assert_non_null(strstr(e.msg, "holds a space"));
	write_file("empty", " \n", path, sizeof(path));
	snprintf(az.token_file, sizeof(az.token_file), "%s", path);
	assert_int_equal(source_read(&s, scratch, sizeof(scratch), tok,
	    sizeof(tok), &len, &e), -1);
	assert_non_null(strstr(e.msg, "is empty"));
	snprintf(az.token_file, sizeof(az.token_file), "%s/absent", test_dir);
	assert_int_equal(source_read(&s, scratch, sizeof(scratch), tok,
	    sizeof(tok), &len, &e), -1);
	assert_non_null(strstr(e.msg, "Azure token file"));
	unlink(strcat(strcpy(path, test_dir), "/tok"));
	unlink(strcat(strcpy(path, test_dir), "/sp"));
	unlink(strcat(strcpy(path, test_dir), "/empty"));
	rmdir(test_dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_read_assertion),
	};

	return cmocka_run_group_tests_name("source", tests, NULL, NULL);
}
