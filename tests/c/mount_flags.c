/* Per-mount flags: nosuid, nodev and noexec are kept per mount (shown in
 * /proc/self/mountinfo and statvfs), carried by bind mounts, replaced by a
 * bind remount and enforced: execve on a noexec mount is EACCES, mmap with
 * PROT_EXEC is EPERM; a set-user-id program takes effect (AT_SECURE, the
 * effective and saved ids) except on a nosuid mount or with no_new_privs.
 * The saved set-user-id follows the effective one across execve. */
#include "common.h"
#include <sched.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>

static char base[64];

static void opts_of(const char *dir) {
    /* mountinfo field 6 is the per-mount options. */
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        char mp[512], opts[256];
        if (sscanf(line, "%*s %*s %*s %*s %511s %255s", mp, opts) == 2 && strcmp(mp, dir) == 0) {
            /* Keep only the flags this test is about. */
            printf("%s:%s%s%s%s\n", dir + strlen(base), strstr(opts, "ro") == opts ? " ro" : " rw",
                   strstr(opts, "nosuid") ? " nosuid" : "", strstr(opts, "nodev") ? " nodev" : "",
                   strstr(opts, "noexec") ? " noexec" : "");
        }
    }
    if (f)
        fclose(f);
    struct statvfs sv;
    if (statvfs(dir, &sv) == 0)
        printf("  statvfs nosuid=%d\n", !!(sv.f_flag & ST_NOSUID));
}

static int child_ids(void) {
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("  ids r=%d e=%d s=%d secure=%lu\n", (int)r, (int)e, (int)s, getauxval(AT_SECURE));
    return 0;
}

static void run_as(const char *prog, uid_t uid, int nnp) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        if (nnp)
            prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (setresuid(uid, uid, uid) < 0) {
            printf("setresuid: %s\n", errname(errno));
            _exit(1);
        }
        execl(prog, prog, "ids", (char *)NULL);
        printf("  exec %s\n", errname(errno));
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
}

int main(int argc, char **argv) {
    setup();
    if (argc > 1 && strcmp(argv[1], "ids") == 0)
        return child_ids();
    if (unshare(CLONE_NEWNS) == 0)
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    snprintf(base, sizeof base, "/tmp/rvt-mflags-XXXXXX");
    if (!mkdtemp(base)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    chmod(base, 0755);
    char plain[128], nosuid[128], noexec[128], bind[128];
    snprintf(plain, sizeof plain, "%s/plain", base);
    snprintf(nosuid, sizeof nosuid, "%s/nosuid", base);
    snprintf(noexec, sizeof noexec, "%s/noexec", base);
    snprintf(bind, sizeof bind, "%s/bind", base);
    mkdir(plain, 0755);
    mkdir(nosuid, 0755);
    mkdir(noexec, 0755);
    mkdir(bind, 0755);
    printf("mount plain: %d\n", mount("none", plain, "tmpfs", 0, "mode=755"));
    printf("mount nosuid: %d\n",
           mount("none", nosuid, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755"));
    printf("mount noexec: %d\n", mount("none", noexec, "tmpfs", MS_NOEXEC, "mode=755"));
    printf("bind of nosuid: %d\n", mount(nosuid, bind, NULL, MS_BIND, NULL));
    opts_of(plain);
    opts_of(nosuid);
    opts_of(noexec);
    opts_of(bind);
    printf("bind remount noexec: %d\n",
           mount(NULL, bind, NULL, MS_REMOUNT | MS_BIND | MS_NOEXEC, NULL));
    opts_of(bind);
    opts_of(nosuid);

    /* A copy of this program, set-user-id uid 1000, in each place. */
    int self = open("/proc/self/exe", O_RDONLY);
    struct stat sst;
    fstat(self, &sst);
    char *img = malloc(sst.st_size);
    if (!img || read(self, img, sst.st_size) != sst.st_size) {
        printf("reading myself failed\n");
        return 1;
    }
    close(self);
    const char *dirs[] = {plain, nosuid, noexec};
    char progs[3][160];
    for (int i = 0; i < 3; i++) {
        snprintf(progs[i], sizeof progs[i], "%s/prog", dirs[i]);
        int fd = open(progs[i], O_CREAT | O_WRONLY | O_TRUNC, 0755);
        if (fd < 0 || write(fd, img, sst.st_size) != sst.st_size) {
            printf("writing a copy failed\n");
            return 1;
        }
        fchown(fd, 1000, 1000);
        fchmod(fd, 04755);
        close(fd);
    }
    free(img);

    printf("root runs setuid-1000 program:\n");
    run_as(progs[0], 0, 0);
    printf("uid 2000 runs it:\n");
    run_as(progs[0], 2000, 0);
    printf("uid 2000 runs it with no_new_privs:\n");
    run_as(progs[0], 2000, 1);
    printf("uid 2000 runs it from a nosuid mount:\n");
    run_as(progs[1], 2000, 0);
    printf("uid 2000 runs it from a noexec mount:\n");
    run_as(progs[2], 2000, 0);

    /* mmap PROT_EXEC of a file on the noexec mount. */
    int fd = open(progs[2], O_RDONLY);
    void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    printf("mmap exec on noexec: %s\n", m == MAP_FAILED ? errname(errno) : "ok");
    m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("mmap read on noexec: %s\n", m == MAP_FAILED ? errname(errno) : "ok");
    if (m != MAP_FAILED)
        printf("mprotect exec on noexec: %s\n",
               mprotect(m, 4096, PROT_READ | PROT_EXEC) ? errname(errno) : "ok");
    close(fd);
    fd = open(progs[1], O_RDONLY);
    m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    printf("mmap exec on nosuid: %s\n", m == MAP_FAILED ? errname(errno) : "ok");
    close(fd);

    umount(bind);
    for (int i = 0; i < 3; i++) {
        unlink(progs[i]);
        umount(dirs[i]);
        rmdir(dirs[i]);
    }
    rmdir(bind);
    rmdir(base);
    return 0;
}
