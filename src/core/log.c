/* log.c - message formatting, delivery to the embedder's callback, and
 * the log file of the "logger" config section. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

#define LOG_LINE_MAX 1024

/* "../src/vm.c" -> "src/vm.c" where the compiler does not map the prefix
 * away (meson.build passes -fmacro-prefix-map). */
static const char *origin_name(const char *file)
{
    while (strncmp(file, "../", 3) == 0)
        file += 3;
    return file;
}

/* Length of the well-formed UTF-8 sequence at (s) that is not a C1
 * control (U+0080..U+009F, which terminals obey like ESC), or 0.  Overlong
 * forms, surrogates and code points past U+10FFFF are not well-formed
 * (RFC 3629, section 4). */
static size_t utf8_printable_len(const unsigned char *s)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t n;

    if (c >= 0xc2 && c <= 0xdf)
        n = 2, lo = c == 0xc2 ? 0xa0 : 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

size_t log_escape(char *dst, size_t len, const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t n = 0;

    if (!len)
        return 0;
    while (*s) {
        size_t seq = *s >= 0x80 ? utf8_printable_len(s) : 0;
        char esc[5];
        const char *out = esc;
        size_t k;

        if (*s >= 0x20 && *s != 0x7f && *s < 0x80)
            k = 1, out = (const char *)s;
        else if (seq)
            k = seq, out = (const char *)s;
        else if (*s == '\n' || *s == '\r' || *s == '\t')
            k = 2, esc[0] = '\\',
            esc[1] = *s == '\n'   ? 'n'
                     : *s == '\r' ? 'r'
                                  : 't';
        else
            k = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *s);
        if (n + k >= len)
            break; /* whole escapes and characters only */
        memcpy(dst + n, out, k);
        n += k;
        s += seq ? seq : 1;
    }
    dst[n] = '\0';
    return n;
}

void log_msg_at(const struct logger *log, enum vmrun_log_level level,
                const char *file, int line, const char *fmt, ...)
{
    char raw[LOG_LINE_MAX], buf[LOG_LINE_MAX];
    int n = 0;
    va_list ap;

    if (!log || !log->fn || level > log->level)
        return;
    if (log->show_origin)
        n = snprintf(raw, sizeof(raw), "%s:%d: ", origin_name(file), line);
    if (n < 0 || (size_t)n >= sizeof(raw))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(raw + n, sizeof(raw) - (size_t)n, fmt, ap);
    va_end(ap);
    /* Arguments carry text from configs, requests, snapshot files and
     * guests: one message stays one line whatever they hold. */
    log_escape(buf, sizeof(buf), raw);
    log->fn(log->opaque, level, buf);
}

int log_ratelimit_ok(struct log_ratelimit *rl, uint32_t burst)
{
    uint_fast32_t n =
        atomic_fetch_add_explicit(&rl->count, 1, memory_order_relaxed);

    return n < burst || (n - burst) % 4096 == 0;
}

const char *log_level_name(enum vmrun_log_level level)
{
    static const char *const names[] = {"Error", "Warning", "Info", "Debug"};

    return names[level & 3];
}

int log_file_open(const char *path, bool show_level, struct log_file **out)
{
    struct log_file *f = calloc(1, sizeof(*f));
    int err;

    if (!f)
        return -ENOMEM;
    /* A FIFO is a common log sink (Firecracker's docs use one). */
    f->fd = open_output(path, O_WRONLY | O_CREAT | O_APPEND, 0600,
                        OUTPUT_ALLOW_FIFO);
    if (f->fd < 0) {
        err = f->fd;
        free(f);
        return err;
    }
    f->show_level = show_level;
    *out = f;
    return 0;
}

const char *vmrun_strerror(int err, char *buf, size_t len)
{
    if (err == -VMRUN_ENOKVM)
        return "/dev/kvm does not exist (no KVM on this host, or "
               "kvm_intel/kvm_amd not loaded)";
    return strerror_r(-err, buf, len);
}

void log_file_write(void *opaque, enum vmrun_log_level level, const char *msg)
{
    struct log_file *f = opaque;
    char line[LOG_LINE_MAX + 96];
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%06ldZ [vmrun%s%s] ",
                          ts.tv_nsec / 1000, f->show_level ? ":" : "",
                          f->show_level ? log_level_name(level) : "");
    for (; *msg && n < sizeof(line) - 1; msg++)
        line[n++] = (unsigned char)*msg < ' ' ? ' ' : *msg;
    line[n++] = '\n';
    /* One write() per line (O_APPEND): lines from several threads, or
     * from the API server's own descriptor, never interleave. */
    if (write(f->fd, line, n) < 0) {
        /* Nowhere left to report it. */
    }
}

void log_file_close(struct log_file *f)
{
    if (!f)
        return;
    close(f->fd);
    free(f);
}
