/* getdents64 while entries are removed (and added) between calls: every
 * entry that exists for the whole walk is returned exactly once, nothing is
 * returned twice (POSIX, and what tmpfs and ext4 guarantee). */
#include "common.h"
#include <dirent.h>

#define N 600

int main(int argc, char **argv) {
    /* The directory to work in: /tmp (tmpfs in the sandbox) by default,
     * /var/tmp for the overlay root. */
    char base[128];
    snprintf(base, sizeof base, "%s/rvt-gd-XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (!mkdtemp(base)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    char p[512];
    for (int i = 0; i < N; i++) {
        snprintf(p, sizeof p, "%s/f%04d", base, i);
        close(open(p, O_CREAT | O_WRONLY, 0644));
    }
    int seen[N + 100] = {0};
    int dups = 0, dots = 0;
    DIR *d = opendir(base);
    struct dirent *e;
    int step = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            dots++;
            continue;
        }
        int k = atoi(e->d_name + 1);
        if (k < 0 || k >= N + 100)
            continue;
        if (seen[k]++)
            dups++;
        /* Every 7 entries: remove one file whose number ends in 3 (maybe
         * already seen, maybe not) and add a new one. */
        if (++step % 7 == 0) {
            int victim = (step * 13) % N;
            victim = victim - victim % 10 + 3;
            snprintf(p, sizeof p, "%s/f%04d", base, victim);
            unlink(p);
            snprintf(p, sizeof p, "%s/f%04d", base, N + step / 7 % 100);
            close(open(p, O_CREAT | O_WRONLY, 0644));
        }
    }
    closedir(d);
    int missing = 0;
    for (int i = 0; i < N; i++) {
        snprintf(p, sizeof p, "%s/f%04d", base, i);
        /* Still there at the end and never removed: must have been seen. */
        if (i % 10 != 3 && !seen[i])
            missing++;
    }
    d = opendir(base);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", base, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
    rmdir(base);
    printf("dots: %d\n", dots);
    printf("duplicates: %d\n", dups);
    printf("stable entries missing: %d\n", missing);
    return 0;
}
