/* waitpid with WNOHANG before and after the child exits; ECHILD; waitid. */
#include "common.h"

int main(void) {
    setup();
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        close(p[1]);
        char ch;
        ssize_t n = read(p[0], &ch, 1); /* blocks until the parent writes */
        _exit(n == 1 ? ch - '0' : 99);
    }
    close(p[0]);
    int st = 0;
    report("WNOHANG while child blocked", waitpid(c, &st, WNOHANG));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    report("waitid WNOHANG while blocked", waitid(P_PID, (id_t)c, &si, WEXITED | WNOHANG));
    printf("waitid si_pid zero: %s\n", yesno(si.si_pid == 0));

    write_all(p[1], "7", 1);
    close(p[1]);
    /* Poll with WNOHANG until the child is collected. */
    pid_t r;
    int polls = 0;
    while ((r = waitpid(c, &st, WNOHANG)) == 0) {
        polls++;
        usleep(1000);
    }
    printf("WNOHANG eventually returned child: %s\n", yesno(r == c));
    print_status("child", st);
    report("WNOHANG with no children", waitpid(-1, &st, WNOHANG));
    report("blocking wait with no children", waitpid(-1, &st, 0));

    /* waitid with WNOWAIT leaves the zombie for a second wait. */
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(12);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT) == 0);
    printf("waitid WNOWAIT: code CLD_EXITED %s, status %d, pid matches %s\n",
           yesno(si.si_code == CLD_EXITED), si.si_status, yesno(si.si_pid == c));
    CHECK(waitpid(c, &st, 0) == c);
    print_status("after WNOWAIT", st);
    (void)polls;
    return 0;
}
