/* close-on-exec is honoured across execve (the program re-executes itself). */
#include "common.h"

extern char **environ;

int main(int argc, char **argv) {
    setup();
    if (argc == 4 && strcmp(argv[1], "child") == 0) {
        int ce = atoi(argv[2]), keep = atoi(argv[3]);
        int r1 = fcntl(ce, F_GETFD);
        printf("child: cloexec fd closed: %s (%s)\n", yesno(r1 < 0), r1 < 0 ? errname(errno) : "open");
        int r2 = fcntl(keep, F_GETFD);
        printf("child: inherited fd open: %s\n", yesno(r2 >= 0));
        char buf[6] = {0};
        /* The inherited description keeps its offset (5). */
        printf("child: read inherited: %zd '%s'\n", read(keep, buf, 5), buf);
        return 0;
    }
    int ce = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    int keep = open("/etc/passwd", O_RDONLY);
    CHECK(ce >= 0 && keep >= 0);
    char skip[5];
    CHECK(read(keep, skip, 5) == 5);
    int ce2 = fcntl(keep, F_DUPFD_CLOEXEC, 20);
    int ce3 = dup(keep);
    CHECK(fcntl(ce3, F_SETFD, FD_CLOEXEC) == 0);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);

    /* Child 1: exec ourselves to inspect the descriptors. */
    char a1[16], a2[16];
    snprintf(a1, sizeof a1, "%d", ce);
    snprintf(a2, sizeof a2, "%d", keep);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char *av[] = {argv[0], "child", a1, a2, NULL};
        execve(argv[0], av, environ);
        _exit(127);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("self re-exec", st);

    /* Child 2: a shell checks which fds exist after exec. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "for x in o_cloexec:%d plain:%d dupfd_cloexec:%d setfd_cloexec:%d pipe2_r:%d pipe2_w:%d; do "
             "n=${x%%%%:*}; f=${x#*:}; if [ -e /proc/self/fd/$f ]; then echo \"$n open\"; "
             "else echo \"$n closed\"; fi; done",
             ce, keep, ce2, ce3, p[0], p[1]);
    printf("shell sees:\n");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    CHECK(waitpid(c, &st, 0) == c);
    print_status("shell", st);

    /* A failed exec leaves cloexec descriptors open. */
    char *bad[] = {"/nonexistent", NULL};
    execve(bad[0], bad, environ);
    printf("after failed exec cloexec fd still open: %s\n", yesno(fcntl(ce, F_GETFD) >= 0));
    return 0;
}
