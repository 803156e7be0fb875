/*
 * limits.h -- every size limit regcred has, named once.
 *
 * No buffer in regcred grows: going over one of these is an error that
 * names the limit, never a realloc.
 */
#ifndef REGCRED_LIMITS_H
#define REGCRED_LIMITS_H

#define ERR_MSG_MAX		768	/* one error message, with its quote */
#define LOG_QUOTE_MAX		200	/* server text quoted in an error */
#define LOG_LINE_MAX		1024	/* one log line */
#define LOG_SECRETS_MAX		12	/* secrets redacted from every line */
#define LOG_PIECE_MIN		12	/* a piece of a secret this long is
					   redacted wherever it appears */

#define FILE_MAX		65536	/* credential config, token file */
#define CA_FILE_MAX		262144	/* one PEM bundle (--ca-file, ca.crt):
					   Debian's whole bundle is 220 KB */
#define ANCHORS_MAX		256	/* trust anchors in one set (Debian's
					   bundle: 144 roots) */
#define ANCHOR_POOL_MAX		131072	/* DN and key bytes of run-time anchors
					   (Debian's bundle: about 70 KB) */
#define PEM_DER_MAX		16384	/* one certificate of a PEM bundle, DER */
#define PEM_NAME_MAX		64	/* a PEM object's name, with its NUL */

#define TOKEN_MAX		12288	/* a subject or access token: Google
					   documents STS tokens up to 12,288 */
#define HOST_MAX		256	/* a host name */
#define URL_MAX			2048	/* a URL from the credential config */
#define PATH_MAX_REGCRED	1024	/* a file path */
#define NAME_MAX_REGCRED	253	/* a Kubernetes object name / namespace */
#define REGISTRY_MAX		16	/* --registry values */
#define NAMESPACE_MAX		128	/* --namespace values (the benchmark
					   runs 100) */
#define SERVICE_ACCOUNT_MAX	8	/* --service-account values */
#define CRED_HEADERS_MAX	8	/* credential_source.headers */
#define CRED_HEADER_NAME_MAX	64	/* one header name, with its NUL */
#define CRED_HEADER_VALUE_MAX	1024	/* one header value, with its NUL */
#define AZURE_ID_MAX		128	/* an Azure client or tenant ID */
#define B64_LEN(n)		(((n) + 2) / 3 * 4)	/* base64 of n bytes */
#define DOCKER_USER_MAX		32	/* the registry user name */
#define DOCKER_AUTH_MAX		(DOCKER_USER_MAX + 1 + TOKEN_MAX) /* "user:
					   password" before base64 */
/* One registry in .dockerconfigjson: "host":{"username":"oauth2accesstoken",
 * "password":"TOKEN","auth":"BASE64"} (tokens need no JSON escaping:
 * oauth_token_check allows the b64token characters only). */
#define DOCKERCFG_ENTRY_MAX	(HOST_MAX + DOCKER_USER_MAX + TOKEN_MAX + \
				    B64_LEN(DOCKER_AUTH_MAX) + 64)
#define DOCKERCFG_MAX		(16 + REGISTRY_MAX * DOCKERCFG_ENTRY_MAX)
/* The Secret apply document: base64 of .dockerconfigjson plus metadata
 * (names of NAME_MAX_REGCRED, label, annotation: under 1 KiB). */
#define APPLY_DOC_MAX		(B64_LEN(DOCKERCFG_MAX) + 2048)
/* A form with one token percent-encoded at worst (3 bytes a byte). */
#define FORM_MAX		(3 * TOKEN_MAX + 4096)

#define JSON_TOKENS_MAX		2048	/* jsmn tokens in one document (a
					   full status file: STATUS_TOKENS) */
#define JSON_DEPTH_MAX		32	/* nesting of objects and arrays */

/* Request line and headers (a Bearer token, a path of URL_MAX) and the
 * largest body: the apply document. */
#define HTTP_REQUEST_MAX	(APPLY_DOC_MAX + TOKEN_MAX + URL_MAX + 2048)
#define HTTP_HEADER_MAX		16384	/* response status line and headers */
/* A response body: an apply answer is metadata only (kube.c asks for
 * PartialObjectMetadata) but a server may echo the whole Secret. */
#define HTTP_BODY_MAX		(APPLY_DOC_MAX + 65536)
#define HTTP_HEADERS_MAX	64	/* header lines in one response */
#define HTTP_CHUNK_LINE_MAX	1024	/* chunk-size line with extensions */

#define TLS_IOBUF_MAX		BR_SSL_BUFSIZE_BIDI /* BearSSL I/O buffer */
#define TLS_RSA_MIN_BYTES	256	/* RSA keys in certificates: 2048 bits */
#define X509_LEAF_MAX		16384	/* a server's own certificate (DER) */
#define CONNECT_TIMEOUT_MS	10000	/* one TCP connect */
#define DIAL_HOSTS_MAX		8	/* hosts one run talks to (URL source or
					   Entra ID, STS, IAM, the API server) */
#define DIAL_ADDRS_MAX		8	/* addresses kept per host */
#define PROXY_CRED_MAX		256	/* a proxy user name or password */
#define PROXY_AUTH_MAX		(6 + B64_LEN(2 * PROXY_CRED_MAX) + 1)
					/* "Basic " + base64(user:password) */
#define NO_PROXY_MAX		4096	/* the NO_PROXY list */
#define PROXY_BODY_MAX		2048	/* a refusing proxy's body, quoted cut */
#define IO_TIMEOUT_MS		30000	/* one wait for the peer */
#define RETRY_BASE_MS		500	/* first backoff */
#define RETRY_CAP_MS		8000	/* longest backoff */
#define RETRY_MIN_ATTEMPT_MS	1000	/* time a retry must have left */
#define TIMEOUT_DEFAULT_S	60	/* --timeout */
#define WATCHDOG_GRACE_S	5	/* SIGALRM this long after --timeout */
#define WATCH_EVENT_MAX		65536	/* one watch event (metadata only:
					   PartialObjectMetadata) */
#define WATCH_BUF_MAX		(WATCH_EVENT_MAX + 16384 + 1024)
					/* an event cut short plus one TLS
					   record's worth of the next ones */
#define WATCH_RV_MAX		64	/* a resourceVersion */
#define WATCH_TIMEOUT_S		300	/* a watch asks to end after this */
#define WATCH_IDLE_S		360	/* silent this long: presumed dead */
#define WATCH_BACKOFF_MIN_MS	1000	/* re-watch after a failure */
#define WATCH_BACKOFF_MAX_MS	30000
#define HEAL_MIN_LEFT_S		300	/* heal with the current token only
					   while it has this long left */
#define SANDBOX_FILTER_MAX	96	/* seccomp filter instructions (the
					   ASan build's list is the longest) */
#define RUN_BACKOFF_MIN_S	10	/* run: first wait after a failure */
#define RUN_BACKOFF_MAX_S	300	/* run: longest wait after failures */
#define RUN_MIN_INTERVAL_S	1	/* run: never refresh more often */
#define RUN_STOP_GRACE_MS	500	/* run: a child this slow to end on
					   SIGTERM gets SIGKILL */

/*
 * The status file (status.c). Its strings come from struct state: names of
 * NAME_MAX_REGCRED, errors of ERR_MSG_MAX; the escaping writer turns a
 * byte into at most 6 (\u00XX, \ufffd). Per namespace: those, two
 * 20-digit integers and the keys.
 */
#define STATUS_NS_MAX		(6 * (NAME_MAX_REGCRED + ERR_MSG_MAX) + 128)
/* every namespace, and the top level (one more such entry's worth) */
#define STATUS_MAX		((NAMESPACE_MAX + 1) * STATUS_NS_MAX + 256)
/* Its JSON tokens: 9 a namespace ({} and four members), the top-level
 * object with nine members, the array. */
#define STATUS_TOKENS		(9 * NAMESPACE_MAX + 20)
/* A string read back from it: \ufffd (one written byte) decodes to 3. */
#define STATUS_TEXT_MAX		(3 * ERR_MSG_MAX)
#define STATUS_MIN_LEFT_S	600	/* regcred status: a token must have
					   more than this left */
#define STATUS_MAX_AGE_S	3600	/* --max-age default: one default
					   token lifetime */
#define STATUS_MAX_AGE_MAX_S	604800	/* --max-age at most: a week */

/*
 * The metrics listener (metrics.c): connections served at once, one
 * request's line and headers (a Prometheus scrape sends about 400 bytes),
 * the deadline for a whole exchange, and one response: the fixed families
 * and one expiry line a namespace, label values escaped at 2 bytes a
 * byte.
 */
#define METRICS_CONNS_MAX	4
#define METRICS_REQUEST_MAX	4096
#define METRICS_TIMEOUT_MS	2000
#define METRICS_HEAD_MAX	256	/* status line and headers we send */
#define METRICS_LINE_MAX	(2 * (2 * (NAME_MAX_REGCRED + 1)) + 96)
#define METRICS_RESPONSE_MAX	(METRICS_HEAD_MAX + 2048 + \
				    NAMESPACE_MAX * METRICS_LINE_MAX)
#define METRICS_ADDR_MAX	64	/* "[v6]:port" with its NUL */

_Static_assert(FORM_MAX <= HTTP_REQUEST_MAX, "a form fits a request");
_Static_assert(APPLY_DOC_MAX + TOKEN_MAX <= HTTP_REQUEST_MAX,
    "the apply document and its Bearer header fit a request");
_Static_assert(DOCKERCFG_MAX >= REGISTRY_MAX * (TOKEN_MAX +
    B64_LEN(DOCKER_AUTH_MAX)), "every registry's token and auth fit");
_Static_assert(STATUS_TOKENS <= JSON_TOKENS_MAX,
    "a status file with NAMESPACE_MAX namespaces parses");
_Static_assert(STATUS_MAX >= NAMESPACE_MAX * STATUS_NS_MAX + STATUS_NS_MAX,
    "every namespace's entry and the top level fit a status file");
_Static_assert(METRICS_RESPONSE_MAX >= METRICS_HEAD_MAX +
    NAMESPACE_MAX * METRICS_LINE_MAX, "an expiry line a namespace fits");

#endif
