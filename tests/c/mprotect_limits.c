/* mprotect cannot grant what the mapping's file does not allow: PROT_WRITE
 * on a shared mapping of a file opened read-only is EACCES (the file
 * stays unchanged), while a private mapping may become writable. Runs the
 * checks as uid 1000 on a root-owned file (the caller must be root). */
#include "common.h"
#include <sys/mman.h>

int main(void) {
    setup();
    char path[] = "/tmp/rvt-mprot-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        printf("mkstemp: %s\n", errname(errno));
        return 1;
    }
    if (write(fd, "original\n", 9) != 9)
        return 1;
    fchmod(fd, 0644);
    close(fd);
    pid_t c = fork();
    if (c == 0) {
        if (setresuid(1000, 1000, 1000) < 0) {
            printf("setresuid: %s\n", errname(errno));
            _exit(1);
        }
        int f = open(path, O_RDONLY);
        char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, f, 0);
        if (p == MAP_FAILED) {
            printf("mmap: %s\n", errname(errno));
            _exit(1);
        }
        int r = mprotect(p, 4096, PROT_READ | PROT_WRITE);
        printf("shared, read-only file, mprotect rw: %s\n", r ? errname(errno) : "ok");
        if (r == 0)
            memcpy(p, "changed!", 8);
        r = mprotect(p, 4096, PROT_READ);
        printf("shared, mprotect r: %s\n", r ? errname(errno) : "ok");
        char *q = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, f, 0);
        r = mprotect(q, 4096, PROT_READ | PROT_WRITE);
        printf("private, mprotect rw: %s\n", r ? errname(errno) : "ok");
        if (r == 0)
            memcpy(q, "private!", 8);
        char b[16] = {0};
        pread(f, b, 9, 0);
        printf("file: %s", b);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
