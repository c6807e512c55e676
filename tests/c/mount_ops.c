/* mount/umount2/chroot as root: a tmpfs with size= and mode= (ENOSPC when
 * full), EBUSY while a file is open, bind mounts (read-only too), proc,
 * MNT_DETACH, errors, and chroot confinement. Natively it runs in a private
 * mount namespace of its own so the host's table is untouched. */
#include "common.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>

static const char *res(int r) {
    static char b[64];
    if (r >= 0)
        return "ok";
    snprintf(b, sizeof b, "%s", strerrorname_np(errno));
    return b;
}

int main(void) {
    /* Natively: our own mount namespace (under rvisor this fails: the
     * sandbox's table is private anyway). */
    if (unshare(CLONE_NEWNS) == 0)
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    char base[] = "/tmp/rvt-mount-XXXXXX";
    if (!mkdtemp(base)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    char t[64], f[300], b[64], p[64];
    snprintf(t, sizeof t, "%s/t", base);
    snprintf(b, sizeof b, "%s/b", base);
    snprintf(p, sizeof p, "%s/p", base);
    mkdir(t, 0755);
    mkdir(b, 0755);
    mkdir(p, 0755);

    printf("mount tmpfs: %s\n", res(mount("none", t, "tmpfs", 0, "size=64k,mode=0710")));
    struct stat st;
    stat(t, &st);
    printf("root mode %o\n", st.st_mode & 07777);
    struct statfs sf;
    statfs(t, &sf);
    printf("statfs tmpfs magic: %s\n", yesno(sf.f_type == 0x01021994));
    snprintf(f, sizeof f, "%s/file", t);
    int fd = open(f, O_CREAT | O_WRONLY, 0644);
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    int full = 0;
    for (int i = 0; i < 64; i++) {
        if (write(fd, buf, sizeof buf) < 0) {
            full = errno;
            break;
        }
    }
    printf("filling 64k: %s\n", full ? strerrorname_np(full) : "no error");
    printf("umount while open: %s\n", res(umount2(t, 0)));
    close(fd);
    printf("umount after close: %s\n", res(umount2(t, 0)));
    printf("file gone: %s\n", yesno(access(f, F_OK) != 0));
    printf("umount again: %s\n", res(umount2(t, 0)));

    /* Bind mounts. */
    char src[64], in[300];
    snprintf(src, sizeof src, "%s/src", base);
    mkdir(src, 0755);
    snprintf(in, sizeof in, "%s/src/hello", base);
    fd = open(in, O_CREAT | O_WRONLY, 0644);
    write(fd, "hi\n", 3);
    close(fd);
    printf("bind: %s\n", res(mount(src, b, NULL, MS_BIND, NULL)));
    snprintf(f, sizeof f, "%s/hello", b);
    fd = open(f, O_RDONLY);
    int n = read(fd, buf, sizeof buf);
    close(fd);
    printf("read through bind: %.*s", n > 0 ? n : 0, buf);
    snprintf(f, sizeof f, "%s/new", b);
    fd = open(f, O_CREAT | O_WRONLY, 0644);
    close(fd);
    snprintf(in, sizeof in, "%s/src/new", base);
    printf("write through bind visible in source: %s\n", yesno(access(in, F_OK) == 0));
    printf("umount bind: %s\n", res(umount2(b, 0)));
    printf("bind read-only: %s\n", res(mount(src, b, NULL, MS_BIND | MS_RDONLY, NULL) == 0 ? 0 :
                                         mount(NULL, b, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));

    /* proc, then a lazy detach while a directory of it is the cwd. */
    printf("mount proc: %s\n", res(mount("proc", p, "proc", 0, NULL)));
    snprintf(f, sizeof f, "%s/self/status", p);
    printf("proc self/status readable: %s\n", yesno(access(f, R_OK) == 0));
    printf("umount -l proc: %s\n", res(umount2(p, MNT_DETACH)));
    printf("proc gone: %s\n", yesno(access(f, F_OK) != 0));

    /* Errors. */
    printf("unknown fs type: %s\n", res(mount("x", t, "nosuchfs", 0, NULL)));
    printf("umount a non-mountpoint: %s\n", res(umount2(base, 0)));
    printf("umount bad flags: %s\n", res(umount2(t, 0x100)));

    /* chroot in a child: / is the new root and .. cannot leave it. */
    char marker[300];
    snprintf(marker, sizeof marker, "%s/marker", src);
    fd = open(marker, O_CREAT | O_WRONLY, 0644);
    close(fd);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        printf("chroot: %s\n", res(chroot(src)));
        chdir("/");
        printf("marker at /: %s\n", yesno(access("/marker", F_OK) == 0));
        printf("marker at /../..: %s\n", yesno(access("/../../marker", F_OK) == 0));
        printf("tmp outside invisible: %s\n", yesno(access(base, F_OK) != 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    umount2(b, MNT_DETACH);
    return 0;
}
