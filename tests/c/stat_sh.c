/* stat/fstat/lstat/newfstatat/statx of /bin/sh agree with each other. */
#include "common.h"
#include <sys/sysmacros.h>

int main(void) {
    setup();
    struct stat s, l, f, at, atl;
    CHECK(stat("/bin/sh", &s) == 0);
    CHECK(lstat("/bin/sh", &l) == 0);
    int fd = open("/bin/sh", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(fstat(fd, &f) == 0);
    CHECK(fstatat(AT_FDCWD, "/bin/sh", &at, 0) == 0);
    int bin = open("/bin", O_RDONLY | O_DIRECTORY);
    CHECK(bin >= 0);
    CHECK(fstatat(bin, "sh", &atl, AT_SYMLINK_NOFOLLOW) == 0);

    printf("stat: regular=%s size=%ld mode=%o\n", yesno(S_ISREG(s.st_mode)), (long)s.st_size, s.st_mode & 07777);
    printf("lstat /bin/sh: symlink=%s size=%ld\n", yesno(S_ISLNK(l.st_mode)), (long)l.st_size);
    printf("fstat: regular=%s size matches stat=%s ino matches=%s dev matches=%s\n", yesno(S_ISREG(f.st_mode)),
           yesno(f.st_size == s.st_size), yesno(f.st_ino == s.st_ino), yesno(f.st_dev == s.st_dev));
    printf("newfstatat matches stat: %s\n",
           yesno(at.st_size == s.st_size && at.st_mode == s.st_mode && at.st_ino == s.st_ino));
    printf("newfstatat(AT_SYMLINK_NOFOLLOW) matches lstat: %s\n",
           yesno(atl.st_mode == l.st_mode && atl.st_size == l.st_size && atl.st_ino == l.st_ino));
    printf("nlink>=1: %s owned by root: %s blocks*512>=size: %s\n", yesno(s.st_nlink >= 1), yesno(s.st_uid == 0 && s.st_gid == 0),
           yesno(s.st_blocks * 512 >= s.st_size));
    printf("mtime nonzero: %s\n", yesno(s.st_mtime > 0));

    struct statx sx;
    CHECK(statx(AT_FDCWD, "/bin/sh", 0, STATX_BASIC_STATS, &sx) == 0);
    printf("statx: type regular=%s size matches=%s mode matches=%s ino matches=%s mtime matches=%s\n",
           yesno(S_ISREG(sx.stx_mode)), yesno((off_t)sx.stx_size == s.st_size), yesno(sx.stx_mode == s.st_mode),
           yesno(sx.stx_ino == s.st_ino), yesno(sx.stx_mtime.tv_sec == s.st_mtime));
    printf("statx mask has TYPE|MODE|SIZE: %s\n",
           yesno((sx.stx_mask & (STATX_TYPE | STATX_MODE | STATX_SIZE)) == (STATX_TYPE | STATX_MODE | STATX_SIZE)));
    struct statx sxl;
    CHECK(statx(AT_FDCWD, "/bin/sh", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sxl) == 0);
    printf("statx nofollow: symlink=%s\n", yesno(S_ISLNK(sxl.stx_mode)));
    struct statx sxe;
    CHECK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sxe) == 0);
    printf("statx AT_EMPTY_PATH on fd matches: %s\n", yesno(sxe.stx_ino == sx.stx_ino));

    /* Directories, devices, pipes. */
    struct stat d;
    CHECK(stat("/usr", &d) == 0);
    printf("/usr is dir: %s nlink>=2: %s\n", yesno(S_ISDIR(d.st_mode)), yesno(d.st_nlink >= 2));
    CHECK(stat("/dev/null", &d) == 0);
    printf("/dev/null is chr: %s rdev 1:3: %s\n", yesno(S_ISCHR(d.st_mode)), yesno(d.st_rdev == makedev(1, 3)));
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(fstat(p[0], &d) == 0);
    printf("pipe is fifo: %s\n", yesno(S_ISFIFO(d.st_mode)));

    report("stat missing", stat("/nonexistent/x", &d));
    report("stat through a file", stat("/etc/passwd/x", &d));
    report("stat empty path", stat("", &d));
    report("fstat bad fd", fstat(999, &d));
    report("statx bad flags", statx(AT_FDCWD, "/bin/sh", 0x7fff0000, STATX_BASIC_STATS, &sx));
    return 0;
}
