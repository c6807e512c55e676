/* Signals to the init process of a pid namespace: those whose action is
 * the default are dropped, whoever sends them (init itself included, by
 * raise, kill, tgkill, and a blocked signal unblocked later); handled
 * signals are delivered; a fault still kills init.
 *
 * Natively the program makes itself init of a new pid namespace (needs
 * root); under `rvisor do` it already is pid 1. */
#include "common.h"
#include <sched.h>

static volatile sig_atomic_t got;
static void on_usr1(int s) { got = s; }

static int init_main(void) {
    /* Its own process group, so kill(0, …) reaches only this process. */
    setsid();
    printf("pid %d\n", (int)getpid());
    printf("raise TERM: %d\n", raise(SIGTERM));
    printf("kill 1 KILL: %d\n", kill(1, SIGKILL));
    printf("kill 0 INT: %d\n", kill(0, SIGINT));
    printf("tgkill STOP: %ld\n", (long)syscall(SYS_tgkill, 1, 1, SIGSTOP));
    printf("still alive\n");

    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    printf("handled USR1: %d\n", got == SIGUSR1);

    sigset_t s, p;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigprocmask(SIG_BLOCK, &s, NULL);
    raise(SIGTERM);
    sigpending(&p);
    printf("blocked TERM pending: %d\n", sigismember(&p, SIGTERM));
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    sigpending(&p);
    printf("after unblock: alive, pending %d\n", sigismember(&p, SIGTERM));

    pid_t c = fork();
    if (c == 0) {
        kill(1, SIGTERM);
        kill(1, SIGKILL);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child's signals: alive\n");

    /* A fault is forced: init dies of it. */
    printf("fault\n");
    fflush(stdout);
    *(volatile int *)0 = 1;
    printf("not reached\n");
    return 0;
}

int main(void) {
    setup();
    if (getpid() == 1)
        return init_main();
    if (unshare(CLONE_NEWPID) < 0) {
        printf("unshare: %s\n", errname(errno));
        return 1;
    }
    pid_t c = fork();
    if (c == 0)
        _exit(init_main());
    int st;
    waitpid(c, &st, 0);
    if (WIFSIGNALED(st)) {
        signal(WTERMSIG(st), SIG_DFL);
        struct rlimit r = {0, 0};
        setrlimit(RLIMIT_CORE, &r);
        raise(WTERMSIG(st));
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
