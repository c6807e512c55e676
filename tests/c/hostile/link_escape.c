/* Hostile workload: tries to give a file outside the container's root a
 * new name inside it with link(2)/linkat(2), or to read it.
 *
 * Run as the init of an OCI bundle with a writable root prepared by
 * tests/tests/escapes.rs:
 *   /up   -> ..                 /abs -> /..
 *   /deep -> ../../../../../../..
 *   /bind                       a read-only bind mount of a host directory
 *                               holding bind-sentinel
 * stdout is a host file outside the root, stdin is the host's /dev/null.
 * argv[1] is the host's absolute path of a secret file next to the rootfs.
 *
 * Every attempt prints "label: ERRNO" (or "label: LINKED" / "label: LEAK"
 * if it worked). Nothing here may succeed except where noted. */
#include "../common.h"

static void try_link(const char *label, int olddir, const char *old, int newdir, const char *new,
                     int flags) {
    int r = linkat(olddir, old, newdir, new, flags);
    if (r == 0)
        printf("%s: LINKED\n", label);
    else
        printf("%s: %s\n", label, errname(errno));
}

static void try_read(const char *label, const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: %s\n", label, errname(errno));
        return;
    }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    printf("%s: LEAK %s\n", label, buf);
}

int main(int argc, char **argv) {
    setup();
    CHECK(argc == 2);
    const char *host_secret = argv[1];

    /* Plain paths that climb out of the root: ".." at "/" stays at "/". */
    try_link("link /up/secret", AT_FDCWD, "/up/secret", AT_FDCWD, "/x1", 0);
    try_link("link /../secret", AT_FDCWD, "/../secret", AT_FDCWD, "/x2", 0);
    try_link("link /deep/secret", AT_FDCWD, "/deep/secret", AT_FDCWD, "/x3", 0);
    try_link("link /abs/secret", AT_FDCWD, "/abs/secret", AT_FDCWD, "/x4", 0);
    try_link("link host path", AT_FDCWD, host_secret, AT_FDCWD, "/x5", 0);
    try_link("link ../../secret from /bin", AT_FDCWD, "/bin/../../../secret", AT_FDCWD, "/x6", 0);

    /* Relative to a directory fd of "/". */
    int rootfd = open("/", O_PATH | O_DIRECTORY);
    CHECK(rootfd >= 0);
    try_link("linkat rootfd ../secret", rootfd, "../secret", rootfd, "x7", 0);
    try_link("linkat rootfd ../../secret follow", rootfd, "../../secret", rootfd, "x8",
             AT_SYMLINK_FOLLOW);

    /* Symlink first, then link through it with AT_SYMLINK_FOLLOW. */
    CHECK(symlink("../../secret", "/s-rel") == 0);
    CHECK(symlink("/../../../secret", "/s-abs") == 0);
    CHECK(symlink(host_secret, "/s-host") == 0);
    CHECK(symlink("/proc/self/fd/1", "/s-stdout") == 0);
    try_link("follow /s-rel", AT_FDCWD, "/s-rel", AT_FDCWD, "/x9", AT_SYMLINK_FOLLOW);
    try_link("follow /s-abs", AT_FDCWD, "/s-abs", AT_FDCWD, "/x10", AT_SYMLINK_FOLLOW);
    try_link("follow /s-host", AT_FDCWD, "/s-host", AT_FDCWD, "/x11", AT_SYMLINK_FOLLOW);
    try_link("follow /s-stdout", AT_FDCWD, "/s-stdout", AT_FDCWD, "/x12", AT_SYMLINK_FOLLOW);
    /* Without AT_SYMLINK_FOLLOW the symlink itself gets the new name, as
     * on Linux: still a link whose target resolves inside the root. */
    try_link("nofollow /s-rel (allowed)", AT_FDCWD, "/s-rel", AT_FDCWD, "/x13", 0);
    try_read("read /x13", "/x13");

    /* The descriptors that came from the host: stdout is a host file
     * outside the root, stdin the host's /dev/null. */
    try_link("follow /proc/self/fd/1", AT_FDCWD, "/proc/self/fd/1", AT_FDCWD, "/x14",
             AT_SYMLINK_FOLLOW);
    try_link("follow /proc/self/fd/0", AT_FDCWD, "/proc/self/fd/0", AT_FDCWD, "/x15",
             AT_SYMLINK_FOLLOW);
    try_link("empty path fd 1", 1, "", AT_FDCWD, "/x16", AT_EMPTY_PATH);
    try_link("empty path fd 0", 0, "", AT_FDCWD, "/x17", AT_EMPTY_PATH);
    try_link("nofollow /proc/self/fd/1", AT_FDCWD, "/proc/self/fd/1", AT_FDCWD, "/x18", 0);
    try_link("follow /proc/self/root/../secret", AT_FDCWD, "/proc/self/root/../secret", AT_FDCWD,
             "/x19", AT_SYMLINK_FOLLOW);
    try_link("follow /proc/self/cwd/../../secret", AT_FDCWD, "/proc/self/cwd/../../secret",
             AT_FDCWD, "/x20", AT_SYMLINK_FOLLOW);

    /* A file of another mount (a host directory bound in read-only). */
    try_link("link /bind/bind-sentinel", AT_FDCWD, "/bind/bind-sentinel", AT_FDCWD, "/x21", 0);
    int bfd = open("/bind/bind-sentinel", O_RDONLY);
    CHECK(bfd >= 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", bfd);
    try_link("follow /proc/self/fd/<bind file>", AT_FDCWD, path, AT_FDCWD, "/x22",
             AT_SYMLINK_FOLLOW);
    try_link("empty path <bind file>", bfd, "", AT_FDCWD, "/x23", AT_EMPTY_PATH);
    try_link("link into /bind", AT_FDCWD, "/s-rel", AT_FDCWD, "/bind/x24", 0);

    /* rename(2) cannot pull an outside file in either. */
    int r = rename("/up/secret", "/x25");
    printf("rename /up/secret: %s\n", r == 0 ? "RENAMED" : errname(errno));

    /* And nothing outside can be read. */
    try_read("read /up/secret", "/up/secret");
    try_read("read /deep/secret", "/deep/secret");
    try_read("read /s-host", "/s-host");
    try_read("read host path", host_secret);
    printf("done\n");
    return 0;
}
