/* access/faccessat on host files (read/execute checks only; the sandbox root
 * is read-only, so write checks would differ by design). */
#include "common.h"

int main(void) {
    setup();
    report("access /bin/sh F_OK", access("/bin/sh", F_OK));
    report("access /bin/sh R_OK", access("/bin/sh", R_OK));
    report("access /bin/sh X_OK", access("/bin/sh", X_OK));
    report("access /etc/passwd R_OK", access("/etc/passwd", R_OK));
    report("access /etc/passwd X_OK (no x bits)", access("/etc/passwd", X_OK));
    report("access missing", access("/nonexistent/file", F_OK));
    report("access through file", access("/etc/passwd/x", F_OK));
    report("access bad mode", access("/bin/sh", 0x80));
    report("access empty path", access("", F_OK));
    report("access /usr X_OK (search)", access("/usr", X_OK));

    int dfd = open("/usr", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    report("faccessat(/usr, bin, X_OK)", faccessat(dfd, "bin", X_OK, 0));
    report("faccessat(/usr, nonexistent)", faccessat(dfd, "nonexistent", F_OK, 0));
    report("faccessat AT_FDCWD abs path", faccessat(AT_FDCWD, "/etc/passwd", R_OK, 0));
    report("faccessat AT_EACCESS", faccessat(AT_FDCWD, "/bin/sh", X_OK, AT_EACCESS));
    report("faccessat AT_SYMLINK_NOFOLLOW", faccessat(AT_FDCWD, "/bin/sh", F_OK, AT_SYMLINK_NOFOLLOW));
    report("faccessat bad dirfd relative", faccessat(999, "x", F_OK, 0));
    report("faccessat bad dirfd absolute (ignored)", faccessat(999, "/bin/sh", F_OK, 0));
    int file = open("/etc/passwd", O_RDONLY);
    report("faccessat dirfd is a file", faccessat(file, "x", F_OK, 0));
    report("faccessat2 AT_EMPTY_PATH", syscall(SYS_faccessat2, file, "", R_OK, AT_EMPTY_PATH));
    report("faccessat2 bad flags", syscall(SYS_faccessat2, AT_FDCWD, "/bin/sh", F_OK, 0x4));

    /* In /tmp, a file we create with mode 0 is still readable by root... so
     * only check what is the same for any uid: mode bits reported by stat. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/rvisor-access-%d", getpid());
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    report("access new file W_OK", access(path, W_OK));
    report("access new file X_OK", access(path, X_OK));
    CHECK(chmod(path, 0700) == 0);
    report("access after chmod 0700 X_OK", access(path, X_OK));
    unlink(path);
    return 0;
}
