/* execve errors, then execve of /bin/echo replacing this process. */
#include "common.h"

extern char **environ;

int main(void) {
    setup();
    char *bad[] = {"/nonexistent/bin", NULL};
    report("execve missing file", execve(bad[0], bad, environ));
    char *dir[] = {"/usr", NULL};
    report("execve a directory", execve(dir[0], dir, environ));
    char *noexec[] = {"/etc/passwd", NULL};
    report("execve non-executable file", execve(noexec[0], noexec, environ));
    report("execve NULL path", syscall(SYS_execve, NULL, bad, environ));

    printf("before exec\n");
    fflush(stdout);
    char *argv[] = {"/bin/echo", "replaced", "by", "echo", NULL};
    char *envp[] = {"ONLY=1", NULL};
    execve("/bin/echo", argv, envp);
    printf("execve failed: %s\n", errname(errno));
    return 1;
}
