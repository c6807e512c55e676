/* Integer division by zero raises SIGFPE (exit status 136 via a shell). With
 * an argument "catch", a handler observes FPE_INTDIV first. */
#include "common.h"
#include <setjmp.h>

static sigjmp_buf env;
static volatile int code;

static void handler(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    code = si->si_code;
    siglongjmp(env, 1);
}

int main(int argc, char **argv) {
    setup();
    no_core();
    volatile int zero = 0, num = 7;
    if (argc > 1 && strcmp(argv[1], "catch") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = handler;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGFPE, &sa, NULL);
        if (sigsetjmp(env, 1) == 0) {
            volatile int r = num / zero;
            printf("no trap: %d\n", r);
        } else {
            printf("caught SIGFPE, FPE_INTDIV: %s\n", yesno(code == FPE_INTDIV));
        }
        /* INT_MIN / -1 also traps on x86. */
        volatile int mn = -2147483647 - 1, m1 = -1;
        if (sigsetjmp(env, 1) == 0) {
            volatile int r = mn / m1;
            printf("no trap: %d\n", r);
        } else {
            printf("caught INT_MIN/-1\n");
        }
        signal(SIGFPE, SIG_DFL);
    }
    printf("dividing by zero\n");
    fflush(stdout);
    volatile int r = num / zero;
    printf("result %d?!\n", r);
    return 0;
}
