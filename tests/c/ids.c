/* getpid/getppid/gettid relations (never the values themselves). */
#include "common.h"
#include <pthread.h>

static pid_t main_pid;
static void *thr(void *arg) {
    (void)arg;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    long ok = getpid() == main_pid && tid != main_pid && tid > 0;
    return (void *)ok;
}

int main(void) {
    setup();
    main_pid = getpid();
    printf("getpid > 0: %s\n", yesno(main_pid > 0));
    printf("gettid == getpid in main thread: %s\n", yesno(syscall(SYS_gettid) == main_pid));
    printf("getppid != getpid: %s\n", yesno(getppid() != main_pid));

    pthread_t t;
    void *r;
    pthread_create(&t, NULL, thr, NULL);
    pthread_join(t, &r);
    printf("thread: same pid, own tid: %s\n", yesno(r != NULL));

    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        pid_t info[3] = {getpid(), getppid(), (pid_t)syscall(SYS_gettid)};
        write_all(p[1], info, sizeof info);
        _exit(0);
    }
    pid_t info[3];
    CHECK(read(p[0], info, sizeof info) == sizeof info);
    printf("fork returned child's pid: %s\n", yesno(info[0] == c));
    printf("child's getppid == parent's getpid: %s\n", yesno(info[1] == main_pid));
    printf("child's gettid == its getpid: %s\n", yesno(info[2] == c));
    printf("child pid differs from parent: %s\n", yesno(c != main_pid));
    int st;
    CHECK(waitpid(c, &st, 0) == c);

    /* Orphans are reparented: the grandchild's parent changes after its
     * parent exits (to init or to a subreaper), never to the dead pid. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        pid_t mid = getpid();
        pid_t g = fork();
        if (g == 0) {
            while (getppid() == mid)
                usleep(1000);
            pid_t np = getppid();
            write_all(p[1], &np, sizeof np);
            _exit(0);
        }
        _exit(0);
    }
    CHECK(waitpid(c, &st, 0) == c);
    pid_t newparent;
    CHECK(read(p[0], &newparent, sizeof newparent) == sizeof newparent);
    printf("orphan reparented away from its dead parent: %s\n", yesno(newparent != c && newparent > 0));

    /* uid/gid calls are consistent with each other. */
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    CHECK(getresuid(&ru, &eu, &su) == 0 && getresgid(&rg, &eg, &sg) == 0);
    printf("getresuid consistent: %s getresgid consistent: %s\n", yesno(ru == getuid() && eu == geteuid()),
           yesno(rg == getgid() && eg == getegid()));
    report("kill(getpid(), 0)", kill(getpid(), 0));
    report("kill(child that was reaped, 0)", kill(c, 0));
    return 0;
}
