/* Receives many arguments (the test passes 10000) and a checksum of them;
 * then passes them on through execve to /bin/sh which counts them. */
#include "common.h"

extern char **environ;

int main(int argc, char **argv) {
    setup();
    unsigned long sum = 0, bytes = 0;
    for (int i = 1; i < argc; i++) {
        for (const char *p = argv[i]; *p; p++)
            sum = sum * 31 + (unsigned char)*p;
        bytes += strlen(argv[i]) + 1;
    }
    printf("argc=%d bytes=%lu hash=%lu\n", argc, bytes, sum);
    printf("first=%s last=%s\n", argc > 1 ? argv[1] : "-", argv[argc - 1]);
    printf("argv[argc] is NULL: %s\n", yesno(argv[argc] == NULL));
    if (argc > 1) {
        fflush(stdout);
        /* sh -c 'echo $#' _ args...: forwards every argument through execve. */
        char **av = calloc((size_t)argc + 4, sizeof *av);
        av[0] = "sh";
        av[1] = "-c";
        av[2] = "echo forwarded $# args; eval echo last=\\${$#}";
        av[3] = "sh";
        for (int i = 1; i < argc; i++)
            av[3 + i] = argv[i];
        execve("/bin/sh", av, environ);
        printf("execve failed: %s\n", errname(errno));
        return 1;
    }
    return 0;
}
