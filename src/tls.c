/*
 * tls.c -- sockets and TLS for one HTTP round trip.
 *
 * Owns: the I/O on a connection dial.c made (non-blocking, every wait
 * bounded by poll against a deadline), the BearSSL client engine (TLS 1.2
 * only; ECDHE with AES-GCM; RSA and ECDSA
 * certificates; the policy of x509.c in front of its X.509 engine), its
 * entropy (getrandom(2), injected per connection: BearSSL is built with
 * BR_RDRAND=0 BR_USE_URANDOM=0), certificate time (the real clock), and
 * mapping BearSSL failures to messages; and the same round trip over bare
 * TCP for the link-local metadata servers that speak only HTTP. The engine
 * context, the X.509 context and the I/O buffer are static (no heap) and
 * wiped after every connection.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anchors.h"
#include "dial.h"
#include "fmt.h"
#include "http.h"
#include "log.h"
#include "tls.h"
#include "x509.h"

#define SEED_LEN	32	/* bytes of entropy per connection */

static struct tls_conn	tls_c;		/* tls_roundtrip's (in .bss) */

/*
 * ECDHE-RSA first: where a server holds both kinds of certificate (Google
 * does), the RSA chain under GTS Root R1 costs about 4x fewer instructions
 * to verify with BearSSL than the ECDSA one under the P-384 GTS Root R4
 * (bench/results.md). ECDSA-only servers still work. AES-GCM only: every
 * endpoint offers it, and without AES-NI BearSSL's default is its
 * constant-time aes_ct64; ChaCha20-Poly1305 would be 7 KB never used.
 */
static const uint16_t tls_suites[] = {
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
};

static int
tls_entropy(unsigned char *buf, size_t len, struct err *e)
{
	ssize_t	n;
	size_t	got = 0;

	while (got < len) {
		n = getrandom(buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(e, "getrandom: %s", strerror(errno));
		got += (size_t)n;
	}
	return 0;
}

int
tls_init(struct err *e)
{
	unsigned char	probe[SEED_LEN];
	int		r;

	r = tls_entropy(probe, sizeof(probe), e);
	explicit_bzero(probe, sizeof(probe));
	return r;
}

static void
tls_engine_setup(struct tls_conn *c, const struct tls_peer *p)
{
	const struct anchors	*a = p->anchors;
	static const br_hash_class *const hashes[] = {
		&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
	};
	br_ssl_engine_context	*eng = &c->sc.eng;
	size_t			 i;

	br_ssl_client_zero(&c->sc);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_x509_minimal_init(&c->xc, &br_sha256_vtable, a->ta, a->n);
	br_x509_minimal_set_minrsa(&c->xc, TLS_RSA_MIN_BYTES);
	br_ssl_engine_set_suites(eng, tls_suites,
	    sizeof(tls_suites) / sizeof(tls_suites[0]));
	br_ssl_client_set_default_rsapub(&c->sc);
	br_ssl_engine_set_default_rsavrfy(eng);
	br_ssl_engine_set_default_ecdsa(eng);
	br_x509_minimal_set_rsa(&c->xc, br_ssl_engine_get_rsavrfy(eng));
	br_x509_minimal_set_ecdsa(&c->xc, br_ssl_engine_get_ec(eng),
	    br_ssl_engine_get_ecdsa(eng));
	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		br_ssl_engine_set_hash(eng, hashes[i]->desc >>
		    BR_HASHDESC_ID_OFF & BR_HASHDESC_ID_MASK, hashes[i]);
		br_x509_minimal_set_hash(&c->xc, hashes[i]->desc >>
		    BR_HASHDESC_ID_OFF & BR_HASHDESC_ID_MASK, hashes[i]);
	}
	x509_policy_init(&c->pol, &c->xc, p->server_name);
	br_ssl_engine_set_x509(eng, &c->pol.vtable);
	/* one handshake per connection: a server asking for another is
	 * refused (the engine sends no_renegotiation) */
	br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(eng);
	br_ssl_engine_set_buffer(eng, c->iobuf, sizeof(c->iobuf), 1);
}

/* Certificate validity against the real clock, not the build's. */
static int
tls_set_time(struct tls_conn *c, struct err *e)
{
	struct timespec	ts;
	uint64_t	now;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return err_set(e, "clock_gettime: %s", strerror(errno));
	now = (uint64_t)ts.tv_sec;
	/* days since 0000-01-01 (proleptic Gregorian), as BearSSL counts */
	br_x509_minimal_set_time(&c->xc, (uint32_t)(now / 86400 + 719528),
	    (uint32_t)(now % 86400));
	return 0;
}

static int
tls_engine_start(struct tls_conn *c, const struct tls_peer *p,
    struct err *e)
{
	unsigned char	seed[SEED_LEN];

	tls_engine_setup(c, p);
	if (tls_set_time(c, e) != 0)
		return -1;
	if (tls_entropy(seed, sizeof(seed), e) != 0)
		return -1;
	br_ssl_engine_inject_entropy(&c->sc.eng, seed, sizeof(seed));
	explicit_bzero(seed, sizeof(seed));
	/* RFC 6066: no IP literal in SNI; the policy still checks the name */
	if (!br_ssl_client_reset(&c->sc, x509_is_ip(p->server_name) ? NULL :
	    p->server_name, 0))
		return err_set(e, "TLS engine reset failed (BearSSL error %d)",
		    br_ssl_engine_last_error(&c->sc.eng));
	return 0;
}

static const char *
tls_x509_reason(int err)
{
	switch (err) {
	case BR_ERR_X509_NOT_TRUSTED:
		return "certificate chain is not trusted";
	case BR_ERR_X509_BAD_SERVER_NAME:
		return "no subjectAltName of the certificate matches the server "
		    "name";
	case X509_ERR_NOT_SERVER_AUTH:
		return "certificate is not for TLS servers (its "
		    "ExtendedKeyUsage lacks serverAuth)";
	case X509_ERR_LEAF_TOO_LARGE:
		return "server certificate is larger than X509_LEAF_MAX";
	case BR_ERR_X509_EXPIRED:
		return "certificate expired or not yet valid";
	case BR_ERR_X509_BAD_SIGNATURE:
		return "certificate signature is invalid";
	case BR_ERR_X509_NOT_CA:
		return "an intermediate certificate is not a CA";
	case BR_ERR_X509_FORBIDDEN_KEY_USAGE:
		return "certificate key usage forbids this use";
	case BR_ERR_X509_WEAK_PUBLIC_KEY:
		return "certificate key is too weak";
	case BR_ERR_X509_UNSUPPORTED:
		return "certificate uses an unsupported algorithm";
	case BR_ERR_X509_CRITICAL_EXTENSION:
		return "certificate has an unknown critical extension";
	default:
		return NULL;
	}
}

/*
 * A peer's alert that may not recur on a new connection: bad_record_mac
 * (20, corruption on the way), internal_error (80), user_canceled (90).
 * Every other alert is a verdict about this client, like a certificate.
 */
static int
tls_alert_transient(int alert)
{
	return alert == 20 || alert == 80 || alert == 90;
}

static int
tls_alert_error(int err, int handshake, int *retryable, struct err *e)
{
	int	a = err - BR_ERR_RECV_FATAL_ALERT;

	*retryable = tls_alert_transient(a);
	return err_set(e, "TLS: server sent fatal alert %d%s%s", a,
	    handshake ? " during handshake" : "",
	    a == 40 || a == 70 || a == 71 ?
	    " (no common TLS 1.2 ECDHE suite?)" : "");
}

/* Describes a failed engine; *retryable for transient failures only: a
 * certificate verdict is never retried. */
static int
tls_engine_error(struct tls_conn *c, const struct tls_peer *p, int handshake,
    int *retryable, struct err *e)
{
	int		 err = br_ssl_engine_last_error(&c->sc.eng);
	const char	*why = tls_x509_reason(err);

	*retryable = 0;
	if (why != NULL)
		return err_set(e, "TLS: %s (verifying \"%s\")", why,
		    p != NULL ? p->server_name : "");
	if (err >= BR_ERR_X509_OK && err < BR_ERR_RECV_FATAL_ALERT)
		return err_set(e, "TLS: certificate rejected (BearSSL X.509 "
		    "error %d, verifying \"%s\")", err,
		    p != NULL ? p->server_name : "");
	if (err >= BR_ERR_SEND_FATAL_ALERT)
		return err_set(e, "TLS: sent fatal alert %d%s",
		    err - BR_ERR_SEND_FATAL_ALERT, handshake ?
		    " during handshake" : "");
	if (err >= BR_ERR_RECV_FATAL_ALERT)
		return tls_alert_error(err, handshake, retryable, e);
	return err_set(e, "TLS: protocol error (BearSSL error %d)", err);
}

/* Sends pending TLS records; returns -1 on timeout or socket error. */
static int
tls_send_records(struct tls_conn *c, int64_t deadline_ms, int *retryable,
    struct err *e)
{
	br_ssl_engine_context	*eng = &c->sc.eng;
	unsigned char		*buf;
	size_t			 len;
	ssize_t			 n;

	buf = br_ssl_engine_sendrec_buf(eng, &len);
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n > 0) {
		br_ssl_engine_sendrec_ack(eng, (size_t)n);
		return 0;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return dial_wait(c->fd, POLLOUT,
		    dial_deadline(deadline_ms, IO_TIMEOUT_MS),
		    "sending the request", e);
	*retryable = 1;
	return err_set(e, "send: %s", n < 0 ? strerror(errno) : "closed");
}

/* Reads TLS records; *eof set when the peer closed the connection. */
static int
tls_recv_records(struct tls_conn *c, int64_t deadline_ms, int handshake,
    int *eof, int *retryable, struct err *e)
{
	br_ssl_engine_context	*eng = &c->sc.eng;
	unsigned char		*buf;
	size_t			 len;
	ssize_t			 n;

	buf = br_ssl_engine_recvrec_buf(eng, &len);
	n = recv(c->fd, buf, len, 0);
	if (n > 0) {
		br_ssl_engine_recvrec_ack(eng, (size_t)n);
		return 0;
	}
	if (n == 0) {
		*eof = 1;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		*retryable = 1;
		return dial_wait(c->fd, POLLIN,
		    dial_deadline(deadline_ms, IO_TIMEOUT_MS), handshake ?
		    "in the TLS handshake" : "waiting for the response", e);
	}
	*retryable = 1;
	return err_set(e, "recv: %s", strerror(errno));
}

/* Hands decrypted bytes to the HTTP parser; 1 when it is complete. */
static int
tls_recv_app(struct tls_conn *c, struct http_resp *resp, struct err *e)
{
	br_ssl_engine_context	*eng = &c->sc.eng;
	unsigned char		*buf;
	size_t			 len, used = 0;
	int			 r;

	buf = br_ssl_engine_recvapp_buf(eng, &len);
	c->got = 1;
	r = http_resp_feed(resp, buf, len, &used, e);
	if (r < 0)
		return -1;	/* malformed HTTP: final, not retried */
	if (r == 1 && used < len)
		c->spent = 1;	/* bytes past the answer: never reused */
	br_ssl_engine_recvapp_ack(eng, r == 1 ? len : used);
	return r;
}

/* Copies request bytes into the engine; flushes once all are in. */
static void
tls_send_app(struct tls_conn *c, const uint8_t *req, size_t reqlen,
    size_t *sent)
{
	br_ssl_engine_context	*eng = &c->sc.eng;
	unsigned char		*buf;
	size_t			 len;

	buf = br_ssl_engine_sendapp_buf(eng, &len);
	if (len > reqlen - *sent)
		len = reqlen - *sent;
	memcpy(buf, req + *sent, len);
	br_ssl_engine_sendapp_ack(eng, len);
	*sent += len;
	if (*sent == reqlen)
		br_ssl_engine_flush(eng, 0);
}

/* The peer closed: complete only after close_notify, if at all. */
static int
tls_closed(struct tls_conn *c, const struct tls_peer *p,
    struct http_resp *resp, int handshake, int *retryable, struct err *e)
{
	br_ssl_engine_context	*eng = &c->sc.eng;

	/* shutdown_recv: close_notify arrived (our reply may be pending) */
	if (eng->shutdown_recv || (br_ssl_engine_current_state(eng) ==
	    BR_SSL_CLOSED && br_ssl_engine_last_error(eng) == BR_ERR_OK))
		return http_resp_eof(resp, 1, e);
	if (br_ssl_engine_current_state(eng) == BR_SSL_CLOSED)
		return tls_engine_error(c, p, handshake, retryable, e);
	*retryable = 1;
	c->spent = 1;
	if (handshake)
		return err_set(e, "connection closed during the TLS handshake");
	return http_resp_eof(resp, 0, e);
}

/* handshake: nothing of the request is sent yet on a new connection */
static int
tls_loop(struct tls_conn *c, const struct tls_peer *p, const uint8_t *req,
    size_t reqlen, struct http_resp *resp, int64_t deadline_ms,
    int *retryable, struct err *e)
{
	br_ssl_engine_context	*eng = &c->sc.eng;
	size_t			 sent = 0;
	unsigned		 st;
	int			 eof = 0, r, hs;

	for (;;) {
		hs = sent == 0 && !c->reused;
		st = br_ssl_engine_current_state(eng);
		if (st == BR_SSL_CLOSED || eof)
			return tls_closed(c, p, resp, hs, retryable, e);
		if (st & BR_SSL_SENDREC) {
			if (tls_send_records(c, deadline_ms, retryable, e) != 0)
				return eng->shutdown_recv ? tls_closed(c, p,
				    resp, hs, retryable, e) : -1;
		} else if (st & BR_SSL_RECVAPP) {
			if ((r = tls_recv_app(c, resp, e)) != 0) {
				*retryable = 0;
				return r == 1 ? 0 : -1;
			}
		} else if ((st & BR_SSL_SENDAPP) && sent < reqlen) {
			tls_send_app(c, req, reqlen, &sent);
		} else if (st & BR_SSL_RECVREC) {
			if (tls_recv_records(c, deadline_ms, hs, &eof,
			    retryable, e) != 0)
				return -1;
		} else {
			return err_set(e, "TLS engine stalled (state %u)", st);
		}
	}
}

/* Plain HTTP (link-local metadata servers): the same bounded I/O. */
static int
tls_plain_send(struct tls_conn *c, const uint8_t *req, size_t reqlen,
    int64_t deadline_ms, struct err *e)
{
	size_t	sent = 0;
	ssize_t	n;

	while (sent < reqlen) {
		n = send(c->fd, req + sent, reqlen - sent, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			if (dial_wait(c->fd, POLLOUT, dial_deadline(deadline_ms,
			    IO_TIMEOUT_MS), "sending the request", e) != 0)
				return -1;
			continue;
		}
		return err_set(e, "send: %s", n < 0 ? strerror(errno) :
		    "closed");
	}
	return 0;
}

static int
tls_plain_recv(struct tls_conn *c, struct http_resp *resp,
    int64_t deadline_ms, int *retryable, struct err *e)
{
	size_t	used;
	ssize_t	n;
	int	r;

	for (;;) {
		n = recv(c->fd, c->iobuf, sizeof(c->iobuf), 0);
		if (n == 0)
			return http_resp_eof(resp, 1, e);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			if (dial_wait(c->fd, POLLIN, dial_deadline(deadline_ms,
			    IO_TIMEOUT_MS), "waiting for the response", e) != 0)
				return -1;
			continue;
		}
		if (n < 0)
			return err_set(e, "recv: %s", strerror(errno));
		r = http_resp_feed(resp, c->iobuf, (size_t)n, &used, e);
		if (r != 0) {
			*retryable = 0;
			return r == 1 ? 0 : -1;
		}
	}
}

void
tls_conn_init(struct tls_conn *c)
{
	c->open = 0;
	c->fd = -1;
}

/* A connection never opened is left alone: zeroing it would make its
 * pages resident (one per namespace's watch, most never used). */
void
tls_conn_close(struct tls_conn *c)
{
	if (!c->open)
		return;
	close(c->fd);
	explicit_bzero(c, sizeof(*c));
	c->fd = -1;
}

/* "host port name" of the peer, for reuse only by the same peer. */
static void
tls_peer_key(const struct tls_peer *p, char *dst, size_t cap)
{
	if (fmt_print(dst, cap, "%s %s %s%s", p->host, p->port,
	    p->server_name, p->plain ? " plain" : "") < 0)
		dst[0] = '\0';
}

static int
tls_open(struct tls_conn *c, const struct tls_peer *p, int64_t deadline_ms,
    int *retryable, struct err *e)
{
	c->fd = dial_connect(p->dial, p->host, p->port, deadline_ms,
	    retryable, e);
	if (c->fd < 0)
		return -1;
	c->open = 1;
	c->reused = 0;
	tls_peer_key(p, c->peer, sizeof(c->peer));
	return p->plain ? 0 : tls_engine_start(c, p, e);
}

static int
tls_once(struct tls_conn *c, const struct tls_peer *p, const uint8_t *req,
    size_t reqlen, struct http_resp *resp, int64_t deadline_ms,
    int *retryable, struct err *e)
{
	c->got = 0;
	c->spent = 0;
	if (p->plain) {
		if (tls_plain_send(c, req, reqlen, deadline_ms, e) != 0)
			return -1;
		return tls_plain_recv(c, resp, deadline_ms, retryable, e);
	}
	return tls_loop(c, p, req, reqlen, resp, deadline_ms, retryable, e);
}

int
tls_exchange(struct tls_conn *c, const struct tls_peer *p, const uint8_t *req,
    size_t reqlen, struct http_resp *resp, int keep, int64_t deadline_ms,
    int *retryable, struct err *e)
{
	char	key[sizeof(c->peer)];
	int	r;

	*retryable = 1;
	tls_peer_key(p, key, sizeof(key));
	if (c->open && strcmp(key, c->peer) == 0) {
		c->reused = 1;
		r = tls_once(c, p, req, reqlen, resp, deadline_ms, retryable, e);
		/* the server closed the idle connection first: a new one */
		if (r == 0 || c->got)
			goto out;
		tls_conn_close(c);
		http_resp_init(resp, resp->body, resp->bodycap);
	} else if (c->open) {
		tls_conn_close(c);
	}
	if (tls_open(c, p, deadline_ms, retryable, e) != 0) {
		tls_conn_close(c);
		return -1;
	}
	r = tls_once(c, p, req, reqlen, resp, deadline_ms, retryable, e);
out:
	if (r != 0 || !keep || p->plain || c->spent || !http_resp_reusable(resp))
		tls_conn_close(c);
	return r;
}

int
tls_roundtrip(const struct tls_peer *p, const uint8_t *req, size_t reqlen,
    struct http_resp *resp, int64_t deadline_ms, int *retryable,
    struct err *e)
{
	return tls_exchange(&tls_c, p, req, reqlen, resp, 0, deadline_ms,
	    retryable, e);
}

/* ---- streaming responses (a watch) -------------------------------------- */

/*
 * Without waiting: sends pending records, then hands at most one buffer
 * of decrypted bytes to resp. 2: bytes were fed (drain the body, call
 * again); 1: the response is complete; 0: nothing has arrived (poll
 * c->fd for POLLIN); -1: failed or closed (e says which).
 */
int
tls_stream_read(struct tls_conn *c, struct http_resp *resp, struct err *e)
{
	br_ssl_engine_context	*eng = &c->sc.eng;
	unsigned		 st;
	int			 eof = 0, retryable, r;
	ssize_t			 n;
	unsigned char		*buf;
	size_t			 len;

	for (;;) {
		st = br_ssl_engine_current_state(eng);
		if (st == BR_SSL_CLOSED || eof)
			return tls_closed(c, NULL, resp, 0, &retryable, e) == 0 ?
			    1 : -1;
		if (st & BR_SSL_SENDREC) {
			if (tls_send_records(c, dial_now_ms() + IO_TIMEOUT_MS,
			    &retryable, e) != 0)
				return -1;
		} else if (st & BR_SSL_RECVAPP) {
			if ((r = tls_recv_app(c, resp, e)) < 0)
				return -1;
			return r == 1 ? 1 : 2;
		} else if (st & BR_SSL_RECVREC) {
			buf = br_ssl_engine_recvrec_buf(eng, &len);
			n = recv(c->fd, buf, len, 0);
			if (n > 0)
				br_ssl_engine_recvrec_ack(eng, (size_t)n);
			else if (n == 0)
				eof = 1;
			else if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			else if (errno != EINTR)
				return err_set(e, "recv: %s", strerror(errno));
		} else {
			return err_set(e, "TLS engine stalled (state %u)", st);
		}
	}
}

/* One step of a handshake and request on a new stream connection. */
static int
tls_stream_send(struct tls_conn *c, const struct tls_peer *p,
    const uint8_t *req, size_t reqlen, size_t *sent, int64_t deadline_ms,
    struct err *e)
{
	unsigned	st = br_ssl_engine_current_state(&c->sc.eng);
	int		retryable, eof = 0;

	if (st == BR_SSL_CLOSED)
		return tls_engine_error(c, p, 1, &retryable, e);
	if (st & BR_SSL_SENDREC)
		return tls_send_records(c, deadline_ms, &retryable, e);
	if (st & BR_SSL_SENDAPP) {
		tls_send_app(c, req, reqlen, sent);
		return 0;
	}
	if (tls_recv_records(c, deadline_ms, 1, &eof, &retryable, e) != 0)
		return -1;
	if (eof)
		return err_set(e, "connection closed during the TLS handshake");
	return 0;
}

/*
 * Connects (c must be closed), sends req and reads until the response's
 * header block is parsed (or the whole response, when it is short),
 * bounded by deadline_ms. The body then comes with tls_stream_read.
 */
int
tls_stream_open(struct tls_conn *c, const struct tls_peer *p,
    const uint8_t *req, size_t reqlen, struct http_resp *resp,
    int64_t deadline_ms, struct err *e)
{
	size_t	sent = 0;
	int	retryable, r;

	if (tls_open(c, p, deadline_ms, &retryable, e) != 0)
		return -1;
	while (sent < reqlen || (br_ssl_engine_current_state(&c->sc.eng) &
	    BR_SSL_SENDREC)) {
		if (tls_stream_send(c, p, req, reqlen, &sent, deadline_ms,
		    e) != 0)
			return -1;
	}
	while (resp->state == HS_STATUS || resp->state == HS_HEADERS) {
		if ((r = tls_stream_read(c, resp, e)) < 0)
			return -1;
		if (r == 1)
			break;
		if (r == 0 && dial_wait(c->fd, POLLIN, deadline_ms,
		    "waiting for the response", e) != 0)
			return -1;
	}
	return 0;
}
