/* no_new_privs is inherited by fork children and kept over execve. */
#include "common.h"
#include <sys/prctl.h>

int main(int argc, char **argv) {
    if (argc > 1) {
        printf("after exec: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        return 0;
    }
    printf("initially: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    printf("set: %d\n", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    printf("unset is EINVAL: %s\n", yesno(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) == -1 && errno == EINVAL));
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        printf("child: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        fflush(stdout);
        execl("/proc/self/exe", argv[0], "again", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child status: %d\n", WEXITSTATUS(st));
    return 0;
}
