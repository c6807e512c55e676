/* O_TMPFILE: an unnamed file in a directory's file system (link count 0,
 * invisible in the directory, "(deleted)" in /proc/self/fd), its data,
 * giving it a name with linkat(AT_EMPTY_PATH) or through the
 * /proc/self/fd link with AT_SYMLINK_FOLLOW, O_EXCL making it
 * unlinkable, and the flag and path errors. Runs on /tmp (tmpfs in the
 * sandbox) and /var/tmp (the overlay root). */
#define _GNU_SOURCE
#include "common.h"
#include <dirent.h>

static char d[256];

static const char *p(const char *rel) {
    static char bufs[4][512];
    static int i;
    char *b = bufs[i++ % 4];
    snprintf(b, 512, "%s/%s", d, rel);
    return b;
}

static int entries(void) {
    DIR *dd = opendir(d);
    CHECK(dd != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(dd);
    return n;
}

static void describe(const char *label, int fd) {
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    char link[64], target[600];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    CHECK(n > 0);
    target[n] = 0;
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/#", d);
    size_t tl = strlen(target);
    int deleted = tl > 10 && !strcmp(target + tl - 10, " (deleted)");
    printf("%s: reg %s nlink %ld mode %o size %ld, fd link in dir %s, deleted %s\n", label,
           yesno(S_ISREG(st.st_mode)), (long)st.st_nlink, st.st_mode & 07777, (long)st.st_size,
           yesno(!strncmp(target, prefix, strlen(prefix))), yesno(deleted));
}

static const char *content(const char *path) {
    static char b[64];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errname(errno);
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    b[n < 0 ? 0 : n] = 0;
    return b;
}

static void try_open(const char *label, const char *path, int flags) {
    int fd = open(path, flags, 0600);
    printf("%s: %s\n", label, fd < 0 ? errname(errno) : "ok");
    if (fd >= 0)
        close(fd);
}

static void scenario(const char *base) {
    snprintf(d, sizeof d, "%s/rvisor-tmpfile-%d", base, getpid());
    CHECK(mkdir(d, 0755) == 0);
    umask(022);

    int fd = open(d, O_TMPFILE | O_RDWR, 0666);
    CHECK(fd >= 0);
    printf("F_GETFL has O_TMPFILE: %s\n", yesno((fcntl(fd, F_GETFL) & O_TMPFILE) == O_TMPFILE));
    describe("new", fd);
    write_all(fd, "hello", 5);
    char b[16] = {0};
    CHECK(pread(fd, b, 5, 0) == 5);
    printf("data %s, entries in dir %d\n", b, entries());
    CHECK(fchmod(fd, 0640) == 0);
    CHECK(ftruncate(fd, 4) == 0);
    describe("chmod truncate", fd);

    int r = linkat(fd, "", AT_FDCWD, p("named"), AT_EMPTY_PATH);
    printf("linkat AT_EMPTY_PATH: %s\n", r < 0 ? errname(errno) : "ok");
    describe("linked", fd);
    printf("named: %s, entries %d\n", content(p("named")), entries());
    CHECK(pwrite(fd, "X", 1, 4) == 1);
    printf("write through fd seen by name: %s\n", content(p("named")));
    r = linkat(fd, "", AT_FDCWD, p("named"), AT_EMPTY_PATH);
    printf("linkat onto existing: %s\n", r < 0 ? errname(errno) : "ok");
    r = linkat(fd, "", AT_FDCWD, p("named2"), AT_EMPTY_PATH);
    printf("second linkat: %s\n", r < 0 ? errname(errno) : "ok");
    describe("two names", fd);
    CHECK(unlink(p("named")) == 0 && unlink(p("named2")) == 0);
    describe("names removed", fd);
    r = linkat(fd, "", AT_FDCWD, p("again"), AT_EMPTY_PATH);
    printf("linkat after its names went: %s\n", r < 0 ? errname(errno) : "ok");
    close(fd);

    /* O_EXCL: never linkable. */
    fd = open(d, O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    CHECK(fd >= 0);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    r = linkat(AT_FDCWD, proc, AT_FDCWD, p("x"), AT_SYMLINK_FOLLOW);
    printf("O_EXCL linkat via /proc: %s\n", r < 0 ? errname(errno) : "ok");
    r = linkat(fd, "", AT_FDCWD, p("x"), AT_EMPTY_PATH);
    printf("O_EXCL linkat AT_EMPTY_PATH: %s\n", r < 0 ? errname(errno) : "ok");
    close(fd);

    /* Through the /proc/self/fd link. */
    fd = open(d, O_TMPFILE | O_WRONLY, 0600);
    CHECK(fd >= 0);
    write_all(fd, "via proc", 8);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    r = linkat(AT_FDCWD, proc, AT_FDCWD, p("y"), 0);
    printf("linkat of the /proc link itself: %s\n", r < 0 ? errname(errno) : "ok");
    r = linkat(AT_FDCWD, proc, AT_FDCWD, p("y"), AT_SYMLINK_FOLLOW);
    printf("linkat via /proc followed: %s, y=%s\n", r < 0 ? errname(errno) : "ok", content(p("y")));
    close(fd);
    printf("entries %d\n", entries());

    /* Errors. */
    try_open("O_RDONLY", d, O_TMPFILE | O_RDONLY);
    try_open("O_RDONLY|O_TRUNC", d, O_TMPFILE | O_RDONLY | O_TRUNC);
    try_open("without O_DIRECTORY", d, (O_TMPFILE & ~O_DIRECTORY) | O_RDWR);
    try_open("with O_CREAT", d, O_TMPFILE | O_CREAT | O_RDWR);
    try_open("on a file", p("y"), O_TMPFILE | O_RDWR);
    try_open("missing dir", p("nope"), O_TMPFILE | O_RDWR);
    try_open("with O_PATH (ignored)", d, O_TMPFILE | O_PATH | O_RDWR);
    try_open("in /proc", "/proc", O_TMPFILE | O_RDWR);

    CHECK(unlink(p("y")) == 0);
    printf("entries at the end %d\n", entries());
    CHECK(rmdir(d) == 0);
}

int main(void) {
    setup();
    printf("== /tmp\n");
    scenario("/tmp");
    printf("== /var/tmp\n");
    scenario("/var/tmp");
    return 0;
}
