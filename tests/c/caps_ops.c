/* Capabilities: capget/capset version handling and rules, the bounding
 * and ambient sets, keepcaps, how set*uid and setfsuid change the sets,
 * what execve gives a root and a non-root process, and privilege checks
 * that follow the effective set rather than the user id (chown, reading a
 * file of another user, kill, setuid, mount, chroot).
 *
 * Runs as root. It first narrows its sets to a fixed list so that the
 * output does not depend on the capabilities the test runner had. */
#include "common.h"
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>

static char base[256];

static const char *res(long r) {
    static char b[64];
    if (r >= 0) {
        snprintf(b, sizeof b, "%ld", r);
        return b;
    }
    snprintf(b, sizeof b, "%s", errname(errno));
    return b;
}

#define BIT(c) (1ULL << (c))

static int capget2(unsigned long long *e, unsigned long long *p, unsigned long long *i) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return -1;
    *e = d[0].effective | (unsigned long long)d[1].effective << 32;
    *p = d[0].permitted | (unsigned long long)d[1].permitted << 32;
    *i = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
    return 0;
}

static long capset2(unsigned long long e, unsigned long long p, unsigned long long i) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {
        {(unsigned)e, (unsigned)p, (unsigned)i},
        {(unsigned)(e >> 32), (unsigned)(p >> 32), (unsigned)(i >> 32)},
    };
    return syscall(SYS_capset, &h, d);
}

/* The Cap* lines of /proc/self/status. */
static void status(const char *tag) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    printf("%s:", tag);
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "Cap", 3) == 0) {
            line[strcspn(line, "\n")] = 0;
            char *tab = strchr(line, '\t');
            if (tab)
                *tab = '=';
            printf(" %s", line + 3);
        }
    }
    if (f)
        fclose(f);
    printf("\n");
}

static void show(const char *tag) {
    unsigned long long e, p, i;
    if (capget2(&e, &p, &i) < 0) {
        printf("%s: capget %s\n", tag, errname(errno));
        return;
    }
    printf("%s: eff=%llx prm=%llx inh=%llx\n", tag, e, p, i);
}

/* The fixed set the test works with (all present for a root test runner). */
static const unsigned long long SET = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) |
                                      BIT(CAP_DAC_READ_SEARCH) | BIT(CAP_FOWNER) |
                                      BIT(CAP_KILL) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |
                                      BIT(CAP_SETPCAP) | BIT(CAP_SYS_CHROOT);

static int child_main(void) {
    status("exec'd");
    return 0;
}

static void exec_and_show(const char *tag) {
    printf("%s\n", tag);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "caps_ops", "child", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
}

static char secret[300], mine[300];

static int run(void) {

    /* Version handling. */
    struct __user_cap_header_struct h = {0, 0};
    long r = syscall(SYS_capget, &h, NULL);
    printf("probe null data: %s version=%x\n", res(r), h.version);
    struct __user_cap_data_struct d[2];
    h.version = 0x1234;
    r = syscall(SYS_capget, &h, d);
    printf("bad version: %s version=%x\n", res(r), h.version);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = -5;
    printf("negative pid: %s\n", res(syscall(SYS_capget, &h, d)));
    h.pid = 0;
    printf("bad data pointer: %s\n", res(syscall(SYS_capget, &h, (void *)8)));

    /* Narrow everything to SET. */
    for (int c = 0; c <= 63; c++) {
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 && !(SET & BIT(c)))
            if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
                printf("drop %d: %s\n", c, errname(errno));
                return 1;
            }
    }
    if (capset2(SET, SET, 0) < 0) {
        printf("narrowing capset: %s\n", errname(errno));
        return 1;
    }
    show("narrowed");
    status("narrowed");
    printf("bset read sys_admin=%s", res(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0)));
    printf(" chown=%s", res(prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0)));
    printf(" 64=%s\n", res(prctl(PR_CAPBSET_READ, 64, 0, 0, 0)));

    /* capset rules. */
    printf("raise beyond permitted: %s\n", res(capset2(SET, SET | BIT(CAP_SYS_ADMIN), 0)));
    printf("effective not in permitted: %s\n",
           res(capset2(BIT(CAP_SYS_ADMIN), SET, 0)));
    printf("inheritable from bounding with setpcap: %s\n",
           res(capset2(SET, SET, BIT(CAP_KILL))));
    printf("inheritable outside bounding: %s\n",
           res(capset2(SET, SET, BIT(CAP_SYS_ADMIN))));
    h.pid = 999999;
    printf("capset other pid: %s\n", res(syscall(SYS_capset, &h, d)));
    h.version = _LINUX_CAPABILITY_VERSION_1;
    h.pid = 0;
    struct __user_cap_data_struct d1 = {0};
    r = syscall(SYS_capget, &h, &d1);
    printf("capget v1: %s ", res(r));
    printf("eff=%x\n", d1.effective);

    /* Ambient. */
    printf("ambient raise not inheritable: %s\n",
           res(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0)));
    printf("ambient raise kill: %s\n",
           res(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0)));
    printf("ambient is_set kill=%s", res(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0)));
    printf(" chown=%s\n", res(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0)));
    printf("ambient clear with arg: %s\n",
           res(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0)));
    printf("ambient bad op: %s\n", res(prctl(PR_CAP_AMBIENT, 9, CAP_KILL, 0, 0)));
    status("ambient");

    /* execve as root: permitted = bounding | inheritable. */
    exec_and_show("exec as root");

    /* seteuid round trip and setfsuid. */
    printf("seteuid 1000: %s\n", res(seteuid(1000)));
    show("euid 1000");
    printf("seteuid 0: %s\n", res(seteuid(0)));
    show("euid 0");
    printf("setfsuid 1000 -> old %ld\n", (long)syscall(SYS_setfsuid, 1000));
    show("fsuid 1000");
    printf("setfsuid 0 -> old %ld\n", (long)syscall(SYS_setfsuid, 0));
    show("fsuid 0");

    /* A root process to signal. */
    pid_t rootkid = fork();
    if (rootkid == 0) {
        pause();
        _exit(0);
    }

    /* Keep the permitted set across the switch to uid 1000. */
    printf("keepcaps 2: %s\n", res(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0)));
    printf("keepcaps 1: %s", res(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)));
    printf(" get=%s\n", res(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0)));
    printf("setresuid 1000: %s\n", res(setresuid(1000, 1000, 1000)));
    show("uid 1000 kept");
    status("uid 1000 kept");

    printf("chown without cap: %s\n", res(chown(mine, 0, 0)));
    printf("open secret without cap: %s\n", res(open(secret, O_RDONLY) >= 0 ? 0 : -1));
    printf("kill root without cap: %s\n", res(kill(rootkid, 0)));
    printf("chroot without cap: %s\n", res(chroot("/")));
    printf("setuid 0 without cap: %s\n", res(setuid(0)));

    printf("capset effective chown dac_read_search kill sys_chroot: %s\n",
           res(capset2(BIT(CAP_CHOWN) | BIT(CAP_DAC_READ_SEARCH) | BIT(CAP_KILL) |
                           BIT(CAP_SYS_CHROOT),
                       SET, BIT(CAP_KILL))));
    int fd = open(secret, O_RDONLY);
    printf("open secret read with dac_read_search: %s\n", res(fd >= 0 ? 0 : -1));
    if (fd >= 0)
        close(fd);
    printf("open secret write with dac_read_search: %s\n",
           res(open(secret, O_WRONLY) >= 0 ? 0 : -1));
    printf("chown with cap: %s\n", res(chown(mine, 0, 0)));
    printf("kill root with cap: %s\n", res(kill(rootkid, 0)));
    printf("mount without cap: %s\n", res(mount("none", base, "tmpfs", 0, NULL)));

    /* execve as uid 1000: only the ambient set survives. */
    printf("ambient raise kill as 1000: %s\n",
           res(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0)));
    exec_and_show("exec as 1000 with ambient kill");

    /* Back to root with CAP_SETUID: effective becomes permitted. */
    printf("capset effective setuid: %s\n", res(capset2(BIT(CAP_SETUID), SET, BIT(CAP_KILL))));
    printf("setresuid 0: %s\n", res(setresuid(0, 0, 0)));
    show("back to root");

    kill(rootkid, SIGKILL);
    waitpid(rootkid, NULL, 0);
    /* Leaving root without keepcaps drops everything. */
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    printf("setuid 1000: %s\n", res(setuid(1000)));
    show("uid 1000 plain");
    status("uid 1000 plain");
    return 0;
}

int main(int argc, char **argv) {
    setup();
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child_main();
    if (getuid() != 0) {
        printf("must run as root\n");
        return 1;
    }
    /* Files owned by root for the checks; the test runs in a child so that
     * this process stays root to remove them. */
    snprintf(base, sizeof base, "/tmp/rvt-caps-XXXXXX");
    if (!mkdtemp(base)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    chmod(base, 0755);
    snprintf(secret, sizeof secret, "%s/secret", base);
    snprintf(mine, sizeof mine, "%s/mine", base);
    close(open(secret, O_CREAT | O_WRONLY, 0600));
    close(open(mine, O_CREAT | O_WRONLY, 0644));
    chown(mine, 1000, 1000);
    pid_t pid = fork();
    if (pid == 0)
        _exit(run());
    int st = 0;
    waitpid(pid, &st, 0);
    unlink(secret);
    unlink(mine);
    rmdir(base);
    printf("test exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
