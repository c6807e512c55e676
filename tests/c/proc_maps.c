/* /proc/self/maps lists the binary's own path, [stack], and new mappings;
 * /proc/self/exe points at the binary. */
#include "common.h"
#include <sys/mman.h>

static char maps[1 << 20];

static void read_maps(void) {
    int fd = open("/proc/self/maps", O_RDONLY);
    CHECK(fd >= 0);
    size_t off = 0;
    ssize_t n;
    while ((n = read(fd, maps + off, sizeof maps - 1 - off)) > 0)
        off += (size_t)n;
    maps[off] = 0;
    close(fd);
}

int main(int argc, char **argv) {
    (void)argc;
    setup();
    char exe[4096] = {0};
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(n > 0);
    char real[4096];
    CHECK(realpath(argv[0], real) != NULL);
    printf("/proc/self/exe matches realpath(argv[0]): %s\n", yesno(strcmp(exe, real) == 0));

    read_maps();
    printf("maps contains binary path: %s\n", yesno(strstr(maps, exe) != NULL));
    printf("maps contains [stack]: %s\n", yesno(strstr(maps, "[stack]") != NULL));

    /* The address of main lies in an r-xp mapping of the binary. */
    uintptr_t me = (uintptr_t)&main;
    int found = 0;
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && me >= lo && me < hi)
            found = strstr(line, exe) != NULL && perms[0] == 'r' && perms[2] == 'x';
    }
    printf("main() is in an executable mapping of the binary: %s\n", yesno(found));

    /* A fresh anonymous mapping with distinctive permissions shows up. */
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 3 * (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    read_maps();
    char want[64];
    snprintf(want, sizeof want, "%lx-%lx r--p", (unsigned long)m, (unsigned long)(m + 3 * pg));
    printf("new mapping listed: %s\n", yesno(strstr(maps, want) != NULL));
    /* mprotect of the middle page splits it into three entries. */
    CHECK(mprotect(m + pg, (size_t)pg, PROT_READ | PROT_WRITE) == 0);
    read_maps();
    snprintf(want, sizeof want, "%lx-%lx rw-p", (unsigned long)(m + pg), (unsigned long)(m + 2 * pg));
    printf("split middle listed rw-p: %s\n", yesno(strstr(maps, want) != NULL));
    munmap(m, 3 * (size_t)pg);
    read_maps();
    snprintf(want, sizeof want, "%lx-", (unsigned long)m);
    printf("unmapped range gone: %s\n", yesno(strstr(maps, want) == NULL));

    /* A mapped file appears with its path. */
    int fd = open("/etc/passwd", O_RDONLY);
    CHECK(fd >= 0);
    void *f = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(f != MAP_FAILED);
    read_maps();
    printf("mapped /etc/passwd listed: %s\n", yesno(strstr(maps, "/etc/passwd") != NULL));
    return 0;
}
