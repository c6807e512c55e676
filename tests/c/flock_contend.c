/* flock: shared/exclusive contention between processes, LOCK_NB, release
 * on close, and a blocked locker woken by the holder's unlock. */
#include "common.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>

int main(void) {
    setup();
    char path[64];
    snprintf(path, sizeof path, "/tmp/rvisor-flock-%d", getpid());
    int fd = open(path, O_CREAT | O_RDWR, 0600);
    CHECK(fd >= 0);
    CHECK(flock(fd, LOCK_EX) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int fd2 = open(path, O_RDWR);
        int r = flock(fd2, LOCK_SH | LOCK_NB);
        int e = errno;
        char b = (r == -1 && e == EWOULDBLOCK) ? 'y' : 'n';
        CHECK(write(p[1], &b, 1) == 1);
        /* Now block until the parent unlocks. */
        r = flock(fd2, LOCK_EX);
        _exit(r == 0 ? 0 : 1);
    }
    char b;
    CHECK(read(p[0], &b, 1) == 1);
    printf("child's LOCK_NB against our exclusive lock fails with EWOULDBLOCK: %s\n", yesno(b == 'y'));
    usleep(100 * 1000);
    CHECK(flock(fd, LOCK_UN) == 0);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("blocked child got the lock after unlock", st);
    /* Two descriptions in one process conflict; dup'ed ones share. */
    int a1 = open(path, O_RDWR), a2 = open(path, O_RDWR), a3 = dup(a1);
    CHECK(flock(a1, LOCK_EX) == 0);
    printf("second open EX NB: %s\n", errname(flock(a2, LOCK_EX | LOCK_NB) == 0 ? 0 : errno));
    printf("dup'ed fd EX NB: %s\n", flock(a3, LOCK_EX | LOCK_NB) == 0 ? "ok" : errname(errno));
    close(a1);
    close(a3);
    printf("after closing the description: %s\n", flock(a2, LOCK_EX | LOCK_NB) == 0 ? "ok" : errname(errno));
    printf("bad operation: %s\n", flock(a2, 12345) == 0 ? "ok" : errname(errno));
    unlink(path);
    return 0;
}
