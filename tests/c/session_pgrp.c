/* setpgid/getpgid/setsid/getsid relations, done in children so that the
 * result does not depend on how the test process was started. */
#include "common.h"

static int child_report(int fd) {
    /* Runs in a fresh child: a new session makes it leader of everything. */
    int ok = 1;
    pid_t me = getpid();
    pid_t s = setsid();
    ok &= s == me;
    ok &= getsid(0) == me && getpgid(0) == me && getpgrp() == me;
    /* A session leader cannot create another session. */
    ok &= setsid() == -1 && errno == EPERM;
    /* Nor move itself to another group. */
    char r = (char)ok;
    write_all(fd, &r, 1);
    return 0;
}

int main(void) {
    setup();
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t me = getpid();
    printf("getpgid(0) == getpgrp(): %s\n", yesno(getpgid(0) == getpgrp()));
    printf("getsid(0) == getsid(getpid()): %s\n", yesno(getsid(0) == getsid(me)));
    report("getpgid of missing process", (long)getpgid(0x3fffffff));
    report("getsid of missing process", (long)getsid(0x3fffffff));

    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        child_report(p[1]);
        _exit(0);
    }
    char r;
    CHECK(read(p[0], &r, 1) == 1);
    printf("child setsid relations hold: %s\n", yesno(r));
    int st;
    waitpid(c, &st, 0);

    /* setpgid from the parent and from the child race-free: both call it. */
    int sync[2];
    CHECK(pipe(sync) == 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        char x;
        CHECK(read(sync[0], &x, 1) == 1);
        _exit(getpgid(0) == getpid() ? 0 : 1);
    }
    setpgid(c, c);
    printf("child is its own group leader: %s\n", yesno(getpgid(c) == c));
    printf("child keeps parent's session: %s\n", yesno(getsid(c) == getsid(0)));
    /* A second child joins the first child's group. */
    pid_t d = fork();
    if (d == 0) {
        char x;
        CHECK(read(sync[0], &x, 1) == 1);
        _exit(getpgid(0) == c ? 0 : 1);
    }
    report("setpgid(second, first's group)", setpgid(d, c));
    printf("second child in first's group: %s\n", yesno(getpgid(d) == c));
    report("setpgid to a group in no session of ours", setpgid(d, 0x3fffffff));
    report("setpgid negative pgid", setpgid(d, -1));
    write_all(sync[1], "xx", 2);
    waitpid(c, &st, 0);
    print_status("first", st);
    waitpid(d, &st, 0);
    print_status("second", st);
    report("setpgid of a non-child", setpgid(0x3fffffff, 0));

    /* After exec a child cannot have its group changed by the parent. */
    int hold[2];
    CHECK(pipe(hold) == 0);
    char self_exe[256] = {0};
    CHECK(readlink("/proc/self/exe", self_exe, sizeof self_exe - 1) > 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        dup2(hold[0], 0);
        close(hold[0]);
        close(hold[1]);
        execl("/bin/sh", "sh", "-c", "read x", (char *)NULL);
        _exit(127);
    }
    close(hold[0]);
    /* Wait until the exec happened: /proc/<pid>/exe changes. */
    char path[64], exe[256];
    snprintf(path, sizeof path, "/proc/%d/exe", c);
    int execd = 0;
    for (int i = 0; i < 10000 && !execd; i++) {
        ssize_t n = readlink(path, exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = 0;
            execd = strcmp(exe, self_exe) != 0;
        }
        if (!execd)
            usleep(1000);
    }
    printf("child exec observed via /proc/<pid>/exe: %s\n", yesno(execd));
    report("setpgid of child after exec", setpgid(c, c));
    close(hold[1]);
    waitpid(c, &st, 0);
    print_status("sh reading from closed pipe", st);
    return 0;
}
