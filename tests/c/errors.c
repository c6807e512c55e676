/* Error returns: ENOENT, EBADF, EFAULT from bad user pointers (NULL, an
 * unmapped page, a path running into an unmapped page), EINVAL from readv
 * with a huge iovcnt. */
#include "common.h"
#include <sys/mman.h>
#include <sys/uio.h>

int main(void) {
    setup();
    report("open missing file", open("/nonexistent/file", O_RDONLY));
    report("open missing in existing dir", open("/etc/definitely-not-here", O_RDONLY));
    report("close(999)", close(999));
    report("close(-1)", close(-1));
    report("read(999)", read(999, NULL, 0));
    void *volatile nullp = NULL; /* volatile: keep the compiler from flagging the NULL */
    report("write(1, NULL, 10)", write(1, nullp, 10));
    report("write(1, NULL, 0)", write(1, nullp, 0));

    long pg = sysconf(_SC_PAGESIZE);
    char *two = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(two != MAP_FAILED);
    CHECK(munmap(two + pg, (size_t)pg) == 0);
    char *unmapped = two + pg;

    int p[2];
    CHECK(pipe(p) == 0);
    write_all(p[1], "abcdef", 6);
    report("read into unmapped page", read(p[0], unmapped, 6));
    /* The data is still there: a failed copy does not consume it. */
    char ok[8] = {0};
    report("read after EFAULT", read(p[0], ok, 6));
    printf("data intact: %s\n", ok);
    /* A read straddling the boundary copies what fits (partial) or EFAULTs. */
    write_all(p[1], "ghijkl", 6);
    /* Linux returns EFAULT here (nothing copied is counted); a partial count is also acceptable. */
    long r = read(p[0], unmapped - 3, 6);
    printf("straddling read is partial or EFAULT: %s\n", yesno(r == 3 || (r < 0 && errno == EFAULT)));
    report("write from unmapped page", write(p[1], unmapped, 4));
    report("write from NULL to pipe", write(p[1], nullp, 4));

    /* A path that runs into an unmapped page without a terminating NUL. */
    char *tailpath = unmapped - 100;
    memset(tailpath, 'a', 100);
    memcpy(tailpath, "/tmp/", 5);
    report("open path running into unmapped page", open(tailpath, O_RDONLY));
    struct stat sb;
    report("stat path running into unmapped page", syscall(SYS_newfstatat, AT_FDCWD, tailpath, &sb, 0));
    report("open NULL path", syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY));
    report("open unmapped path", syscall(SYS_openat, AT_FDCWD, unmapped, O_RDONLY));
    /* A path too long (>= PATH_MAX) is ENAMETOOLONG, one component > 255 too. */
    static char longpath[8192];
    memset(longpath, 'x', sizeof longpath - 1);
    longpath[0] = '/';
    report("open path longer than PATH_MAX", open(longpath, O_RDONLY));
    char comp[300];
    memset(comp, 'y', sizeof comp - 1);
    comp[0] = '/';
    comp[sizeof comp - 1] = 0;
    report("open component longer than NAME_MAX", open(comp, O_RDONLY));

    /* readv/writev argument checks. */
    struct iovec iov[2] = {{ok, 1}, {ok, 1}};
    report("readv iovcnt 100000", syscall(SYS_readv, p[0], iov, 100000));
    report("readv iovcnt -1", syscall(SYS_readv, p[0], iov, -1));
    report("writev iovcnt 1025", syscall(SYS_writev, p[1], iov, 1025));
    report("readv iovcnt 0", readv(p[0], iov, 0));
    report("readv iov array unmapped", readv(p[0], (struct iovec *)unmapped, 1));
    struct iovec badbase = {unmapped, 4};
    report("writev base unmapped", writev(p[1], &badbase, 1));

    /* Misc EFAULT and EINVAL from common calls. */
    report("pipe(unmapped)", pipe((int *)unmapped));
    report("fstat(0, unmapped)", syscall(SYS_fstat, 0, unmapped));
    report("clock_gettime(unmapped)", syscall(SYS_clock_gettime, CLOCK_REALTIME, unmapped));
    report("getcwd(unmapped)", syscall(SYS_getcwd, unmapped, 100));
    report("uname(NULL)", syscall(SYS_uname, NULL));
    report("lseek on pipe", lseek(p[0], 0, SEEK_SET));
    report("read on write end", read(p[1], ok, 1));
    report("write on read end", write(p[0], ok, 1));
    report("ioctl TCGETS on pipe", syscall(SYS_ioctl, p[0], 0x5401, ok));
    report("fcntl bad cmd", fcntl(p[0], 9999));
    report("kill missing pid", kill(0x3fffffff, 0));
    report("wait4 bad options", syscall(SYS_wait4, -1, NULL, 0x12345678, NULL));
    return 0;
}
