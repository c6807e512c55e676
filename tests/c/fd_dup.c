/* dup/dup2/dup3/fcntl(F_DUPFD, F_DUPFD_CLOEXEC): numbering, shared offsets, flags. */
#include "common.h"

int main(void) {
    setup();
    int fd = open("/etc/passwd", O_RDONLY);
    CHECK(fd >= 0);
    /* Lowest free descriptor is used. */
    int d = dup(fd);
    printf("dup gives next fd: %s\n", yesno(d == fd + 1));
    char a[4] = {0}, b[4] = {0};
    CHECK(read(fd, a, 3) == 3);
    CHECK(read(d, b, 3) == 3);
    printf("dup shares the offset: %s %s (offset %ld)\n", a, b, (long)lseek(fd, 0, SEEK_CUR));
    printf("dup clears cloexec: %s\n", yesno(!(fcntl(d, F_GETFD) & FD_CLOEXEC)));

    report("dup2 to 100", dup2(fd, 100));
    report("dup2 to itself", dup2(fd, fd));
    report("dup2 bad oldfd", dup2(555, 101));
    report("dup2 newfd too large", dup2(fd, 1 << 30));
    report("dup3 to 102 with O_CLOEXEC", dup3(fd, 102, O_CLOEXEC));
    printf("fd 102 cloexec: %s\n", yesno(fcntl(102, F_GETFD) & FD_CLOEXEC));
    report("dup3 to itself", dup3(fd, fd, 0));
    report("dup3 bad flags", dup3(fd, 103, 0x1234));

    report("F_DUPFD from 50", fcntl(fd, F_DUPFD, 50));
    report("F_DUPFD from 50 again", fcntl(fd, F_DUPFD, 50));
    int c = fcntl(fd, F_DUPFD_CLOEXEC, 60);
    report("F_DUPFD_CLOEXEC from 60", c);
    printf("F_DUPFD_CLOEXEC sets cloexec: %s\n", yesno(fcntl(c, F_GETFD) & FD_CLOEXEC));
    CHECK(fcntl(c, F_SETFD, 0) == 0);
    printf("F_SETFD 0 clears it: %s\n", yesno(fcntl(c, F_GETFD) == 0));
    report("F_DUPFD negative", fcntl(fd, F_DUPFD, -1));

    /* dup2 over an open descriptor closes it silently. */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(dup2(p[1], 100) == 100);
    write_all(100, "via-100", 7);
    char buf[16] = {0};
    CHECK(read(p[0], buf, sizeof buf) == 7);
    printf("write through dup2'd pipe: %s\n", buf);

    /* Closing a dup leaves the original usable. */
    close(d);
    report("read original after closing dup", read(fd, buf, 1));
    report("read closed dup", read(d, buf, 1));

    /* Filling low fds: a closed hole is reused first. */
    close(0);
    int z = open("/dev/null", O_RDONLY);
    printf("hole at 0 reused: %s\n", yesno(z == 0));

    /* RLIMIT_NOFILE bounds dup targets. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    report("dup2 at RLIMIT_NOFILE", dup2(fd, (int)rl.rlim_cur));
    return 0;
}
