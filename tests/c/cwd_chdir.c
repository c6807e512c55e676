/* getcwd/chdir/fchdir and relative path resolution. */
#include "common.h"

static void show(const char *label) {
    char buf[4096];
    char *r = getcwd(buf, sizeof buf);
    printf("%s: %s\n", label, r ? r : errname(errno));
}

int main(void) {
    setup();
    report("chdir /usr/bin", chdir("/usr/bin"));
    show("cwd");
    report("chdir ..", chdir(".."));
    show("cwd");
    report("chdir share/../lib", chdir("share/../lib"));
    show("cwd");
    report("chdir /", chdir("/"));
    show("cwd");
    report("chdir /..", chdir("/.."));
    show("cwd");
    report("chdir missing", chdir("/nonexistent"));
    report("chdir to file", chdir("/etc/passwd"));
    report("chdir empty", chdir(""));
    show("cwd unchanged");

    int fd = open("/usr/share", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    report("fchdir /usr/share", fchdir(fd));
    show("cwd");
    int file = open("/etc/passwd", O_RDONLY);
    report("fchdir to file", fchdir(file));
    report("fchdir bad fd", fchdir(999));

    /* Relative opens resolve against the cwd. */
    CHECK(chdir("/etc") == 0);
    int r = open("passwd", O_RDONLY);
    printf("relative open of passwd from /etc: %s\n", yesno(r >= 0));
    char small[4];
    char *g = getcwd(small, sizeof small);
    printf("getcwd too small: %s\n", g ? "ok?" : errname(errno));
    long raw = syscall(SYS_getcwd, small, 0);
    printf("raw getcwd size 0: %s\n", raw < 0 ? errname(errno) : "ok?");
    char big[64];
    raw = syscall(SYS_getcwd, big, sizeof big);
    printf("raw getcwd returns length incl NUL: %ld\n", raw);

    /* cwd is per process: a child's chdir does not affect the parent. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        _exit(chdir("/usr") == 0 ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    show("after child chdir");

    /* A directory in /tmp removed while it is the cwd. */
    char d[64];
    snprintf(d, sizeof d, "/tmp/rvisor-cwd-%d", getpid());
    CHECK(mkdir(d, 0700) == 0);
    CHECK(chdir(d) == 0);
    CHECK(rmdir(d) == 0);
    char buf[4096];
    g = getcwd(buf, sizeof buf);
    printf("getcwd of removed dir: %s\n", g ? "ok?" : errname(errno));
    report("create in removed cwd", open("x", O_CREAT | O_WRONLY, 0600));
    return 0;
}
