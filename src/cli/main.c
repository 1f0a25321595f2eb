/* main.c - the vmrun command: arguments, signals, terminal, exit status.
 * The only file that decides how the process exits. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <linux/capability.h>

#include "cli/rest_module.h"
#include "core/util.h"
#include "vmrun.h"

#define CLI_MAX_OVERRIDES 32

struct cli {
    const char *config_path; /* NULL: configured through the API */
    const char *api_sock;
    enum vmrun_log_level log_level;
    bool no_seccomp;
    const char *crash_dump; /* --crash-dump PATH, NULL: the config's */
    long long uid, gid;     /* -1: keep */
    /* --restore SNAPSHOT --mem MEMFILE [--drive-path ID=PATH]
     * [--tap ID=NAME] [--console-path ID=PATH] [--track-dirty-pages] */
    struct vmrun_restore restore;
    const char *drive_paths[CLI_MAX_OVERRIDES];
    const char *taps[CLI_MAX_OVERRIDES];
    const char *console_paths[CLI_MAX_OVERRIDES];
    int stop_fd;      /* signalfd of SIGINT/SIGTERM/SIGHUP, -1: none */
    bool dropped;     /* --uid/--gid: privileges are given up */
    bool drop_failed; /* drop_privileges() failed (said on stderr) */
};

struct term {
    int saved; /* 1 when (orig) must be restored */
    struct termios orig;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vmrun [--log-level error|warn|info|debug] CONFIG.json\n"
            "       vmrun [--log-level LEVEL] --api-sock PATH [CONFIG.json]\n"
            "       vmrun [--log-level LEVEL] [--api-sock PATH] --restore "
            "SNAPSHOT --mem MEMFILE\n"
            "             [--drive-path ID=PATH]... [--tap ID=NAME]... "
            "[--console-path ID=PATH]...\n"
            "             [--track-dirty-pages]\n"
            "       vmrun snapshot-merge FULL_MEM [DIFF_MEM...] -o OUT_MEM\n"
            "       vmrun --version | --help\n"
            "--crash-dump PATH writes an ELF core file there when the "
            "guest crashes or panics\n(docs/crash-dump.md).\n"
            "Also: --no-seccomp (no syscall filters, for debugging), "
            "--uid N --gid N (run as\n"
            "N once /dev/kvm, images and taps are open); see "
            "docs/security.md.\n"
            "Boots the VM described by CONFIG.json (Firecracker's config "
            "schema, see README.md).\n"
            "--api-sock serves Firecracker's REST API on the Unix socket "
            "PATH (docs/api.md);\n"
            "without CONFIG.json the VM is configured and started "
            "through it.\n"
            "--restore resumes a snapshot (docs/snapshot.md): every drive, "
            "network interface\nand console file output of the snapshot "
            "needs its --drive-path, --tap or\n--console-path (a snapshot "
            "never chooses host files or taps); snapshot-merge\nlays Diff "
            "memory files over a Full one.\n"
            "Exit status: the guest's debug-exit byte, 0 on poweroff or "
            "reboot, 1 vmrun error,\n"
            "2 bad arguments or config, 3 guest kernel panic, 4 guest "
            "crash, 128+N on signal N.\n");
}

static int parse_level(const char *s, enum vmrun_log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum vmrun_log_level)i;
            return 0;
        }
    }
    return -1;
}

/* --uid/--gid N: a decimal id that is not (uid_t)-1. */
static int parse_id(const char *flag, const char *s, long long *out)
{
    char *end;

    errno = 0;
    *out = s ? strtoll(s, &end, 10) : -1;
    if (!s || errno || end == s || *end || *out < 0 || *out >= 0xffffffffLL) {
        fprintf(stderr, "vmrun: %s: expected a numeric id 0..4294967294\n",
                flag);
        return -1;
    }
    return 0;
}

/* The value of option argv[*i] (advancing *i); NULL after a message.  A
 * value that looks like an option is refused: it is a forgotten value far
 * more often than a file named "-x" (write "./-x"). */
static const char *opt_value(int argc, char **argv, int *i, const char *what)
{
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;

    if (!v || !v[0] || (v[0] == '-' && v[1])) {
        fprintf(stderr, "vmrun: %s: expected %s%s%s%s\n", argv[*i], what,
                v ? ", got '" : "", v ? v : "", v ? "'" : "");
        return NULL;
    }
    return argv[++*i];
}

/* Nonzero, after a message, when (flag) was (given) already. */
static int opt_twice(const char *flag, bool given)
{
    if (given)
        fprintf(stderr, "vmrun: %s: given twice\n", flag);
    return given;
}

/* --drive-path, --tap and --console-path: ID=VALUE, repeatable.  -1 or an
 * exit status. */
static int opt_override(int argc, char **argv, int *i, const char **list,
                        size_t *n)
{
    const char *v = opt_value(argc, argv, i, "ID=VALUE");

    if (!v)
        return VMRUN_STATUS_USAGE;
    if (!strchr(v, '=') || v[0] == '=' || *n == CLI_MAX_OVERRIDES) {
        fprintf(stderr, "vmrun: %s: expected ID=VALUE (at most %d), got '%s'\n",
                argv[*i - 1], CLI_MAX_OVERRIDES, v);
        return VMRUN_STATUS_USAGE;
    }
    list[(*n)++] = v;
    return -1;
}

/* The snapshot options; 0 when (argv[*i]) is not one, -1 when taken, or
 * an exit status. */
static int parse_restore_arg(int argc, char **argv, int *i, struct cli *cli)
{
    struct vmrun_restore *r = &cli->restore;
    const char *a = argv[*i];

    if (strcmp(a, "--restore") == 0)
        return !opt_twice(a, r->snapshot_path) &&
                       (r->snapshot_path =
                            opt_value(argc, argv, i, "a snapshot file"))
                   ? -1
                   : VMRUN_STATUS_USAGE;
    if (strcmp(a, "--mem") == 0)
        return !opt_twice(a, r->mem_path) &&
                       (r->mem_path = opt_value(argc, argv, i, "a memory file"))
                   ? -1
                   : VMRUN_STATUS_USAGE;
    if (strcmp(a, "--drive-path") == 0)
        return opt_override(argc, argv, i, cli->drive_paths,
                            &r->nr_drive_paths);
    if (strcmp(a, "--tap") == 0)
        return opt_override(argc, argv, i, cli->taps, &r->nr_taps);
    if (strcmp(a, "--console-path") == 0)
        return opt_override(argc, argv, i, cli->console_paths,
                            &r->nr_console_paths);
    if (strcmp(a, "--track-dirty-pages") == 0) {
        r->track_dirty_pages = 1;
        return -1;
    }
    return 0;
}

/* --restore needs --mem and excludes a config file, and the reverse. */
static int check_restore_args(struct cli *cli)
{
    struct vmrun_restore *r = &cli->restore;
    bool extras = r->mem_path || r->nr_drive_paths || r->nr_taps ||
                  r->nr_console_paths || r->track_dirty_pages > 0;

    if (!r->snapshot_path && extras) {
        fprintf(stderr, "vmrun: --mem, --drive-path, --tap, --console-path "
                        "and --track-dirty-pages need --restore\n");
        return VMRUN_STATUS_USAGE;
    }
    if (r->snapshot_path && (!r->mem_path || cli->config_path)) {
        fprintf(stderr, "vmrun: --restore needs --mem MEMFILE and no config "
                        "file\n");
        return VMRUN_STATUS_USAGE;
    }
    r->drive_paths = cli->drive_paths;
    r->taps = cli->taps;
    r->console_paths = cli->console_paths;
    r->names = VMRUN_RESTORE_NAMES_CLI;
    r->resume = 1;
    return -1;
}

/* --crash-dump PATH: the dump is created at a crash, so it gets
 * open_output()'s checks now without being opened (check_output()): its
 * folder must exist, and what is at PATH already must be a regular file
 * off the kernel's pseudo file systems.  Nonzero (said on stderr) when it
 * cannot be used. */
static int check_crash_dump(const char *path)
{
    int rc = check_output(path, 0);

    if (rc == 0)
        return 0;
    fprintf(stderr, "vmrun: --crash-dump: '%s': %s\n", path,
            rc == -ENOENT ? "its folder does not exist"
                          : open_output_strerror(rc));
    return 1;
}

/* Returns -1 to continue, or an exit status. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
    bool level_given = false;

    cli->log_level = VMRUN_LOG_WARN;
    cli->uid = cli->gid = -1;
    cli->restore.track_dirty_pages = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = parse_restore_arg(argc, argv, &i, cli);

        if (rc > 0)
            return rc;
        if (rc < 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("vmrun %s\n", VMRUN_VERSION);
            return 0;
        } else if (strcmp(a, "--log-level") == 0) {
            if (opt_twice(a, level_given))
                return VMRUN_STATUS_USAGE;
            level_given = true;
            if (i + 1 == argc || parse_level(argv[++i], &cli->log_level)) {
                fprintf(stderr, "vmrun: --log-level: expected error, warn, "
                                "info or debug\n");
                return VMRUN_STATUS_USAGE;
            }
        } else if (strcmp(a, "--api-sock") == 0) {
            if (opt_twice(a, cli->api_sock) ||
                !(cli->api_sock = opt_value(argc, argv, &i, "a socket path")))
                return VMRUN_STATUS_USAGE;
        } else if (strcmp(a, "--crash-dump") == 0) {
            if (opt_twice(a, cli->crash_dump) ||
                !(cli->crash_dump = opt_value(argc, argv, &i, "a file path")) ||
                check_crash_dump(cli->crash_dump))
                return VMRUN_STATUS_USAGE;
        } else if (strcmp(a, "--no-seccomp") == 0) {
            cli->no_seccomp = true;
        } else if (strcmp(a, "--uid") == 0 || strcmp(a, "--gid") == 0) {
            long long *id = a[2] == 'u' ? &cli->uid : &cli->gid;

            if (opt_twice(a, *id >= 0) ||
                parse_id(a, i + 1 < argc ? argv[++i] : NULL, id))
                return VMRUN_STATUS_USAGE;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "vmrun: %s: unknown option (see --help)\n", a);
            return VMRUN_STATUS_USAGE;
        } else if (cli->config_path) {
            fprintf(stderr, "vmrun: %s: only one config file is accepted\n", a);
            return VMRUN_STATUS_USAGE;
        } else {
            cli->config_path = a;
        }
    }
    if ((cli->uid < 0) != (cli->gid < 0)) {
        fprintf(stderr, "vmrun: --uid and --gid go together\n");
        return VMRUN_STATUS_USAGE;
    }
    if (!cli->config_path && !cli->api_sock && !cli->restore.snapshot_path) {
        usage(stderr);
        return VMRUN_STATUS_USAGE;
    }
    return check_restore_args(cli);
}

static void log_stderr(void *opaque, enum vmrun_log_level level,
                       const char *msg)
{
    static const char *const prefix[] = {"error: ", "warning: ", "", ""};

    (void)opaque;
    fprintf(stderr, "vmrun: %s%s\n", prefix[level & 3], msg);
}

/* SIGINT, SIGTERM and SIGHUP stop the VM: blocked in every thread (the
 * threads vmrun starts inherit the mask) and read from a signalfd that
 * vmrun_wait() and the wait for InstanceStart poll.  No handler, so no
 * process-wide state.  Returns the signalfd, -1 if there is none (the
 * signals then keep their default action: they end vmrun at once). */
static int stop_signals_fd(void)
{
    sigset_t set;
    int fd;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd >= 0)
        sigprocmask(SIG_BLOCK, &set, NULL);
    return fd;
}

/* The signal that stopped vmrun (SIGTERM when none can be read). */
static int stop_signal(int fd)
{
    struct signalfd_siginfo si;

    if (fd >= 0 && read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        return (int)si.ssi_signo;
    return SIGTERM;
}

/* Exit status 128+N after the message, for a stop by signal N. */
static int stopped_status(int stop_fd)
{
    int sig = stop_signal(stop_fd);

    fprintf(stderr, "vmrun: stopped by signal %d\n", sig);
    return 128 + sig;
}

/* Character-at-a-time input for the guest's console; output processing and
 * signals (Ctrl-C stops vmrun) stay as they were. */
static void term_raw(struct term *t)
{
    struct termios raw;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->orig) < 0)
        return;
    raw = t->orig;
    raw.c_lflag &= ~(ICANON | ECHO | ECHONL | IEXTEN);
    raw.c_iflag &= ~(ICRNL | INLCR | IXON);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
        t->saved = 1;
}

static void term_restore(struct term *t)
{
    if (t->saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &t->orig);
    t->saved = 0;
}

static int exit_status(const struct vmrun_exit *e, int stop_fd)
{
    switch (e->reason) {
    case VMRUN_EXIT_REBOOT:
        fprintf(stderr, "vmrun: guest rebooted; vmrun exits (restart on "
                        "reboot is not supported)\n");
        return 0;
    case VMRUN_EXIT_PANIC:
        fprintf(stderr, "vmrun: guest kernel panicked\n");
        return VMRUN_STATUS_PANIC;
    case VMRUN_EXIT_STOPPED:
        return stopped_status(stop_fd);
    default:
        return e->status;
    }
}

/* A resource the config names but that cannot be used (a missing or busy
 * tap, a locked image, no permission) is the user's to fix: status 2, like
 * a config error.  Anything else is vmrun's failure. */
static int create_status(int err)
{
    switch (err) {
    case -VMRUN_ENOKVM:
    case -ENODEV:
    case -EBUSY:
    case -EACCES:
    case -EPERM:
    case -ENOENT:
    case -EISDIR:
    case -EROFS:
    case -E2BIG:
    case -ELOOP: /* open_output(): a symbolic link */
    case -ENXIO: /* open_output(): a FIFO without a reader */
    case -EXDEV: /* open_output(): on proc, sysfs, ... */
        return VMRUN_STATUS_USAGE;
    default:
        return VMRUN_STATUS_ERROR;
    }
}

/* Returns -1 with (*vm) created, or an exit status. */
static int create_vm(const struct cli *cli,
                     const struct vmrun_create_opts *opts,
                     struct vmrun_config *cfg, struct vmrun_vm **vm)
{
    int ret = vmrun_create(cfg, opts, vm);
    char ebuf[128];

    if (ret < 0 && cli->drop_failed)
        return VMRUN_STATUS_ERROR; /* said by drop_privileges() */
    if (ret == -EINTR)
        return stopped_status(cli->stop_fd);
    if (ret < 0) {
        fprintf(stderr, "vmrun: cannot create the VM: %s\n",
                vmrun_strerror(ret, ebuf, sizeof(ebuf)));
        return create_status(ret);
    }
    return -1;
}

/* Empties the capability bounding set (every capability up to the last the
 * kernel knows: PR_CAPBSET_DROP says EINVAL past it), the ambient set and
 * the inheritable set, while still root (dropping needs CAP_SETPCAP).  The
 * sets are per thread: this runs while vmrun is the only thread.  Returns
 * 0 or -errno. */
static int drop_capabilities(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];

    for (unsigned long cap = 0;; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL && cap > 0)
                break;
            return -errno;
        }
    /* EINVAL: a kernel before 4.3 has no ambient set. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
        errno != EINVAL)
        return -errno;
    if (syscall(SYS_capget, &hdr, data) < 0)
        return -errno;
    data[0].inheritable = data[1].inheritable = 0;
    return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

/* Nonzero when a capability is left in the bounding set. */
static int capabilities_left(void)
{
    for (unsigned long cap = 0;; cap++) {
        int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

        if (r < 0)
            return errno != EINVAL || cap == 0;
        if (r > 0)
            return 1;
    }
}

/* --uid/--gid: gives up root for good once /dev/kvm, the images, the taps,
 * the API socket and the kernel and initrd (or a snapshot's files) are
 * open, and before those are read, while this is the only thread.  The
 * capability bounding set goes first (it needs CAP_SETPCAP), then groups
 * and gid (after setuid() they could no longer be changed).  Returns -1
 * to continue, or an exit status. */
static int drop_privileges(struct cli *cli)
{
    int ret;

    if (cli->uid < 0 || cli->dropped)
        return -1;
    cli->drop_failed = true;
    ret = drop_capabilities();
    if (ret < 0) {
        fprintf(stderr,
                "vmrun: --uid/--gid: cannot drop the capability bounding "
                "set: %s\n",
                strerror(-ret));
        return VMRUN_STATUS_ERROR;
    }
    if (setgroups(0, NULL) < 0 || setgid((gid_t)cli->gid) < 0 ||
        setuid((uid_t)cli->uid) < 0) {
        fprintf(stderr, "vmrun: --uid/--gid: cannot drop privileges: %s\n",
                strerror(errno));
        return VMRUN_STATUS_ERROR;
    }
    if (capabilities_left() ||
        (cli->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0 ||
                           (cli->gid != 0 && setegid(0) == 0)))) {
        fprintf(stderr, "vmrun: --uid: root could be regained; stopping\n");
        return VMRUN_STATUS_ERROR;
    }
    cli->drop_failed = false;
    cli->dropped = true;
    return -1;
}

/* vmrun_create_opts.drop_fn: libvmrun calls it once the files of the VM
 * are open and before it parses the kernel, initrd or snapshot state. */
static int cli_drop(void *opaque)
{
    return drop_privileges(opaque) >= 0 ? -EPERM : 0;
}

/* --uid/--gid: libvmrun calls drop_privileges() between opening the
 * VM's files and parsing the untrusted ones (docs/security.md). */
static struct vmrun_create_opts cli_opts(struct cli *cli)
{
    return (struct vmrun_create_opts){
        .log_fn = log_stderr,
        .log_level = cli->log_level,
        .seccomp = cli->no_seccomp ? VMRUN_SECCOMP_OFF : VMRUN_SECCOMP_KILL,
        .crash_dump_path = cli->crash_dump,
        .drop_fn = cli->uid >= 0 ? cli_drop : NULL,
        .drop_opaque = cli,
        .stop_fd = cli->stop_fd, /* a signal ends a long load */
    };
}

/* Runs (vm) on this thread until it stops.  The API server (srv, if any)
 * stops first: no request may reach a destroyed VM. */
static int boot_vm(const struct cli *cli, struct vmrun_vm *vm,
                   struct rest_server *srv)
{
    struct vmrun_exit ex;
    struct term term = {0};
    int ret;

    vmrun_set_stop_fd(vm, cli->stop_fd); /* a signal already here stops it */
    term_raw(&term);
    /* A VM from InstanceStart is started already (-EALREADY). */
    ret = vmrun_run(vm, &ex);
    term_restore(&term);
    rest_close(srv);
    vmrun_destroy(vm);
    if (ret < 0) {
        fprintf(stderr, "vmrun: %s\n", strerror(-ret));
        return VMRUN_STATUS_ERROR;
    }
    return exit_status(&ex, cli->stop_fd);
}

static int run_vm(struct cli *cli, struct vmrun_config *cfg)
{
    struct vmrun_create_opts opts = cli_opts(cli);
    struct vmrun_vm *vm;
    int ret = create_vm(cli, &opts, cfg, &vm);

    if (ret < 0 && (ret = drop_privileges(cli)) >= 0)
        vmrun_destroy(vm);
    return ret >= 0 ? ret : boot_vm(cli, vm, NULL);
}

/* The socket path is the user's to fix, like a config error (status 2),
 * and an existing file is never removed: another vmrun may be using it. */
static int api_open_status(const char *path, int err)
{
    if (err == -ELIBACC) /* said by rest_open() */
        return VMRUN_STATUS_ERROR;
    if (err == -EEXIST)
        fprintf(stderr,
                "vmrun: api-sock: '%s' exists; remove it if no vmrun "
                "uses it\n",
                path);
    else
        fprintf(stderr, "vmrun: api-sock: cannot listen on '%s': %s\n", path,
                strerror(-err));
    return err == -ENOMEM ? VMRUN_STATUS_ERROR : VMRUN_STATUS_USAGE;
}

/* With a config the VM boots at once and the API serves runtime calls;
 * without one, the VM InstanceStart creates is run here. */
static int run_api(struct cli *cli, struct vmrun_config *cfg)
{
    struct vmrun_create_opts opts = cli_opts(cli);
    struct vmrun_vm *vm = NULL;
    struct rest_server *srv;
    int ret = rest_open(cli->api_sock, &opts, &srv);

    if (ret < 0)
        return api_open_status(cli->api_sock, ret);
    if ((cfg && (ret = create_vm(cli, &opts, cfg, &vm)) >= 0) ||
        (ret = drop_privileges(cli)) >= 0) {
        rest_close(srv);
        vmrun_destroy(vm);
        return ret;
    }
    ret = rest_start(srv, vm, cfg, cli->config_path);
    if (ret == 0 && !vm)
        ret = rest_wait_vm(srv, cli->stop_fd, &vm);
    if (ret < 0)
        fprintf(stderr, "vmrun: api-sock: %s\n", strerror(-ret));
    if (ret < 0 || !vm) {
        rest_close(srv);
        vmrun_destroy(vm);
        return ret < 0 ? VMRUN_STATUS_ERROR : stopped_status(cli->stop_fd);
    }
    return boot_vm(cli, vm, srv);
}

/* A snapshot that is not one, is damaged or does not fit this host, and
 * every resource error of create_status(): the user's to fix. */
static int restore_status(int err)
{
    if (err == -EINVAL || err == -ENOTSUP)
        return VMRUN_STATUS_USAGE;
    return create_status(err);
}

/* --restore: builds the VM from the snapshot, serves the API on it when
 * --api-sock is given, and runs it. */
static int run_restore(struct cli *cli)
{
    struct vmrun_create_opts opts = cli_opts(cli);
    struct rest_server *srv = NULL;
    struct vmrun_vm *vm;
    char err[512] = "";
    int ret;

    if (cli->api_sock) {
        ret = rest_open(cli->api_sock, &opts, &srv);
        if (ret < 0)
            return api_open_status(cli->api_sock, ret);
    }
    ret = vmrun_restore(&cli->restore, &opts, &vm, err, sizeof(err));
    if (ret < 0) {
        rest_close(srv);
        if (ret == -EINTR)
            return stopped_status(cli->stop_fd);
        if (cli->drop_failed) /* said by drop_privileges() */
            return VMRUN_STATUS_ERROR;
        fprintf(stderr, "vmrun: %s\n", err[0] ? err : strerror(-ret));
        return restore_status(ret);
    }
    if ((ret = drop_privileges(cli)) >= 0) {
        rest_close(srv);
        vmrun_destroy(vm);
        return ret;
    }
    if (srv && (ret = rest_start(srv, vm, NULL, NULL)) < 0) {
        fprintf(stderr, "vmrun: api-sock: %s\n", strerror(-ret));
        rest_close(srv);
        vmrun_destroy(vm);
        return VMRUN_STATUS_ERROR;
    }
    return boot_vm(cli, vm, srv);
}

struct merge_args {
    const char *out, *full;
    const char **diffs; /* argc entries */
    size_t n;
};

/* snapshot-merge's arguments: every one is a file or -o OUT, given once;
 * anything else starting with '-' (after "--", none) is an error.  -1 to
 * continue, or an exit status after a one-line message. */
static int parse_merge_args(int argc, char **argv, struct merge_args *m)
{
    bool files_only = false;

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];

        if (!files_only && strcmp(a, "--") == 0) {
            files_only = true;
        } else if (!files_only &&
                   (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            printf("usage: vmrun snapshot-merge FULL_MEM [DIFF_MEM...] -o "
                   "OUT_MEM\n");
            return 0;
        } else if (!files_only && strcmp(a, "-o") == 0) {
            if (m->out) {
                fprintf(stderr, "vmrun: snapshot-merge: -o: given twice\n");
                return VMRUN_STATUS_USAGE;
            }
            if (!(m->out = opt_value(argc, argv, &i, "an output file")))
                return VMRUN_STATUS_USAGE;
        } else if (!files_only && a[0] == '-' && a[1]) {
            fprintf(stderr,
                    "vmrun: snapshot-merge: %s: unknown option (usage: vmrun "
                    "snapshot-merge FULL_MEM [DIFF_MEM...] -o OUT_MEM)\n",
                    a);
            return VMRUN_STATUS_USAGE;
        } else if (!a[0]) {
            fprintf(stderr, "vmrun: snapshot-merge: an empty file name\n");
            return VMRUN_STATUS_USAGE;
        } else if (!m->full) {
            m->full = a;
        } else {
            m->diffs[m->n++] = a;
        }
    }
    if (!m->full || !m->out) {
        fprintf(stderr,
                "vmrun: snapshot-merge: %s: missing (usage: vmrun "
                "snapshot-merge FULL_MEM [DIFF_MEM...] -o OUT_MEM)\n",
                !m->full ? "FULL_MEM" : "-o OUT_MEM");
        return VMRUN_STATUS_USAGE;
    }
    return -1;
}

/* vmrun snapshot-merge FULL [DIFF...] -o OUT: SIGINT, SIGTERM and SIGHUP
 * stop it between 1 MiB pieces, and its temporary file goes with it. */
static int run_merge(int argc, char **argv)
{
    struct merge_args m = {.diffs = calloc(argc, sizeof(char *))};
    char err[512] = "";
    int ret, stop_fd;

    if (!m.diffs)
        return VMRUN_STATUS_ERROR;
    ret = parse_merge_args(argc, argv, &m);
    if (ret >= 0) {
        free(m.diffs);
        return ret;
    }
    stop_fd = stop_signals_fd();
    ret = vmrun_snapshot_merge_fd(m.full, m.diffs, m.n, m.out, stop_fd, err,
                                  sizeof(err));
    free(m.diffs);
    if (ret == -EINTR && stop_fd >= 0) {
        ret = stop_signal(stop_fd);
        fprintf(stderr, "vmrun: snapshot-merge: %s; stopped by signal %d\n",
                err, ret);
        return 128 + ret;
    }
    if (ret < 0) {
        fprintf(stderr, "vmrun: snapshot-merge: %s\n",
                err[0] ? err : strerror(-ret));
        return ret == -ENOMEM || ret == -EIO ? VMRUN_STATUS_ERROR
                                             : VMRUN_STATUS_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct vmrun_config *cfg = NULL;
    struct cli cli = {0};
    char err[512];
    int ret;

    /* Process-wide, before any thread exists: every thread inherits it,
     * filtered or not (--no-seccomp), and nothing vmrun could be made to
     * execute gains privileges from setuid bits or file capabilities. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        fprintf(stderr, "vmrun: cannot set no_new_privs: %s\n",
                strerror(errno));
        return VMRUN_STATUS_ERROR;
    }
    if (argc > 1 && strcmp(argv[1], "snapshot-merge") == 0)
        return run_merge(argc, argv);
    ret = parse_args(argc, argv, &cli);

    if (ret >= 0)
        return ret;
    if (cli.config_path &&
        vmrun_config_parse_file(cli.config_path, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "vmrun: %s\n", err);
        return VMRUN_STATUS_USAGE;
    }
    cli.stop_fd = stop_signals_fd();
    if (cli.restore.snapshot_path)
        ret = run_restore(&cli);
    else
        ret = cli.api_sock ? run_api(&cli, cfg) : run_vm(&cli, cfg);
    vmrun_config_free(cfg);
    return ret;
}
