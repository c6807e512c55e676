/* sigaltstack + SA_ONSTACK: the handler runs on the alternate stack. */
#include "common.h"

static char *alt_base;
static size_t alt_size;
static volatile int on_alt, flag_onstack, main_stack_ok;

static void handler(int sig) {
    (void)sig;
    int local;
    char *p = (char *)&local;
    on_alt = p >= alt_base && p < alt_base + alt_size;
    stack_t cur;
    sigaltstack(NULL, &cur);
    flag_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
}

static void handler_plain(int sig) {
    (void)sig;
    int local;
    char *p = (char *)&local;
    main_stack_ok = !(p >= alt_base && p < alt_base + alt_size);
}

static volatile int depth, limit = 1 << 30;
static volatile char sink;
static void recurse_forever(void) {
    volatile char pad[4096];
    pad[0] = (char)depth++;
    if (depth < limit)
        recurse_forever();
    sink = pad[depth & 4095];
}

static void on_overflow(int sig) {
    (void)sig;
    /* Running at all proves we are on the alternate stack. */
    static const char msg[] = "stack overflow caught on alt stack\n";
    ssize_t r = write(1, msg, sizeof msg - 1);
    (void)r;
    _exit(0);
}

int main(void) {
    setup();
    alt_size = 64 * 1024;
    alt_base = malloc(alt_size);
    CHECK(alt_base != NULL);

    stack_t old;
    CHECK(sigaltstack(NULL, &old) == 0);
    printf("initially disabled: %s\n", yesno(old.ss_flags & SS_DISABLE));

    stack_t ss = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0};
    CHECK(sigaltstack(&ss, NULL) == 0);
    stack_t q;
    CHECK(sigaltstack(NULL, &q) == 0);
    printf("query matches: %s, flags=%d\n", yesno(q.ss_sp == alt_base && q.ss_size == alt_size), q.ss_flags);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    raise(SIGUSR1);
    printf("handler on alt stack: %s, SS_ONSTACK inside handler: %s\n", yesno(on_alt), yesno(flag_onstack));

    sa.sa_handler = handler_plain;
    sa.sa_flags = 0;
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    raise(SIGUSR2);
    printf("handler without SA_ONSTACK on main stack: %s\n", yesno(main_stack_ok));

    stack_t tiny = {.ss_sp = alt_base, .ss_size = 16, .ss_flags = 0};
    report("sigaltstack too small", sigaltstack(&tiny, NULL));
    stack_t badf = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 12345};
    report("sigaltstack bad flags", sigaltstack(&badf, NULL));

    /* Classic use: catch a stack overflow in a child. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        no_core();
        struct rlimit rl = {1 << 20, 1 << 20};
        setrlimit(RLIMIT_STACK, &rl);
        struct sigaction so;
        memset(&so, 0, sizeof so);
        so.sa_handler = on_overflow;
        so.sa_flags = SA_ONSTACK;
        sigaction(SIGSEGV, &so, NULL);
        recurse_forever();
        _exit(1);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("overflow child", st);

    ss.ss_flags = SS_DISABLE;
    CHECK(sigaltstack(&ss, NULL) == 0);
    CHECK(sigaltstack(NULL, &q) == 0);
    printf("disabled again: %s\n", yesno(q.ss_flags & SS_DISABLE));
    return 0;
}
