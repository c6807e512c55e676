/* getdents64 of /usr: sorted names and types; readdir agrees. */
#include "common.h"
#include <dirent.h>

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    setup();
    int fd = open("/usr", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    char *names[512];
    int types[512];
    int count = 0, calls = 0;
    /* Small buffer to force several calls. */
    char buf[256];
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        CHECK(n >= 0);
        calls++;
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            CHECK(count < 512);
            size_t len = strlen(d->d_name);
            names[count] = malloc(len + 3);
            memcpy(names[count] + 2, d->d_name, len + 1);
            names[count][0] = d->d_type == DT_DIR ? 'd' : d->d_type == DT_LNK ? 'l' : d->d_type == DT_REG ? 'f' : '?';
            names[count][1] = ' ';
            types[count] = d->d_type;
            count++;
            off += d->d_reclen;
        }
    }
    (void)types;
    printf("multiple getdents64 calls: %s\n", yesno(calls > 2));
    qsort(names, (size_t)count, sizeof names[0], cmp);
    printf("%d entries:\n", count);
    for (int i = 0; i < count; i++)
        printf("  %s\n", names[i]);

    /* The end is sticky, lseek(0) rewinds. */
    report("getdents64 at end", syscall(SYS_getdents64, fd, buf, sizeof buf));
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    printf("after rewind returns data: %s\n", yesno(n > 0));
    report("getdents64 tiny buffer", syscall(SYS_getdents64, fd, buf, 8));
    close(fd);

    int file = open("/etc/passwd", O_RDONLY);
    report("getdents64 on a file", syscall(SYS_getdents64, file, buf, sizeof buf));
    report("getdents64 bad fd", syscall(SYS_getdents64, 999, buf, sizeof buf));

    /* readdir(3) sees the same number of entries. */
    DIR *d = opendir("/usr");
    CHECK(d != NULL);
    int rc = 0;
    while (readdir(d))
        rc++;
    closedir(d);
    printf("readdir count matches: %s\n", yesno(rc == count));
    return 0;
}
