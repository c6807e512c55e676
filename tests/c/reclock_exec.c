/* POSIX record locks and execve: closing an FD_CLOEXEC descriptor at exec
 * drops the process's locks on that file (even with another descriptor of
 * it still open), locks on files whose descriptors survive the exec stay
 * held by the same process; an OFD lock goes with its last descriptor.
 * The other process checks with F_SETLK / F_GETLK before and after. */
#include "common.h"

static char path[4][64];

static int try_lock(int i, int ofd) {
    int fd = open(path[i], O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    int r = fcntl(fd, ofd ? F_OFD_SETLK : F_SETLK, &fl);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static const char *res(int r) {
    return r >= 0 ? "ok" : errname(errno);
}

static void lock(int fd, int ofd) {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, ofd ? F_OFD_SETLK : F_SETLK, &fl) != 0)
        printf("lock: %s\n", strerror(errno));
}

int main(int argc, char **argv) {
    setup();
    if (argc == 4 && strcmp(argv[1], "after-exec") == 0) {
        /* The holder after its exec: say so, wait to be let go. */
        int to_parent = atoi(argv[2]), from_parent = atoi(argv[3]);
        char c;
        write(to_parent, "e", 1);
        read(from_parent, &c, 1);
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        snprintf(path[i], sizeof path[i], "/tmp/rvt-reclock-XXXXXX");
        int fd = mkstemp(path[i]);
        write(fd, "0123456789", 10);
        close(fd);
    }
    int up[2], down[2];
    pipe(up);
    pipe(down);
    fflush(stdout);
    pid_t h = fork();
    if (h == 0) {
        close(up[0]);
        close(down[1]);
        /* 0: only a close-on-exec descriptor. */
        lock(open(path[0], O_RDWR | O_CLOEXEC), 0);
        /* 1: a descriptor that survives the exec. */
        lock(open(path[1], O_RDWR), 0);
        /* 2: close-on-exec, with a surviving dup of it. */
        int fd2 = open(path[2], O_RDWR | O_CLOEXEC);
        lock(fd2, 0);
        dup(fd2);
        /* 3: an OFD lock through a close-on-exec descriptor. */
        lock(open(path[3], O_RDWR | O_CLOEXEC), 1);
        write(up[1], "l", 1);
        char c;
        read(down[0], &c, 1);
        char a1[16], a2[16];
        snprintf(a1, sizeof a1, "%d", up[1]);
        snprintf(a2, sizeof a2, "%d", down[0]);
        execl("/proc/self/exe", argv[0], "after-exec", a1, a2, (char *)NULL);
        printf("exec: %s\n", strerror(errno));
        _exit(1);
    }
    close(up[1]);
    close(down[0]);
    char c;
    read(up[0], &c, 1);
    printf("before exec: cloexec-only %s, kept %s, cloexec with a kept dup %s, ofd %s\n", res(try_lock(0, 0)),
           res(try_lock(1, 0)), res(try_lock(2, 0)), res(try_lock(3, 1)));
    write(down[1], "x", 1);
    read(up[0], &c, 1);
    printf("after exec: cloexec-only %s, kept %s, cloexec with a kept dup %s, ofd %s\n", res(try_lock(0, 0)),
           res(try_lock(1, 0)), res(try_lock(2, 0)), res(try_lock(3, 1)));
    int fd = open(path[1], O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    fcntl(fd, F_GETLK, &fl);
    printf("kept lock still owned by the exec'd holder: %s\n", yesno(fl.l_type == F_WRLCK && fl.l_pid == h));
    close(fd);
    write(down[1], "x", 1);
    waitpid(h, NULL, 0);
    printf("after the holder's exit: kept %s\n", res(try_lock(1, 0)));
    for (int i = 0; i < 4; i++)
        unlink(path[i]);
    return 0;
}
