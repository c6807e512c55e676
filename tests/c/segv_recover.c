/* A SIGSEGV handler recovers with sigsetjmp/siglongjmp, repeatedly; siginfo
 * reports the faulting address and SEGV_MAPERR / SEGV_ACCERR. */
#include "common.h"
#include <setjmp.h>
#include <sys/mman.h>

static sigjmp_buf env;
static volatile void *fault_addr;
static volatile int fault_code, fault_signo;

static void handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    fault_signo = sig;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    siglongjmp(env, 1);
}

int main(void) {
    setup();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    CHECK(sigaction(SIGBUS, &sa, NULL) == 0);

    int recovered = 0;
    for (int i = 0; i < 100; i++) {
        if (sigsetjmp(env, 1) == 0) {
            volatile int *p = (volatile int *)(uintptr_t)(16 + i * 8);
            *p = i;
        } else {
            recovered++;
        }
    }
    printf("recovered from %d NULL-page faults\n", recovered);
    printf("last fault: signal %s, address 16+99*8: %s, SEGV_MAPERR: %s\n", sigabbrev_np(fault_signo),
           yesno(fault_addr == (void *)(16 + 99 * 8)), yesno(fault_code == SEGV_MAPERR));

    /* The mask is restored by siglongjmp(…, savemask=1): SIGSEGV is not blocked. */
    sigset_t m;
    sigprocmask(SIG_SETMASK, NULL, &m);
    printf("SIGSEGV blocked after recovery: %s\n", yesno(sigismember(&m, SIGSEGV)));

    /* Write to a read-only mapping: SEGV_ACCERR at the exact address. */
    long pg = sysconf(_SC_PAGESIZE);
    char *ro = mmap(NULL, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED);
    if (sigsetjmp(env, 1) == 0) {
        ro[123] = 1;
        printf("write to read-only page did not fault\n");
    } else {
        printf("read-only write: SEGV_ACCERR: %s, address exact: %s\n", yesno(fault_code == SEGV_ACCERR),
               yesno(fault_addr == ro + 123));
    }
    /* Executing a non-executable page. */
    if (sigsetjmp(env, 1) == 0) {
        void (*fn)(void) = (void (*)(void))(void *)ro;
        fn();
        printf("executed a non-exec page?!\n");
    } else {
        printf("exec of non-exec page: SIGSEGV: %s, address is page: %s\n", yesno(fault_signo == SIGSEGV),
               yesno(fault_addr == ro));
    }
    /* A kernel address. */
    if (sigsetjmp(env, 1) == 0) {
        volatile char *k = (volatile char *)0xffffffffff600000UL + 0x10000;
        (void)*k;
        printf("read of kernel address did not fault\n");
    } else {
        printf("kernel address read faults: %s\n", yesno(fault_signo == SIGSEGV));
    }
    /* Without SA_NODEFER the handler's signal is blocked inside it; siglongjmp
     * restored the mask, so a second fault is delivered normally. */
    if (sigsetjmp(env, 1) == 0) {
        *(volatile int *)8 = 0;
    }
    printf("still alive after all faults\n");

    /* A fault while SIGSEGV is blocked kills the process (in a child). */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        no_core();
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGSEGV);
        sigprocmask(SIG_BLOCK, &s, NULL);
        *(volatile int *)8 = 0;
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    print_status("fault with SIGSEGV blocked", st);
    /* A fault while SIGSEGV is ignored also kills. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        no_core();
        signal(SIGSEGV, SIG_IGN);
        *(volatile int *)8 = 0;
        _exit(0);
    }
    waitpid(c, &st, 0);
    print_status("fault with SIGSEGV ignored", st);
    return 0;
}
