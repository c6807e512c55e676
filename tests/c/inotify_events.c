/* inotify: instance flags, watch validation and descriptors, the events
 * of file system operations (with names, cookies, IN_ISDIR), coalescing,
 * one-shot and mask-add watches, delete-self after the last close, read
 * and FIONREAD semantics, poll/epoll readiness, a blocking read woken by
 * another process, and queue overflow. Runs in a fresh directory under
 * each base given as an argument (default /tmp, a tmpfs in the sandbox,
 * and /var/tmp, the overlay root). */
#define _GNU_SOURCE
#include "common.h"
#include <dirent.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

static int in;
static uint32_t last_cookie;

static void mask_names(uint32_t m, char *out) {
    static const struct { uint32_t bit; const char *name; } names[] = {
        {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"},
        {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
        {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
        {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
        {IN_MOVE_SELF, "MOVE_SELF"}, {IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"},
        {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
    };
    out[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (m & names[i].bit) {
            if (out[0])
                strcat(out, "|");
            strcat(out, names[i].name);
            m &= ~names[i].bit;
        }
    }
    if (m)
        sprintf(out + strlen(out), "|0x%x", m);
}

/* Prints every queued event (the instance is non-blocking). */
static void drain(const char *label) {
    char buf[8192] __attribute__((aligned(8)));
    printf("-- %s\n", label);
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) {
            CHECK(errno == EAGAIN);
            break;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            char m[256];
            mask_names(e->mask, m);
            const char *ck = "0";
            if (e->cookie) {
                ck = e->cookie == last_cookie ? "same" : "new";
                last_cookie = e->cookie;
            }
            printf("  wd=%d %s cookie=%s len=%u name=%s\n", e->wd, m, ck, e->len,
                   e->len ? e->name : "-");
            p += sizeof *e + e->len;
        }
    }
}

static void path(char *out, const char *dir, const char *name) {
    snprintf(out, 512, "%s/%s", dir, name);
}

static int getdents_all(int fd) {
    char b[4096];
    int calls = 0;
    while (syscall(SYS_getdents64, fd, b, sizeof b) > 0)
        calls++;
    return calls;
}

static void scenario(const char *base) {
    char d[256], sub[512], f[512], g[512], h[512], l[512], x[512];
    snprintf(d, sizeof d, "%s/rvisor-ino-%d", base, getpid());
    CHECK(mkdir(d, 0755) == 0);
    path(sub, d, "sub");
    path(f, d, "f");
    path(g, d, "g");
    path(h, d, "h");
    path(l, d, "l");
    CHECK(mkdir(sub, 0755) == 0);
    in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    CHECK(in >= 0);
    printf("cloexec %s nonblock %s\n", yesno(fcntl(in, F_GETFD) & FD_CLOEXEC),
           yesno(fcntl(in, F_GETFL) & O_NONBLOCK));
    char b[64];
    ssize_t r = read(in, b, sizeof b);
    printf("read empty: %zd %s\n", r, errname(errno));

    int wd = inotify_add_watch(in, d, IN_ALL_EVENTS);
    printf("watch dir: %d\n", wd);

    /* Create, write, read, close. */
    int fd = open(f, O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0);
    write_all(fd, "hello", 5);
    write_all(fd, "world", 5); /* identical event: merged */
    CHECK(pread(fd, b, 4, 0) == 4);
    CHECK(pread(fd, b, 4, 100) == 0); /* nothing read: no event */
    close(fd);
    drain("create write read close");

    int wf = inotify_add_watch(in, f, IN_ALL_EVENTS);
    printf("watch file: %d, again: %d\n", wf, inotify_add_watch(in, f, IN_ALL_EVENTS));
    CHECK(chmod(f, 0600) == 0);
    CHECK(chown(f, getuid(), getgid()) == 0);
    drain("chmod chown");
    CHECK(truncate(f, 3) == 0);
    struct timespec ts[2] = {{1, 0}, {2, 0}};
    CHECK(utimensat(AT_FDCWD, f, ts, 0) == 0);
    ts[0].tv_nsec = UTIME_OMIT;
    CHECK(utimensat(AT_FDCWD, f, ts, 0) == 0);
    drain("truncate utimes");
    fd = open(f, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 7) == 0);
    close(fd);
    fd = open(f, O_RDONLY);
    struct iovec iov = {b, 0};
    CHECK(readv(fd, &iov, 1) == 0); /* readv reports even nothing read */
    close(fd);
    drain("open O_TRUNC, ftruncate, readv");

    /* Links and names. */
    CHECK(link(f, g) == 0);
    printf("watch hard link: %d\n", inotify_add_watch(in, g, IN_ALL_EVENTS));
    CHECK(symlink("f", l) == 0);
    printf("watch symlink itself: %s, through it: %d\n",
           inotify_add_watch(in, l, IN_ALL_EVENTS | IN_DONT_FOLLOW) != wf ? "other wd" : "same wd",
           inotify_add_watch(in, l, IN_ALL_EVENTS));
    drain("link symlink");
    CHECK(rename(g, h) == 0);
    CHECK(rename(h, f) == 0); /* same inode: nothing happens */
    char sh[512];
    path(sh, sub, "moved");
    CHECK(rename(h, sh) == 0);
    CHECK(rename(sh, h) == 0);
    drain("renames");

    /* Directory events. */
    int wsub = inotify_add_watch(in, sub, IN_ALL_EVENTS | IN_ONLYDIR);
    int dfd = open(d, O_RDONLY | O_DIRECTORY);
    printf("getdents calls with entries: %d\n", getdents_all(dfd));
    close(dfd);
    dfd = open(sub, O_RDONLY | O_DIRECTORY);
    close(dfd);
    drain("directory open, list, close");
    path(x, sub, "inner");
    CHECK(mkdir(x, 0700) == 0);
    CHECK(rmdir(x) == 0);
    CHECK(rmdir(sub) == 0);
    drain("mkdir rmdir (sub watch ends)");
    printf("rm_watch of ended watch %d: %s\n", wsub,
           inotify_rm_watch(in, wsub) < 0 ? errname(errno) : "ok");

    /* Unlink: the file watch ends only after the last close. */
    fd = open(f, O_RDWR);
    CHECK(fd >= 0);
    CHECK(unlink(f) == 0);
    drain("unlink f (h still links it)");
    CHECK(unlink(h) == 0);
    drain("unlink h while open through f: h's name goes at once");
    write_all(fd, "x", 1);
    close(fd);
    drain("write and close the unlinked file");
    /* Opened through the removed name: delete-self waits for the close. */
    fd = open(f, O_CREAT | O_RDWR, 0600);
    CHECK(fd >= 0);
    wf = inotify_add_watch(in, f, IN_ALL_EVENTS);
    CHECK(unlink(f) == 0);
    drain("unlink f while open through f");
    close(fd);
    drain("close: delete-self now");
    CHECK(unlink(l) == 0);
    drain("unlink symlink");

    /* Rename over a watched file. */
    CHECK(close(open(f, O_CREAT | O_WRONLY, 0600)) == 0);
    CHECK(close(open(g, O_CREAT | O_WRONLY, 0600)) == 0);
    int wg = inotify_add_watch(in, g, IN_ALL_EVENTS);
    wf = inotify_add_watch(in, f, IN_ALL_EVENTS);
    printf("new watches: %d %d\n", wf, wg);
    CHECK(rename(f, g) == 0);
    drain("rename f over g");

    /* One-shot, mask-add, replace, rm_watch. */
    int w1 = inotify_add_watch(in, g, IN_OPEN | IN_ONESHOT);
    printf("oneshot on existing watch keeps wd: %s\n", yesno(w1 == wf));
    close(open(g, O_RDONLY));
    close(open(g, O_RDONLY));
    drain("oneshot");
    int w2 = inotify_add_watch(in, g, IN_OPEN);
    printf("mask add same wd: %s\n", yesno(inotify_add_watch(in, g, IN_CLOSE | IN_MASK_ADD) == w2));
    printf("mask create on existing: %s\n",
           inotify_add_watch(in, g, IN_OPEN | IN_MASK_CREATE) < 0 ? errname(errno) : "ok");
    close(open(g, O_RDONLY));
    drain("mask add");
    CHECK(inotify_add_watch(in, g, IN_CLOSE_NOWRITE) == w2);
    close(open(g, O_RDONLY));
    drain("mask replaced");
    CHECK(inotify_rm_watch(in, w2) == 0);
    close(open(g, O_RDONLY));
    drain("rm_watch (dir watch still sees g)");
    printf("rm_watch again: %s\n", inotify_rm_watch(in, w2) < 0 ? errname(errno) : "ok");

    /* IN_EXCL_UNLINK on the directory watch. */
    CHECK(inotify_add_watch(in, d, IN_MODIFY | IN_DELETE | IN_EXCL_UNLINK) == wd);
    fd = open(g, O_RDWR);
    write_all(fd, "a", 1);
    CHECK(unlink(g) == 0);
    write_all(fd, "b", 1);
    close(fd);
    drain("excl_unlink");

    /* read() and FIONREAD. */
    CHECK(inotify_add_watch(in, d, IN_CREATE) == wd);
    CHECK(close(open(f, O_CREAT | O_WRONLY, 0600)) == 0);
    CHECK(close(open(g, O_CREAT | O_WRONLY, 0600)) == 0);
    int avail = -1;
    CHECK(ioctl(in, FIONREAD, &avail) == 0);
    printf("FIONREAD %d\n", avail);
    r = read(in, b, 0);
    printf("read 0: %zd %s\n", r, errname(errno));
    r = read(in, b, 20);
    printf("read 20: %zd %s\n", r, errname(errno));
    printf("read 40: %zd\n", read(in, b, 40));
    CHECK(ioctl(in, FIONREAD, &avail) == 0);
    printf("FIONREAD %d\n", avail);
    drain("rest");
    printf("write: %s, lseek: %ld\n", write(in, "x", 1) < 0 ? errname(errno) : "ok",
           (long)lseek(in, 0, SEEK_SET));

    /* Readiness. */
    struct pollfd p = {in, POLLIN, 0};
    printf("poll empty: %d\n", poll(&p, 1, 0));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev) == 0);
    printf("epoll empty: %d\n", epoll_wait(ep, &out, 1, 0));
    CHECK(unlink(f) == 0);
    CHECK(inotify_add_watch(in, d, IN_DELETE) == wd);
    CHECK(unlink(g) == 0);
    int pr = poll(&p, 1, 1000);
    printf("poll: %d revents %s\n", pr, p.revents & POLLIN ? "POLLIN" : "-");
    pr = epoll_wait(ep, &out, 1, 1000);
    printf("epoll: %d data %u in %s\n", pr, out.data.u32, yesno(out.events & EPOLLIN));
    drain("after readiness");
    close(ep);

    /* A blocking read woken by a child's create. */
    CHECK(inotify_add_watch(in, d, IN_CREATE) == wd);
    int fl = fcntl(in, F_GETFL);
    CHECK(fcntl(in, F_SETFL, fl & ~O_NONBLOCK) == 0);
    pid_t c = fork();
    if (c == 0) {
        usleep(100000);
        close(open(h, O_CREAT | O_WRONLY, 0600));
        _exit(0);
    }
    char eb[256] __attribute__((aligned(8)));
    ssize_t n = read(in, eb, sizeof eb);
    struct inotify_event *e = (struct inotify_event *)eb;
    printf("blocking read: %zd bytes, %s, name %s\n", n, e->mask == IN_CREATE ? "CREATE" : "?",
           e->name);
    int st;
    waitpid(c, &st, 0);
    CHECK(fcntl(in, F_SETFL, fl) == 0);

    /* Overflow: alternating writes to two files are never merged. */
    CHECK(inotify_add_watch(in, d, IN_MODIFY) == wd);
    int fa = open(f, O_CREAT | O_WRONLY, 0600), fb = open(g, O_CREAT | O_WRONLY, 0600);
    for (int i = 0; i < 9000; i++) {
        write_all(fa, "a", 1);
        write_all(fb, "b", 1);
    }
    close(fa);
    close(fb);
    CHECK(ioctl(in, FIONREAD, &avail) == 0);
    printf("FIONREAD after overflow %d\n", avail);
    static char big[1 << 20] __attribute__((aligned(8)));
    int events = 0, overflow_wd = 0;
    uint32_t last = 0;
    for (;;) {
        n = read(in, big, sizeof big);
        if (n <= 0)
            break;
        for (char *q = big; q < big + n;) {
            struct inotify_event *ie = (struct inotify_event *)q;
            events++;
            last = ie->mask;
            overflow_wd = ie->wd;
            q += sizeof *ie + ie->len;
        }
    }
    printf("events %d, last %s wd %d\n", events, last == IN_Q_OVERFLOW ? "Q_OVERFLOW" : "?",
           overflow_wd);
    CHECK(unlink(f) == 0 && unlink(g) == 0 && unlink(h) == 0);
    drain("after overflow");
    close(in);
    CHECK(rmdir(d) == 0);
}

int main(int argc, char **argv) {
    setup();
    errno = 0;
    printf("init1 bad flags: %s\n", inotify_init1(O_RDWR) < 0 ? errname(errno) : "ok");
    int plain = inotify_init();
    CHECK(plain >= 0);
    printf("init: nonblock %s\n", yesno(fcntl(plain, F_GETFL) & O_NONBLOCK));
    printf("mask 0: %s\n", inotify_add_watch(plain, "/tmp", 0) < 0 ? errname(errno) : "ok");
    printf("unknown bit: %s\n", inotify_add_watch(plain, "/tmp", 0x10000) < 0 ? errname(errno) : "ok");
    printf("bad fd: %s\n", inotify_add_watch(99, "/tmp", IN_OPEN) < 0 ? errname(errno) : "ok");
    printf("not inotify: %s\n", inotify_add_watch(1, "/tmp", IN_OPEN) < 0 ? errname(errno) : "ok");
    printf("add+create: %s\n",
           inotify_add_watch(plain, "/tmp", IN_OPEN | IN_MASK_ADD | IN_MASK_CREATE) < 0
               ? errname(errno)
               : "ok");
    printf("onlydir on file: %s\n",
           inotify_add_watch(plain, "/proc/self/status", IN_OPEN | IN_ONLYDIR) < 0 ? errname(errno)
                                                                                  : "ok");
    printf("missing: %s\n",
           inotify_add_watch(plain, "/nonexistent/x", IN_OPEN) < 0 ? errname(errno) : "ok");
    printf("empty path: %s\n", inotify_add_watch(plain, "", IN_OPEN) < 0 ? errname(errno) : "ok");
    printf("rm bad wd: %s\n", inotify_rm_watch(plain, 42) < 0 ? errname(errno) : "ok");
    printf("rm not inotify: %s\n", inotify_rm_watch(1, 1) < 0 ? errname(errno) : "ok");
    printf("rm bad fd: %s\n", inotify_rm_watch(99, 1) < 0 ? errname(errno) : "ok");
    printf("flag-only mask: wd %d\n", inotify_add_watch(plain, "/tmp", IN_ISDIR));
    close(plain);
    const char *defaults[] = {"/tmp", "/var/tmp"};
    int n = argc > 1 ? argc - 1 : 2;
    for (int i = 0; i < n; i++) {
        const char *base = argc > 1 ? argv[i + 1] : defaults[i];
        printf("== %s\n", base);
        scenario(base);
    }
    return 0;
}
