/*
 * source.h -- where the subject token for Google STS comes from, behind
 * one small interface: a token file (read in the local phase), a URL
 * (fetched in the network phase), or the Entra ID hop (its assertion file
 * read in the local phase, the exchange in the network phase).
 */
#ifndef REGCRED_SOURCE_H
#define REGCRED_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include "limits.h"
#include "oauth.h"

struct err;
struct cred;
struct azure;
struct anchors;
struct dial_table;

enum source_kind { SOURCE_FILE, SOURCE_URL, SOURCE_ENTRA };

/* Caller-owned; secrets in it are wiped by source_wipe. */
struct source {
	enum source_kind	 kind;
	const struct cred	*cred;
	const struct azure	*az;
	const struct anchors	*anchors;	/* https URL and Entra ID */
	const struct dial_table	*dial;		/* their resolved addresses */
	char			 assertion[TOKEN_MAX + 1];	/* SOURCE_ENTRA */
	size_t			 alen;
	struct oauth_token	 entra;			/* SOURCE_ENTRA */
};

/*
 * Chooses the source: a file source is read as a file; an Azure IMDS URL
 * with client ID, tenant ID and token file all set takes the Entra ID hop
 * (IMDS would answer with the node's identity, not the pod's); with some
 * of the three set it is an error naming what is missing; with none, and
 * for any other URL, the URL is fetched. *ignored is set when Azure
 * settings were given but the source does not use them.
 */
int	source_plan(struct source *s, const struct cred *c,
	    const struct azure *az, const struct anchors *a, int *ignored,
	    struct err *e);
/* The host and port the network phase will reach ("" for a file). */
int	source_endpoint(const struct source *s, char *host, size_t hcap,
	    char *port, size_t pcap, struct err *e);
/* The step failures are reported under: "subject-token" or "entra". */
const char *source_step(const struct source *s);
/* The local phase: a file source's token into tok (scratch holds the
 * file), or the Entra assertion file. Nothing for a URL. */
int	source_read(struct source *s, char *scratch, size_t scap, char *tok,
	    size_t cap, size_t *toklen, struct err *e);
/* The network phase: the URL's answer or Entra's access token into tok.
 * Nothing for a file source. */
int	source_fetch(struct source *s, int64_t deadline_ms, char *tok,
	    size_t cap, size_t *toklen, struct err *e);
void	source_wipe(struct source *s);

#endif
