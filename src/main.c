/* main.c - the vmrun command: arguments, signals, terminal, exit status.
 * The only file that decides how the process exits. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "api_server.h"
#include "vmrun.h"

struct cli {
    const char *config_path; /* NULL: configured through the API */
    const char *api_sock;
    enum vmrun_log_level log_level;
};

struct term {
    int saved; /* 1 when (orig) must be restored */
    struct termios orig;
};

/* The VM a signal handler stops: set once before signals are unblocked. */
static struct vmrun_vm *volatile signal_vm;
static volatile sig_atomic_t signal_number;
/* Written by the signal handler so that a thread waiting for the API's
 * InstanceStart wakes up (a self-pipe: write() is async-signal-safe). */
static int signal_pipe[2] = {-1, -1};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vmrun [--log-level error|warn|info|debug] CONFIG.json\n"
            "       vmrun [--log-level LEVEL] --api-sock PATH [CONFIG.json]\n"
            "       vmrun --version | --help\n"
            "Boots the VM described by CONFIG.json (Firecracker's config "
            "schema, see README.md).\n"
            "--api-sock serves Firecracker's REST API on the Unix socket "
            "PATH (docs/api.md);\n"
            "without CONFIG.json the VM is configured and started "
            "through it.\n"
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

/* Returns -1 to continue, or an exit status. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
    cli->log_level = VMRUN_LOG_WARN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("vmrun %s\n", VMRUN_VERSION);
            return 0;
        } else if (strcmp(a, "--log-level") == 0) {
            if (i + 1 == argc || parse_level(argv[++i], &cli->log_level)) {
                fprintf(stderr, "vmrun: --log-level: expected error, warn, "
                                "info or debug\n");
                return VMRUN_STATUS_USAGE;
            }
        } else if (strcmp(a, "--api-sock") == 0) {
            if (i + 1 == argc || !argv[i + 1][0]) {
                fprintf(stderr, "vmrun: --api-sock: expected a socket path\n");
                return VMRUN_STATUS_USAGE;
            }
            cli->api_sock = argv[++i];
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
    if (!cli->config_path && !cli->api_sock) {
        usage(stderr);
        return VMRUN_STATUS_USAGE;
    }
    return -1;
}

static void log_stderr(void *opaque, enum vmrun_log_level level,
                       const char *msg)
{
    static const char *const prefix[] = {"error: ", "warning: ", "", ""};

    (void)opaque;
    fprintf(stderr, "vmrun: %s%s\n", prefix[level & 3], msg);
}

static void on_signal(int sig)
{
    int saved = errno;

    signal_number = sig;
    if (signal_vm)
        vmrun_request_stop(signal_vm);
    if (signal_pipe[1] >= 0 && write(signal_pipe[1], "", 1) < 0) {
        /* full: a wake-up is pending already */
    }
    errno = saved;
}

static void install_signals(void)
{
    struct sigaction sa;

    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        signal_pipe[0] = signal_pipe[1] = -1; /* only the API wait needs it */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
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

static int exit_status(const struct vmrun_exit *e)
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
        fprintf(stderr, "vmrun: stopped by signal %d\n", (int)signal_number);
        return 128 + (signal_number ? signal_number : SIGTERM);
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
    case -ENODEV:
    case -EBUSY:
    case -EACCES:
    case -EPERM:
    case -ENOENT:
    case -EISDIR:
    case -EROFS:
    case -E2BIG:
        return VMRUN_STATUS_USAGE;
    default:
        return VMRUN_STATUS_ERROR;
    }
}

/* Returns -1 with (*vm) created, or an exit status. */
static int create_vm(const struct vmrun_create_opts *opts,
                     struct vmrun_config *cfg, struct vmrun_vm **vm)
{
    int ret = vmrun_create(cfg, opts, vm);

    if (ret < 0) {
        fprintf(stderr, "vmrun: cannot create the VM: %s\n", strerror(-ret));
        return create_status(ret);
    }
    return -1;
}

/* Runs (vm) on this thread until it stops.  The API server (srv, if any)
 * stops first: no request may reach a destroyed VM. */
static int boot_vm(struct vmrun_vm *vm, struct api_server *srv)
{
    struct vmrun_exit ex;
    struct term term = {0};
    int ret;

    signal_vm = vm;
    if (signal_number)
        vmrun_request_stop(vm);
    term_raw(&term);
    /* A VM from InstanceStart is started already (-EALREADY). */
    ret = vmrun_run(vm, &ex);
    term_restore(&term);
    signal_vm = NULL;
    api_server_close(srv);
    vmrun_destroy(vm);
    if (ret < 0) {
        fprintf(stderr, "vmrun: %s\n", strerror(-ret));
        return VMRUN_STATUS_ERROR;
    }
    return exit_status(&ex);
}

static int run_vm(const struct cli *cli, struct vmrun_config *cfg)
{
    struct vmrun_create_opts opts = {log_stderr, NULL, cli->log_level};
    struct vmrun_vm *vm;
    int ret = create_vm(&opts, cfg, &vm);

    return ret >= 0 ? ret : boot_vm(vm, NULL);
}

/* The socket path is the user's to fix, like a config error (status 2),
 * and an existing file is never removed: another vmrun may be using it. */
static int api_open_status(const char *path, int err)
{
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
static int run_api(const struct cli *cli, struct vmrun_config *cfg)
{
    struct vmrun_create_opts opts = {log_stderr, NULL, cli->log_level};
    struct vmrun_vm *vm = NULL;
    struct api_server *srv;
    int ret = api_server_open(cli->api_sock, &opts, &srv);

    if (ret < 0)
        return api_open_status(cli->api_sock, ret);
    if (cfg && (ret = create_vm(&opts, cfg, &vm)) >= 0) {
        api_server_close(srv);
        return ret;
    }
    ret = api_server_start(srv, vm, cfg, cli->config_path);
    if (ret == 0 && !vm)
        ret = api_server_wait_vm(srv, signal_pipe[0], &vm);
    if (ret < 0)
        fprintf(stderr, "vmrun: api-sock: %s\n", strerror(-ret));
    if (ret < 0 || !vm) {
        api_server_close(srv);
        vmrun_destroy(vm);
        if (ret == 0)
            fprintf(stderr, "vmrun: stopped by signal %d\n",
                    (int)signal_number);
        return ret < 0 ? VMRUN_STATUS_ERROR : 128 + signal_number;
    }
    return boot_vm(vm, srv);
}

int main(int argc, char **argv)
{
    struct vmrun_config *cfg = NULL;
    struct cli cli = {0};
    char err[512];
    int ret = parse_args(argc, argv, &cli);

    if (ret >= 0)
        return ret;
    if (cli.config_path &&
        vmrun_config_parse_file(cli.config_path, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "vmrun: %s\n", err);
        return VMRUN_STATUS_USAGE;
    }
    install_signals();
    ret = cli.api_sock ? run_api(&cli, cfg) : run_vm(&cli, cfg);
    vmrun_config_free(cfg);
    return ret;
}
