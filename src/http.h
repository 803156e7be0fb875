/*
 * http.h -- HTTP/1.1 messages, no I/O.
 *
 * Writes requests (Host, Content-Length, Connection: close) and parses
 * responses incrementally from whatever bytes arrive: status line of
 * exactly "HTTP/1.x DDD", header lines (values may hold HTAB, no other
 * control byte), bodies delimited by Content-Length, chunked encoding
 * (extensions and trailers allowed) or connection close. The header block
 * is limited to HTTP_HEADER_MAX and the body to the caller's buffer;
 * more is an error. Also parses https URLs.
 *
 * Lines must end in CRLF; a bare LF is an error. Header names are tokens
 * directly followed by ':'; obs-fold is an error. Content-Length is
 * digits only (repeats must agree); Transfer-Encoding must be exactly
 * "chunked"; both at once is an error (RFC 9112 6.3).
 */
#ifndef REGCRED_HTTP_H
#define REGCRED_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "limits.h"

struct err;

struct url {
	char	host[HOST_MAX];		/* without brackets */
	char	port[6];		/* decimal, "443" by default */
	char	path[URL_MAX];		/* path and query, "/" at least */
	int	ipv6;			/* host was [bracketed] */
	int	plain;			/* http:// (no TLS); port 80 default */
};

/* https only; no userinfo or fragment. */
int	url_parse(const char *s, struct url *u, struct err *e);
/* https, or http (plain set): for URL credential sources only, whose
 * callers decide which plain hosts are allowed. */
int	url_parse_any(const char *s, struct url *u, struct err *e);
/* "host" or "host:port" / "[v6]:port" for a Host header. */
int	url_hostport(const struct url *u, char *dst, size_t cap,
	    struct err *e);

struct http_hdr {
	const char	*name;
	const char	*value;
};

struct http_req {
	const char		*method;
	const char		*host;		/* Host header value */
	const char		*path;
	const struct http_hdr	*hdrs;
	size_t			 nhdrs;
	const char		*body;
	size_t			 bodylen;
	int			 keepalive;	/* no "Connection: close" */
};

/* Request line, Host, the headers, Content-Length (when there is a body
 * or the method is POST/PATCH/PUT), Connection: close (unless keepalive),
 * body. Rejects CR,
 * LF or NUL in any header field. */
int	http_request_write(char *buf, size_t cap, size_t *len,
	    const struct http_req *r, struct err *e);

enum http_state { HS_STATUS, HS_HEADERS, HS_BODY_LEN, HS_CHUNK_SIZE,
    HS_CHUNK_DATA, HS_CHUNK_CRLF, HS_TRAILERS, HS_BODY_CLOSE, HS_DONE };

struct http_resp {
	enum http_state	 state;
	int		 status;	/* 100..599 */
	char		 head[HTTP_HEADER_MAX];	/* current header block */
	size_t		 headlen;
	size_t		 headtotal;	/* header bytes in this response */
	uint8_t		*body;
	size_t		 bodycap;
	size_t		 bodylen;
	unsigned long long remaining;	/* Content-Length or chunk left */
	int		 retry_after;	/* seconds, -1 when absent/unusable */
	int		 tunnel;	/* answer to CONNECT: a 2xx ends with
					   its headers (set after init) */
	int		 close;		/* "Connection: close", or a body
					   delimited by the end of it */
	char		 content_type[128];
};

/* Retry-After delta-seconds above this are clamped to it. */
#define HTTP_RETRY_AFTER_MAX	86400

/*
 * Fields once the response is complete: status, retry_after (-1 when
 * absent or an HTTP-date), content_type (cut to fit, NUL terminated),
 * body/bodylen (NOT NUL terminated; use bodylen). head is scratch once the
 * header block is parsed (chunk-size lines, trailers). headtotal counts
 * the header blocks of interim 1xx responses and trailers too: all of them
 * together must fit HTTP_HEADER_MAX. After -1 the struct must be
 * re-initialised before reuse.
 */

void	http_resp_init(struct http_resp *r, uint8_t *body, size_t bodycap);
/*
 * Feeds len bytes. Returns 1 when the response is complete (*used bytes
 * consumed; the rest is ignored), 0 when more is needed (all consumed),
 * -1 on error. Interim 1xx responses other than 101 are skipped.
 */
int	http_resp_feed(struct http_resp *r, const uint8_t *data, size_t len,
	    size_t *used, struct err *e);
/*
 * The peer closed. close_notify says whether TLS close_notify was seen.
 * Returns 0 if that completes the response (body delimited by close and
 * close_notify seen), -1 otherwise (truncated).
 */
int	http_resp_eof(struct http_resp *r, int close_notify, struct err *e);
/* 1 when a complete response leaves its connection fit for another. */
int	http_resp_reusable(const struct http_resp *r);

#endif
