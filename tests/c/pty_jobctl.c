/* Controlling terminals and job control on a pty: acquiring it by opening
 * the slave as a session leader, /dev/tty, TIOCSCTTY/TIOCNOTTY,
 * tcgetpgrp/tcsetpgrp/tcgetsid, ^C and TIOCSIG to the foreground group,
 * SIGWINCH on a window-size change, SIGTTOU/SIGTTIN for background groups
 * (stopped, ignored, blocked, TOSTOP), SIGHUP when the session leader exits
 * or the master closes.
 *
 * The parent only plays the terminal (it owns the master) and answers the
 * session leader's requests over a pipe; everything is printed by one
 * process at a time, and only relations between ids. */
#include "common.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

static int c2p[2], p2c[2];
static volatile sig_atomic_t got_int, got_winch, got_hup, got_cont;

static void on_sig(int s) {
    if (s == SIGINT)
        got_int++;
    else if (s == SIGWINCH)
        got_winch++;
    else if (s == SIGHUP)
        got_hup++;
    else if (s == SIGCONT)
        got_cont++;
}

/* Asks the parent (the terminal) to do `cmd`; returns its one-byte answer. */
static char ask(char cmd) {
    write_all(c2p[1], &cmd, 1);
    char r = 0;
    ssize_t n;
    while ((n = read(p2c[0], &r, 1)) < 0 && errno == EINTR) {
    }
    CHECK(n == 1);
    return r;
}

/* Waits up to `ms` for `*flag` to become non-zero with the signals that set
 * it unblocked. */
static int wait_flag(volatile sig_atomic_t *flag, int ms) {
    double end = mono_now() + ms / 1000.0;
    while (!*flag && mono_now() < end)
        usleep(10000);
    return *flag != 0;
}

static void handle(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigaction(sig, &sa, NULL);
}

/* Runs `fn` in a child in its own (background) process group and prints
 * how it ended. */
static void in_background(const char *label, int fd, void (*fn)(int)) {
    fflush(stdout);
    pid_t g = fork();
    CHECK(g >= 0);
    if (g == 0) {
        setpgid(0, 0);
        fn(fd);
        _exit(0);
    }
    setpgid(g, g);
    int st;
    CHECK(waitpid(g, &st, WUNTRACED) == g);
    print_status(label, st);
    if (WIFSTOPPED(st)) {
        kill(g, SIGKILL);
        waitpid(g, &st, 0);
    }
}

static void bg_tcsetattr(int fd) {
    struct termios t;
    CHECK(tcgetattr(fd, &t) == 0);
    _exit(tcsetattr(fd, TCSANOW, &t) == 0 ? 0 : 10 + errno);
}
static void bg_tcsetattr_ignored(int fd) {
    signal(SIGTTOU, SIG_IGN);
    bg_tcsetattr(fd);
}
static void bg_tcsetattr_blocked(int fd) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGTTOU);
    sigprocmask(SIG_BLOCK, &m, NULL);
    bg_tcsetattr(fd);
}
static void bg_read(int fd) {
    char b[8];
    _exit(read(fd, b, sizeof b) >= 0 ? 0 : 10 + errno);
}
static void bg_read_ignored(int fd) {
    signal(SIGTTIN, SIG_IGN);
    bg_read(fd);
}
static void bg_write(int fd) {
    _exit(write(fd, "", 0) == 0 && write(fd, "bg\n", 3) == 3 ? 0 : 10 + errno);
}
static void bg_tcgetpgrp(int fd) {
    /* Reading the foreground group is allowed from the background. */
    _exit(tcgetpgrp(fd) > 0 ? 0 : 10 + errno);
}

static void session_leader(const char *name) {
    close(c2p[0]);
    close(p2c[1]);
    pid_t me = getpid();
    CHECK(setsid() == me);
    report("open /dev/tty without a controlling tty", open("/dev/tty", O_RDWR));
    int s = open(name, O_RDWR);
    CHECK(s >= 0);
    printf("slave became the controlling tty: pgrp %s, sid %s\n", yesno(tcgetpgrp(s) == me),
           yesno(tcgetsid(s) == me));
    int sid = 0;
    CHECK(ioctl(s, TIOCGSID, &sid) == 0);
    printf("TIOCGSID is our session: %s\n", yesno(sid == me));
    int t = open("/dev/tty", O_RDWR);
    CHECK(t >= 0);
    char *tn = ttyname(t);
    printf("/dev/tty: isatty %s, ttyname %s, same device as the slave: ", yesno(isatty(t)),
           tn ? tn : "(none)");
    struct stat a, b;
    CHECK(fstat(t, &a) == 0 && fstat(s, &b) == 0);
    printf("%s\n", yesno(a.st_rdev == b.st_rdev));
    write_all(t, "via /dev/tty\n", 13);
    close(t);
    report("TIOCSCTTY on our own tty", ioctl(s, TIOCSCTTY, 0));
    int m2 = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m2 >= 0 && grantpt(m2) == 0 && unlockpt(m2) == 0);
    int s2 = open(ptsname(m2), O_RDWR | O_NOCTTY);
    CHECK(s2 >= 0);
    report("TIOCSCTTY with a controlling tty already", ioctl(s2, TIOCSCTTY, 0));
    report("TIOCGPGRP on another pty", ioctl(s2, TIOCGPGRP, &sid));
    close(s2);
    close(m2);

    handle(SIGINT);
    handle(SIGWINCH);
    printf("^C echo seen by the terminal: %s\n", yesno(ask('I') == '1'));
    printf("SIGINT from ^C: %s\n", yesno(wait_flag(&got_int, 2000)));
    got_int = 0;
    ask('S');
    printf("SIGINT from TIOCSIG: %s\n", yesno(wait_flag(&got_int, 2000)));
    ask('W');
    printf("SIGWINCH on resize: %s\n", yesno(wait_flag(&got_winch, 2000)));
    got_winch = 0;
    ask('W');
    printf("SIGWINCH on same size: %s\n", yesno(wait_flag(&got_winch, 300)));
    struct winsize w;
    CHECK(ioctl(s, TIOCGWINSZ, &w) == 0);
    printf("window: %d %d\n", w.ws_row, w.ws_col);

    in_background("bg tcsetattr", s, bg_tcsetattr);
    in_background("bg tcsetattr, SIGTTOU ignored", s, bg_tcsetattr_ignored);
    in_background("bg tcsetattr, SIGTTOU blocked", s, bg_tcsetattr_blocked);
    in_background("bg read", s, bg_read);
    in_background("bg read, SIGTTIN ignored (10+EIO)", s, bg_read_ignored);
    in_background("bg write without TOSTOP", s, bg_write);
    in_background("bg tcgetpgrp", s, bg_tcgetpgrp);
    struct termios tt;
    CHECK(tcgetattr(s, &tt) == 0);
    tt.c_lflag |= TOSTOP;
    CHECK(tcsetattr(s, TCSANOW, &tt) == 0);
    in_background("bg write with TOSTOP", s, bg_write);
    tt.c_lflag &= ~TOSTOP;
    CHECK(tcsetattr(s, TCSANOW, &tt) == 0);
    ask('D'); /* drain the terminal's output */

    /* Hand the terminal to another group; ^C goes there. */
    int sync[2];
    CHECK(pipe(sync) == 0);
    fflush(stdout);
    pid_t g = fork();
    if (g == 0) {
        setpgid(0, 0);
        char x;
        read(sync[0], &x, 1);
        pause();
        _exit(0);
    }
    setpgid(g, g);
    report("tcsetpgrp to another session's group", tcsetpgrp(s, getpgid(getppid())));
    report("tcsetpgrp to a negative group", tcsetpgrp(s, -1));
    report("tcsetpgrp to the child's group", tcsetpgrp(s, g));
    printf("foreground is the child: %s\n", yesno(tcgetpgrp(s) == g));
    write_all(sync[1], "x", 1);
    got_int = 0;
    ask('I');
    int st;
    CHECK(waitpid(g, &st, 0) == g);
    print_status("foreground child after ^C", st);
    printf("background leader got SIGINT: %s\n", yesno(got_int));
    /* Taking the terminal back from the background: orphaned group, so
     * only with SIGTTOU blocked. */
    report("tcsetpgrp back from the background", tcsetpgrp(s, me));
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTTOU);
    sigprocmask(SIG_BLOCK, &mask, &old);
    report("tcsetpgrp back with SIGTTOU blocked", tcsetpgrp(s, me));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("foreground is ours again: %s\n", yesno(tcgetpgrp(s) == me));

    /* A stopped group orphaned by its parent's exit gets SIGHUP+SIGCONT. */
    int orph[2];
    CHECK(pipe(orph) == 0);
    fflush(stdout);
    pid_t mid = fork();
    if (mid == 0) {
        pid_t x = fork();
        if (x == 0) {
            setpgid(0, 0);
            got_hup = got_cont = 0;
            handle(SIGHUP);
            handle(SIGCONT);
            raise(SIGTSTP);
            /* Continued: by the orphaning (or never, then killed below). */
            wait_flag(&got_hup, 3000);
            char r = got_hup ? 'H' : 'h';
            write_all(orph[1], &r, 1);
            _exit(0);
        }
        setpgid(x, x);
        int xs;
        CHECK(waitpid(x, &xs, WUNTRACED) == x);
        print_status("orphan-to-be", xs);
        _exit(0);
    }
    CHECK(waitpid(mid, &st, 0) == mid);
    close(orph[1]);
    struct pollfd op = {orph[0], POLLIN, 0};
    char orr = '?';
    if (poll(&op, 1, 5000) == 1)
        CHECK(read(orph[0], &orr, 1) == 1);
    printf("stopped orphaned group got SIGHUP and went on: %s\n", yesno(orr == 'H'));
    close(orph[0]);

    /* A foreground child of ours hears SIGHUP when we exit. */
    fflush(stdout);
    g = fork();
    if (g == 0) {
        setpgid(0, 0);
        handle(SIGHUP);
        write_all(sync[1], "r", 1);
        wait_flag(&got_hup, 5000);
        char r = got_hup ? 'H' : 'h';
        int fd = open("/dev/tty", O_RDWR);
        if (fd < 0 && errno == ENXIO)
            r = r == 'H' ? 'N' : 'n';
        write_all(c2p[1], &r, 1);
        _exit(0);
    }
    setpgid(g, g);
    char x;
    CHECK(read(sync[0], &x, 1) == 1);
    sigprocmask(SIG_BLOCK, &mask, &old);
    CHECK(tcsetpgrp(s, g) == 0);
    printf("session leader exits with the child in the foreground\n");
    fflush(stdout);
    char q = 'Q';
    write_all(c2p[1], &q, 1);
    _exit(0);
}

/* TIOCNOTTY by a session leader, and a master closed under a session. */
static void notty_leader(const char *name, int m) {
    close(m);
    pid_t me = getpid();
    CHECK(setsid() == me);
    int s = open(name, O_RDWR);
    CHECK(s >= 0);
    signal(SIGHUP, SIG_IGN);
    report("TIOCNOTTY by the session leader", ioctl(s, TIOCNOTTY));
    report("open /dev/tty after TIOCNOTTY", open("/dev/tty", O_RDWR));
    report("tcgetpgrp after TIOCNOTTY", tcgetpgrp(s));
    report("TIOCSCTTY again", ioctl(s, TIOCSCTTY, 0));
    printf("controlling tty again: %s\n", yesno(tcgetpgrp(s) == me));
    _exit(0);
}

static void hangup_leader(const char *name, int m, int ready) {
    close(m);
    CHECK(setsid() == getpid());
    int s = open(name, O_RDWR);
    CHECK(s >= 0);
    handle(SIGHUP);
    handle(SIGCONT);
    write_all(ready, "r", 1);
    printf("SIGHUP on master close: %s\n", yesno(wait_flag(&got_hup, 3000)));
    printf("SIGCONT on master close: %s\n", yesno(wait_flag(&got_cont, 3000)));
    char b[8];
    report("read after hangup", read(s, b, sizeof b));
    report("open /dev/tty after hangup", open("/dev/tty", O_RDWR));
    _exit(0);
}

static int open_master(char *name, size_t len) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0);
    CHECK(ptsname_r(m, name, len) == 0);
    return m;
}

static int read_wait(int fd, char *buf, int want, int ms) {
    int got = 0;
    double end = mono_now() + ms / 1000.0;
    while (got < want && mono_now() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = read(fd, buf + got, (size_t)(want - got));
        if (n <= 0)
            break;
        got += (int)n;
    }
    return got;
}

int main(void) {
    setup();
    signal(SIGPIPE, SIG_IGN);
    char name[128];
    int m = open_master(name, sizeof name);
    CHECK(pipe(c2p) == 0 && pipe(p2c) == 0);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        close(m);
        session_leader(name);
    }
    close(c2p[1]);
    close(p2c[0]);
    /* Play the terminal until the session leader is done. */
    char cmd, hup = '?';
    char buf[4096];
    int lines = 0;
    while (read(c2p[0], &cmd, 1) == 1) {
        char r = 'k';
        if (cmd == 'I') {
            /* Drop what the session printed so far, send ^C, read its echo. */
            while (read_wait(m, buf, sizeof buf, 100) > 0) {
            }
            write_all(m, "\x03", 1);
            int n = read_wait(m, buf, 2, 2000);
            r = (n == 2 && buf[0] == '^' && buf[1] == 'C') ? '1' : '0';
        } else if (cmd == 'S') {
            CHECK(ioctl(m, TIOCSIG, SIGINT) == 0);
        } else if (cmd == 'W') {
            struct winsize w = {30, 90, 0, 0};
            CHECK(ioctl(m, TIOCSWINSZ, &w) == 0);
        } else if (cmd == 'D') {
            int n;
            while ((n = read_wait(m, buf, sizeof buf, 200)) > 0)
                for (int i = 0; i < n; i++)
                    lines += buf[i] == '\n';
        } else if (cmd == 'Q') {
            break;
        }
        write_all(p2c[1], &r, 1);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("session leader", st);
    printf("lines the session wrote to the terminal: %d\n", lines);
    /* The foreground child reports SIGHUP and the lost /dev/tty. */
    struct pollfd p = {c2p[0], POLLIN, 0};
    if (poll(&p, 1, 5000) == 1)
        CHECK(read(c2p[0], &hup, 1) == 1);
    printf("foreground child got SIGHUP: %s, /dev/tty gone: %s\n",
           yesno(hup == 'H' || hup == 'N'), yesno(hup == 'N' || hup == 'n'));
    close(m);

    m = open_master(name, sizeof name);
    fflush(stdout);
    c = fork();
    if (c == 0)
        notty_leader(name, m);
    CHECK(waitpid(c, &st, 0) == c);
    print_status("TIOCNOTTY leader", st);
    close(m);

    m = open_master(name, sizeof name);
    int ready[2];
    CHECK(pipe(ready) == 0);
    fflush(stdout);
    c = fork();
    if (c == 0)
        hangup_leader(name, m, ready[1]);
    char x;
    CHECK(read(ready[0], &x, 1) == 1);
    close(m);
    CHECK(waitpid(c, &st, 0) == c);
    print_status("hung-up leader", st);
    return 0;
}
