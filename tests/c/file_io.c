/* open/read/lseek/pread of a host file (read-only root) and of a file in /tmp
 * (a writable tmpfs inside the sandbox). */
#include "common.h"
#include <sys/uio.h>

int main(void) {
    setup();
    int fd = open("/etc/passwd", O_RDONLY);
    CHECK(fd >= 0);
    char line[512] = {0};
    ssize_t n = read(fd, line, sizeof line - 1);
    CHECK(n > 0);
    line[strcspn(line, "\n")] = 0;
    printf("first line of /etc/passwd: %s\n", line);
    off_t end = lseek(fd, 0, SEEK_END);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("SEEK_END equals st_size: %s\n", yesno(end == st.st_size));
    printf("SEEK_SET 5: %ld\n", (long)lseek(fd, 5, SEEK_SET));
    printf("SEEK_CUR +3: %ld\n", (long)lseek(fd, 3, SEEK_CUR));
    char b[8] = {0};
    CHECK(read(fd, b, 4) == 4);
    printf("read at 8: %s\n", b);
    memset(b, 0, sizeof b);
    printf("pread 4 at 0: %zd '%s'\n", pread(fd, b, 4, 0), b);
    printf("offset unchanged by pread: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    report("lseek negative", lseek(fd, -100, SEEK_SET));
    report("lseek bad whence", lseek(fd, 0, 42));
    report("read at EOF", (lseek(fd, 0, SEEK_END), read(fd, b, 4)));
    report("pread past EOF", pread(fd, b, 4, end + 100));
    report("pread negative offset", pread(fd, b, 4, -1));
    report("write to O_RDONLY fd", write(fd, "x", 1));
    close(fd);

    /* A scratch file in /tmp. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/rvisor-fileio-%d", getpid());
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    report("O_EXCL on existing", open(path, O_RDWR | O_CREAT | O_EXCL, 0644));
    write_all(fd, "hello world\n", 12);
    report("pwrite at 6", pwrite(fd, "WORLD", 5, 6));
    struct iovec iov[2] = {{"abc", 3}, {"def\n", 4}};
    report("pwritev at 12", pwritev(fd, iov, 2, 12));
    CHECK(fstat(fd, &st) == 0);
    printf("size now: %ld\n", (long)st.st_size);
    char all[64] = {0};
    printf("pread all: %zd\n", pread(fd, all, sizeof all - 1, 0));
    printf("contents: %s", all);

    /* Holes read back as zeros; ftruncate shrinks and grows. */
    report("lseek 4096 past end", lseek(fd, 4096, SEEK_END));
    write_all(fd, "tail", 4);
    CHECK(fstat(fd, &st) == 0);
    printf("size with hole: %ld\n", (long)st.st_size);
    char z[16];
    CHECK(pread(fd, z, sizeof z, 100) == sizeof z);
    int zeros = 1;
    for (size_t i = 0; i < sizeof z; i++)
        zeros &= z[i] == 0;
    printf("hole reads zeros: %s\n", yesno(zeros));
    report("ftruncate 5", ftruncate(fd, 5));
    CHECK(fstat(fd, &st) == 0);
    printf("size after truncate: %ld\n", (long)st.st_size);
    memset(all, 0, sizeof all);
    CHECK(pread(fd, all, sizeof all, 0) == 5);
    printf("after truncate: %s\n", all);

    /* O_APPEND always writes at the end. */
    int ap = open(path, O_WRONLY | O_APPEND);
    CHECK(ap >= 0);
    CHECK(lseek(ap, 0, SEEK_SET) == 0);
    write_all(ap, "+app", 4);
    close(ap);
    memset(all, 0, sizeof all);
    CHECK(pread(fd, all, sizeof all, 0) == 9);
    printf("after append: %s\n", all);

    /* O_TRUNC, rename, link count, unlink while open. */
    char path2[80];
    snprintf(path2, sizeof path2, "%s.renamed", path);
    report("rename", rename(path, path2));
    report("open old name", open(path, O_RDONLY));
    report("link", link(path2, path));
    CHECK(fstat(fd, &st) == 0);
    printf("nlink after link: %ld\n", (long)st.st_nlink);
    report("unlink both", unlink(path) + unlink(path2));
    CHECK(fstat(fd, &st) == 0);
    printf("nlink after unlink: %ld, still readable: %zd\n", (long)st.st_nlink, pread(fd, all, 5, 0));
    close(fd);

    /* Directories in /tmp. */
    char dir[80];
    snprintf(dir, sizeof dir, "/tmp/rvisor-dir-%d", getpid());
    report("mkdir", mkdir(dir, 0755));
    report("mkdir again", mkdir(dir, 0755));
    report("open dir O_WRONLY", open(dir, O_WRONLY));
    report("read on dir fd", (fd = open(dir, O_RDONLY | O_DIRECTORY), read(fd, all, 1)));
    close(fd);
    report("O_DIRECTORY on file", open("/etc/passwd", O_RDONLY | O_DIRECTORY));
    report("rmdir", rmdir(dir));
    report("rmdir of a path ending in ..", rmdir("/tmp/.."));
    return 0;
}
