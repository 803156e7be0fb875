/*
 * tls.h -- sockets and TLS: entropy, connect with deadlines, BearSSL
 * client (TLS 1.2, ECDHE with AES-GCM), HTTP round trips on a connection
 * kept alive when asked.
 */
#ifndef REGCRED_TLS_H
#define REGCRED_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "limits.h"
#include "x509.h"

struct err;
struct anchors;
struct http_resp;

struct dial_table;

struct tls_peer {
	const struct dial_table	*dial;		/* host's resolved addresses */
	const char		*host;		/* DNS name or IP literal */
	const char		*port;
	const char		*server_name;	/* verified; also sent as SNI */
	const struct anchors	*anchors;
	int			 plain;		/* no TLS: link-local metadata
						   servers only (cred.c) */
};

/*
 * One connection, caller-owned (static: no heap). Kept open between
 * exchanges with the same peer when the caller asks and the answers
 * allow it (keep-alive); wiped whole when closed.
 */
struct tls_conn {
	br_ssl_client_context	sc;
	br_x509_minimal_context	xc;
	struct x509_policy	pol;		/* in front of xc */
	unsigned char		iobuf[TLS_IOBUF_MAX];
	int			open;		/* fd is connected */
	int			fd;
	int			reused;		/* this exchange reuses it */
	int			got;		/* answer bytes arrived */
	int			spent;		/* not reusable after this */
	char			peer[2 * HOST_MAX + 16];	/* host port
							   name, when open */
};

/* Seeds regcred's entropy pool from getrandom(2); call once at start. */
int	tls_init(struct err *e);
/*
 * Connects, handshakes, sends req, feeds the answer to resp until it is
 * complete, closes. Every connect, handshake and read is bounded by
 * deadline_ms (monotonic). The engine, its buffers and the request copy
 * are wiped before return. On failure *retryable says whether another
 * try may help (connection and I/O failures: yes; certificate: no).
 * With p->plain the same exchange runs over bare TCP; a body delimited
 * by the end of the connection then counts as complete (there is no
 * close_notify to tell a cut from an end).
 */
/* A closed connection (zeroed is closed too); tls_conn_close closes
 * and wipes it. */
void	tls_conn_init(struct tls_conn *c);
void	tls_conn_close(struct tls_conn *c);
/*
 * tls_roundtrip on c: reuses c when it is open to the same peer (host,
 * port, verified name), else connects anew. With keep, c stays open
 * after an answer that allows reuse (delimited by length or chunks, no
 * "Connection: close", nothing after it); otherwise, and after any
 * failure, it is closed. A kept connection the server closed before
 * answering is replaced by a new one once, at once.
 */
int	tls_exchange(struct tls_conn *c, const struct tls_peer *p,
	    const uint8_t *req, size_t reqlen, struct http_resp *resp,
	    int keep, int64_t deadline_ms, int *retryable, struct err *e);
/*
 * A streaming response (a watch): tls_stream_open connects c (closed
 * before), sends req and reads until resp's header block is parsed, all
 * bounded by deadline_ms. tls_stream_read then never waits: 2 when body
 * bytes were fed to resp (take them out of resp->body, call again), 1
 * when the response is complete, 0 when nothing has arrived (poll c->fd
 * for POLLIN), -1 on failure (the caller closes c).
 */
int	tls_stream_open(struct tls_conn *c, const struct tls_peer *p,
	    const uint8_t *req, size_t reqlen, struct http_resp *resp,
	    int64_t deadline_ms, struct err *e);
int	tls_stream_read(struct tls_conn *c, struct http_resp *resp,
	    struct err *e);
int	tls_roundtrip(const struct tls_peer *p, const uint8_t *req,
	    size_t reqlen, struct http_resp *resp, int64_t deadline_ms,
	    int *retryable, struct err *e);

#endif
