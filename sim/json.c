/*
 * json.c — writer, atomic files and a small recursive-descent parser.
 *
 * The parser accepts RFC 8259 JSON (objects, arrays, strings with \uXXXX
 * escapes including surrogate pairs, numbers, true, false, null) up to a
 * nesting depth of 64, and rejects everything else with the line of the
 * problem.
 */
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void json_put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* ---- atomic files ---- */

int sim_atomic_open(struct sim_atomic *a, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	memset(a, 0, sizeof(*a));
	if (strlen(path) + 16 >= sizeof(a->tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	strcpy(a->path, path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		if (!(a->f = fopen(path, "w"))) {
			snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
			return -1;
		}
		return 0;			/* tmp[0] == '\0': direct */
	}
	snprintf(a->tmp, sizeof(a->tmp), "%s.tmpXXXXXX", path);
	fd = mkstemp(a->tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	a->f = fdopen(fd, "w");
	if (!a->f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(a->tmp);
		return -1;
	}
	return 0;
}

int sim_atomic_commit(struct sim_atomic *a, char *err, size_t errlen)
{
	mode_t mask = umask(0);
	int bad, e;

	umask(mask);
	if (!a->tmp[0]) {			/* a stream: written as it is */
		bad = fflush(a->f) != 0 || ferror(a->f);
		e = errno;
		if (fclose(a->f) != 0 && !bad) {
			bad = 1;
			e = errno;
		}
		a->f = NULL;
		if (bad)
			snprintf(err, errlen, "%s: cannot write: %s", a->path, strerror(e));
		return bad ? -1 : 0;
	}
	/* mkstemp made it 0600; a report is an ordinary file */
	bad = fchmod(fileno(a->f), 0666 & ~mask) != 0 || fflush(a->f) != 0 ||
	      ferror(a->f) || fsync(fileno(a->f)) != 0;
	e = errno;

	if (fclose(a->f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	a->f = NULL;
	if (!bad && rename(a->tmp, a->path) != 0) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		snprintf(err, errlen, "%s: cannot write: %s", a->path, strerror(e));
		unlink(a->tmp);
		return -1;
	}
	return 0;
}

void sim_atomic_abort(struct sim_atomic *a)
{
	if (a->f)
		fclose(a->f);
	a->f = NULL;
	if (a->tmp[0])
		unlink(a->tmp);
}

/* ---- parsing ---- */

struct parser {
	const char *s, *end;
	int line;
	char *err;
	size_t errlen;
	int failed;
};

static void perr(struct parser *p, const char *what)
{
	if (!p->failed)
		snprintf(p->err, p->errlen, "%d: %s", p->line, what);
	p->failed = 1;
}

static void skip_ws(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) {
		if (*p->s == '\n')
			p->line++;
		p->s++;
	}
}

static int parse_value(struct parser *p, struct json *out, int depth);

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 :
			(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

static char *parse_string(struct parser *p)
{
	size_t cap = 32, n = 0;
	char *out = malloc(cap);

	if (!out) {
		perr(p, "out of memory");
		return NULL;
	}
	p->s++;			/* opening quote */
	for (;;) {
		unsigned c;
		if (p->s >= p->end) {
			perr(p, "unterminated string");
			goto fail;
		}
		c = (unsigned char)*p->s++;
		if (c == '"')
			break;
		if (c < 0x20) {
			perr(p, "control character in string");
			goto fail;
		}
		if (c == '\\') {
			if (p->s >= p->end) {
				perr(p, "unterminated string");
				goto fail;
			}
			c = (unsigned char)*p->s++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned u, lo;
				if (p->end - p->s < 4 || hex4(p->s, &u)) {
					perr(p, "bad \\u escape");
					goto fail;
				}
				p->s += 4;
				if (u >= 0xd800 && u < 0xdc00) {
					if (p->end - p->s < 6 || p->s[0] != '\\' || p->s[1] != 'u' ||
					    hex4(p->s + 2, &lo) || lo < 0xdc00 || lo >= 0xe000) {
						perr(p, "bad surrogate pair");
						goto fail;
					}
					p->s += 6;
					u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				} else if (u >= 0xdc00 && u < 0xe000) {
					perr(p, "bad surrogate pair");
					goto fail;
				}
				if (u == 0) {
					perr(p, "NUL in string");
					goto fail;
				}
				/* UTF-8 encode */
				char tmp[4];
				size_t k;
				if (u < 0x80) { tmp[0] = (char)u; k = 1; }
				else if (u < 0x800) { tmp[0] = (char)(0xc0 | u >> 6); tmp[1] = (char)(0x80 | (u & 63)); k = 2; }
				else if (u < 0x10000) { tmp[0] = (char)(0xe0 | u >> 12); tmp[1] = (char)(0x80 | ((u >> 6) & 63)); tmp[2] = (char)(0x80 | (u & 63)); k = 3; }
				else { tmp[0] = (char)(0xf0 | u >> 18); tmp[1] = (char)(0x80 | ((u >> 12) & 63)); tmp[2] = (char)(0x80 | ((u >> 6) & 63)); tmp[3] = (char)(0x80 | (u & 63)); k = 4; }
				if (n + k + 1 > cap) {
					char *no = realloc(out, cap = 2 * cap + k);
					if (!no) { perr(p, "out of memory"); goto fail; }
					out = no;
				}
				memcpy(out + n, tmp, k);
				n += k;
				continue;
			}
			default:
				perr(p, "bad escape in string");
				goto fail;
			}
		}
		if (n + 2 > cap) {
			char *no = realloc(out, cap *= 2);
			if (!no) { perr(p, "out of memory"); goto fail; }
			out = no;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

static int parse_value(struct parser *p, struct json *out, int depth)
{
	memset(out, 0, sizeof(*out));
	skip_ws(p);
	if (depth > 64) {
		perr(p, "nested too deeply");
		return -1;
	}
	if (p->s >= p->end) {
		perr(p, "unexpected end");
		return -1;
	}
	switch (*p->s) {
	case '{': case '[': {
		char close = *p->s == '{' ? '}' : ']';
		size_t cap = 0;
		out->type = close == '}' ? JSON_OBJ : JSON_ARR;
		p->s++;
		skip_ws(p);
		if (p->s < p->end && *p->s == close) {
			p->s++;
			return 0;
		}
		for (;;) {
			char *key = NULL;
			skip_ws(p);
			if (out->type == JSON_OBJ) {
				if (p->s >= p->end || *p->s != '"') {
					perr(p, "expected a member name");
					return -1;
				}
				if (!(key = parse_string(p)))
					return -1;
				skip_ws(p);
				if (p->s >= p->end || *p->s != ':') {
					free(key);
					perr(p, "expected ':'");
					return -1;
				}
				p->s++;
			}
			if (out->n == cap) {
				struct json *nk = realloc(out->kids, (cap = cap ? 2 * cap : 8) * sizeof(*nk));
				if (!nk) {
					free(key);
					perr(p, "out of memory");
					return -1;
				}
				out->kids = nk;
			}
			if (parse_value(p, &out->kids[out->n], depth + 1)) {
				out->kids[out->n].key = key;
				out->n++;
				return -1;
			}
			out->kids[out->n++].key = key;
			skip_ws(p);
			if (p->s < p->end && *p->s == ',') {
				p->s++;
				continue;
			}
			if (p->s < p->end && *p->s == close) {
				p->s++;
				return 0;
			}
			perr(p, out->type == JSON_OBJ ? "expected ',' or '}'" : "expected ',' or ']'");
			return -1;
		}
	}
	case '"':
		out->type = JSON_STR;
		out->str = parse_string(p);
		return out->str ? 0 : -1;
	case 't':
		if (p->end - p->s >= 4 && !memcmp(p->s, "true", 4)) {
			out->type = JSON_BOOL;
			out->b = true;
			p->s += 4;
			return 0;
		}
		break;
	case 'f':
		if (p->end - p->s >= 5 && !memcmp(p->s, "false", 5)) {
			out->type = JSON_BOOL;
			p->s += 5;
			return 0;
		}
		break;
	case 'n':
		if (p->end - p->s >= 4 && !memcmp(p->s, "null", 4)) {
			out->type = JSON_NULL;
			p->s += 4;
			return 0;
		}
		break;
	default: {
		const char *st = p->s;
		char *e;
		if (*p->s == '-')
			p->s++;
		while (p->s < p->end && ((*p->s >= '0' && *p->s <= '9') || *p->s == '.' ||
					 *p->s == 'e' || *p->s == 'E' || *p->s == '+' || *p->s == '-'))
			p->s++;
		if (p->s == st || (p->s == st + 1 && *st == '-'))
			break;
		out->type = JSON_NUM;
		out->raw = strndup(st, (size_t)(p->s - st));
		if (!out->raw) {
			perr(p, "out of memory");
			return -1;
		}
		out->num = strtod(out->raw, &e);
		if (*e) {
			perr(p, "bad number");
			return -1;
		}
		return 0;
	}
	}
	perr(p, "unexpected character");
	return -1;
}

struct json *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct parser p = { .s = text, .end = text + len, .line = 1, .err = err, .errlen = errlen };
	struct json *root = calloc(1, sizeof(*root));

	if (!root) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (parse_value(&p, root, 0) == 0) {
		skip_ws(&p);
		if (p.s == p.end)
			return root;
		perr(&p, "junk after the value");
	}
	json_free(root);
	return NULL;
}

static void json_free_kids(struct json *j)
{
	for (size_t i = 0; i < j->n; i++) {
		json_free_kids(&j->kids[i]);
		free(j->kids[i].key);
	}
	free(j->kids);
	free(j->str);
	free(j->raw);
}

void json_free(struct json *j)
{
	if (!j)
		return;
	json_free_kids(j);
	free(j);
}

const struct json *json_get(const struct json *j, const char *key)
{
	if (!j || j->type != JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < j->n; i++)
		if (j->kids[i].key && !strcmp(j->kids[i].key, key))
			return &j->kids[i];
	return NULL;
}

void json_write(FILE *f, const struct json *j, int indent)
{
	switch (j->type) {
	case JSON_NULL: fputs("null", f); break;
	case JSON_BOOL: fputs(j->b ? "true" : "false", f); break;
	case JSON_NUM: fputs(j->raw, f); break;
	case JSON_STR: json_put_str(f, j->str); break;
	case JSON_ARR: case JSON_OBJ: {
		char open = j->type == JSON_ARR ? '[' : '{';
		fputc(open, f);
		if (!j->n) {
			fputc(open == '[' ? ']' : '}', f);
			break;
		}
		for (size_t i = 0; i < j->n; i++) {
			fprintf(f, "%s\n%*s", i ? "," : "", indent + 2, "");
			if (j->type == JSON_OBJ) {
				json_put_str(f, j->kids[i].key);
				fputs(": ", f);
			}
			json_write(f, &j->kids[i], indent + 2);
		}
		fprintf(f, "\n%*s%c", indent, "", open == '[' ? ']' : '}');
		break;
	}
	}
}

char *json_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, k;
	int e;

	if (!f)
		return NULL;
	do {
		if (n + 65536 > cap) {
			char *nb = realloc(buf, cap = 2 * cap + 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
	} while (k > 0);
	if (ferror(f)) {
		e = errno ? errno : EIO;
		free(buf);
		fclose(f);
		errno = e;
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}
