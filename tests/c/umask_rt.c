/* umask round trips and its effect on created files and directories. */
#include "common.h"

int main(void) {
    setup();
    umask(022);
    printf("umask(077) returned %03o\n", umask(077));
    printf("umask(022) returned %03o\n", umask(022));
    printf("umask(0) returned %03o\n", umask(0));
    printf("umask(0777|01000) returned %03o\n", umask(0777 | 01000));
    printf("only permission bits kept: %03o\n", umask(027));

    char path[64];
    snprintf(path, sizeof path, "/tmp/rvisor-umask-%d", getpid());
    int fd = open(path, O_CREAT | O_WRONLY, 0666);
    CHECK(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("file 0666 with umask 027: %03o\n", st.st_mode & 0777);
    close(fd);
    unlink(path);
    CHECK(mkdir(path, 0777) == 0);
    CHECK(stat(path, &st) == 0);
    printf("dir 0777 with umask 027: %03o\n", st.st_mode & 0777);
    rmdir(path);

    /* Children inherit the umask, and it survives exec. */
    umask(0012);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        execl("/bin/sh", "sh", "-c", "echo child umask: $(umask)", (char *)NULL);
        _exit(127);
    }
    int s;
    waitpid(c, &s, 0);
    /* /proc/self/status reports it too. */
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int seen = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Umask:", 6) == 0) {
            printf("status %s", line);
            seen = 1;
        }
    if (!seen)
        printf("status Umask line missing\n");
    return 0;
}
