/* pipe2 flags, EPIPE with SIGPIPE ignored, FIONREAD, pipe buffer capacity. */
#include "common.h"
#include <sys/ioctl.h>

int main(void) {
    setup();
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
    printf("pipe2 read end cloexec: %s\n", yesno(fcntl(p[0], F_GETFD) & FD_CLOEXEC));
    printf("pipe2 write end nonblock: %s\n", yesno(fcntl(p[1], F_GETFL) & O_NONBLOCK));
    printf("read end access mode rdonly: %s\n", yesno((fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY));
    printf("write end access mode wronly: %s\n", yesno((fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY));

    write_all(p[1], "xyz", 3);
    int avail = -1;
    report("ioctl FIONREAD", ioctl(p[0], FIONREAD, &avail));
    printf("bytes available: %d\n", avail);

    /* Fill the pipe until EAGAIN; the default capacity is 64 KiB. */
    char chunk[1024];
    memset(chunk, 'q', sizeof chunk);
    long filled = 3;
    for (;;) {
        ssize_t n = write(p[1], chunk, sizeof chunk);
        if (n < 0) {
            printf("fill stopped with errno %s\n", errname(errno));
            break;
        }
        filled += n;
    }
    /* Exactly how many bytes fit depends on page packing; 64 KiB is the bound. */
    printf("capacity in [60000, 65536]: %s\n", yesno(filled >= 60000 && filled <= 65536));
    printf("F_GETPIPE_SZ: %d\n", fcntl(p[1], F_GETPIPE_SZ));

    signal(SIGPIPE, SIG_IGN);
    close(p[0]);
    report("write with no reader", write(p[1], "x", 1));
    close(p[1]);

    /* Reading from a pipe whose writers are all closed returns 0. */
    CHECK(pipe(p) == 0);
    close(p[1]);
    char c;
    report("read with no writer", read(p[0], &c, 1));
    close(p[0]);
    return 0;
}
