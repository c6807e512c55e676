/* A three-stage pipeline built by hand: printf | sort | tr a-z A-Z. */
#include "common.h"

static pid_t stage(int in, int out, int close_a, int close_b, char *const argv[]) {
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        if (in != 0) {
            CHECK(dup2(in, 0) == 0);
            close(in);
        }
        if (out != 1) {
            CHECK(dup2(out, 1) == 1);
            close(out);
        }
        if (close_a >= 0)
            close(close_a);
        if (close_b >= 0)
            close(close_b);
        execv(argv[0], argv);
        _exit(127);
    }
    return c;
}

int main(void) {
    setup();
    int a[2], b[2], c[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0 && pipe(c) == 0);
    char *p1[] = {"/usr/bin/printf", "pear\\napple\\nfig\\nbanana\\n", NULL};
    char *p2[] = {"/usr/bin/sort", NULL};
    char *p3[] = {"/usr/bin/tr", "a-z", "A-Z", NULL};

    pid_t k1 = stage(0, a[1], a[0], -1, p1);
    close(a[1]);
    pid_t k2 = stage(a[0], b[1], b[0], -1, p2);
    close(a[0]);
    close(b[1]);
    pid_t k3 = stage(b[0], c[1], c[0], -1, p3);
    close(b[0]);
    close(c[1]);

    char buf[256] = {0};
    size_t off = 0;
    ssize_t n;
    while ((n = read(c[0], buf + off, sizeof buf - 1 - off)) > 0)
        off += (size_t)n;
    close(c[0]);
    printf("pipeline output:\n%s", buf);
    pid_t ks[] = {k1, k2, k3};
    for (int i = 0; i < 3; i++) {
        int st;
        CHECK(waitpid(ks[i], &st, 0) == ks[i]);
        char label[32];
        snprintf(label, sizeof label, "stage %d", i + 1);
        print_status(label, st);
    }
    return 0;
}
