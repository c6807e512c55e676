/* readlink/readlinkat of host symlinks and of /proc magic links. */
#include "common.h"

int main(void) {
    setup();
    char buf[4096];
    ssize_t n = readlink("/bin/sh", buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n] = 0;
    printf("/bin/sh -> %s (len %zd)\n", buf, n);
    n = readlink("/bin", buf, sizeof buf - 1);
    if (n >= 0) {
        buf[n] = 0;
        printf("/bin -> %s\n", buf);
    } else {
        printf("/bin is not a symlink: %s\n", errname(errno));
    }
    /* Truncation: readlink does not NUL-terminate and returns the buffer size. */
    char small[3] = {'#', '#', '#'};
    n = readlink("/bin/sh", small, 2);
    printf("truncated readlink: %zd '%c%c' untouched third: %c\n", n, small[0], small[1], small[2]);

    int dfd = open("/bin", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    n = readlinkat(dfd, "sh", buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n] = 0;
    printf("readlinkat(/bin, sh) -> %s\n", buf);

    report("readlink of regular file", readlink("/etc/passwd", buf, sizeof buf));
    report("readlink missing", readlink("/nonexistent", buf, sizeof buf));
    report("readlink zero size", readlink("/bin/sh", buf, 0));

    n = readlink("/proc/self/fd/0", buf, sizeof buf - 1);
    printf("/proc/self/fd/0 readable: %s\n", yesno(n > 0));
    int fd = open("/etc/passwd", O_RDONLY);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    n = readlink(p, buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n] = 0;
    printf("fd link -> %s\n", buf);
    CHECK(chdir("/usr/share") == 0);
    n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n] = 0;
    printf("cwd link -> %s\n", buf);

    /* realpath resolves the chain. */
    char *r = realpath("/bin/sh", NULL);
    printf("realpath /bin/sh -> %s\n", r ? r : errname(errno));

    /* A symlink created in /tmp. */
    char link[64];
    snprintf(link, sizeof link, "/tmp/rvisor-link-%d", getpid());
    report("symlink", symlink("/etc/passwd", link));
    n = readlink(link, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("new link -> %s\n", buf);
    struct stat st;
    printf("stat through link is regular: %s\n", yesno(stat(link, &st) == 0 && S_ISREG(st.st_mode)));
    report("open O_NOFOLLOW on link", open(link, O_RDONLY | O_NOFOLLOW));
    unlink(link);
    return 0;
}
