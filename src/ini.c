/*
 * INI text read with inih, line by line, so that the caller learns each
 * key's physical line. This works around what Debian's libinih build
 * cannot do: it reads through a fixed buffer of INIH_LINE_MAX bytes and
 * numbers lines as it was fed them. So the reader here feeds inih one
 * physical line per call, un-indents an indented "key = value" or
 * [section] (inih would take it as a continuation), and feeds a line
 * longer than the buffer as pieces that inih takes for continuation lines,
 * each cut between two non-blanks so that inih's trimming loses nothing;
 * the pieces are glued back before the caller sees the value. A line that
 * cannot be read (a NUL byte, a too-long continuation or key) is an error
 * at its line.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "pmd.h"

#define INIH_LINE_MAX	200	/* INI_MAX_LINE in Debian's libinih */
#define KEYCHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

struct ini {
	const struct ini_handler *h;
	void			*arg;
	const char		*text;
	size_t			 len;
	size_t			 off;
	int			 line;		/* physical, of the last read */
	int			 continued;	/* that line continues a value */
	int			 long_line;	/* first line too long to split */
	char			*buf;
	size_t			 bufsize;
	int			 fed;		/* lines given to inih ... */
	int			*linemap;	/* ... and their physical lines */
	char			*pend;		/* the rest of a long line */
	size_t			 pendoff;
	enum { CHUNK_NONE, CHUNK_FIRST, CHUNK_MORE, CHUNK_LAST } chunk;
	char			*acc;		/* a long value, glued back */
};

/*
 * The last place at most max bytes into s between two non-blanks, where the
 * piece after it does not start with ; or # (inih would take it for a
 * comment), or 0.
 */
static size_t
cut_point(const char *s, size_t max)
{
	size_t	i;

	for (i = max; i > 0; i--) {
		if (s[i] != '\0' && !isspace((unsigned char)s[i - 1]) &&
		    !isspace((unsigned char)s[i]) && s[i] != ';' && s[i] != '#')
			return i;
	}
	return 0;
}

/* A line inih cannot take: given as a blank line, reported after. */
static char *
too_long(struct ini *in, char *str)
{
	if (in->long_line == 0)
		in->long_line = in->line;
	strcpy(str, "\n");
	return str;
}

/* The next line into in->buf (with its newline); its length, or -1. */
static ssize_t
next_line(struct ini *in)
{
	const char	*start = in->text + in->off, *nl;
	size_t		 len;

	if (in->off >= in->len)
		return -1;
	nl = memchr(start, '\n', in->len - in->off);
	len = nl != NULL ? (size_t)(nl - start) + 1 : in->len - in->off;
	if (len + 1 > in->bufsize) {
		in->bufsize = len + 1;
		in->buf = xrealloc(in->buf, in->bufsize);
	}
	memcpy(in->buf, start, len);
	in->buf[len] = '\0';
	in->off += len;
	return (ssize_t)len;
}

/* inih's reader: one physical line (or one piece of a long one) a call. */
static char *
reader(char *str, int num, void *stream)
{
	struct ini	*in = stream;
	char		*line, *lead, *end, *name, *eq;
	size_t		 len, cut;
	ssize_t		 n;

	in->fed++;
	in->linemap = xrealloc(in->linemap, (in->fed + 1) *
	    sizeof *in->linemap);
	in->continued = 0;
	if (in->pend != NULL) {
		len = strlen(in->pend + in->pendoff);
		cut = len + 4 <= (size_t)num ? len :
		    cut_point(in->pend + in->pendoff, num - 4);
		if (cut == 0)
			cut = num - 4;	/* blanks only: nothing to lose */
		snprintf(str, num, "  %.*s\n", (int)cut, in->pend + in->pendoff);
		in->pendoff += cut;
		in->chunk = in->pend[in->pendoff] == '\0' ? CHUNK_LAST :
		    CHUNK_MORE;
		if (in->chunk == CHUNK_LAST) {
			free(in->pend);
			in->pend = NULL;
		}
		in->linemap[in->fed] = in->line;
		return str;
	}
	in->chunk = CHUNK_NONE;
	if ((n = next_line(in)) == -1)
		return NULL;
	in->line++;
	in->linemap[in->fed] = in->line;
	line = in->buf;
	if (strlen(line) != (size_t)n) {
		in->h->error(in->arg, in->line, "the line holds a NUL byte");
		strcpy(str, "\n");
		return str;
	}
	/* A byte-order mark, as some editors write, starts no key. */
	if (in->line == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0) {
		memmove(line, line + 3, n - 2);
		n -= 3;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	lead = line + strspn(line, " \t");
	if (lead != line && (*lead == '[' || lead[strspn(lead, KEYCHARS) +
	    strspn(lead + strspn(lead, KEYCHARS), " \t")] == '=')) {
		/* An indented "key = value" or [section] is not a continuation. */
		line = lead;
	}
	in->continued = lead != line && *lead != '\0' && *lead != ';' &&
	    *lead != '#';
	if (*lead == '[' && (end = strchr(lead, ']')) != NULL) {
		name = xstrndup(lead + 1, end - lead - 1);
		end += 1 + strspn(end + 1, " \t");
		in->h->section(in->arg, in->line, name,
		    *end == ';' || *end == '#' ? "" : end);
		free(name);
	}
	if (strlen(line) + 2 <= (size_t)num) {
		snprintf(str, num, "%s\n", line);
		return str;
	}
	if (*lead == ';' || *lead == '#') {
		strcpy(str, "\n");
		return str;
	}
	if (in->continued || (eq = strchr(line, '=')) == NULL)
		return too_long(in, str);
	/* Drop an inline comment here: inih would see only part of it. */
	for (end = eq; (end = strchr(end, ';')) != NULL; end++) {
		if (isspace((unsigned char)end[-1])) {
			*end = '\0';
			break;
		}
	}
	len = strlen(line);
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	if (len + 2 <= (size_t)num) {
		snprintf(str, num, "%s\n", line);
		return str;
	}
	cut = cut_point(line, num - 2);
	if (cut <= (size_t)(eq - line) + 1 + strspn(eq + 1, " \t"))
		return too_long(in, str);
	snprintf(str, num, "%.*s\n", (int)cut, line);
	in->pend = xstrdup(line + cut);
	in->pendoff = 0;
	in->chunk = CHUNK_FIRST;
	return str;
}

/* inih's handler: glue the pieces of a long line, then tell the caller. */
static int
handler(void *user, const char *section, const char *key, const char *value)
{
	struct ini	*in = user;
	char		*joined;

	if (in->chunk != CHUNK_NONE) {
		joined = xprintf("%s%s", in->chunk == CHUNK_FIRST ? "" :
		    in->acc, value);
		free(in->acc);
		in->acc = joined;
		if (in->chunk != CHUNK_LAST)
			return 1;
		value = in->acc;
	}
	in->h->key(in->arg, in->line, section, key, value, in->continued);
	return 1;
}

/*
 * Read text (len bytes), calling h with arg for each section header, each
 * key and each line that cannot be read, in the order of the lines.
 */
void
ini_read(const char *text, size_t len, const struct ini_handler *h,
    void *arg)
{
	struct ini	in;
	char		msg[128];
	int		rc;

	memset(&in, 0, sizeof in);
	in.h = h;
	in.arg = arg;
	in.text = text;
	in.len = len;
	rc = ini_parse_stream(reader, &in, handler, &in);
	if (rc > 0)
		h->error(arg, in.linemap[rc], "syntax error: expected "
		    "[section], key = value, or a comment");
	if (in.long_line != 0) {
		snprintf(msg, sizeof msg, "line too long to read: a "
		    "continuation line or a key of over %d characters",
		    INIH_LINE_MAX - 4);
		h->error(arg, in.long_line, msg);
	}
	if (rc < 0)
		h->error(arg, 0, "out of memory");
	free(in.buf);
	free(in.linemap);
	free(in.pend);
	free(in.acc);
}
