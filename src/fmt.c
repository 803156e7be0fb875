/*
 * fmt.c -- bounded formatting: the part of snprintf regcred uses.
 *
 * Owns: fmt_print and fmt_vprint (see fmt.h for what they accept). All
 * output goes through one cursor that counts every byte and stores the
 * ones that fit, so the return value is the would-be length, as with
 * snprintf.
 */
#include <limits.h>
#include <string.h>

#include "fmt.h"

#define FMT_WIDTH_MAX	1000	/* a wider field is refused */

struct fmt_out {
	char	*dst;
	size_t	 cap;
	size_t	 len;		/* would-be length so far, <= INT_MAX */
	int	 bad;		/* unsupported conversion, or too long */
};

struct fmt_spec {
	int	zero;		/* the 0 flag */
	size_t	width;
	int	has_prec;
	size_t	prec;
	char	size;		/* 0: int, 'L': long long, 'z': size_t */
	char	conv;
};

static void
fmt_put(struct fmt_out *o, const char *s, size_t n)
{
	size_t	room;

	if (n > (size_t)INT_MAX - o->len) {
		o->bad = 1;
		return;
	}
	if (o->len + 1 < o->cap) {
		room = o->cap - 1 - o->len;
		memcpy(o->dst + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void
fmt_pad(struct fmt_out *o, char c, size_t n)
{
	while (n-- > 0)
		fmt_put(o, &c, 1);
}

/* Width padding, sign, then the body (zeros go between the two). */
static void
fmt_field(struct fmt_out *o, const struct fmt_spec *s, const char *sign,
    const char *body, size_t n)
{
	size_t	sn = strlen(sign), pad = 0;

	if (s->width > sn + n)
		pad = s->width - sn - n;
	if (!s->zero)
		fmt_pad(o, ' ', pad);
	fmt_put(o, sign, sn);
	if (s->zero)
		fmt_pad(o, '0', pad);
	fmt_put(o, body, n);
}

static void
fmt_num(struct fmt_out *o, const struct fmt_spec *s, unsigned long long v,
    int neg)
{
	char	buf[20];	/* 2^64 - 1 has 20 digits */
	size_t	i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	fmt_field(o, s, neg ? "-" : "", buf + i, sizeof(buf) - i);
}

/* A decimal number; stops before it could pass max by more than 9, so
 * the caller sees a number over max or a digit left: both refused. */
static size_t
fmt_digits(const char **p, size_t max)
{
	size_t	n = 0;

	while (**p >= '0' && **p <= '9' && n <= max / 10)
		n = n * 10 + (size_t)(*(*p)++ - '0');
	return n;
}

/* Flags, width, precision and length of the conversion after a '%'. */
static const char *
fmt_parse(const char *p, struct fmt_spec *s, va_list *ap)
{
	int	prec;

	memset(s, 0, sizeof(*s));
	if (*p == '0') {
		s->zero = 1;
		p++;
	}
	s->width = fmt_digits(&p, FMT_WIDTH_MAX);
	if (*p == '.') {
		s->has_prec = 1;
		if (*++p != '*') {
			s->prec = fmt_digits(&p, INT_MAX);
		} else {
			p++;
			prec = va_arg(*ap, int);
			s->has_prec = prec >= 0; /* negative: as if omitted */
			s->prec = prec >= 0 ? (size_t)prec : 0;
		}
	}
	if (p[0] == 'l' && p[1] == 'l') {
		s->size = 'L';
		p += 2;
	} else if (*p == 'z') {
		s->size = 'z';
		p++;
	}
	s->conv = *p;
	if (s->width > FMT_WIDTH_MAX || s->prec > INT_MAX)
		s->conv = '\0';	/* refused by fmt_conv */
	return *p != '\0' ? p + 1 : p;
}

static void
fmt_signed(struct fmt_out *o, const struct fmt_spec *s, va_list *ap)
{
	long long		v;
	unsigned long long	u;

	if (s->size == 'z') {
		o->bad = 1;
		return;
	}
	v = s->size == 'L' ? va_arg(*ap, long long) : va_arg(*ap, int);
	u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	fmt_num(o, s, u, v < 0);
}

static void
fmt_unsigned(struct fmt_out *o, const struct fmt_spec *s, va_list *ap)
{
	unsigned long long	u;

	if (s->size == 'L')
		u = va_arg(*ap, unsigned long long);
	else if (s->size == 'z')
		u = va_arg(*ap, size_t);
	else
		u = va_arg(*ap, unsigned int);
	fmt_num(o, s, u, 0);
}

static void
fmt_conv(struct fmt_out *o, const struct fmt_spec *s, va_list *ap)
{
	const char	*str;
	char		 c;

	if (s->has_prec && s->conv != 's') {
		o->bad = 1;
		return;
	}
	switch (s->conv) {
	case 's':
		if (s->size != 0 || (str = va_arg(*ap, const char *)) == NULL)
			break;
		fmt_field(o, s, "", str,
		    s->has_prec ? strnlen(str, s->prec) : strlen(str));
		return;
	case 'c':
		c = (char)va_arg(*ap, int);
		fmt_field(o, s, "", &c, 1);
		return;
	case 'd':
		fmt_signed(o, s, ap);
		return;
	case 'u':
		fmt_unsigned(o, s, ap);
		return;
	case '%':
		fmt_put(o, "%", 1);
		return;
	default:
		break;
	}
	o->bad = 1;
}

int
fmt_vprint(char *dst, size_t cap, const char *fmt, va_list ap)
{
	struct fmt_out	 o = { dst, cap, 0, 0 };
	struct fmt_spec	 s;
	const char	*pct;
	va_list		 aq;

	va_copy(aq, ap);	/* a va_list parameter's address is not a
				   va_list * on every ABI; a copy's is */
	while (*fmt != '\0' && !o.bad) {
		pct = strchr(fmt, '%');
		if (pct == NULL)
			pct = fmt + strlen(fmt);
		fmt_put(&o, fmt, (size_t)(pct - fmt));
		fmt = pct;
		if (*fmt == '%') {
			fmt = fmt_parse(fmt + 1, &s, &aq);
			fmt_conv(&o, &s, &aq);
		}
	}
	va_end(aq);
	if (cap > 0)
		dst[o.len < cap ? o.len : cap - 1] = '\0';
	return o.bad ? -1 : (int)o.len;
}

int
fmt_print(char *dst, size_t cap, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = fmt_vprint(dst, cap, fmt, ap);
	va_end(ap);
	return n;
}
