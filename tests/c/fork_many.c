/* Fork 200 children and reap them all, in two waves with different waits. */
#include "common.h"

#define N 200

int main(void) {
    setup();
    pid_t kids[N];
    fflush(stdout);
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        CHECK(kids[i] >= 0);
        if (kids[i] == 0)
            _exit(i % 256);
    }
    /* First half reaped by pid, in order. */
    long sum = 0;
    int ok = 1;
    for (int i = 0; i < N / 2; i++) {
        int st;
        CHECK(waitpid(kids[i], &st, 0) == kids[i]);
        ok &= WIFEXITED(st) && WEXITSTATUS(st) == i % 256;
        sum += WEXITSTATUS(st);
    }
    /* Second half reaped with wait(-1) in whatever order. */
    int n = 0;
    int st;
    pid_t r;
    while ((r = wait(&st)) > 0) {
        n++;
        sum += WEXITSTATUS(st);
        int found = 0;
        for (int i = N / 2; i < N; i++)
            found |= kids[i] == r;
        ok &= found;
    }
    printf("reaped %d by pid + %d by wait, statuses ok: %s, sum %ld, final %s\n", N / 2, n, yesno(ok), sum,
           errname(errno));
    /* All pids distinct. */
    int distinct = 1;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            distinct &= kids[i] != kids[j];
    printf("all pids distinct: %s\n", yesno(distinct));

    /* Nested: 10 children each fork 10 grandchildren. */
    fflush(stdout);
    for (int i = 0; i < 10; i++) {
        pid_t c = fork();
        if (c == 0) {
            int got = 0;
            for (int j = 0; j < 10; j++)
                if (fork() == 0)
                    _exit(1);
            int s2;
            while (wait(&s2) > 0)
                got += WEXITSTATUS(s2);
            _exit(got);
        }
    }
    int total = 0;
    while (wait(&st) > 0)
        total += WEXITSTATUS(st);
    printf("grandchildren reaped: %d\n", total);
    return 0;
}
