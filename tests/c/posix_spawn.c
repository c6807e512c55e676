/* posix_spawn with file actions, exit status and output capture. */
#include "common.h"
#include <spawn.h>

extern char **environ;

int main(void) {
    setup();
    pid_t pid;
    char *argv1[] = {"/bin/sh", "-c", "echo spawned; exit 4", NULL};
    fflush(stdout);
    int rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv1, environ);
    /* The child writes to our stdout: report only after it is done. */
    int st;
    CHECK(rc == 0 && waitpid(pid, &st, 0) == pid);
    printf("posix_spawn rc: %d\n", rc);
    print_status("spawned sh", st);

    /* Capture the child's stdout through a pipe via file actions. */
    int p[2];
    CHECK(pipe(p) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    char *argv2[] = {"/bin/echo", "captured", "output", NULL};
    rc = posix_spawnp(&pid, "echo", &fa, NULL, argv2, environ);
    printf("posix_spawnp rc: %d\n", rc);
    close(p[1]);
    char buf[256] = {0};
    size_t off = 0;
    ssize_t n;
    while ((n = read(p[0], buf + off, sizeof buf - 1 - off)) > 0)
        off += (size_t)n;
    printf("captured: %s", buf);
    CHECK(waitpid(pid, &st, 0) == pid);
    print_status("spawned echo", st);
    posix_spawn_file_actions_destroy(&fa);

    /* Spawn attributes: reset SIGTERM to default, new process group. */
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGTERM);
    posix_spawnattr_setsigdefault(&at, &def);
    char *argv3[] = {"/bin/sh", "-c", "kill -TERM $$; exit 0", NULL};
    fflush(stdout);
    rc = posix_spawn(&pid, "/bin/sh", NULL, &at, argv3, environ);
    printf("posix_spawn with attrs rc: %d\n", rc);
    CHECK(waitpid(pid, &st, 0) == pid);
    print_status("self-killed sh", st);
    posix_spawnattr_destroy(&at);

    /* A missing program: glibc reports the exec error as the return code. */
    char *argv4[] = {"/nonexistent/xyz", NULL};
    rc = posix_spawn(&pid, argv4[0], NULL, NULL, argv4, environ);
    printf("posix_spawn missing rc: %s\n", rc ? errname(rc) : "0");
    if (rc == 0) {
        CHECK(waitpid(pid, &st, 0) == pid);
        print_status("missing", st);
    }
    return 0;
}
