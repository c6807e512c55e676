/* Pseudo-terminals: posix_openpt/grantpt/unlockpt/ptsname, the slave lock,
 * ttyname, termios defaults and round trips, canonical and raw reads
 * (VMIN/VTIME), echo and line editing, output processing, the window size,
 * FIONREAD, TIOCGPTPEER and what closing either end does.
 *
 * Nothing printed depends on the pty's number (only relations to it).
 * Linux processes master writes asynchronously, so bytes expected back are
 * read with a bounded wait. */
#include "common.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>

/* Reads until `want` bytes arrived or 2 s passed. */
static int read_wait(int fd, char *buf, int want) {
    int got = 0;
    double end = mono_now() + 2.0;
    while (got < want && mono_now() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf + got, (size_t)(want - got));
        if (n <= 0)
            break;
        got += (int)n;
    }
    return got;
}

/* Prints bytes with control characters escaped. */
static void show(const char *label, const char *b, int n) {
    printf("%s: \"", label);
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        if (c == '\n')
            printf("\\n");
        else if (c == '\r')
            printf("\\r");
        else if (c == '\b')
            printf("\\b");
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("\" (%d)\n", n);
}

/* Expects exactly `n` bytes from the master (echo or output). */
static void expect_master(int m, const char *label, int n) {
    char b[256];
    int got = read_wait(m, b, n);
    show(label, b, got);
}

/* Whether `fd` becomes readable within `ms`. */
static int readable(int fd, int ms) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void drain(int fd) {
    char b[256];
    while (readable(fd, 50) && read(fd, b, sizeof b) > 0) {
    }
}

static int open_pair(int *master, char *name, size_t len) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0);
    CHECK(grantpt(m) == 0);
    CHECK(unlockpt(m) == 0);
    CHECK(ptsname_r(m, name, len) == 0);
    int s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0);
    *master = m;
    return s;
}

static void termios_section(int m, int s) {
    struct termios t, tm;
    CHECK(tcgetattr(s, &t) == 0);
    printf("iflag %o oflag %o lflag %o\n", t.c_iflag, t.c_oflag, t.c_lflag);
    printf("cflag CSIZE=CS8 %s CREAD %s PARENB %s\n", yesno((t.c_cflag & CSIZE) == CS8),
           yesno(t.c_cflag & CREAD), yesno(t.c_cflag & PARENB));
    printf("cc:");
    int idx[] = {VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN, VSTART, VSTOP, VSUSP,
                 VEOL, VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2};
    for (unsigned i = 0; i < sizeof idx / sizeof idx[0]; i++)
        printf(" %d", t.c_cc[idx[i]]);
    printf("\n");
    CHECK(tcgetattr(m, &tm) == 0);
    printf("master termios is the slave's: %s\n",
           yesno(tm.c_lflag == t.c_lflag && tm.c_iflag == t.c_iflag));

    struct termios n = t;
    n.c_lflag &= ~(ECHO | ECHOCTL);
    n.c_cc[VERASE] = 8;
    n.c_cflag |= PARENB;
    cfsetospeed(&n, B9600);
    cfsetispeed(&n, B9600);
    CHECK(tcsetattr(s, TCSANOW, &n) == 0);
    struct termios r;
    CHECK(tcgetattr(s, &r) == 0);
    printf("round trip: ECHO %s VERASE %d ospeed B9600 %s PARENB kept %s\n",
           yesno(r.c_lflag & ECHO), r.c_cc[VERASE], yesno(cfgetospeed(&r) == B9600),
           yesno(r.c_cflag & PARENB));
    /* Set through the master, seen on the slave. */
    n.c_lflag |= ECHO | ECHOCTL;
    n.c_cc[VERASE] = 0x7f;
    cfsetospeed(&n, B38400);
    cfsetispeed(&n, B38400);
    CHECK(tcsetattr(m, TCSADRAIN, &n) == 0);
    CHECK(tcgetattr(s, &r) == 0);
    printf("set via master: ECHO %s VERASE %d\n", yesno(r.c_lflag & ECHO), r.c_cc[VERASE]);
    CHECK(tcsetattr(s, TCSAFLUSH, &t) == 0);
    report("tcdrain", tcdrain(s));
    report("tcflush bad queue", tcflush(s, 42));
    report("tcflow bad action", tcflow(s, 42));
}

static void canonical_section(int m, int s) {
    char b[256];
    write_all(m, "hello\r", 6);
    ssize_t n = read(s, b, sizeof b);
    show("canonical read", b, (int)n);
    expect_master(m, "echo", 7);

    write_all(m, "abc", 3);
    printf("partial line readable: %s\n", yesno(readable(s, 200)));
    int q = -1;
    CHECK(ioctl(s, FIONREAD, &q) == 0);
    printf("FIONREAD partial: %d\n", q);
    write_all(m, "\n", 1);
    printf("complete line readable: %s\n", yesno(readable(s, 2000)));
    CHECK(ioctl(s, FIONREAD, &q) == 0);
    printf("FIONREAD line: %d\n", q);
    n = read(s, b, 2);
    show("short read", b, (int)n);
    n = read(s, b, sizeof b);
    show("rest of line", b, (int)n);
    expect_master(m, "echo", 5);

    write_all(m, "abx\x7f" "c\n", 6);
    n = read(s, b, sizeof b);
    show("after erase", b, (int)n);
    expect_master(m, "erase echo", 9);

    write_all(m, "one two\x17" "x\n", 10);
    n = read(s, b, sizeof b);
    show("after werase", b, (int)n);
    drain(m);

    write_all(m, "junk\x15ok\n", 8);
    n = read(s, b, sizeof b);
    show("after kill", b, (int)n);
    drain(m);

    write_all(m, "\x16\x03\n", 3);
    n = read(s, b, sizeof b);
    show("after lnext", b, (int)n);
    drain(m);

    write_all(m, "eof\x04", 4);
    n = read(s, b, sizeof b);
    show("line ended by VEOF", b, (int)n);
    write_all(m, "\x04", 1);
    n = read(s, b, sizeof b);
    printf("VEOF alone: read returns %zd\n", n);
    expect_master(m, "no echo for VEOF", 3);

    /* Non-blocking read of an empty queue. */
    int fl = fcntl(s, F_GETFL);
    fcntl(s, F_SETFL, fl | O_NONBLOCK);
    report("nonblocking empty read", read(s, b, sizeof b));
    fcntl(s, F_SETFL, fl);
}

static void raw_section(int m, int s) {
    struct termios t, raw;
    char b[64];
    CHECK(tcgetattr(s, &t) == 0);
    raw = t;
    raw.c_lflag &= ~(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    CHECK(tcsetattr(s, TCSANOW, &raw) == 0);
    write_all(m, "xyz\r", 4);
    int got = read_wait(s, b, 4);
    show("raw read", b, got);
    printf("raw: nothing echoed: %s\n", yesno(!readable(m, 200)));

    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    CHECK(tcsetattr(s, TCSANOW, &raw) == 0);
    report("VMIN=0 VTIME=0 empty read", read(s, b, sizeof b));
    raw.c_cc[VTIME] = 2;
    CHECK(tcsetattr(s, TCSANOW, &raw) == 0);
    double t0 = mono_now();
    ssize_t n = read(s, b, sizeof b);
    double dt = mono_now() - t0;
    printf("VMIN=0 VTIME=2: read %zd after >=0.15s: %s\n", n, yesno(dt >= 0.15));

    raw.c_cc[VMIN] = 3;
    raw.c_cc[VTIME] = 0;
    CHECK(tcsetattr(s, TCSANOW, &raw) == 0);
    write_all(m, "12", 2);
    printf("VMIN=3 with 2 bytes: poll readable: %s\n", yesno(readable(s, 200)));
    write_all(m, "3", 1);
    printf("VMIN=3 with 3 bytes: poll readable: %s\n", yesno(readable(s, 2000)));
    n = read(s, b, sizeof b);
    show("VMIN=3 read", b, (int)n);

    raw.c_cc[VMIN] = 5;
    raw.c_cc[VTIME] = 2;
    CHECK(tcsetattr(s, TCSANOW, &raw) == 0);
    write_all(m, "ab", 2);
    n = read(s, b, sizeof b);
    show("VMIN=5 VTIME=2 interbyte timeout", b, (int)n);

    /* Back to canonical: queued raw input becomes a line. */
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    CHECK(tcsetattr(s, TCSANOW, &raw) == 0);
    write_all(m, "queued", 6);
    CHECK(readable(s, 2000));
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    n = read(s, b, sizeof b);
    show("raw input after ICANON on", b, (int)n);
    drain(m);
}

static void output_section(int m, int s) {
    write_all(s, "a\nb\tc\n", 6);
    expect_master(m, "ONLCR output", 8);
    struct termios t, o;
    CHECK(tcgetattr(s, &t) == 0);
    o = t;
    o.c_oflag &= ~OPOST;
    CHECK(tcsetattr(s, TCSANOW, &o) == 0);
    write_all(s, "a\nb\n", 4);
    expect_master(m, "no OPOST", 4);
    o = t;
    o.c_oflag |= OCRNL;
    CHECK(tcsetattr(s, TCSANOW, &o) == 0);
    write_all(s, "x\ry", 3);
    expect_master(m, "OCRNL", 3);
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    int q = -1;
    write_all(s, "pending", 7);
    CHECK(readable(m, 2000));
    CHECK(ioctl(s, TIOCOUTQ, &q) == 0);
    printf("TIOCOUTQ on a pty slave: %d\n", q);
    drain(m);
    /* Flushing unread input. */
    write_all(m, "gone\n", 5);
    CHECK(readable(s, 2000));
    CHECK(tcflush(s, TCIFLUSH) == 0);
    printf("after TCIFLUSH readable: %s\n", yesno(readable(s, 200)));
    drain(m);
}

static void winsize_section(int m, int s) {
    struct winsize w = {0}, r = {0};
    CHECK(ioctl(s, TIOCGWINSZ, &r) == 0);
    printf("initial winsize: %d %d\n", r.ws_row, r.ws_col);
    w.ws_row = 24;
    w.ws_col = 80;
    CHECK(ioctl(m, TIOCSWINSZ, &w) == 0);
    CHECK(ioctl(s, TIOCGWINSZ, &r) == 0);
    printf("winsize via slave: %d %d\n", r.ws_row, r.ws_col);
    CHECK(ioctl(m, TIOCGWINSZ, &r) == 0);
    printf("winsize via master: %d %d\n", r.ws_row, r.ws_col);
}

int main(void) {
    setup();
    char name[128], name2[128];
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0);
    printf("master isatty: %s\n", yesno(isatty(m)));
    CHECK(grantpt(m) == 0);
    int lck = -1;
    CHECK(ioctl(m, TIOCGPTLCK, &lck) == 0);
    printf("locked before unlockpt: %d\n", lck);
    CHECK(ptsname_r(m, name, sizeof name) == 0);
    printf("ptsname under /dev/pts/: %s\n", yesno(strncmp(name, "/dev/pts/", 9) == 0));
    unsigned ptn = 0;
    CHECK(ioctl(m, TIOCGPTN, &ptn) == 0);
    printf("TIOCGPTN matches ptsname: %s\n", yesno(atoi(name + 9) == (int)ptn));
    report("open locked slave", open(name, O_RDWR | O_NOCTTY));
    CHECK(unlockpt(m) == 0);
    CHECK(ioctl(m, TIOCGPTLCK, &lck) == 0);
    printf("locked after unlockpt: %d\n", lck);
    int s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0);
    printf("slave isatty: %s\n", yesno(isatty(s)));
    char *tn = ttyname(s);
    printf("ttyname == ptsname: %s\n", yesno(tn && strcmp(tn, name) == 0));
    char link[64], target[128] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", s);
    CHECK(readlink(link, target, sizeof target - 1) > 0);
    printf("fd link == ptsname: %s\n", yesno(strcmp(target, name) == 0));
    struct stat st, st2;
    CHECK(fstat(s, &st) == 0 && stat(name, &st2) == 0);
    printf("slave is a char device, major 136: %s, same inode as path: %s\n",
           yesno(S_ISCHR(st.st_mode) && major(st.st_rdev) == 136),
           yesno(st.st_ino == st2.st_ino && st.st_rdev == st2.st_rdev));
    report("TIOCGPTN on slave", ioctl(s, TIOCGPTN, &ptn));
    report("TIOCGPGRP without a controlling tty", ioctl(s, TIOCGPGRP, &lck));
    report("TIOCNOTTY not our tty", ioctl(s, TIOCNOTTY));
    report("TIOCGSID without session", ioctl(s, TIOCGSID, &lck));

    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    CHECK(peer >= 0);
    tn = ttyname(peer);
    printf("TIOCGPTPEER slave ttyname == ptsname: %s\n", yesno(tn && strcmp(tn, name) == 0));
    close(peer);

    /* Bad pointers fail with EFAULT. */
    report("TCGETS to a bad pointer", ioctl(s, TCGETS, (void *)8));
    report("TIOCSWINSZ from a bad pointer", ioctl(m, TIOCSWINSZ, (void *)8));
    report("TIOCGPTN to a bad pointer", ioctl(m, TIOCGPTN, (void *)8));

    /* epoll sees the master become readable when the slave writes. */
    int ep = epoll_create1(0);
    CHECK(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, m, &ev) == 0);
    struct epoll_event evo;
    report("epoll before output", epoll_wait(ep, &evo, 1, 100));
    write_all(s, "e", 1);
    int nev = epoll_wait(ep, &evo, 1, 2000);
    printf("epoll after output: %d events, data %u, EPOLLIN %s\n", nev, evo.data.u32,
           yesno(evo.events & EPOLLIN));
    drain(m);
    close(ep);

    termios_section(m, s);
    canonical_section(m, s);
    raw_section(m, s);
    output_section(m, s);
    winsize_section(m, s);

    /* Slave closed: the master reads what is left, then EIO; POLLHUP. */
    int m2;
    int s2 = open_pair(&m2, name2, sizeof name2);
    write_all(s2, "bye\n", 4);
    CHECK(readable(m2, 2000));
    close(s2);
    struct pollfd p = {m2, POLLIN, 0};
    poll(&p, 1, 1000);
    printf("master after slave close: POLLIN %s POLLHUP %s\n", yesno(p.revents & POLLIN),
           yesno(p.revents & POLLHUP));
    char b[16];
    int got = read_wait(m2, b, 5);
    show("leftover", b, got);
    report("master read after drain", read(m2, b, sizeof b));
    close(m2);

    /* Master closed: the slave is hung up. */
    close(m);
    p.fd = s;
    p.events = POLLIN | POLLOUT;
    poll(&p, 1, 1000);
    printf("slave after master close: IN %s OUT %s ERR %s HUP %s\n", yesno(p.revents & POLLIN),
           yesno(p.revents & POLLOUT), yesno(p.revents & POLLERR), yesno(p.revents & POLLHUP));
    report("hung-up read", read(s, b, sizeof b));
    report("hung-up write", write(s, "x", 1));
    struct termios t;
    report("hung-up tcgetattr", tcgetattr(s, &t));
    report("reopen slave after master close", open(name, O_RDWR | O_NOCTTY));
    close(s);
    return 0;
}
