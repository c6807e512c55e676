/* F_GETFL/F_SETFL with O_NONBLOCK on pipes: EAGAIN on empty read / full write. */
#include "common.h"

int main(void) {
    setup();
    int p[2];
    CHECK(pipe(p) == 0);
    int fl = fcntl(p[0], F_GETFL);
    printf("initially nonblocking: %s\n", yesno(fl & O_NONBLOCK));
    CHECK(fcntl(p[0], F_SETFL, fl | O_NONBLOCK) == 0);
    printf("after F_SETFL: %s\n", yesno(fcntl(p[0], F_GETFL) & O_NONBLOCK));
    char c;
    report("read empty nonblocking pipe", read(p[0], &c, 1));
    printf("EAGAIN == EWOULDBLOCK: %s\n", yesno(EAGAIN == EWOULDBLOCK));
    write_all(p[1], "k", 1);
    report("read with data", read(p[0], &c, 1));
    report("read empty again", read(p[0], &c, 1));

    /* The status flag is shared between dups (same open file description). */
    int d = dup(p[0]);
    printf("dup sees O_NONBLOCK: %s\n", yesno(fcntl(d, F_GETFL) & O_NONBLOCK));
    CHECK(fcntl(d, F_SETFL, 0) == 0);
    printf("clearing via dup clears original: %s\n", yesno(!(fcntl(p[0], F_GETFL) & O_NONBLOCK)));
    close(d);

    /* Nonblocking write end: fill until EAGAIN. */
    CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    char buf[4096];
    memset(buf, 'z', sizeof buf);
    long total = 0;
    ssize_t n;
    while ((n = write(p[1], buf, sizeof buf)) > 0)
        total += n;
    printf("write until full: errno=%s total>=4096: %s\n", errname(errno), yesno(total >= 4096));

    /* F_SETFL ignores access-mode bits and O_CREAT; O_APPEND is settable. */
    int fd = open("/etc/passwd", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_SETFL, O_WRONLY | O_NONBLOCK) == 0);
    int f2 = fcntl(fd, F_GETFL);
    printf("access mode unchanged: %s, nonblock set: %s\n", yesno((f2 & O_ACCMODE) == O_RDONLY), yesno(f2 & O_NONBLOCK));
    report("F_GETFL on closed fd", fcntl(999, F_GETFL));

    /* O_NONBLOCK at open of a FIFO with no writer succeeds for reading. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/rvisor-fifo-%d", getpid());
    CHECK(mkfifo(path, 0600) == 0);
    int r = open(path, O_RDONLY | O_NONBLOCK);
    printf("open fifo O_RDONLY|O_NONBLOCK: %s\n", yesno(r >= 0));
    report("read fifo with no writer", read(r, &c, 1));
    int w = open(path, O_WRONLY | O_NONBLOCK);
    printf("open fifo O_WRONLY|O_NONBLOCK with a reader: %s\n", yesno(w >= 0));
    report("read fifo with idle writer", read(r, &c, 1));
    close(r);
    close(w);
    report("open fifo O_WRONLY|O_NONBLOCK without reader", open(path, O_WRONLY | O_NONBLOCK));
    unlink(path);
    return 0;
}
