/*
 * bench/resume.c -- what TLS 1.2 session resumption would save regcred:
 * N full handshakes, then N handshakes resuming the first session, with
 * regcred's BearSSL build, its trust-anchor code and its cipher suite
 * choice, against a local server (bench/run_mode.py starts `openssl
 * s_server`, which keeps a session-ID cache, with the stand-ins' Google-
 * shaped RSA chain). Prints one JSON object: CPU per handshake (getrusage,
 * this process only), and how many of the second kind were resumed.
 *
 *   resume HOST PORT NAME CA.pem N
 */
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anchors.h"
#include "log.h"

static char			pem[CA_FILE_MAX];
static struct anchors		a;
static br_ssl_client_context	sc;
static br_x509_minimal_context	xc;
static unsigned char		iobuf[BR_SSL_BUFSIZE_BIDI];

static int
sock_read(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t	n = read(*(int *)ctx, buf, len);

	return n <= 0 ? -1 : (int)n;
}

static int
sock_write(void *ctx, const unsigned char *buf, size_t len)
{
	ssize_t	n = write(*(int *)ctx, buf, len);

	return n <= 0 ? -1 : (int)n;
}

static double
cpu_now(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* One handshake; 1 when it resumed sp, 0 when full, -1 on failure. */
static int
handshake(const char *host, int port, const char *name,
    br_ssl_session_parameters *sp, int resume)
{
	static const uint16_t	suites[] = {
		BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 };
	struct sockaddr_in	sin;
	br_sslio_context	io;
	unsigned char		seed[32], id[32];
	size_t			idlen = sp->session_id_len;
	int			fd, r;

	memcpy(id, sp->session_id, idlen);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return -1;
	br_ssl_client_init_full(&sc, &xc, a.ta, a.n);
	br_ssl_engine_set_versions(&sc.eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(&sc.eng, suites, 1);
	br_ssl_engine_set_buffer(&sc.eng, iobuf, sizeof(iobuf), 1);
	/* the real clock, as tls.c sets it (days since 0000-01-01) */
	br_x509_minimal_set_time(&xc, (uint32_t)(time(NULL) / 86400 + 719528),
	    (uint32_t)(time(NULL) % 86400));
	if (getrandom(seed, sizeof(seed), 0) != sizeof(seed))
		return -1;
	br_ssl_engine_inject_entropy(&sc.eng, seed, sizeof(seed));
	if (resume)
		br_ssl_engine_set_session_parameters(&sc.eng, sp);
	br_ssl_client_reset(&sc, name, resume);
	br_sslio_init(&io, &sc.eng, sock_read, &fd, sock_write, &fd);
	r = br_sslio_flush(&io) == 0 ? 0 : -1;
	if (r < 0)
		fprintf(stderr, "handshake failed: BearSSL error %d\n",
		    br_ssl_engine_last_error(&sc.eng));
	if (r == 0) {
		br_ssl_engine_get_session_parameters(&sc.eng, sp);
		r = resume && idlen > 0 && sp->session_id_len == idlen &&
		    memcmp(sp->session_id, id, idlen) == 0;
	}
	br_sslio_close(&io);
	close(fd);
	return r;
}

int
main(int argc, char **argv)
{
	br_ssl_session_parameters	sp;
	struct err			e;
	FILE				*f;
	size_t				len;
	double				t0, full, res;
	int				n, i, resumed = 0, r;

	if (argc != 6)
		return 2;
	n = atoi(argv[5]);
	f = fopen(argv[4], "r");
	len = f ? fread(pem, 1, sizeof(pem) - 1, f) : 0;
	anchors_init(&a);
	if (anchors_add_pem(&a, pem, len, argv[4], &e) != 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	memset(&sp, 0, sizeof(sp));
	t0 = cpu_now();
	for (i = 0; i < n; i++)
		if (handshake(argv[1], atoi(argv[2]), argv[3], &sp, 0) < 0)
			return 1;
	full = (cpu_now() - t0) / n;
	t0 = cpu_now();
	for (i = 0; i < n; i++) {
		if ((r = handshake(argv[1], atoi(argv[2]), argv[3], &sp, 1)) < 0)
			return 1;
		resumed += r;
	}
	res = (cpu_now() - t0) / n;
	printf("{\"full_ms\": %.3f, \"resumed_ms\": %.3f, \"resumed\": %d, "
	    "\"n\": %d}\n", full * 1000, res * 1000, resumed, n);
	return 0;
}
