/* fcntl record locks between processes: F_SETLK conflicts, F_GETLK
 * reports the holder, ranges split, F_SETLKW waits, close releases POSIX
 * locks, OFD locks conflict between descriptions. */
#include "common.h"
#include <fcntl.h>
#include <sys/wait.h>

static int lk(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

int main(void) {
    setup();
    char path[64];
    snprintf(path, sizeof path, "/tmp/rvisor-locks-%d", getpid());
    int fd = open(path, O_CREAT | O_RDWR, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789", 10) == 10);
    CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 100) == 0);
    CHECK(lk(fd, F_SETLK, F_UNLCK, 40, 20) == 0); /* split: [0,40) and [60,100) */
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int f2 = open(path, O_RDWR);
        char out[256];
        int n = 0;
        n += snprintf(out + n, sizeof out - n, "child read lock [0,10): %s\n", lk(f2, F_SETLK, F_RDLCK, 0, 10) == 0 ? "ok" : errname(errno));
        n += snprintf(out + n, sizeof out - n, "child write lock [45,50) in the hole: %s\n", lk(f2, F_SETLK, F_WRLCK, 45, 5) == 0 ? "ok" : errname(errno));
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 70, .l_len = 1};
        CHECK(fcntl(f2, F_GETLK, &q) == 0);
        n += snprintf(out + n, sizeof out - n, "F_GETLK at 70: type %s start %ld len %ld holder is parent %s\n",
                      q.l_type == F_WRLCK ? "WRLCK" : "other", (long)q.l_start, (long)q.l_len, yesno(q.l_pid == getppid()));
        CHECK(write(p[1], out, n) == n);
        close(p[1]);
        /* Wait for the parent's lock on [60,100) to go away. */
        int r = lk(f2, F_SETLKW, F_WRLCK, 60, 10);
        _exit(r == 0 ? 0 : 1);
    }
    close(p[1]);
    char buf[512];
    ssize_t got, total = 0;
    while ((got = read(p[0], buf + total, sizeof buf - 1 - total)) > 0) total += got;
    buf[total] = 0;
    fputs(buf, stdout);
    usleep(100 * 1000);
    close(fd); /* closing any fd of the file drops this process's locks */
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("child's F_SETLKW after our close", st);
    /* OFD locks: two descriptions in one process conflict. */
    int o1 = open(path, O_RDWR), o2 = open(path, O_RDWR);
    struct flock ofl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(o1, F_OFD_SETLK, &ofl) == 0);
    printf("second description OFD lock: %s\n", fcntl(o2, F_OFD_SETLK, &ofl) == 0 ? "ok" : errname(errno));
    printf("bad l_type: %s\n", lk(o2, F_SETLK, 77, 0, 1) == 0 ? "ok" : errname(errno));
    unlink(path);
    return 0;
}
