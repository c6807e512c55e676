/* Shared helpers for the rvisor differential test programs.
 *
 * Every program must print only facts that are identical between a native
 * run and a run under `rvisor do`: never pids, times, addresses or anything
 * host-kernel specific.  Relations ("child ppid == parent pid: yes") are fine.
 */
#ifndef RVISOR_TEST_COMMON_H
#define RVISOR_TEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Line-buffered stdout: every printf that ends in '\n' is written before a
 * fork/exec/crash, so no output is duplicated or lost. */
static inline void setup(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setvbuf(stderr, NULL, _IONBF, 0);
}

static inline const char *errname(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* Abort the program with a diagnostic (on stdout, so the differential test
 * shows it) when a condition that must hold does not. */
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            int e_ = errno;                                                  \
            printf("CHECK FAILED %s:%d: %s (errno %s)\n", __FILE__, __LINE__, \
                   #cond, errname(e_));                                      \
            fflush(stdout);                                                  \
            _exit(99);                                                       \
        }                                                                    \
    } while (0)

/* Print "label: ret=R" or "label: ret=-1 errno=ENAME" for a syscall result. */
static inline void report(const char *label, long ret) {
    int e = errno;
    if (ret < 0)
        printf("%s: ret=-1 errno=%s\n", label, errname(e));
    else
        printf("%s: ret=%ld\n", label, ret);
}

/* Describe a wait status without host-specific details. */
static inline void print_status(const char *label, int status) {
    if (WIFEXITED(status))
        printf("%s: exited %d\n", label, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by %s\n", label, sigabbrev_np(WTERMSIG(status)));
    else if (WIFSTOPPED(status))
        printf("%s: stopped by %s\n", label, sigabbrev_np(WSTOPSIG(status)));
    else
        printf("%s: status 0x%x\n", label, status);
}

static inline const char *yesno(int b) { return b ? "yes" : "no"; }

/* Write all of buf, retrying on short writes. */
static inline void write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        CHECK(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

/* Disable core dumps: the fault programs must not litter the host. */
static inline void no_core(void) {
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
}

static inline double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
