/* sendfile, copy_file_range and splice between files and pipes: bytes,
 * offsets and file positions as Linux reports them. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/sendfile.h>

int main(void) {
    setup();
    char src[64], dst[64];
    snprintf(src, sizeof src, "/tmp/rvisor-sf-src-%d", getpid());
    snprintf(dst, sizeof dst, "/tmp/rvisor-sf-dst-%d", getpid());
    int s = open(src, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(s >= 0);
    char data[10000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)('a' + i % 26);
    CHECK(write(s, data, sizeof data) == (ssize_t)sizeof data);
    int d = open(dst, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(d >= 0);
    off_t off = 100;
    ssize_t n = sendfile(d, s, &off, 5000);
    printf("sendfile with offset: %zd, offset now %ld, src pos %ld, dst pos %ld\n", n, (long)off,
           (long)lseek(s, 0, SEEK_CUR), (long)lseek(d, 0, SEEK_CUR));
    CHECK(lseek(s, 0, SEEK_SET) == 0);
    n = sendfile(d, s, NULL, 20000);
    printf("sendfile from position: %zd, src pos %ld\n", n, (long)lseek(s, 0, SEEK_CUR));
    loff_t in = 0, outo = 20000;
    n = copy_file_range(s, &in, d, &outo, 3000, 0);
    printf("copy_file_range: %zd in %ld out %ld\n", n, (long)in, (long)outo);
    struct stat st;
    CHECK(fstat(d, &st) == 0);
    printf("dst size %ld\n", (long)st.st_size);
    char back[5000];
    CHECK(pread(d, back, 5000, 0) == 5000);
    printf("first part matches: %s\n", yesno(memcmp(back, data + 100, 5000) == 0));
    int p[2];
    CHECK(pipe(p) == 0);
    loff_t so = 26;
    n = splice(s, &so, p[1], NULL, 52, 0);
    printf("splice file->pipe: %zd off %ld\n", n, (long)so);
    char pb[64];
    n = read(p[0], pb, sizeof pb);
    printf("pipe got %zd: %.*s\n", n, 10, pb);
    CHECK(write(p[1], "via-pipe", 8) == 8);
    loff_t doff = 0;
    n = splice(p[0], NULL, d, &doff, 8, 0);
    CHECK(pread(d, pb, 8, 0) == 8);
    printf("splice pipe->file: %zd, file starts %.8s\n", n, pb);
    printf("splice without a pipe: %s\n", splice(s, NULL, d, NULL, 1, 0) < 0 ? errname(errno) : "ok");
    printf("copy_file_range bad flags: %s\n", copy_file_range(s, NULL, d, NULL, 1, 7) < 0 ? errname(errno) : "ok");
    unlink(src);
    unlink(dst);
    return 0;
}
