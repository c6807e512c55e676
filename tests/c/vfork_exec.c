/* vfork + execve: the parent is suspended until the child execs or exits. */
#include "common.h"

extern char **environ;

int main(void) {
    setup();
    volatile int shared = 0;
    fflush(stdout);
    pid_t c = vfork();
    CHECK(c >= 0);
    if (c == 0) {
        char *argv[] = {"/bin/echo", "from", "vfork", "child", NULL};
        execve("/bin/echo", argv, environ);
        _exit(127);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("vfork+execve /bin/echo", st);

    /* vfork child that modifies memory shared with the parent then _exits. */
    c = vfork();
    CHECK(c >= 0);
    if (c == 0) {
        shared = 41 + 1;
        _exit(3);
    }
    printf("parent sees child's write: %d\n", shared);
    CHECK(waitpid(c, &st, 0) == c);
    print_status("vfork+_exit", st);

    /* vfork child whose execve fails. */
    c = vfork();
    CHECK(c >= 0);
    if (c == 0) {
        char *argv[] = {"/nonexistent/prog", NULL};
        execve(argv[0], argv, environ);
        _exit(errno == ENOENT ? 127 : 126);
    }
    CHECK(waitpid(c, &st, 0) == c);
    print_status("vfork+failed execve", st);
    return 0;
}
