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
#define LOG_SECRETS_MAX		8	/* secrets redacted from every line */
#define LOG_PIECE_MIN		12	/* a piece of a secret this long is
					   redacted wherever it appears */

#define FILE_MAX		65536	/* credential config, token file */
#define CA_FILE_MAX		262144	/* one PEM bundle (--ca-file, ca.crt) */
#define ANCHORS_MAX		64	/* trust anchors in one set */
#define ANCHOR_POOL_MAX		65536	/* DN and key bytes of run-time anchors */

#define TOKEN_MAX		8192	/* a subject or access token */
#define HOST_MAX		256	/* a host name */
#define URL_MAX			2048	/* a URL from the credential config */
#define PATH_MAX_REGCRED	1024	/* a file path */
#define NAME_MAX_REGCRED	253	/* a Kubernetes object name / namespace */
#define REGISTRY_MAX		16	/* --registry values */
#define CRED_HEADERS_MAX	8	/* credential_source.headers */
#define CRED_HEADER_NAME_MAX	64	/* one header name, with its NUL */
#define CRED_HEADER_VALUE_MAX	1024	/* one header value, with its NUL */
#define AZURE_ID_MAX		128	/* an Azure client or tenant ID */
#define DOCKERCFG_MAX		16384	/* the .dockerconfigjson document */
#define DOCKER_AUTH_MAX		(TOKEN_MAX + 64) /* "user:password" before
					   base64 (.dockerconfigjson auth) */

#define JSON_TOKENS_MAX		1024	/* jsmn tokens in one document */
#define JSON_DEPTH_MAX		32	/* nesting of objects and arrays */

#define HTTP_REQUEST_MAX	32768	/* request line, headers and body */
#define HTTP_HEADER_MAX		16384	/* response status line and headers */
#define HTTP_BODY_MAX		131072	/* response body (apply echoes the
					   Secret with its managedFields) */
#define HTTP_HEADERS_MAX	64	/* header lines in one response */
#define HTTP_CHUNK_LINE_MAX	1024	/* chunk-size line with extensions */

#define TLS_IOBUF_MAX		BR_SSL_BUFSIZE_BIDI /* BearSSL I/O buffer */
#define TLS_RSA_MIN_BYTES	256	/* RSA keys in certificates: 2048 bits */
#define X509_LEAF_MAX		16384	/* a server's own certificate (DER) */
#define CONNECT_TIMEOUT_MS	10000	/* one TCP connect */
#define IO_TIMEOUT_MS		30000	/* one wait for the peer */
#define RETRY_BASE_MS		500	/* first backoff */
#define RETRY_CAP_MS		8000	/* longest backoff */
#define RETRY_MIN_ATTEMPT_MS	1000	/* time a retry must have left */
#define TIMEOUT_DEFAULT_S	60	/* --timeout */
#define WATCHDOG_GRACE_S	5	/* SIGALRM this long after --timeout */

#endif
