/* api_http.h - the check of a request's raw head (request line and
 * headers) that src/cli/api_server.c makes before libmicrohttpd parses it:
 * whatever libmicrohttpd would read differently from a strict HTTP/1.1
 * parser, or cut at a NUL byte, is refused with 400 instead (docs/api.md,
 * "Limits").  Pure functions: unit tests and the fuzz target call them. */
#ifndef VMRUN_API_HTTP_H
#define VMRUN_API_HTTP_H

#include <stddef.h>

#define API_HEAD_MAX 8192 /* longest request head accepted, in bytes */

/* Checks the first (len) bytes of (buf), the start of a connection's
 * input.  Returns 0 while the head is incomplete and may still be
 * acceptable, its length (up to and including the empty line) once it is
 * complete and acceptable, or -1 with (*why) set to a static one-line
 * reason.  Refused: a NUL or other control byte (but tab) anywhere in the
 * head, a line not ending in CRLF, a head longer than API_HEAD_MAX, a
 * request target not starting with '/' or holding "%00" or a byte outside
 * printable ASCII, a folded header line, a header name with blanks or
 * other non-token bytes, more than one Content-Length or
 * Transfer-Encoding, both together, a Transfer-Encoding other than
 * "chunked", a Content-Length that is not a decimal number or exceeds
 * (body_max). */
int api_http_check_head(const char *buf, size_t len, size_t body_max,
                        const char **why);

/* How far api_http_check_head_more() has scanned a head; zeroed for a new
 * connection. */
struct api_http_scan {
    size_t pos;  /* bytes scanned, all acceptable */
    size_t line; /* where the line being scanned starts */
};

/* api_http_check_head() for a head that arrives in pieces: (buf) holds
 * every byte of it so far, starting with the ones an earlier call with
 * (sc) saw, and only the bytes after (sc)->pos are scanned, so a head
 * trickled byte by byte costs its length, not its square.  The checks of
 * the request line and headers run once, on the complete head. */
int api_http_check_head_more(struct api_http_scan *sc, const char *buf,
                             size_t len, size_t body_max, const char **why);

#endif
