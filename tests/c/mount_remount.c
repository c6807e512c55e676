/* MS_REMOUNT as root: a plain remount changes the file system (every bind
 * mount of it follows) and the mount, MS_REMOUNT|MS_BIND only the mount;
 * EROFS for every kind of write while read-only, writes again after a
 * read-write remount; EBUSY while a file is open for writing (or an
 * unlinked file is open); tmpfs size= on a remount (too small, growing,
 * ENOSPC at the new limit, size=0 lifting it, no limit added later);
 * the flags in /proc/self/mountinfo and statvfs. Natively it runs in a
 * private mount namespace of its own so the host's table is untouched. */
#include "common.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

static const char *res(int r) {
    return r >= 0 ? "ok" : errname(errno);
}

static char base[] = "/tmp/rvt-remount-XXXXXX";
static char t[64], b[64];

static const char *at(const char *dir, const char *name) {
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static int is_ro(const char *p) {
    struct statvfs s;
    if (statvfs(p, &s) != 0)
        return -1;
    return (s.f_flag & ST_RDONLY) != 0;
}

/* Every kind of write through `dir`, one line. */
static void writes(const char *label, const char *dir) {
    int fd = open(at(dir, "new"), O_CREAT | O_WRONLY, 0644);
    const char *create = res(fd);
    if (fd >= 0)
        close(fd);
    fd = open(at(dir, "f"), O_WRONLY);
    const char *wr = res(fd);
    if (fd >= 0) {
        write(fd, "y", 1);
        close(fd);
    }
    const char *mk = res(mkdir(at(dir, "d2"), 0755));
    rmdir(at(dir, "d2"));
    const char *trunc = res(truncate(at(dir, "f"), 1));
    const char *chm = res(chmod(at(dir, "f"), 0600));
    unlink(at(dir, "new"));
    fd = open(at(dir, "f"), O_RDONLY);
    char c = 0;
    int n = fd >= 0 ? read(fd, &c, 1) : -1;
    if (fd >= 0)
        close(fd);
    printf("%s: create %s, open-write %s, mkdir %s, truncate %s, chmod %s, read %s (ro flag %d)\n",
           label, create, wr, mk, trunc, chm, n == 1 ? "ok" : "fail", is_ro(dir));
}

/* The mount options' and the super options' ro/rw for mount point `mp`. */
static void mountinfo(const char *label, const char *mp) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024], found[600] = "not listed";
    while (f && fgets(line, sizeof line, f)) {
        char mpt[512], opts[256];
        if (sscanf(line, "%*d %*d %*s %*s %511s %255s", mpt, opts) != 2 || strcmp(mpt, mp) != 0)
            continue;
        char *dash = strstr(line, " - ");
        char fstype[64], src[256], super[256];
        if (!dash || sscanf(dash + 3, "%63s %255s %255s", fstype, src, super) != 3)
            continue;
        opts[2] = 0;
        super[2] = 0;
        snprintf(found, sizeof found, "mount %s, super %s", opts, super);
    }
    if (f)
        fclose(f);
    printf("%s mountinfo: %s\n", label, found);
}

int main(void) {
    setup();
    if (unshare(CLONE_NEWNS) == 0)
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    if (!mkdtemp(base)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    snprintf(t, sizeof t, "%s/t", base);
    snprintf(b, sizeof b, "%s/b", base);
    mkdir(t, 0755);
    mkdir(b, 0755);
    printf("mount tmpfs: %s\n", res(mount("none", t, "tmpfs", 0, "size=64k")));
    int fd = open(at(t, "f"), O_CREAT | O_WRONLY, 0644);
    write(fd, "x", 1);
    close(fd);
    mkdir(at(t, "sub"), 0755);
    printf("bind: %s\n", res(mount(t, b, NULL, MS_BIND, NULL)));
    writes("rw", t);

    /* A plain remount read-only: the file system, so the bind mount too. */
    fd = open(at(t, "f"), O_WRONLY);
    printf("remount ro with a writer: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT | MS_RDONLY, NULL)));
    close(fd);
    fd = open(at(b, "f"), O_RDWR);
    printf("remount ro with a writer on the bind: %s\n",
           res(mount(NULL, t, NULL, MS_REMOUNT | MS_RDONLY, NULL)));
    close(fd);
    fd = open(at(t, "f"), O_RDONLY);
    printf("remount ro with a reader: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT | MS_RDONLY, NULL)));
    close(fd);
    writes("after remount ro", t);
    writes("bind after remount ro", b);
    mountinfo("ro", t);
    mountinfo("bind of ro", b);
    printf("remount ro again: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT | MS_RDONLY, NULL)));
    printf("bind remount rw of the bind: %s\n", res(mount(NULL, b, NULL, MS_REMOUNT | MS_BIND, NULL)));
    writes("bind with its flag rw on a ro fs", b);
    printf("remount rw: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, NULL)));
    writes("after remount rw", t);
    writes("bind after remount rw", b);
    mountinfo("rw", t);

    /* MS_REMOUNT|MS_BIND: only that mount. */
    printf("bind remount ro: %s\n", res(mount(NULL, b, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));
    writes("bind after bind remount ro", b);
    writes("source after bind remount ro", t);
    mountinfo("bind ro", b);
    mountinfo("source of bind ro", t);
    printf("bind remount rw: %s\n", res(mount(NULL, b, NULL, MS_REMOUNT | MS_BIND, NULL)));
    writes("bind after bind remount rw", b);
    fd = open(at(b, "f"), O_WRONLY);
    printf("bind remount ro with a writer on it: %s\n",
           res(mount(NULL, b, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));
    close(fd);
    fd = open(at(t, "f"), O_WRONLY);
    printf("bind remount ro with a writer on the source: %s\n",
           res(mount(NULL, b, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));
    close(fd);
    printf("bind remount rw: %s\n", res(mount(NULL, b, NULL, MS_REMOUNT | MS_BIND, NULL)));

    /* A plain remount through the bind mount: the file system and that
     * mount; a read-write remount of the source leaves the bind's flag. */
    printf("remount ro through the bind: %s\n", res(mount(NULL, b, NULL, MS_REMOUNT | MS_RDONLY, NULL)));
    writes("source after remount ro through the bind", t);
    printf("remount rw through the source: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, NULL)));
    writes("source", t);
    writes("bind still flagged ro", b);
    printf("remount rw through the bind: %s\n", res(mount(NULL, b, NULL, MS_REMOUNT, NULL)));
    writes("bind", b);

    /* An open unlinked file keeps the file system busy. */
    fd = open(at(t, "gone"), O_CREAT | O_WRONLY, 0644);
    close(fd);
    fd = open(at(t, "gone"), O_RDONLY);
    unlink(at(t, "gone"));
    printf("remount ro with an unlinked open file: %s\n",
           res(mount(NULL, t, NULL, MS_REMOUNT | MS_RDONLY, NULL)));
    close(fd);
    printf("remount ro after its close: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT | MS_RDONLY, NULL)));
    printf("remount rw: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, NULL)));

    /* Errors. */
    printf("remount a non-mountpoint: %s\n", res(mount(NULL, at(t, "sub"), NULL, MS_REMOUNT, NULL)));
    printf("bind remount a non-mountpoint: %s\n",
           res(mount(NULL, at(t, "sub"), NULL, MS_REMOUNT | MS_BIND, NULL)));
    printf("remount with an unknown option: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, "bogus=1")));
    printf("remount with a bad size: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, "size=12q")));
    printf("remount with a missing path: %s\n", res(mount(NULL, at(t, "nope"), NULL, MS_REMOUNT, NULL)));
    printf("remount, data ignored with MS_BIND: %s\n",
           res(mount(NULL, t, NULL, MS_REMOUNT | MS_BIND, "bogus=1")));

    /* tmpfs size on a remount. */
    struct statfs sf;
    statfs(t, &sf);
    printf("size 64k: %ld blocks\n", (long)sf.f_blocks);
    fd = open(at(t, "big"), O_CREAT | O_WRONLY, 0644);
    char buf[4096];
    memset(buf, 'z', sizeof buf);
    for (int i = 0; i < 10; i++)
        write(fd, buf, sizeof buf);
    printf("remount size=16k with 40k+ used: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, "size=16k")));
    printf("remount size=128k: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, "size=128k")));
    statfs(t, &sf);
    printf("size 128k: %ld blocks, %ld free\n", (long)sf.f_blocks, (long)sf.f_bfree);
    int pages = 0, err = 0;
    for (int i = 0; i < 64; i++) {
        if (write(fd, buf, sizeof buf) < 0) {
            err = errno;
            break;
        }
        pages++;
    }
    printf("more pages before the limit: %d then %s\n", pages, err ? errname(err) : "no error");
    printf("remount size=5000 (rounded up to pages), still too small: %s\n",
           res(mount(NULL, t, NULL, MS_REMOUNT, "size=5000")));
    ftruncate(fd, 0);
    close(fd);
    printf("remount size=5000 when empty: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, "size=5000")));
    statfs(t, &sf);
    printf("size 5000: %ld blocks\n", (long)sf.f_blocks);
    fd = open(at(t, "big"), O_WRONLY);
    int n1 = write(fd, buf, sizeof buf), n2 = write(fd, buf, sizeof buf), e2 = errno;
    int n3 = write(fd, buf, sizeof buf), e3 = errno;
    printf("writes at size 5000: %d, %d, %d (%s)\n", n1, n2, n3,
           n3 < 0 ? errname(e3) : (n2 < 0 ? errname(e2) : "none"));
    close(fd);
    printf("remount with mode/uid: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, "mode=0700,uid=1")));
    struct stat st;
    stat(t, &st);
    printf("root after: mode %o uid %d\n", st.st_mode & 07777, (int)st.st_uid);
    printf("remount size=0 (no limit): %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, "size=0")));
    fd = open(at(t, "big"), O_WRONLY);
    pages = 0;
    for (int i = 0; i < 20; i++)
        if (write(fd, buf, sizeof buf) == sizeof buf)
            pages++;
    close(fd);
    printf("pages written without a limit: %d\n", pages);
    printf("remount size=1m after no limit: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, "size=1m")));
    printf("remount ro via data: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, "ro")));
    writes("after ro in data", t);
    mountinfo("ro in data", t);
    printf("remount rw: %s\n", res(mount(NULL, t, NULL, MS_REMOUNT, NULL)));

    /* A new tmpfs with "ro" in its data is read-only itself. */
    char u[64];
    snprintf(u, sizeof u, "%s/u", base);
    mkdir(u, 0755);
    printf("mount tmpfs with ro data: %s\n", res(mount("none", u, "tmpfs", 0, "ro")));
    mountinfo("ro-data tmpfs", u);
    printf("remount it rw: %s\n", res(mount(NULL, u, NULL, MS_REMOUNT, NULL)));
    printf("create there: %s\n", res(open(at(u, "x"), O_CREAT | O_WRONLY, 0644)));

    umount2(u, MNT_DETACH);
    umount2(b, MNT_DETACH);
    umount2(t, MNT_DETACH);
    rmdir(u);
    rmdir(b);
    rmdir(t);
    rmdir(base);
    return 0;
}
