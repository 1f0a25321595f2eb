/* api_http.c - the strict check of a request head (see api_http.h); the
 * grammar is RFC 9110/9112's, with the lenient parts (bare LF, obs-fold,
 * whitespace before the colon) refused. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/api_http.h"

#define API_HEAD_MAX_STR "8192"

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Where the head ends (after its empty line) in (buf)[0, len): 0 while it
 * is incomplete, -1 with (*why) for a byte no head may hold.  Scans from
 * (sc)->pos and records where it stopped: before a CR whose LF has not
 * come yet, or at (len). */
static long head_length(struct api_http_scan *sc, const char *buf, size_t len,
                        const char **why)
{
    size_t line = sc->line, i;

    for (i = sc->pos; i < len && i < API_HEAD_MAX; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c == '\r') {
            if (i + 1 == len)
                break;
            if (buf[i + 1] != '\n')
                return *why = "a CR without LF in the request head", -1;
            if (i == line)
                return line == 0 ? (*why = "no request line", -1)
                                 : (long)(i + 2);
            line = ++i + 1;
        } else if (c == '\n') {
            return *why = "a line ending in LF without CR", -1;
        } else if (c == 0) {
            return *why = "a NUL byte in the request head", -1;
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return *why = "a control byte in the request head", -1;
        }
    }
    sc->pos = i;
    sc->line = line;
    if (i >= API_HEAD_MAX)
        return *why = "request head longer than " API_HEAD_MAX_STR " bytes", -1;
    return 0;
}

/* "METHOD SP /target SP HTTP/1.x" ending at (end). */
static int check_request_line(const char *s, const char *end, const char **why)
{
    const char *t = s, *sp;

    while (t < end && is_tchar(*t))
        t++;
    if (t == s || t == end || *t != ' ')
        return *why = "a malformed request line", -1;
    t++;
    sp = memchr(t, ' ', (size_t)(end - t));
    if (!sp || *t != '/')
        return *why = "a request target not starting with '/'", -1;
    for (const char *c = t; c < sp; c++) {
        if (*c <= ' ' || *c > '~')
            return *why = "a request target byte outside printable ASCII", -1;
        if (*c == '%' && sp - c >= 3 && c[1] == '0' && c[2] == '0')
            return *why = "a NUL (%00) in the request target", -1;
    }
    if (end - sp != 9 || (memcmp(sp + 1, "HTTP/1.1", 8) != 0 &&
                          memcmp(sp + 1, "HTTP/1.0", 8) != 0))
        return *why = "a malformed request line", -1;
    return 0;
}

/* The message framing headers seen so far. */
struct framing {
    int content_length; /* how many */
    int transfer_encoding;
};

/* (v)[0, n) as a Content-Length: -1 if it is not 1*DIGIT, -2 if it
 * exceeds (max). */
static int parse_length(const char *v, size_t n, size_t max)
{
    unsigned long long x = 0;
    bool big = false;

    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = big ? x : x * 10 + (unsigned long long)(v[i] - '0');
        big = big || x > max;
    }
    return big ? -2 : 0;
}

/* "name: value" ending at (end); blanks around the value are not part of
 * it. */
static int check_header(const char *s, const char *end, size_t body_max,
                        struct framing *f, const char **why)
{
    const char *colon = s, *v;
    size_t name, n;

    if (*s == ' ' || *s == '\t')
        return *why = "a folded header line", -1;
    while (colon < end && is_tchar(*colon))
        colon++;
    if (colon == s || colon == end || *colon != ':')
        return *why = "a header name with blanks or other bytes outside a "
                      "token",
               -1;
    name = (size_t)(colon - s);
    for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    for (n = (size_t)(end - v); n && (v[n - 1] == ' ' || v[n - 1] == '\t');)
        n--;
    if (name == 14 && strncasecmp(s, "Content-Length", 14) == 0) {
        if (++f->content_length > 1)
            return *why = "more than one Content-Length header", -1;
        switch (parse_length(v, n, body_max)) {
        case -1:
            return *why = "a Content-Length that is not a decimal number", -1;
        case -2:
            return *why = "a request body over the size limit", -1;
        }
    } else if (name == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0) {
        if (++f->transfer_encoding > 1)
            return *why = "more than one Transfer-Encoding header", -1;
        if (n != 7 || strncasecmp(v, "chunked", 7) != 0)
            return *why = "a Transfer-Encoding other than chunked", -1;
    }
    if (f->content_length && f->transfer_encoding)
        return *why = "Content-Length and Transfer-Encoding together", -1;
    return 0;
}

int api_http_check_head(const char *buf, size_t len, size_t body_max,
                        const char **why)
{
    struct api_http_scan sc = {0};

    return api_http_check_head_more(&sc, buf, len, body_max, why);
}

int api_http_check_head_more(struct api_http_scan *sc, const char *buf,
                             size_t len, size_t body_max, const char **why)
{
    long n = head_length(sc, buf, len, why);
    struct framing f = {0};
    const char *line = buf, *end;

    if (n <= 0)
        return (int)n;
    end = memmem(line, (size_t)n, "\r\n", 2);
    if (check_request_line(line, end, why) < 0)
        return -1;
    for (line = end + 2; line < buf + n - 2; line = end + 2) {
        end = memmem(line, (size_t)(buf + n - line), "\r\n", 2);
        if (check_header(line, end, body_max, &f, why) < 0)
            return -1;
    }
    return (int)n;
}
