/* SA_NODEFER: a signal raised inside its own handler nests immediately;
 * without it the nested one waits until the handler returns. */
#include "common.h"

static char trace[64];
static volatile int tlen, depth, calls;

static void add(char c) {
    if (tlen < (int)sizeof trace - 1)
        trace[tlen++] = c;
}

static void handler(int sig) {
    depth++;
    add((char)('0' + depth));
    if (++calls == 1)
        raise(sig);
    add((char)('a' + depth - 1));
    depth--;
}

static void run(int flags, const char *label) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    memset(trace, 0, sizeof trace);
    tlen = 0;
    depth = 0;
    calls = 0;
    raise(SIGUSR1);
    printf("%s: trace %s\n", label, trace);
}

static volatile int mask_had_usr2;
static void check_mask(int sig) {
    (void)sig;
    sigset_t m;
    sigprocmask(SIG_SETMASK, NULL, &m);
    mask_had_usr2 = sigismember(&m, SIGUSR2);
}

int main(void) {
    setup();
    run(0, "default (deferred)");
    run(SA_NODEFER, "SA_NODEFER (nested)");

    /* sa_mask adds signals to the mask while the handler runs. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = check_mask;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    CHECK(sigaction(SIGHUP, &sa, NULL) == 0);
    raise(SIGHUP);
    printf("sa_mask applied in handler: %s\n", yesno(mask_had_usr2));
    sigset_t m;
    sigprocmask(SIG_SETMASK, NULL, &m);
    printf("restored after handler: %s\n", yesno(!sigismember(&m, SIGUSR2)));
    return 0;
}
