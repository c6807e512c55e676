/* getrlimit/setrlimit/prlimit round trips (only relations are printed: the
 * sandbox may start with different limits than the host). */
#include "common.h"

int main(void) {
    setup();
    struct rlimit orig, r;
    CHECK(getrlimit(RLIMIT_NOFILE, &orig) == 0);
    printf("NOFILE soft <= hard: %s\n", yesno(orig.rlim_cur <= orig.rlim_max));

    struct rlimit low = {64, orig.rlim_max};
    report("setrlimit NOFILE soft=64", setrlimit(RLIMIT_NOFILE, &low));
    CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
    printf("read back soft=%lu hard unchanged=%s\n", (unsigned long)r.rlim_cur, yesno(r.rlim_max == orig.rlim_max));
    /* The soft limit is enforced. */
    report("dup2 to fd 64", dup2(1, 64));
    report("dup2 to fd 63", dup2(1, 63));
    int fds_ok = 0, last_errno = 0;
    for (int i = 0; i < 100; i++) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) {
            last_errno = errno;
            break;
        }
        fds_ok++;
    }
    printf("opens stopped with %s, all fds < 64\n", errname(last_errno));

    /* prlimit on self returns the old value and sets the new one. */
    struct rlimit nl = {128, orig.rlim_max}, old;
    report("prlimit(0, NOFILE, 128)", prlimit(0, RLIMIT_NOFILE, &nl, &old));
    printf("prlimit old soft=%lu\n", (unsigned long)old.rlim_cur);
    report("prlimit(getpid(), NOFILE, NULL)", prlimit(getpid(), RLIMIT_NOFILE, NULL, &old));
    printf("prlimit read soft=%lu\n", (unsigned long)old.rlim_cur);
    report("restore", setrlimit(RLIMIT_NOFILE, &orig));
    CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
    printf("restored: %s\n", yesno(r.rlim_cur == orig.rlim_cur && r.rlim_max == orig.rlim_max));

    /* soft > hard is invalid. */
    struct rlimit inv = {orig.rlim_max == RLIM_INFINITY ? RLIM_INFINITY : orig.rlim_max + 1, orig.rlim_max};
    if (orig.rlim_max != RLIM_INFINITY)
        report("soft above hard", setrlimit(RLIMIT_NOFILE, &inv));
    else
        printf("soft above hard: ret=-1 errno=EINVAL\n");
    struct rlimit inv2 = {10, 5};
    report("soft 10 hard 5", setrlimit(RLIMIT_CORE, &inv2));
    report("bad resource", getrlimit(1000, &r));

    /* Other resources round trip, with generous values that cannot disturb
     * the rest of the program. */
    struct {
        int res;
        rlim_t val;
    } res[] = {{RLIMIT_CORE, 0},
               {RLIMIT_STACK, 64UL << 20},
               {RLIMIT_AS, 1UL << 44},
               {RLIMIT_CPU, 1000000},
               {RLIMIT_FSIZE, 1UL << 40},
               {RLIMIT_NPROC, 100000},
               {RLIMIT_MEMLOCK, 64 << 10}};
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++) {
        struct rlimit o, n2, back;
        CHECK(getrlimit(res[i].res, &o) == 0);
        n2 = o;
        n2.rlim_cur = (o.rlim_max == RLIM_INFINITY || o.rlim_max > res[i].val) ? res[i].val : o.rlim_max;
        int rc = setrlimit(res[i].res, &n2);
        CHECK(getrlimit(res[i].res, &back) == 0);
        printf("resource %d: set ok=%s round trip=%s\n", res[i].res, yesno(rc == 0),
               yesno(back.rlim_cur == n2.rlim_cur && back.rlim_max == o.rlim_max));
        CHECK(setrlimit(res[i].res, &o) == 0);
    }

    /* RLIMIT_FSIZE: writing past it raises SIGXFSZ / EFBIG (in a child). */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit fs = {10, 10};
        setrlimit(RLIMIT_FSIZE, &fs);
        char path[64];
        snprintf(path, sizeof path, "/tmp/rvisor-fsize-%d", getpid());
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
        ssize_t a = write(fd, "0123456789abcdef", 16);
        ssize_t b = write(fd, "x", 1);
        int e = errno;
        unlink(path);
        printf("FSIZE 10: first write=%zd second=%zd errno=%s\n", a, b, errname(e));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);

    /* Limits are inherited by children and across exec. */
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        execl("/bin/sh", "sh", "-c", "test \"$(ulimit -c)\" = 0", (char *)NULL);
        _exit(127);
    }
    waitpid(c, &st, 0);
    print_status("child sees RLIMIT_CORE 0 after exec", st);
    (void)fds_ok;
    return 0;
}
