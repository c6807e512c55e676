/* Extended attributes (xattr(7)): set/get/list/remove, XATTR_CREATE and
 * XATTR_REPLACE, size queries, ERANGE/ENODATA/E2BIG/EFAULT/EINVAL, the
 * user./trusted./security. namespaces, symlinks with the l* calls,
 * descriptors with the f* calls (O_PATH and pipes included), and what an
 * unprivileged process (uid 1000) may do.
 *
 * The suite runs twice, in a fresh directory under /dev/shm (tmpfs both
 * natively and in the sandbox) and under /var/tmp (the host's disk file
 * system natively, the overlay root in the sandbox); the second run leaves
 * out what differs between disk file systems and tmpfs (64 KiB values,
 * 255-byte names). Name lists are sorted before printing.
 *
 * With arguments it is a small tool for other tests, one command after
 * another: `get PATH NAME`, `set PATH NAME VALUE`, `list PATH`,
 * `rm PATH NAME`; each prints one line. */
#include "common.h"
#include <ftw.h>
#include <grp.h>
#include <sys/xattr.h>

static char base[256];

/* An address that is never mapped (hidden from the compiler's checks). */
static void *bad(void) {
    volatile uintptr_t p = 1;
    return (void *)p;
}

static const char *res(long r) {
    static char b[64];
    if (r >= 0) {
        snprintf(b, sizeof b, "%ld", r);
        return b;
    }
    snprintf(b, sizeof b, "%s", errname(errno));
    return b;
}

static const char *P(const char *name) {
    static char p[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", base, name);
    return p[i];
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints a listxattr result: its length and the sorted names. */
static void show_list(const char *what, long n, char *buf) {
    if (n < 0) {
        printf("%s: %s\n", what, errname(errno));
        return;
    }
    char *names[256];
    int k = 0;
    for (long off = 0; off < n && k < 256; off += strlen(buf + off) + 1)
        names[k++] = buf + off;
    qsort(names, k, sizeof names[0], cmp);
    printf("%s: %ld [", what, n);
    for (int i = 0; i < k; i++)
        printf("%s%s", i ? " " : "", names[i]);
    printf("]\n");
}

/* Prints a getxattr result: the length and the value as text. */
static void show_get(const char *what, long n, const char *buf) {
    if (n < 0)
        printf("%s: %s\n", what, errname(errno));
    else
        printf("%s: %ld \"%.*s\"\n", what, n, (int)n, buf);
}

static void mkfile(const char *name, mode_t mode) {
    int fd = open(P(name), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    CHECK(fd >= 0);
    close(fd);
    CHECK(chmod(P(name), mode) == 0);
}

static void basics(void) {
    char buf[256], f[512];
    snprintf(f, sizeof f, "%s", P("f"));
    printf("-- basics\n");
    printf("set user.a: %s\n", res(setxattr(f, "user.a", "hello", 5, 0)));
    printf("size query: %s\n", res(getxattr(f, "user.a", NULL, 0)));
    show_get("get", getxattr(f, "user.a", buf, sizeof buf), buf);
    show_get("get exact", getxattr(f, "user.a", buf, 5), buf);
    printf("get small: %s\n", res(getxattr(f, "user.a", buf, 4)));
    printf("get missing: %s\n", res(getxattr(f, "user.none", buf, sizeof buf)));
    printf("size query missing: %s\n", res(getxattr(f, "user.none", NULL, 0)));
    printf("set empty: %s\n", res(setxattr(f, "user.empty", NULL, 0, 0)));
    show_get("get empty", getxattr(f, "user.empty", buf, sizeof buf), buf);
    printf("get empty bad buffer: %s\n", res(getxattr(f, "user.empty", bad(), 10)));
    printf("set binary: %s\n", res(setxattr(f, "user.bin", "a\0b", 3, 0)));
    long n = getxattr(f, "user.bin", buf, sizeof buf);
    printf("get binary: %ld %s\n", n, n == 3 && memcmp(buf, "a\0b", 3) == 0 ? "same" : "differs");

    printf("-- flags\n");
    printf("CREATE existing: %s\n", res(setxattr(f, "user.a", "x", 1, XATTR_CREATE)));
    printf("REPLACE missing: %s\n", res(setxattr(f, "user.b", "x", 1, XATTR_REPLACE)));
    printf("CREATE new: %s\n", res(setxattr(f, "user.b", "bee", 3, XATTR_CREATE)));
    printf("REPLACE existing: %s\n", res(setxattr(f, "user.a", "world!", 6, XATTR_REPLACE)));
    show_get("get replaced", getxattr(f, "user.a", buf, sizeof buf), buf);
    printf("both existing: %s\n",
           res(setxattr(f, "user.a", "x", 1, XATTR_CREATE | XATTR_REPLACE)));
    printf("both missing: %s\n",
           res(setxattr(f, "user.c", "x", 1, XATTR_CREATE | XATTR_REPLACE)));
    printf("flag 4: %s\n", res(setxattr(f, "user.a", "x", 1, 4)));
    printf("flag -1: %s\n", res(setxattr(f, "user.a", "x", 1, -1)));
    printf("flag 4 missing path: %s\n", res(setxattr(P("nope"), "user.a", "x", 1, 4)));

    printf("-- list\n");
    printf("list size query: %s\n", res(listxattr(f, NULL, 0)));
    char list[1024];
    show_list("list", listxattr(f, list, sizeof list), list);
    printf("list small: %s\n", res(listxattr(f, list, 5)));
    long len = listxattr(f, NULL, 0);
    show_list("list exact", listxattr(f, list, len), list);
    printf("list short by one: %s\n", res(listxattr(f, list, len - 1)));
    printf("list bad buffer: %s\n", res(listxattr(f, bad(), sizeof list)));

    printf("-- remove\n");
    printf("remove user.b: %s\n", res(removexattr(f, "user.b")));
    printf("remove again: %s\n", res(removexattr(f, "user.b")));
    printf("get removed: %s\n", res(getxattr(f, "user.b", buf, sizeof buf)));
    show_list("list", listxattr(f, list, sizeof list), list);

    printf("-- names and values\n");
    printf("empty name: %s\n", res(setxattr(f, "", "x", 1, 0)));
    printf("get empty name: %s\n", res(getxattr(f, "", buf, sizeof buf)));
    char longname[300];
    memset(longname, 'n', sizeof longname);
    memcpy(longname, "user.", 5);
    longname[256] = 0;
    printf("256-byte name set: %s\n", res(setxattr(f, longname, "x", 1, 0)));
    printf("256-byte name get: %s\n", res(getxattr(f, longname, buf, sizeof buf)));
    printf("256-byte name remove: %s\n", res(removexattr(f, longname)));
    printf("bare prefix set: %s\n", res(setxattr(f, "user.", "x", 1, 0)));
    printf("bare prefix get: %s\n", res(getxattr(f, "user.", buf, sizeof buf)));
    printf("unknown namespace set: %s\n", res(setxattr(f, "foo.x", "x", 1, 0)));
    printf("unknown namespace get: %s\n", res(getxattr(f, "foo.x", buf, sizeof buf)));
    printf("unknown namespace remove: %s\n", res(removexattr(f, "foo.x")));
    printf("no namespace: %s\n", res(setxattr(f, "user", "x", 1, 0)));
    static char huge[65537];
    printf("65537-byte value: %s\n", res(setxattr(f, "user.huge", huge, sizeof huge, 0)));
    printf("65537-byte value missing path: %s\n",
           res(setxattr(P("nope"), "user.huge", huge, sizeof huge, 0)));

    printf("-- bad pointers\n");
    printf("set bad name: %s\n", res(setxattr(f, bad(), "x", 1, 0)));
    printf("set bad value: %s\n", res(setxattr(f, "user.q", bad(), 1, 0)));
    printf("set bad path: %s\n", res(setxattr(bad(), "user.q", "x", 1, 0)));
    printf("get bad name: %s\n", res(getxattr(f, bad(), buf, sizeof buf)));
    printf("get bad buffer: %s\n", res(getxattr(f, "user.a", bad(), sizeof buf)));
    printf("get bad path: %s\n", res(getxattr(bad(), "user.a", buf, sizeof buf)));
    printf("remove bad name: %s\n", res(removexattr(f, bad())));
    printf("list bad path: %s\n", res(listxattr(bad(), list, sizeof list)));
    printf("missing file: %s\n", res(getxattr(P("nope"), "user.a", buf, sizeof buf)));
    printf("missing file bad name: %s\n", res(getxattr(P("nope"), bad(), buf, 1)));

    printf("-- privileged namespaces\n");
    printf("set trusted: %s\n", res(setxattr(f, "trusted.t", "T", 1, 0)));
    printf("set security: %s\n", res(setxattr(f, "security.s", "S", 1, 0)));
    show_get("get trusted", getxattr(f, "trusted.t", buf, sizeof buf), buf);
    show_get("get security", getxattr(f, "security.s", buf, sizeof buf), buf);
    printf("bad file capability: %s\n", res(setxattr(f, "security.capability", "junk", 4, 0)));
    show_list("list", listxattr(f, list, sizeof list), list);

    printf("-- directory\n");
    printf("set dir: %s\n", res(setxattr(base, "user.d", "D", 1, 0)));
    show_get("get dir", getxattr(base, "user.d", buf, sizeof buf), buf);
    show_list("list dir", listxattr(base, list, sizeof list), list);
}

static void symlinks(void) {
    char buf[256], list[1024];
    char l[512];
    snprintf(l, sizeof l, "%s", P("lnk"));
    CHECK(symlink("f", l) == 0);
    printf("-- symlink\n");
    printf("lset user: %s\n", res(lsetxattr(l, "user.l", "x", 1, 0)));
    printf("lget user: %s\n", res(lgetxattr(l, "user.a", buf, sizeof buf)));
    printf("lremove user: %s\n", res(lremovexattr(l, "user.a")));
    show_get("get through link", getxattr(l, "user.a", buf, sizeof buf), buf);
    printf("lset trusted: %s\n", res(lsetxattr(l, "trusted.l", "L", 1, 0)));
    show_get("lget trusted", lgetxattr(l, "trusted.l", buf, sizeof buf), buf);
    printf("get trusted.l through link: %s\n", res(getxattr(l, "trusted.l", buf, sizeof buf)));
    show_list("llist", llistxattr(l, list, sizeof list), list);
    printf("set through link: %s\n", res(setxattr(l, "user.via", "V", 1, 0)));
    show_get("get on target", getxattr(P("f"), "user.via", buf, sizeof buf), buf);
    printf("remove through link: %s\n", res(removexattr(l, "user.via")));
    printf("lremove trusted: %s\n", res(lremovexattr(l, "trusted.l")));
    show_list("llist after", llistxattr(l, list, sizeof list), list);
    CHECK(symlink("nowhere", P("dangling")) == 0);
    printf("get dangling: %s\n", res(getxattr(P("dangling"), "user.a", buf, sizeof buf)));
    printf("lget dangling: %s\n", res(lgetxattr(P("dangling"), "user.a", buf, sizeof buf)));

    printf("-- fifo\n");
    CHECK(mkfifo(P("fifo"), 0666) == 0);
    printf("set fifo user: %s\n", res(setxattr(P("fifo"), "user.a", "x", 1, 0)));
    printf("get fifo user: %s\n", res(getxattr(P("fifo"), "user.a", buf, sizeof buf)));
    printf("set fifo trusted: %s\n", res(setxattr(P("fifo"), "trusted.a", "x", 1, 0)));
    show_list("list fifo", listxattr(P("fifo"), list, sizeof list), list);
}

static void descriptors(void) {
    char buf[256], list[1024];
    printf("-- descriptors\n");
    int fd = open(P("f"), O_RDONLY);
    CHECK(fd >= 0);
    printf("fset on O_RDONLY: %s\n", res(fsetxattr(fd, "user.fd", "F", 1, 0)));
    show_get("fget", fgetxattr(fd, "user.fd", buf, sizeof buf), buf);
    printf("fget size query: %s\n", res(fgetxattr(fd, "user.fd", NULL, 0)));
    printf("fget small: %s\n", res(fgetxattr(fd, "user.a", buf, 1)));
    show_list("flist", flistxattr(fd, list, sizeof list), list);
    printf("fremove: %s\n", res(fremovexattr(fd, "user.fd")));
    printf("fremove again: %s\n", res(fremovexattr(fd, "user.fd")));
    printf("fset CREATE existing: %s\n", res(fsetxattr(fd, "user.a", "x", 1, XATTR_CREATE)));
    printf("fset flag 8: %s\n", res(fsetxattr(fd, "user.a", "x", 1, 8)));
    close(fd);

    int dfd = open(base, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    show_get("fget dir", fgetxattr(dfd, "user.d", buf, sizeof buf), buf);
    close(dfd);

    int pfd = open(P("f"), O_PATH);
    CHECK(pfd >= 0);
    printf("O_PATH fget: %s\n", res(fgetxattr(pfd, "user.a", buf, sizeof buf)));
    printf("O_PATH fset: %s\n", res(fsetxattr(pfd, "user.a", "x", 1, 0)));
    printf("O_PATH flist: %s\n", res(flistxattr(pfd, list, sizeof list)));
    printf("O_PATH fremove: %s\n", res(fremovexattr(pfd, "user.a")));
    close(pfd);

    printf("bad fd fget: %s\n", res(fgetxattr(-1, "user.a", buf, sizeof buf)));
    printf("bad fd flist: %s\n", res(flistxattr(-1, list, sizeof list)));
    printf("bad fd bad name: %s\n", res(fgetxattr(-1, bad(), buf, sizeof buf)));
    printf("bad fd bad flags: %s\n", res(fsetxattr(-1, "user.a", "x", 1, 8)));
    printf("closed fd: %s\n", res(fremovexattr(999, "user.a")));

    int p[2];
    CHECK(pipe(p) == 0);
    printf("pipe fget user: %s\n", res(fgetxattr(p[0], "user.a", buf, sizeof buf)));
    printf("pipe fset user: %s\n", res(fsetxattr(p[1], "user.a", "x", 1, 0)));
    printf("pipe fget trusted: %s\n", res(fgetxattr(p[0], "trusted.a", buf, sizeof buf)));
    printf("pipe fset trusted: %s\n", res(fsetxattr(p[0], "trusted.a", "x", 1, 0)));
    show_list("pipe flist", flistxattr(p[0], list, sizeof list), list);
    close(p[0]);
    close(p[1]);
}

/* 64 KiB values and 255-byte names: tmpfs holds them, a disk file system
 * may not (ext4 answers ENOSPC). */
static void large(void) {
    static char v[65536], back[65536];
    char buf[16];
    printf("-- large\n");
    for (size_t i = 0; i < sizeof v; i++)
        v[i] = (char)(i * 7);
    printf("64 KiB value: %s\n", res(setxattr(P("f"), "user.max", v, sizeof v, 0)));
    printf("size query: %s\n", res(getxattr(P("f"), "user.max", NULL, 0)));
    long n = getxattr(P("f"), "user.max", back, sizeof back);
    printf("get: %ld %s\n", n, n == 65536 && memcmp(v, back, n) == 0 ? "same" : "differs");
    printf("get small: %s\n", res(getxattr(P("f"), "user.max", buf, sizeof buf)));
    printf("remove: %s\n", res(removexattr(P("f"), "user.max")));
    char name[256];
    memset(name, 'n', 255);
    memcpy(name, "user.", 5);
    name[255] = 0;
    printf("255-byte name set: %s\n", res(setxattr(P("f"), name, "x", 1, 0)));
    printf("255-byte name get: %s\n", res(getxattr(P("f"), name, buf, sizeof buf)));
    printf("255-byte name remove: %s\n", res(removexattr(P("f"), name)));
}

/* What uid 1000 may do with files root made (run in a child: setuid
 * cannot be undone). */
static void unprivileged(void) {
    char buf[256], list[1024];
    mkfile("secret", 0600);
    mkfile("pub", 0644);
    mkfile("w", 0666);
    mkfile("mine", 0444);
    mkfile("mine2", 0644);
    CHECK(setxattr(P("secret"), "user.s", "S", 1, 0) == 0);
    CHECK(setxattr(P("pub"), "user.p", "P", 1, 0) == 0);
    CHECK(setxattr(P("pub"), "trusted.t", "T", 1, 0) == 0);
    CHECK(setxattr(P("pub"), "security.s", "X", 1, 0) == 0);
    CHECK(setxattr(P("w"), "security.s", "X", 1, 0) == 0);
    CHECK(chown(P("mine"), 1000, 1000) == 0);
    CHECK(chown(P("mine2"), 1000, 1000) == 0);
    CHECK(mkdir(P("sticky"), 0700) == 0 && chmod(P("sticky"), 01777) == 0);
    CHECK(mkdir(P("sticky/sub"), 0700) == 0 && chmod(P("sticky/sub"), 0777) == 0);
    CHECK(mkdir(P("stickymine"), 0700) == 0 && chmod(P("stickymine"), 01777) == 0);
    CHECK(chown(P("stickymine"), 1000, 1000) == 0);
    CHECK(mkdir(P("rodir"), 0755) == 0 && chmod(P("rodir"), 0755) == 0);
    CHECK(setxattr(P("rodir"), "user.d", "D", 1, 0) == 0);
    CHECK(symlink("pub", P("publink")) == 0);

    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        gid_t g[1] = {1000};
        if (setgroups(1, g) || setgid(1000) || setuid(1000)) {
            printf("dropping privileges: %s\n", errname(errno));
            _exit(1);
        }
        printf("-- uid %d\n", (int)geteuid());
        printf("get secret user: %s\n", res(getxattr(P("secret"), "user.s", buf, sizeof buf)));
        printf("get secret missing: %s\n", res(getxattr(P("secret"), "user.x", buf, sizeof buf)));
        show_list("list secret", listxattr(P("secret"), list, sizeof list), list);
        show_get("get pub user", getxattr(P("pub"), "user.p", buf, sizeof buf), buf);
        printf("get pub trusted: %s\n", res(getxattr(P("pub"), "trusted.t", buf, sizeof buf)));
        show_get("get pub security", getxattr(P("pub"), "security.s", buf, sizeof buf), buf);
        printf("get secret security: %s\n",
               res(getxattr(P("secret"), "security.s", buf, sizeof buf)));
        show_list("list pub (no trusted)", listxattr(P("pub"), list, sizeof list), list);
        printf("set pub user: %s\n", res(setxattr(P("pub"), "user.p", "x", 1, 0)));
        printf("set pub trusted: %s\n", res(setxattr(P("pub"), "trusted.t", "x", 1, 0)));
        printf("set pub security: %s\n", res(setxattr(P("pub"), "security.s", "x", 1, 0)));
        printf("set w security: %s\n", res(setxattr(P("w"), "security.s", "x", 1, 0)));
        printf("remove pub user: %s\n", res(removexattr(P("pub"), "user.p")));
        printf("remove pub trusted: %s\n", res(removexattr(P("pub"), "trusted.t")));
        printf("remove w security: %s\n", res(removexattr(P("w"), "security.s")));
        printf("set w user: %s\n", res(setxattr(P("w"), "user.w", "W", 1, 0)));
        show_get("get w user", getxattr(P("w"), "user.w", buf, sizeof buf), buf);
        printf("remove w user: %s\n", res(removexattr(P("w"), "user.w")));
        printf("set pub unknown: %s\n", res(setxattr(P("pub"), "foo.x", "x", 1, 0)));
        printf("set w unknown: %s\n", res(setxattr(P("w"), "foo.x", "x", 1, 0)));
        printf("get secret unknown: %s\n", res(getxattr(P("secret"), "foo.x", buf, sizeof buf)));
        printf("set own read-only file: %s\n", res(setxattr(P("mine"), "user.m", "x", 1, 0)));
        printf("set own file: %s\n", res(setxattr(P("mine2"), "user.m", "x", 1, 0)));
        printf("set sticky dir: %s\n", res(setxattr(P("sticky"), "user.m", "x", 1, 0)));
        printf("set dir in sticky: %s\n", res(setxattr(P("sticky/sub"), "user.m", "x", 1, 0)));
        printf("set own sticky dir: %s\n", res(setxattr(P("stickymine"), "user.m", "x", 1, 0)));
        printf("set read-only dir: %s\n", res(setxattr(P("rodir"), "user.d", "x", 1, 0)));
        show_get("get read-only dir", getxattr(P("rodir"), "user.d", buf, sizeof buf), buf);
        printf("lget link user: %s\n", res(lgetxattr(P("publink"), "user.p", buf, sizeof buf)));
        printf("lset link user: %s\n", res(lsetxattr(P("publink"), "user.p", "x", 1, 0)));
        printf("lset link trusted: %s\n", res(lsetxattr(P("publink"), "trusted.p", "x", 1, 0)));
        show_list("llist link", llistxattr(P("publink"), list, sizeof list), list);
        int fd = open(P("pub"), O_RDONLY);
        show_get("fget pub", fgetxattr(fd, "user.p", buf, sizeof buf), buf);
        printf("fset pub: %s\n", res(fsetxattr(fd, "user.p", "x", 1, 0)));
        close(fd);
        int wfd = open(P("w"), O_WRONLY);
        CHECK(wfd >= 0);
        printf("fset w: %s\n", res(fsetxattr(wfd, "user.fw", "x", 1, 0)));
        printf("fget w: %s\n", res(fgetxattr(wfd, "user.fw", buf, sizeof buf)));
        close(wfd);
        fflush(stdout);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("child: %s %d\n", WIFEXITED(st) ? "exit" : "signal",
           WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void suite(const char *parent, int with_large) {
    snprintf(base, sizeof base, "%s/rvt-xattr-XXXXXX", parent);
    if (!mkdtemp(base)) {
        printf("mkdtemp: %s\n", errname(errno));
        exit(1);
    }
    CHECK(chmod(base, 0755) == 0);
    mkfile("f", 0644);
    basics();
    symlinks();
    descriptors();
    if (with_large)
        large();
    unprivileged();
    CHECK(nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

/* The tool mode: commands from argv, one output line each. */
static int tool(int argc, char **argv) {
    static char buf[65536];
    for (int i = 1; i < argc;) {
        const char *cmd = argv[i];
        if (!strcmp(cmd, "get") && i + 2 < argc) {
            long n = getxattr(argv[i + 1], argv[i + 2], buf, sizeof buf);
            char what[300];
            snprintf(what, sizeof what, "get %s", argv[i + 2]);
            show_get(what, n, buf);
            i += 3;
        } else if (!strcmp(cmd, "set") && i + 3 < argc) {
            printf("set %s: %s\n", argv[i + 2],
                   res(setxattr(argv[i + 1], argv[i + 2], argv[i + 3], strlen(argv[i + 3]), 0)));
            i += 4;
        } else if (!strcmp(cmd, "rm") && i + 2 < argc) {
            printf("rm %s: %s\n", argv[i + 2], res(removexattr(argv[i + 1], argv[i + 2])));
            i += 3;
        } else if (!strcmp(cmd, "list") && i + 1 < argc) {
            show_list("list", listxattr(argv[i + 1], buf, sizeof buf), buf);
            i += 2;
        } else {
            fprintf(stderr, "usage: xattr_ops [get P N | set P N V | rm P N | list P]...\n");
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    setup();
    if (argc > 1)
        return tool(argc, argv);
    printf("== tmpfs\n");
    suite("/dev/shm", 1);
    printf("== disk or overlay\n");
    suite("/var/tmp", 0);
    printf("done\n");
    return 0;
}
