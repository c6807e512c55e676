/* mmap anonymous / file private / file shared / MAP_FIXED, mprotect,
 * mremap, munmap and the errors around them. */
#include "common.h"
#include <setjmp.h>
#include <sys/mman.h>

static sigjmp_buf jb;
static void on_segv(int sig) { siglongjmp(jb, sig); }

static int probe_write(volatile char *p) {
    if (sigsetjmp(jb, 1) == 0) {
        *p = 1;
        return 0;
    }
    return 1;
}

static int probe_read(volatile char *p) {
    if (sigsetjmp(jb, 1) == 0) {
        char c = *p;
        (void)c;
        return 0;
    }
    return 1;
}

int main(void) {
    setup();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    long pg = sysconf(_SC_PAGESIZE);
    printf("page size: %ld\n", pg);

    /* Anonymous memory is zero-filled and writable. */
    size_t len = 16 * (size_t)pg;
    char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED);
    int zero = 1;
    for (size_t i = 0; i < len; i++)
        zero &= a[i] == 0;
    printf("anon zero-filled: %s, page aligned: %s\n", yesno(zero), yesno(((uintptr_t)a % (uintptr_t)pg) == 0));
    memset(a, 0x5a, len);
    printf("anon write/read back: %s\n", yesno(a[len - 1] == 0x5a));

    /* mprotect to read-only: writes fault, reads still work. */
    CHECK(mprotect(a, (size_t)pg, PROT_READ) == 0);
    printf("write to PROT_READ faults: %s\n", yesno(probe_write(a)));
    printf("read of PROT_READ faults: %s\n", yesno(probe_read(a)));
    CHECK(mprotect(a, (size_t)pg, PROT_NONE) == 0);
    printf("read of PROT_NONE faults: %s\n", yesno(probe_read(a)));
    CHECK(mprotect(a, (size_t)pg, PROT_READ | PROT_WRITE) == 0);
    printf("write after restoring RW faults: %s, old data kept: %s\n", yesno(probe_write(a + 1)), yesno(a[2] == 0x5a));
    report("mprotect unaligned", mprotect(a + 1, (size_t)pg, PROT_READ));

    /* MAP_FIXED replaces part of an existing mapping. */
    char *f = mmap(a + 4 * pg, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED at requested address: %s, new page zeroed: %s, neighbours kept: %s\n", yesno(f == a + 4 * pg),
           yesno(f[0] == 0 && f[pg - 1] == 0), yesno(a[4 * pg - 1] == 0x5a && a[5 * pg] == 0x5a));

    /* MAP_FIXED_NOREPLACE over an existing mapping fails. */
    char *nr = mmap(a, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE over mapping: %s\n", nr == MAP_FAILED ? errname(errno) : "mapped");

    /* mremap: grow in place or move, contents preserved. */
    char *r = mremap(a, len, 64 * (size_t)pg, MREMAP_MAYMOVE);
    CHECK(r != MAP_FAILED);
    printf("mremap grow keeps data: %s, new tail zero: %s\n", yesno(r[0] == 0x5a && r[len - 1] == 0x5a),
           yesno(r[64 * pg - 1] == 0));
    char *s = mremap(r, 64 * (size_t)pg, 2 * (size_t)pg, 0);
    printf("mremap shrink in place: %s\n", yesno(s == r));
    printf("shrunk tail faults: %s\n", yesno(probe_read(r + 3 * pg)));
    /* Put a guard page right after it: growing in place is then impossible. */
    char *guard = mmap(s + 2 * pg, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(guard == s + 2 * pg);
    void *nomove = mremap(s, 2 * (size_t)pg, 8 * (size_t)pg, 0);
    printf("mremap grow without MAYMOVE into a neighbour: %s\n", nomove == MAP_FAILED ? errname(errno) : "grew");
    CHECK(munmap(guard, (size_t)pg) == 0);
    void *grown = mremap(s, 2 * (size_t)pg, 8 * (size_t)pg, 0);
    printf("mremap grow in place once the neighbour is gone: %s\n", yesno(grown == s));
    CHECK(grown != MAP_FAILED);
    CHECK(munmap(s + 2 * pg, 6 * (size_t)pg) == 0);

    /* munmap: the range faults afterwards; mincore reports ENOMEM. */
    CHECK(munmap(s, 2 * (size_t)pg) == 0);
    printf("read after munmap faults: %s\n", yesno(probe_read(s)));
    unsigned char vec[2];
    report("mincore on unmapped", mincore(s, (size_t)pg, vec));
    report("munmap unaligned", munmap(s + 1, (size_t)pg));
    report("munmap already unmapped", munmap(s, (size_t)pg));
    report("mmap length 0", (long)(intptr_t)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    report("mmap bad fd", (long)(intptr_t)mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 999, 0));
    report("mmap neither private nor shared", (long)(intptr_t)mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0));

    /* File-backed private mapping of a host file (read-only root in the sandbox). */
    int fd = open("/etc/passwd", O_RDONLY);
    CHECK(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    char *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(m != MAP_FAILED);
    char line[256] = {0};
    char buf[256] = {0};
    CHECK(pread(fd, buf, sizeof buf - 1, 0) > 0);
    size_t n = strcspn(m, "\n");
    memcpy(line, m, n < 255 ? n : 255);
    printf("file mapping matches pread: %s\n", yesno(memcmp(m, buf, n) == 0));
    printf("first line starts with root: %s\n", yesno(strncmp(line, "root:", 5) == 0));
    m[0] = 'X'; /* private copy-on-write: the file is untouched */
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 5, 0) == 5);
    printf("after private write, file still says: %s\n", buf);
    munmap(m, (size_t)st.st_size);
    report("MAP_SHARED|PROT_WRITE of O_RDONLY fd", (long)(intptr_t)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    close(fd);

    /* Shared file mapping in /tmp: writes reach the file; shared anonymous memory across fork. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/rvisor-mmap-%d", getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, pg) == 0);
    char *sh = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(sh != MAP_FAILED);
    memcpy(sh, "shared-data", 11);
    CHECK(msync(sh, (size_t)pg, MS_SYNC) == 0);
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 11, 0) == 11);
    printf("MAP_SHARED write visible via read: %s\n", buf);
    CHECK(pwrite(fd, "PWRITE", 6, 0) == 6);
    printf("pwrite visible via mapping: %.6s\n", sh);
    munmap(sh, (size_t)pg);
    close(fd);
    unlink(path);
    /* Touching a MAP_SHARED page beyond EOF raises SIGBUS. */
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    char *beyond = mmap(NULL, 2 * (size_t)pg, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(beyond != MAP_FAILED);
    printf("read beyond EOF faults: %s\n", yesno(probe_read(beyond + pg)));
    munmap(beyond, 2 * (size_t)pg);
    close(fd);
    unlink(path);

    int *shared = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *priv = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *shared = 1;
    *priv = 1;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        *shared = 2;
        *priv = 2;
        _exit(0);
    }
    int ws;
    waitpid(c, &ws, 0);
    printf("after fork: shared=%d private=%d\n", *shared, *priv);
    return 0;
}
