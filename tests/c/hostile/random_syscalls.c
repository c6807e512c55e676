/* Hostile workload: children make thousands of system calls with random
 * numbers and random arguments (wild pointers, huge lengths, bad fds and
 * flags). Whatever happens to a child, the parent and the sandbox must keep
 * going. Calls that would only create processes, signal others or end the
 * parent's world are skipped; everything else is fair game. */
#include "../common.h"
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static unsigned long long state = 88172645463325252ULL;
static unsigned long long rnd(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static long arg(void) {
    switch (rnd() % 8) {
    case 0: return 0;
    case 1: return -1;
    case 2: return (long)(rnd() % 4096);
    case 3: return (long)(rnd() & 0xffffffffffffULL); /* wild user pointer */
    case 4: return (long)0xffffffffff600000ULL;       /* kernel/vsyscall */
    case 5: return (long)(rnd() % 64);                /* small fd / signal */
    case 6: return 1L << (rnd() % 63);
    default: return (long)rnd();
    }
}

static int skipped(long nr) {
    switch (nr) {
    case SYS_clone: case SYS_fork: case SYS_vfork: case SYS_clone3:
    case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_rt_sigqueueinfo: case SYS_rt_tgsigqueueinfo:
    case SYS_execve: case SYS_execveat:
        return 1;
    }
    return 0;
}

int main(void) {
    setup();
    int survived = 0;
    for (int child = 0; child < 12; child++) {
        fflush(stdout);
        pid_t c = fork();
        CHECK(c >= 0);
        if (c == 0) {
            state += (unsigned long long)child * 0x9e3779b97f4a7c15ULL;
            alarm(3);
            for (int i = 0; i < 3000; i++) {
                long nr = (long)(rnd() % 460);
                if (skipped(nr)) continue;
                syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
            }
            _exit(0);
        }
        /* Wait up to ~10 s, then kill it (it may have blocked SIGALRM). */
        int st = 0, done = 0;
        for (int t = 0; t < 400 && !done; t++) {
            pid_t r = waitpid(c, &st, WNOHANG);
            if (r == c) done = 1;
            else usleep(10 * 1000);
        }
        if (!done) {
            kill(c, SIGKILL);
            CHECK(waitpid(c, &st, 0) == c);
        }
        survived++;
    }
    printf("parent outlived %d hostile children\n", survived);
    return 0;
}
