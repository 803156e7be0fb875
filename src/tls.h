/*
 * tls.h -- sockets and TLS: entropy, connect with deadlines, BearSSL
 * client (TLS 1.2, ECDHE with AES-GCM or ChaCha20-Poly1305), one HTTP
 * round trip per connection.
 */
#ifndef REGCRED_TLS_H
#define REGCRED_TLS_H

#include <stddef.h>
#include <stdint.h>

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
int	tls_roundtrip(const struct tls_peer *p, const uint8_t *req,
	    size_t reqlen, struct http_resp *resp, int64_t deadline_ms,
	    int *retryable, struct err *e);

#endif
