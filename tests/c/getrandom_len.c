/* getrandom returns the requested length; flags and errors. */
#include "common.h"
#include <sys/random.h>

int main(void) {
    setup();
    unsigned char buf[512];
    size_t sizes[] = {0, 1, 16, 64, 256, 512};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        printf("getrandom(%zu) = %zd\n", sizes[i], getrandom(buf, sizes[i], 0));
    printf("GRND_NONBLOCK 32 = %zd\n", getrandom(buf, 32, GRND_NONBLOCK));
    printf("GRND_RANDOM 16 = %zd\n", getrandom(buf, 16, GRND_RANDOM));
    report("getrandom bad flags", getrandom(buf, 16, 0x100));
    report("getrandom bad pointer", syscall(SYS_getrandom, (void *)8, 16, 0));

    /* Two draws differ (probability of equality is 2^-256). */
    unsigned char a[32], b[32];
    CHECK(getrandom(a, 32, 0) == 32 && getrandom(b, 32, 0) == 32);
    printf("two draws differ: %s\n", yesno(memcmp(a, b, 32) != 0));
    /* A large request can be short but is at least 256 bytes... report only success. */
    static unsigned char big[1 << 20];
    ssize_t n = getrandom(big, sizeof big, 0);
    printf("1 MiB request returns >= 256 bytes: %s\n", yesno(n >= 256));

    int fd = open("/dev/urandom", O_RDONLY);
    CHECK(fd >= 0);
    printf("/dev/urandom read 100 = %zd\n", read(fd, buf, 100));
    return 0;
}
