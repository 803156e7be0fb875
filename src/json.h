/*
 * json.h -- JSON in and out.
 *
 * Reading: jsmn (JSMN_STRICT) only tokenizes; json_parse then checks the
 * grammar itself (jsmn still accepts {"a":1,}, [1 2], {"a":1 "b":2}, tru,
 * 01, raw control characters and {}{}), so a parsed document is valid
 * RFC 8259 JSON with one top-level value. Getters check types, decode
 * escapes (\uXXXX with surrogate pairs, to UTF-8) and reject a duplicate
 * of any key they are asked for.
 *
 * Writing: only through struct jw, which escapes every string and fails
 * (sticky) when the caller's buffer is full.
 */
#ifndef REGCRED_JSON_H
#define REGCRED_JSON_H

#include <stddef.h>
#include "limits.h"

/* jsmn's code is compiled (static) in json.c only; elsewhere the types. */
#define JSMN_STRICT
#ifdef JSON_JSMN_IMPL
#define JSMN_STATIC
#else
#define JSMN_HEADER
#endif
#include "jsmn.h"

struct err;

enum json_type { JSON_OBJECT, JSON_ARRAY, JSON_STRING, JSON_NUMBER,
    JSON_TRUE, JSON_FALSE, JSON_NULL };

struct json {
	const char	*buf;
	size_t		 len;
	int		 ntok;
	jsmntok_t	 tok[JSON_TOKENS_MAX];
};

/* Tokenizes and validates buf; token 0 is the root value. */
int	json_parse(struct json *j, const char *buf, size_t len,
	    struct err *e);
enum json_type json_type(const struct json *j, int t);
/* Index of the token after t's whole subtree. */
int	json_skip(const struct json *j, int t);

/*
 * Looks up key (compared after unescaping) in object obj.
 * Returns 1 and sets *val when found, 0 when absent, -1 on error (obj
 * is not an object, or the key occurs twice).
 */
int	json_find(const struct json *j, int obj, const char *key, int *val,
	    struct err *e);

/* String token t, unescaped into dst (NUL terminated); a decoded NUL
 * byte, bad escape, lone surrogate or overflow of cap is an error. */
int	json_string(const struct json *j, int t, char *dst, size_t cap,
	    size_t *len, struct err *e);
/* Integer token t (no fraction or exponent) within [min, max]. When
 * allow_string is set, a string holding such an integer is accepted too
 * ("expires_in": "3599"). */
int	json_int(const struct json *j, int t, long long min, long long max,
	    int allow_string, long long *v, struct err *e);

/* Convenience: find key in obj and read it as a string / integer.
 * Absent: returns 0 with *found = 0 (found may be NULL when the key is
 * required: absence is then an error naming the key). */
int	json_get_string(const struct json *j, int obj, const char *key,
	    char *dst, size_t cap, size_t *len, int *found, struct err *e);
int	json_get_int(const struct json *j, int obj, const char *key,
	    long long min, long long max, int allow_string, long long *v,
	    int *found, struct err *e);
/* A required member that must be an object: its token in *val; absent
 * or of another type is an error naming the key. */
int	json_get_object(const struct json *j, int obj, const char *key,
	    int *val, struct err *e);

struct jw {
	char		*buf;
	size_t		 cap;
	size_t		 len;
	int		 failed;
	int		 depth;
	unsigned char	 first[JSON_DEPTH_MAX];	/* per level: nothing written
						   yet (bit 0), object (bit 1) */
	unsigned char	 want_value;		/* a key was just written */
};

void	jw_init(struct jw *w, char *buf, size_t cap);
void	jw_object_open(struct jw *w);
void	jw_object_close(struct jw *w);
void	jw_array_open(struct jw *w);
void	jw_array_close(struct jw *w);
void	jw_key(struct jw *w, const char *k, size_t len);
void	jw_string(struct jw *w, const char *s, size_t len);
void	jw_int(struct jw *w, long long v);
/* NUL-terminates; -1 (naming the buffer as `what`) if anything failed
 * or the document is not closed. */
int	jw_finish(struct jw *w, size_t *len, const char *what, struct err *e);

#endif
