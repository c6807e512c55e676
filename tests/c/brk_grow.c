/* brk/sbrk growth and shrink; memory from brk is usable and zeroed. */
#include "common.h"

int main(void) {
    setup();
    /* Let stdio and malloc set up their heap first: everything this test does
     * with raw brk() happens above it, and the break is restored at the end. */
    printf("brk test\n");
    free(malloc(100));
    char *start = (char *)syscall(SYS_brk, 0);
    printf("brk(0) nonzero: %s\n", yesno(start != NULL));
    char *want = start + 1024 * 1024;
    char *got = (char *)syscall(SYS_brk, want);
    printf("grow by 1 MiB: %s\n", yesno(got == want));
    int zero = 1;
    for (char *p = start; p < want; p += 4096)
        zero &= *p == 0;
    printf("new heap zeroed: %s\n", yesno(zero));
    memset(start, 7, (size_t)(want - start));
    printf("writable: %s\n", yesno(start[1024 * 1024 - 1] == 7));

    char *more = (char *)syscall(SYS_brk, want + 16 * 1024 * 1024);
    printf("grow by 16 MiB more: %s\n", yesno(more == want + 16 * 1024 * 1024));
    more[-1] = 1;

    char *shrunk = (char *)syscall(SYS_brk, start + 4096);
    printf("shrink: %s\n", yesno(shrunk == start + 4096));
    /* Growing again gives zeroed memory, not the old contents. */
    char *again = (char *)syscall(SYS_brk, start + 8192 * 2);
    printf("regrow: %s, regrown page zeroed: %s\n", yesno(again == start + 8192 * 2), yesno(start[8192] == 0));

    /* brk below the start of the heap is refused (returns the current break). */
    char *low = (char *)syscall(SYS_brk, start - 4096 * 1024);
    printf("brk below start refused: %s\n", yesno(low == again));

    /* A huge brk fails and leaves the break unchanged. */
    char *huge = (char *)syscall(SYS_brk, start + (1UL << 46));
    printf("huge brk refused: %s\n", yesno(huge == again));

    /* Give the heap back to where it was so that malloc's idea of it holds. */
    char *back = (char *)syscall(SYS_brk, start);
    printf("restored to the initial break: %s\n", yesno(back == start));

    /* malloc keeps working on top of that. */
    void *ps[1000];
    for (int i = 0; i < 1000; i++) {
        ps[i] = malloc((size_t)(i * 37 + 1));
        CHECK(ps[i] != NULL);
        memset(ps[i], i & 0xff, (size_t)(i * 37 + 1));
    }
    int ok = 1;
    for (int i = 0; i < 1000; i++) {
        ok &= ((unsigned char *)ps[i])[i * 37] == (unsigned char)(i & 0xff);
        free(ps[i]);
    }
    printf("malloc/free of 1000 blocks ok: %s\n", yesno(ok));
    void *big = malloc(64 << 20);
    CHECK(big != NULL);
    memset(big, 1, 64 << 20);
    free(big);
    printf("64 MiB malloc ok\n");
    return 0;
}
