/* fallocate: size effects of mode 0 and KEEP_SIZE, PUNCH_HOLE zeroing,
 * ZERO_RANGE, and Linux's argument errors. Runs on tmpfs (/tmp) or the
 * directory given (the overlay root under rvisor). */
#include "common.h"
#include <linux/falloc.h>

static const char *res(int r) {
    static char b[64];
    if (r >= 0)
        return "ok";
    snprintf(b, sizeof b, "%s", strerrorname_np(errno));
    return b;
}

int main(int argc, char **argv) {
    char path[256];
    snprintf(path, sizeof path, "%s/rvt-falloc-%d", argc > 1 ? argv[1] : "/tmp", (int)getpid() % 1);
    unlink(path);
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    struct stat st;
    printf("mode 0 extend: %s\n", res(fallocate(fd, 0, 0, 10000)));
    fstat(fd, &st);
    printf("size %lld\n", (long long)st.st_size);
    printf("keep size: %s\n", res(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 50000)));
    fstat(fd, &st);
    printf("size %lld\n", (long long)st.st_size);
    char buf[20000];
    memset(buf, 'x', sizeof buf);
    pwrite(fd, buf, 10000, 0);
    printf("punch: %s\n", res(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 200)));
    pread(fd, buf, 10000, 0);
    int zeros = 0;
    for (int i = 0; i < 10000; i++)
        zeros += buf[i] == 0;
    fstat(fd, &st);
    printf("zeros after punch: %d, size %lld\n", zeros, (long long)st.st_size);
    printf("zero range extending: %s\n", res(fallocate(fd, FALLOC_FL_ZERO_RANGE, 9000, 2000)));
    fstat(fd, &st);
    memset(buf, 1, sizeof buf);
    pread(fd, buf, 11000, 0);
    zeros = 0;
    for (int i = 0; i < 11000; i++)
        zeros += buf[i] == 0;
    printf("zeros after zero range: %d, size %lld\n", zeros, (long long)st.st_size);
    printf("punch without keep: %s\n", res(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10)));
    printf("negative offset: %s\n", res(fallocate(fd, 0, -1, 10)));
    printf("zero length: %s\n", res(fallocate(fd, 0, 0, 0)));
    printf("unknown mode: %s\n", res(fallocate(fd, 0x1000, 0, 10)));
    int ro = open(path, O_RDONLY);
    printf("read-only fd: %s\n", res(fallocate(ro, 0, 0, 10)));
    int p[2];
    pipe(p);
    printf("pipe: %s\n", res(fallocate(p[1], 0, 0, 10)));
    int d = open(argc > 1 ? argv[1] : "/tmp", O_RDONLY | O_DIRECTORY);
    printf("directory: %s\n", res(fallocate(d, 0, 0, 10)));
    unlink(path);
    return 0;
}
