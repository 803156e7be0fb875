/*
 * test_config.c -- config.c: the command line and REGCRED_* variables,
 * the external_account credential config, reading local files and taking
 * the subject token out of a token file.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
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
#include "file.h"

#define ARGS_MAX	64

static const char *const test_envs[] = {
	"REGCRED_CREDENTIAL_CONFIG", "REGCRED_REGISTRY", "REGCRED_SECRET",
	"REGCRED_NAMESPACE", "REGCRED_KUBE_SA_DIR", "REGCRED_KUBE_API",
	"REGCRED_KUBE_SERVER_NAME", "REGCRED_CA_FILE",
	"REGCRED_NO_EMBEDDED_ROOTS", "REGCRED_TIMEOUT", "REGCRED_LOG_FORMAT",
	"GOOGLE_APPLICATION_CREDENTIALS", "REGCRED_AZURE_CLIENT_ID",
	"REGCRED_AZURE_TENANT_ID", "REGCRED_AZURE_TOKEN_FILE",
	"REGCRED_AZURE_AUTHORITY_HOST", "AZURE_CLIENT_ID", "AZURE_TENANT_ID",
	"AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
	"REGCRED_STATUS_FILE", "REGCRED_METRICS_ADDR", "REGCRED_MAX_AGE",
};

static char	test_dir[64];

static int
env_clear(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(test_envs) / sizeof(test_envs[0]); i++)
		unsetenv(test_envs[i]);
	return 0;
}

/* argv is "regcred" plus the NULL-terminated list. */
static int
parse(struct config *c, struct err *e, ...)
{
	char	*argv[ARGS_MAX];
	int	 argc = 0;
	va_list	 ap;

	argv[argc++] = (char *)"regcred";
	va_start(ap, e);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	memset(e, 0, sizeof(*e));
	return config_parse(c, argc, argv, e);
}

static void
assert_fails(int rc, const struct err *e, const char *want)
{
	assert_int_equal(rc, -1);
	if (strstr(e->msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e->msg, want);
}

/* ---- command line ---------------------------------------------------- */

static void
test_flags_all(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	assert_int_equal(parse(&c, &e, "refresh", "--credential-config",
	    "/etc/gcp/cc.json", "--registry", "europe-docker.pkg.dev",
	    "--registry", "10.1.2.3:5000", "--secret", "ar-pull",
	    "--namespace", "bifrost", "--kube-sa-dir", "/sa", "--kube-api",
	    "https://10.0.0.1:443", "--kube-server-name", "api.example",
	    "--ca-file", "/ca.pem", "--no-embedded-roots", "--timeout", "30",
	    "--log-format", "json", NULL), 0);
	assert_int_equal(c.cmd, CMD_REFRESH);
	assert_string_equal(c.credential_config, "/etc/gcp/cc.json");
	assert_int_equal(c.nregistry, 2);
	assert_string_equal(c.registry[0], "europe-docker.pkg.dev");
	assert_string_equal(c.registry[1], "10.1.2.3:5000");
	assert_string_equal(c.secret, "ar-pull");
	assert_string_equal(c.namespace, "bifrost");
	assert_string_equal(c.kube_sa_dir, "/sa");
	assert_string_equal(c.kube_api, "https://10.0.0.1:443");
	assert_string_equal(c.kube_server_name, "api.example");
	assert_string_equal(c.ca_file, "/ca.pem");
	assert_int_equal(c.no_embedded_roots, 1);
	assert_int_equal(c.timeout_s, 30);
	assert_int_equal(c.log_format, LOG_JSON);
}

static void
test_flags_equals(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	assert_int_equal(parse(&c, &e, "token", "--credential-config=/a=b",
	    "--registry=[::1]:5000", "--secret=s.1", "--timeout=3600",
	    "--log-format=text", "--namespace=n-1", NULL), 0);
	assert_int_equal(c.cmd, CMD_TOKEN);
	assert_string_equal(c.credential_config, "/a=b");
	assert_string_equal(c.registry[0], "[::1]:5000");
	assert_string_equal(c.secret, "s.1");
	assert_string_equal(c.namespace, "n-1");
	assert_int_equal(c.timeout_s, 3600);
	assert_int_equal(c.log_format, LOG_TEXT);
}

static void
test_defaults(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	assert_int_equal(parse(&c, &e, "token", "--credential-config", "/c",
	    NULL), 0);
	assert_string_equal(c.kube_sa_dir,
	    "/var/run/secrets/kubernetes.io/serviceaccount");
	assert_int_equal(c.timeout_s, 60);
	assert_int_equal(c.log_format, LOG_TEXT);
	assert_int_equal(c.nregistry, 0);
	assert_int_equal(c.no_embedded_roots, 0);
	assert_string_equal(c.namespace, "");
	assert_string_equal(c.kube_api, "");
	assert_string_equal(c.kube_server_name, "");
	assert_string_equal(c.ca_file, "");
}

static void
test_env_only(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	setenv("REGCRED_CREDENTIAL_CONFIG", "/env/cc.json", 1);
	setenv("REGCRED_REGISTRY", "a.pkg.dev, b.pkg.dev:443,c", 1);
	setenv("REGCRED_SECRET", "env-secret", 1);
	setenv("REGCRED_NAMESPACE", "envns", 1);
	setenv("REGCRED_KUBE_SA_DIR", "/env/sa", 1);
	setenv("REGCRED_KUBE_API", "https://k:6443", 1);
	setenv("REGCRED_KUBE_SERVER_NAME", "k.svc", 1);
	setenv("REGCRED_CA_FILE", "/env/ca", 1);
	setenv("REGCRED_NO_EMBEDDED_ROOTS", "true", 1);
	setenv("REGCRED_TIMEOUT", "5", 1);
	setenv("REGCRED_LOG_FORMAT", "json", 1);
	assert_int_equal(parse(&c, &e, "refresh", NULL), 0);
	assert_string_equal(c.credential_config, "/env/cc.json");
	assert_int_equal(c.nregistry, 3);
	assert_string_equal(c.registry[0], "a.pkg.dev");
	assert_string_equal(c.registry[1], "b.pkg.dev:443");
	assert_string_equal(c.registry[2], "c");
	assert_string_equal(c.secret, "env-secret");
	assert_string_equal(c.namespace, "envns");
	assert_string_equal(c.kube_sa_dir, "/env/sa");
	assert_string_equal(c.kube_api, "https://k:6443");
	assert_string_equal(c.kube_server_name, "k.svc");
	assert_string_equal(c.ca_file, "/env/ca");
	assert_int_equal(c.no_embedded_roots, 1);
	assert_int_equal(c.timeout_s, 5);
	assert_int_equal(c.log_format, LOG_JSON);
}

static void
test_flag_beats_env(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	setenv("REGCRED_CREDENTIAL_CONFIG", "/env/cc.json", 1);
	setenv("REGCRED_REGISTRY", "a.pkg.dev,b.pkg.dev", 1);
	setenv("REGCRED_SECRET", "env-secret", 1);
	setenv("REGCRED_TIMEOUT", "bogus", 1);
	setenv("REGCRED_LOG_FORMAT", "json", 1);
	assert_int_equal(parse(&c, &e, "refresh", "--registry", "c.pkg.dev",
	    "--secret", "flag-secret", "--timeout", "7", "--log-format=text",
	    "--credential-config", "/flag", NULL), 0);
	assert_int_equal(c.nregistry, 1);
	assert_string_equal(c.registry[0], "c.pkg.dev");
	assert_string_equal(c.secret, "flag-secret");
	assert_int_equal(c.timeout_s, 7);
	assert_int_equal(c.log_format, LOG_TEXT);
	assert_string_equal(c.credential_config, "/flag");
	/* without the flag, the bad variable is an error naming it */
	assert_fails(parse(&c, &e, "token", NULL), &e, "REGCRED_TIMEOUT");
}

static void
test_credential_fallback(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	assert_fails(parse(&c, &e, "token", NULL), &e,
	    "GOOGLE_APPLICATION_CREDENTIALS");
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/gac", 1);
	assert_int_equal(parse(&c, &e, "token", NULL), 0);
	assert_string_equal(c.credential_config, "/gac");
	setenv("REGCRED_CREDENTIAL_CONFIG", "/rcc", 1);
	assert_int_equal(parse(&c, &e, "token", NULL), 0);
	assert_string_equal(c.credential_config, "/rcc");
	assert_int_equal(parse(&c, &e, "token", "--credential-config", "/f",
	    NULL), 0);
	assert_string_equal(c.credential_config, "/f");
	/* empty variables count as unset */
	setenv("REGCRED_CREDENTIAL_CONFIG", "", 1);
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "", 1);
	assert_fails(parse(&c, &e, "token", NULL), &e, "no credential config");
}

static void
test_refresh_needs(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/gac", 1);
	assert_fails(parse(&c, &e, "refresh", "--registry", "r", NULL), &e,
	    "--secret");
	assert_fails(parse(&c, &e, "refresh", "--secret", "s", NULL), &e,
	    "--registry");
	assert_int_equal(parse(&c, &e, "refresh", "--secret", "s",
	    "--registry", "r", NULL), 0);
	assert_int_equal(parse(&c, &e, "token", NULL), 0);
}

static void
test_registry_limit(void **state)
{
	char		 regs[REGISTRY_MAX + 1][32], list[1024];
	char		*argv[ARGS_MAX];
	struct config	 c;
	struct err	 e;
	int		 i, argc = 0;

	(void)state;
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/gac", 1);
	argv[argc++] = (char *)"regcred";
	argv[argc++] = (char *)"token";
	list[0] = '\0';
	for (i = 0; i <= REGISTRY_MAX; i++) {
		snprintf(regs[i], sizeof(regs[i]), "r%d.example", i);
		argv[argc++] = (char *)"--registry";
		argv[argc++] = regs[i];
		if (i < REGISTRY_MAX && i > 0)
			strncat(list, ",", sizeof(list) - strlen(list) - 1);
		if (i < REGISTRY_MAX)
			strncat(list, regs[i], sizeof(list) - strlen(list) - 1);
	}
	assert_int_equal(config_parse(&c, argc - 2, argv, &e), 0);
	assert_int_equal(c.nregistry, REGISTRY_MAX);
	assert_string_equal(c.registry[REGISTRY_MAX - 1],
	    regs[REGISTRY_MAX - 1]);
	assert_fails(config_parse(&c, argc, argv, &e), &e, "REGISTRY_MAX");
	setenv("REGCRED_REGISTRY", list, 1);
	assert_int_equal(parse(&c, &e, "token", NULL), 0);
	assert_int_equal(c.nregistry, REGISTRY_MAX);
	strncat(list, ",one.more", sizeof(list) - strlen(list) - 1);
	setenv("REGCRED_REGISTRY", list, 1);
	assert_fails(parse(&c, &e, "token", NULL), &e, "REGISTRY_MAX");
}

static void
test_registry_values(void **state)
{
	static const char *const good[] = {
		"europe-west1-docker.pkg.dev", "gcr.io", "10.0.0.1",
		"10.0.0.1:5000", "localhost:1", "[::1]", "[2001:db8::1]:443",
		"Registry.Example.COM", "a",
	};
	static const char *const bad[] = {
		"https://gcr.io", "gcr.io/path", "gc r.io", " gcr.io",
		"gcr.io:", "gcr.io:0", "gcr.io:65536", "gcr.io:123456",
		"gcr.io:80a", "-gcr.io", "gcr-.io", "gcr..io", ".gcr.io",
		"gcr.io.", "[::1", "[zz::1]", "[1]", "[::1]x", "[12ab]",
		"[1.2.3.4]", "gcr_io",
		"a,b", "gcr.io:443:1",
	};
	struct config	c;
	struct err	e;
	size_t		i;

	(void)state;
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/gac", 1);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (parse(&c, &e, "token", "--registry", good[i], NULL) != 0)
			fail_msg("%s refused: %s", good[i], e.msg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_fails(parse(&c, &e, "token", "--registry", bad[i],
		    NULL), &e, "--registry");
	/* repeats pass; the Secret de-duplicates them (dockercfg) */
	assert_int_equal(parse(&c, &e, "token", "--registry", "a.io",
	    "--registry", "a.io", NULL), 0);
	assert_int_equal(c.nregistry, 2);
	setenv("REGCRED_REGISTRY", "a.io,,b.io", 1);
	assert_fails(parse(&c, &e, "token", NULL), &e, "REGCRED_REGISTRY");
	setenv("REGCRED_REGISTRY", "a.io,", 1);
	assert_fails(parse(&c, &e, "token", NULL), &e, "empty registry");
	setenv("REGCRED_REGISTRY", "a.io/x", 1);
	assert_fails(parse(&c, &e, "token", NULL), &e, "REGCRED_REGISTRY");
}

static void
test_registry_too_long(void **state)
{
	char		host[HOST_MAX + 8];
	struct config	c;
	struct err	e;
	size_t		i;

	(void)state;
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/gac", 1);
	/* labels of 49 characters, 255 bytes in all: fits */
	for (i = 0; i < HOST_MAX - 1; i++)
		host[i] = i % 50 == 49 ? '.' : 'a';
	host[HOST_MAX - 1] = '\0';
	assert_int_equal(parse(&c, &e, "token", "--registry", host, NULL), 0);
	host[HOST_MAX - 1] = 'a';
	host[HOST_MAX] = '\0';
	assert_fails(parse(&c, &e, "token", "--registry", host, NULL), &e,
	    "HOST_MAX");
}

static void
test_names(void **state)
{
	static const char *const bad_secret[] = {
		"Upper", "-a", "a-", "a_b", "a..b", ".a", "a.", "a b", "a/b",
		"a-.b",
	};
	static const char *const bad_ns[] = {
		"a.b", "Upper", "-a", "a-", "a_b",
	};
	char		long_name[NAME_MAX_REGCRED + 2];
	struct config	c;
	struct err	e;
	size_t		i;

	(void)state;
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/gac", 1);
	assert_int_equal(parse(&c, &e, "token", "--secret", "a.b-c.0",
	    "--namespace", "kube-system", NULL), 0);
	for (i = 0; i < sizeof(bad_secret) / sizeof(bad_secret[0]); i++)
		assert_fails(parse(&c, &e, "token", "--secret", bad_secret[i],
		    NULL), &e, "not a valid Secret name");
	for (i = 0; i < sizeof(bad_ns) / sizeof(bad_ns[0]); i++)
		assert_fails(parse(&c, &e, "token", "--namespace", bad_ns[i],
		    NULL), &e, "not a valid namespace");
	memset(long_name, 'a', sizeof(long_name));
	long_name[63] = '\0';
	assert_int_equal(parse(&c, &e, "token", "--namespace", long_name,
	    NULL), 0);
	long_name[63] = 'a';
	long_name[64] = '\0';
	assert_fails(parse(&c, &e, "token", "--namespace", long_name, NULL),
	    &e, "at most 63");
	long_name[64] = 'a';
	long_name[NAME_MAX_REGCRED] = '\0';
	assert_int_equal(parse(&c, &e, "token", "--secret", long_name, NULL),
	    0);
	long_name[NAME_MAX_REGCRED] = 'a';
	long_name[NAME_MAX_REGCRED + 1] = '\0';
	assert_fails(parse(&c, &e, "token", "--secret", long_name, NULL), &e,
	    "NAME_MAX_REGCRED");
	setenv("REGCRED_NAMESPACE", "Bad", 1);
	assert_fails(parse(&c, &e, "token", NULL), &e, "REGCRED_NAMESPACE");
}

static void
test_timeout(void **state)
{
	static const char *const bad[] = {
		"0", "3601", "abc", "-5", "+5", "10s", " 10", "99999999999",
		"1.5",
	};
	struct config	c;
	struct err	e;
	size_t		i;

	(void)state;
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/gac", 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_fails(parse(&c, &e, "token", "--timeout", bad[i], NULL),
		    &e, "--timeout must be");
	assert_int_equal(parse(&c, &e, "token", "--timeout", "1", NULL), 0);
	assert_int_equal(c.timeout_s, 1);
	assert_int_equal(parse(&c, &e, "token", "--timeout", "3600", NULL), 0);
	assert_int_equal(c.timeout_s, 3600);
}

static void
test_bad_usage(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/gac", 1);
	assert_fails(parse(&c, &e, "token", "--bogus", NULL), &e,
	    "unknown option \"--bogus\"");
	assert_fails(parse(&c, &e, "token", "--bogus=1", NULL), &e,
	    "unknown option \"--bogus\"");
	assert_fails(parse(&c, &e, "token", "--secret", NULL), &e,
	    "--secret needs a value");
	assert_fails(parse(&c, &e, "token", "--secret", "--namespace", "x",
	    NULL), &e, "--secret needs a value");
	assert_fails(parse(&c, &e, "token", "--secret=", NULL), &e,
	    "--secret needs a value");
	assert_fails(parse(&c, &e, "token", "--secret", "a", "--secret", "b",
	    NULL), &e, "--secret given more than once");
	assert_fails(parse(&c, &e, "token", "--timeout", "5", "--timeout=6",
	    NULL), &e, "--timeout given more than once");
	assert_fails(parse(&c, &e, "token", "stray", NULL), &e,
	    "unexpected argument \"stray\"");
	assert_fails(parse(&c, &e, "token", "-x", NULL), &e,
	    "unexpected argument");
	assert_fails(parse(&c, &e, "token", "--no-embedded-roots=1",
	    "--ca-file", "/c", NULL), &e, "takes no value");
	assert_fails(parse(&c, &e, "token", "--log-format", "xml", NULL), &e,
	    "--log-format must be json or text");
	assert_fails(parse(&c, &e, NULL), &e, "no command");
	assert_fails(parse(&c, &e, "frobnicate", NULL), &e,
	    "unknown command \"frobnicate\"");
	assert_fails(parse(&c, &e, "--secret", "x", NULL), &e,
	    "unknown command");
}

static void
test_help_version(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	/* help and version ignore broken variables */
	setenv("REGCRED_TIMEOUT", "bogus", 1);
	assert_int_equal(parse(&c, &e, "--help", NULL), 0);
	assert_int_equal(c.cmd, CMD_HELP);
	assert_int_equal(parse(&c, &e, "-h", NULL), 0);
	assert_int_equal(c.cmd, CMD_HELP);
	assert_int_equal(parse(&c, &e, "help", NULL), 0);
	assert_int_equal(c.cmd, CMD_HELP);
	assert_int_equal(parse(&c, &e, "refresh", "--bogus", "--help", NULL),
	    0);
	assert_int_equal(c.cmd, CMD_HELP);
	assert_int_equal(parse(&c, &e, "token", "-h", NULL), 0);
	assert_int_equal(c.cmd, CMD_HELP);
	assert_int_equal(parse(&c, &e, "version", NULL), 0);
	assert_int_equal(c.cmd, CMD_VERSION);
	assert_fails(parse(&c, &e, "version", "--timeout", "5", NULL), &e,
	    "version takes no options");
	assert_fails(parse(&c, &e, "version", "--help", NULL), &e,
	    "version takes no options");
	assert_fails(parse(&c, &e, "--help", "refresh", NULL), &e,
	    "takes no options");
	assert_fails(parse(&c, &e, "help", "x", NULL), &e, "takes no options");
}

static void
test_no_embedded_roots(void **state)
{
	static const char *const yes[] = { "1", "true" };
	static const char *const no[] = { "0", "false" };
	static const char *const bad[] = { "yes", "TRUE", "2", "on" };
	struct config	c;
	struct err	e;
	size_t		i;

	(void)state;
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/gac", 1);
	assert_fails(parse(&c, &e, "token", "--no-embedded-roots", NULL), &e,
	    "--ca-file");
	setenv("REGCRED_CA_FILE", "/ca", 1);
	for (i = 0; i < 2; i++) {
		setenv("REGCRED_NO_EMBEDDED_ROOTS", yes[i], 1);
		assert_int_equal(parse(&c, &e, "token", NULL), 0);
		assert_int_equal(c.no_embedded_roots, 1);
		setenv("REGCRED_NO_EMBEDDED_ROOTS", no[i], 1);
		assert_int_equal(parse(&c, &e, "token", NULL), 0);
		assert_int_equal(c.no_embedded_roots, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("REGCRED_NO_EMBEDDED_ROOTS", bad[i], 1);
		assert_fails(parse(&c, &e, "token", NULL), &e,
		    "REGCRED_NO_EMBEDDED_ROOTS");
	}
	/* the flag wins over a false variable */
	setenv("REGCRED_NO_EMBEDDED_ROOTS", "0", 1);
	assert_int_equal(parse(&c, &e, "token", "--no-embedded-roots", NULL),
	    0);
	assert_int_equal(c.no_embedded_roots, 1);
}

static void
test_value_limits(void **state)
{
	char		path[PATH_MAX_REGCRED + 1], url[URL_MAX + 1];
	struct config	c;
	struct err	e;

	(void)state;
	memset(path, 'p', sizeof(path));
	path[PATH_MAX_REGCRED - 1] = '\0';
	assert_int_equal(parse(&c, &e, "token", "--credential-config", path,
	    NULL), 0);
	path[PATH_MAX_REGCRED - 1] = 'p';
	path[PATH_MAX_REGCRED] = '\0';
	assert_fails(parse(&c, &e, "token", "--credential-config", path,
	    NULL), &e, "--credential-config is too long (limit "
	    "PATH_MAX_REGCRED");
	setenv("REGCRED_CA_FILE", path, 1);
	assert_fails(parse(&c, &e, "token", "--credential-config", "/c",
	    NULL), &e, "REGCRED_CA_FILE is too long");
	unsetenv("REGCRED_CA_FILE");
	memset(url, 'u', sizeof(url));
	url[URL_MAX] = '\0';
	assert_fails(parse(&c, &e, "token", "--credential-config", "/c",
	    "--kube-api", url, NULL), &e, "URL_MAX");
}

/* Every option in the help text is accepted, as a flag and a variable. */
static void
usage_option(const char *flag, const char *val)
{
	const char	*cc = strcmp(flag, "--credential-config") == 0 ? NULL :
	    "--credential-config=/x";
	char		 arg[128], env[64];
	struct config	 c, d;
	struct err	 e;
	size_t		 i;

	snprintf(arg, sizeof(arg), "\n  %s ", flag);
	if (strstr(config_usage, arg) == NULL)
		fail_msg("%s not in the help text", flag);
	snprintf(arg, sizeof(arg), "%s=%s", flag, val);
	if (parse(&c, &e, "token", arg, cc, NULL) != 0)
		fail_msg("%s refused: %s", arg, e.msg);
	snprintf(env, sizeof(env), "REGCRED_%s", flag + 2);
	for (i = 0; env[i] != '\0'; i++)
		env[i] = env[i] == '-' ? '_' : (char)toupper(
		    (unsigned char)env[i]);
	setenv(env, val, 1);
	if (parse(&d, &e, "token", cc, NULL) != 0)
		fail_msg("%s=%s refused: %s", env, val, e.msg);
	unsetenv(env);
	if (memcmp(&c, &d, sizeof(c)) != 0)
		fail_msg("%s and %s differ", flag, env);
}

static void
test_usage(void **state)
{
	static const char *const opts[][2] = {
		{ "--credential-config", "/c" }, { "--registry", "r.io" },
		{ "--secret", "s" }, { "--namespace", "ns" },
		{ "--kube-sa-dir", "/d" }, { "--kube-api", "https://k" },
		{ "--kube-server-name", "k" }, { "--ca-file", "/ca" },
		{ "--timeout", "9" }, { "--log-format", "json" },
		{ "--azure-client-id", "00000000-aaaa-bbbb-cccc-000000000001" },
		{ "--azure-tenant-id", "contoso.onmicrosoft.com" },
		{ "--azure-token-file", "/t" },
		{ "--azure-authority-host", "https://login.microsoftonline.us/" },
		{ "--status-file", "/run/status.json" }, { "--max-age", "60" },
		{ "--metrics-addr", "[::]:9090" },
	};
	size_t	i;

	(void)state;
	assert_non_null(strstr(config_usage, "Exit codes: 0 ok, 2 usage/config,"
	    " 3 identity (token file, URL source,\nEntra ID, STS, IAM), 4 "
	    "Kubernetes\n"));
	assert_non_null(strstr(config_usage, "REGCRED_<NAME>"));
	assert_non_null(strstr(config_usage, "\n  --no-embedded-roots  "));
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		usage_option(opts[i][0], opts[i][1]);
}

/* flag > REGCRED_AZURE_* > the webhook's AZURE_* variable. */
static void
test_azure_precedence(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	setenv("AZURE_CLIENT_ID", "std-client", 1);
	setenv("AZURE_TENANT_ID", "std-tenant", 1);
	setenv("AZURE_FEDERATED_TOKEN_FILE", "/std/token", 1);
	setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/", 1);
	assert_int_equal(parse(&c, &e, "token", "--credential-config=/c",
	    NULL), 0);
	assert_string_equal(c.az.client_id, "std-client");
	assert_string_equal(c.az.tenant_id, "std-tenant");
	assert_string_equal(c.az.token_file, "/std/token");
	assert_string_equal(c.az.authority, "https://login.microsoftonline.com");
	setenv("REGCRED_AZURE_CLIENT_ID", "rc-client", 1);
	setenv("REGCRED_AZURE_TOKEN_FILE", "/rc/token", 1);
	assert_int_equal(parse(&c, &e, "token", "--credential-config=/c",
	    "--azure-token-file", "/flag/token", NULL), 0);
	assert_string_equal(c.az.client_id, "rc-client");
	assert_string_equal(c.az.tenant_id, "std-tenant");
	assert_string_equal(c.az.token_file, "/flag/token");
	/* an empty variable counts as unset: the next one applies */
	setenv("REGCRED_AZURE_CLIENT_ID", "", 1);
	assert_int_equal(parse(&c, &e, "token", "--credential-config=/c",
	    NULL), 0);
	assert_string_equal(c.az.client_id, "std-client");
	/* a bad standard variable is named as such */
	setenv("AZURE_TENANT_ID", "a/b", 1);
	assert_fails(parse(&c, &e, "token", "--credential-config=/c", NULL),
	    &e, "AZURE_TENANT_ID: \"a/b\" is not a valid Azure tenant ID");
}

/* --kube-api: a whole https URL, no path (it would be dropped). */
static void
test_kube_api(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	assert_int_equal(parse(&c, &e, "refresh", "--credential-config=/c",
	    "--registry=r", "--secret=s", "--kube-api=https://10.0.0.1:6443",
	    NULL), 0);
	assert_int_equal(parse(&c, &e, "refresh", "--credential-config=/c",
	    "--registry=r", "--secret=s", "--kube-api=https://k/", NULL), 0);
	assert_fails(parse(&c, &e, "refresh", "--credential-config=/c",
	    "--registry=r", "--secret=s", "--kube-api=https://rancher/k8s/"
	    "clusters/c-1", NULL), &e, "a path or query");
	assert_fails(parse(&c, &e, "refresh", "--credential-config=/c",
	    "--registry=r", "--secret=s", "--kube-api=https://k:0", NULL), &e,
	    "--kube-api: URL port 0");
	assert_fails(parse(&c, &e, "refresh", "--credential-config=/c",
	    "--registry=r", "--secret=s", "--kube-api=http://k", NULL), &e,
	    "not https");
	setenv("REGCRED_KUBE_API", "https://k./", 1);
	assert_fails(parse(&c, &e, "refresh", "--credential-config=/c",
	    "--registry=r", "--secret=s", NULL), &e, "REGCRED_KUBE_API");
}

static void
test_azure_authority(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;	/* NULL: refused */
	} cases[] = {
		{ "https://login.microsoftonline.com/",
		    "https://login.microsoftonline.com" },
		{ " login.chinacloudapi.cn// ", "https://login.chinacloudapi.cn" },
		{ "HTTPS://127.0.0.1:8443/x/", "HTTPS://127.0.0.1:8443/x" },
		{ "http://login.microsoftonline.com", NULL },
		{ "https://", NULL },
		{ "https://a b", NULL },
		{ "https://a/?q", NULL },
	};
	struct config	c;
	struct err	e;
	char		arg[128];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(arg, sizeof(arg), "--azure-authority-host=%s",
		    cases[i].in);
		if (cases[i].out == NULL) {
			assert_fails(parse(&c, &e, "token",
			    "--credential-config=/c", arg, NULL), &e,
			    "--azure-authority-host");
			continue;
		}
		if (parse(&c, &e, "token", "--credential-config=/c", arg,
		    NULL) != 0)
			fail_msg("%s refused: %s", cases[i].in, e.msg);
		assert_string_equal(c.az.authority, cases[i].out);
	}
	assert_fails(parse(&c, &e, "token", "--credential-config=/c",
	    "--azure-client-id", "x y", NULL), &e, "not a valid Azure client "
	    "ID");
}

/* regcred status: --status-file only, no credential config. */
static void
test_status_command(void **state)
{
	struct config	c;
	struct err	e;

	(void)state;
	assert_int_equal(parse(&c, &e, "status", "--status-file", "/s.json",
	    NULL), 0);
	assert_int_equal(c.cmd, CMD_STATUS);
	assert_string_equal(c.status_file, "/s.json");
	assert_int_equal(c.max_age_s, STATUS_MAX_AGE_S);
	assert_int_equal(parse(&c, &e, "status", "--status-file=/s",
	    "--max-age", "7200", NULL), 0);
	assert_int_equal(c.max_age_s, 7200);
	setenv("REGCRED_STATUS_FILE", "/env.json", 1);
	setenv("REGCRED_MAX_AGE", "604800", 1);
	assert_int_equal(parse(&c, &e, "status", NULL), 0);
	assert_string_equal(c.status_file, "/env.json");
	assert_int_equal(c.max_age_s, STATUS_MAX_AGE_MAX_S);
	/*
	 * The probe runs in the refresher's container, with its environment:
	 * a setting only refresh and run use (here, no embedded roots and no
	 * --ca-file) must not make status fail. run itself refuses it.
	 */
	setenv("REGCRED_NO_EMBEDDED_ROOTS", "1", 1);
	assert_int_equal(parse(&c, &e, "status", NULL), 0);
	assert_fails(parse(&c, &e, "run", "--credential-config", "/c",
	    "--secret", "s", "--registry", "r", NULL), &e, "--ca-file");
	unsetenv("REGCRED_NO_EMBEDDED_ROOTS");
	unsetenv("REGCRED_STATUS_FILE");
	unsetenv("REGCRED_MAX_AGE");
	assert_fails(parse(&c, &e, "status", NULL), &e, "--status-file");
	assert_fails(parse(&c, &e, "status", "--status-file", "/s",
	    "--max-age", "0", NULL), &e, "--max-age");
	assert_fails(parse(&c, &e, "status", "--status-file", "/s",
	    "--max-age", "604801", NULL), &e, "1 to 604800");
	assert_fails(parse(&c, &e, "status", "--status-file", "/s",
	    "--max-age", "1h", NULL), &e, "--max-age");
	assert_fails(parse(&c, &e, "status", "--status-file", "/s", "x",
	    NULL), &e, "unexpected argument");
	assert_int_equal(parse(&c, &e, "status", "--help", NULL), 0);
	assert_int_equal(c.cmd, CMD_HELP);
}

static void
test_metrics_addr(void **state)
{
	static const char *const good[] = { "0.0.0.0:9090", "127.0.0.1:1",
	    "[::]:9090", "[::1]:65535" };
	static const char *const bad[] = { "localhost:9090", ":9090",
	    "0.0.0.0", "127.0.0.1:0", "127.0.0.1:00", "[::1]:0", "::1:9090",
	    "[::1]:65536", "10.0.0.1:http", "[fe80::1%eth0]:9090" };
	struct config	c;
	struct err	e;
	char		arg[96];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(arg, sizeof(arg), "--metrics-addr=%s", good[i]);
		if (parse(&c, &e, "token", "--credential-config=/x", arg,
		    NULL) != 0)
			fail_msg("%s refused: %s", good[i], e.msg);
		assert_string_equal(c.metrics_addr, good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(arg, sizeof(arg), "--metrics-addr=%s", bad[i]);
		assert_fails(parse(&c, &e, "token", "--credential-config=/x",
		    arg, NULL), &e, "--metrics-addr");
	}
	setenv("REGCRED_METRICS_ADDR", "localhost:1", 1);
	assert_fails(parse(&c, &e, "token", "--credential-config=/x", NULL), &e,
	    "REGCRED_METRICS_ADDR");
	unsetenv("REGCRED_METRICS_ADDR");
	assert_int_equal(parse(&c, &e, "token", "--credential-config=/x",
	    NULL), 0);
	assert_string_equal(c.metrics_addr, "");
}

/* ---- files ----------------------------------------------------------- */

static int
dir_make(void **state)
{
	(void)state;
	snprintf(test_dir, sizeof(test_dir), "/tmp/regcred-test-config.XXXXXX");
	return mkdtemp(test_dir) == NULL ? -1 : 0;
}

static int
dir_remove(void **state)
{
	static const char *const names[] = {
		"small", "exact", "over", "big", "empty", "link", "sub",
	};
	char	p[128];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", test_dir, names[i]);
		if (unlink(p) == -1)
			(void)rmdir(p);
	}
	return rmdir(test_dir);
}

static void
file_write(const char *name, const char *data, size_t len, char *path,
    size_t cap)
{
	int	fd;

	snprintf(path, cap, "%s/%s", test_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
test_read_ok(void **state)
{
	char		path[128], link[128], buf[64];
	struct err	e;
	size_t		len = 99;

	(void)state;
	file_write("small", "hello\n", 6, path, sizeof(path));
	assert_int_equal(file_read(path, buf, sizeof(buf), &len,
	    "token file", &e), 0);
	assert_int_equal(len, 6);
	assert_string_equal(buf, "hello\n");
	snprintf(link, sizeof(link), "%s/link", test_dir);
	assert_int_equal(symlink("small", link), 0);
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(file_read(link, buf, sizeof(buf), &len,
	    "token file", &e), 0);
	assert_string_equal(buf, "hello\n");
	file_write("empty", "", 0, path, sizeof(path));
	assert_int_equal(file_read(path, buf, sizeof(buf), &len,
	    "token file", &e), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
}

static void
test_read_sa(void **state)
{
	struct config	c;
	struct err	e;
	char		path[128], buf[64];
	size_t		len = 99;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.kube_sa_dir, sizeof(c.kube_sa_dir), "%s", test_dir);
	file_write("small", "bifrost \r\n\t\n", 12, path, sizeof(path));
	assert_int_equal(config_read_sa(&c, "small", buf, sizeof(buf), &len,
	    &e), 0);
	assert_int_equal(len, 7);
	assert_string_equal(buf, "bifrost");
	file_write("empty", " \n", 2, path, sizeof(path));
	assert_fails(config_read_sa(&c, "empty", buf, sizeof(buf), &len, &e),
	    &e, "is empty");
	assert_fails(config_read_sa(&c, "absent", buf, sizeof(buf), &len, &e),
	    &e, "No such file");
	/* the longest folder still makes a path, which the kernel refuses */
	memset(c.kube_sa_dir, 'd', sizeof(c.kube_sa_dir) - 1);
	assert_fails(config_read_sa(&c, "small", buf, sizeof(buf), &len, &e),
	    &e, "small dddd");
}

static void
test_read_errors(void **state)
{
	char		path[128], want[256], buf[16];
	struct err	e;
	size_t		len;

	(void)state;
	snprintf(path, sizeof(path), "%s/missing", test_dir);
	assert_int_equal(file_read(path, buf, sizeof(buf), &len,
	    "token file", &e), -1);
	snprintf(want, sizeof(want), "token file %s: No such file or "
	    "directory", path);
	assert_string_equal(e.msg, want);
	snprintf(path, sizeof(path), "%s/sub", test_dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_fails(file_read(path, buf, sizeof(buf), &len,
	    "credential config", &e), &e, "not a regular file");
	assert_non_null(strstr(e.msg, path));
	assert_fails(file_read("/dev/null", buf, sizeof(buf), &len,
	    "ca file", &e), &e, "ca file /dev/null: not a regular file");
	/* cap 16: 15 bytes fit, 16 do not */
	file_write("exact", "123456789012345", 15, path, sizeof(path));
	assert_int_equal(file_read(path, buf, sizeof(buf), &len,
	    "token file", &e), 0);
	assert_int_equal(len, 15);
	file_write("over", "1234567890123456", 16, path, sizeof(path));
	assert_fails(file_read(path, buf, sizeof(buf), &len,
	    "token file", &e), &e, "larger than 15 bytes");
	assert_int_equal(len, 0);
}

static void
test_read_file_max(void **state)
{
	static char	data[FILE_MAX], buf[FILE_MAX];
	char		path[128];
	struct err	e;
	size_t		len;

	(void)state;
	memset(data, 'd', sizeof(data));
	file_write("big", data, sizeof(data), path, sizeof(path));
	assert_fails(file_read(path, buf, sizeof(buf), &len,
	    "credential config", &e), &e, "FILE_MAX");
	file_write("big", data, sizeof(data) - 1, path, sizeof(path));
	assert_int_equal(file_read(path, buf, sizeof(buf), &len,
	    "credential config", &e), 0);
	assert_int_equal(len, FILE_MAX - 1);
}

int
main(void)
{
	const struct CMUnitTest args[] = {
		cmocka_unit_test_setup(test_flags_all, env_clear),
		cmocka_unit_test_setup(test_flags_equals, env_clear),
		cmocka_unit_test_setup(test_defaults, env_clear),
		cmocka_unit_test_setup(test_env_only, env_clear),
		cmocka_unit_test_setup(test_flag_beats_env, env_clear),
		cmocka_unit_test_setup(test_credential_fallback, env_clear),
		cmocka_unit_test_setup(test_refresh_needs, env_clear),
		cmocka_unit_test_setup(test_registry_limit, env_clear),
		cmocka_unit_test_setup(test_registry_values, env_clear),
		cmocka_unit_test_setup(test_registry_too_long, env_clear),
		cmocka_unit_test_setup(test_names, env_clear),
		cmocka_unit_test_setup(test_timeout, env_clear),
		cmocka_unit_test_setup(test_bad_usage, env_clear),
		cmocka_unit_test_setup(test_help_version, env_clear),
		cmocka_unit_test_setup(test_no_embedded_roots, env_clear),
		cmocka_unit_test_setup(test_value_limits, env_clear),
		cmocka_unit_test_setup(test_usage, env_clear),
		cmocka_unit_test_setup(test_azure_precedence, env_clear),
		cmocka_unit_test_setup(test_azure_authority, env_clear),
		cmocka_unit_test_setup(test_kube_api, env_clear),
		cmocka_unit_test_setup(test_status_command, env_clear),
		cmocka_unit_test_setup(test_metrics_addr, env_clear),
	};
	const struct CMUnitTest files[] = {
		cmocka_unit_test(test_read_ok),
		cmocka_unit_test(test_read_sa),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_read_file_max),
	};
	int	failed;

	failed = cmocka_run_group_tests_name("config args", args, NULL, NULL);
	failed += cmocka_run_group_tests_name("config files", files, dir_make,
	    dir_remove);
	return failed != 0;
}
