/* Large reads of a host file (the size that goes straight between the host
 * file and workload memory under rvisor): sequential reads of several sizes,
 * pread at an odd offset, reads at EOF, readv, and a read into a buffer
 * whose tail is not mapped (partial count, then EFAULT). */
#include "common.h"
#include <sys/mman.h>
#include <sys/uio.h>

static uint64_t fnv(const unsigned char *p, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

int main(void) {
    const char *path = "/lib/x86_64-linux-gnu/libc.so.6";
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("open: %s\n", strerror(errno));
        return 1;
    }
    struct stat st;
    fstat(fd, &st);
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size + 4096);
    /* Sequential reads of mixed sizes cover the whole file once. */
    size_t sizes[] = {1 << 20, 700 * 1024 + 13, 65536, 65535, 3 << 20};
    uint64_t h = 1469598103934665603ULL;
    size_t total = 0;
    for (int i = 0;; i++) {
        ssize_t n = read(fd, buf, sizes[i % 5]);
        if (n < 0) {
            printf("read: %s\n", strerror(errno));
            return 1;
        }
        if (n == 0)
            break;
        h = fnv(buf, (size_t)n, h);
        total += (size_t)n;
    }
    printf("sequential total == size: %s\n", yesno(total == size));
    printf("sequential hash: %016llx\n", (unsigned long long)h);
    /* The position moved by exactly what was read. */
    printf("position at end: %s\n", yesno(lseek(fd, 0, SEEK_CUR) == (off_t)size));

    /* One read of the whole file at once, from the start. */
    ssize_t n = pread(fd, buf, size + 4096, 0);
    printf("whole pread == size: %s, hash same: %s\n", yesno(n == (ssize_t)size),
           yesno(fnv(buf, (size_t)n, 1469598103934665603ULL) == h));
    /* pread at an odd offset does not move the position. */
    n = pread(fd, buf, 300 * 1024, 123457);
    printf("pread odd offset: %zd, hash %016llx\n", n,
           (unsigned long long)fnv(buf, (size_t)n, 1469598103934665603ULL));
    printf("position unchanged: %s\n", yesno(lseek(fd, 0, SEEK_CUR) == (off_t)size));
    /* Near EOF: a short count, then 0. */
    n = pread(fd, buf, 1 << 20, (off_t)size - 1000);
    printf("pread across EOF: %zd\n", n);
    n = pread(fd, buf, 1 << 20, (off_t)size + 5);
    printf("pread past EOF: %zd\n", n);

    /* readv into two large buffers. */
    lseek(fd, 0, SEEK_SET);
    unsigned char *b2 = malloc(1 << 20);
    struct iovec iov[2] = {{buf, 512 * 1024}, {b2, 1 << 20}};
    n = readv(fd, iov, 2);
    printf("readv: %zd\n", n);

    /* A buffer whose second half is not accessible. */
    long pg = sysconf(_SC_PAGESIZE);
    size_t half = 128 * 1024;
    unsigned char *m = mmap(NULL, 2 * half, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(m + half, half, PROT_NONE);
    n = pread(fd, m, 2 * half, 0);
    printf("read into half-mapped buffer: %zd (%s)\n", n, n < 0 ? strerror(errno) : "ok");
    n = pread(fd, m + half, half, 0);
    printf("read into unmapped buffer: %zd (%s)\n", n, n < 0 ? strerror(errno) : "ok");
    (void)pg;
    return 0;
}
