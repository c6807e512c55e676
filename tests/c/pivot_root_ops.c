/* pivot_root as root: Linux's argument checks (EINVAL for a new root that
 * is not a mount point or a put_old outside it, EBUSY for the current
 * root's mount, ENOTDIR, ENOENT, EPERM for others, EINVAL from a chroot
 * that is not a mount root); then every process whose root or working
 * directory was the old root has the new one, the old root shows at
 * put_old and goes away with umount2(MNT_DETACH); then the common
 * `mount --bind nr nr; cd nr; pivot_root . .; umount -l .` sequence.
 * Natively it runs in a private mount namespace of its own (so only this
 * program's processes see the change). */
#include "common.h"
#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>

static const char *res(int r) {
    return r >= 0 ? "ok" : errname(errno);
}

static int piv(const char *a, const char *b) {
    return syscall(SYS_pivot_root, a, b);
}

static char base[] = "/tmp/rvt-pivot-XXXXXX";

static const char *P(const char *rel) {
    static char buf[8][300];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", base, rel);
    return buf[i];
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in a directory, on one line. */
static void ls(const char *label, const char *dir) {
    DIR *d = opendir(dir);
    char *names[64];
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:%s", label, d ? "" : " (cannot open)");
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void where(const char *who) {
    char cwd[512];
    printf("%s: cwd %s, /marker %s, /inner-marker %s\n", who, getcwd(cwd, sizeof cwd) ? cwd : strerror(errno),
           yesno(access("/marker", F_OK) == 0), yesno(access("/inner-marker", F_OK) == 0));
}

/* Processes that report where they are each time they are poked. */
struct watcher {
    int poke[2], done[2];
};

static void watcher(struct watcher *w, const char *who, const char *dir) {
    pipe(w->poke);
    pipe(w->done);
    fflush(stdout);
    if (fork() != 0) {
        char c;
        close(w->poke[0]);
        close(w->done[1]);
        read(w->done[0], &c, 1);
        return;
    }
    close(w->poke[1]);
    chdir(dir);
    write(w->done[1], "r", 1);
    char c;
    while (read(w->poke[0], &c, 1) == 1) {
        where(who);
        fflush(stdout);
        write(w->done[1], "d", 1);
    }
    _exit(0);
}

static void ask(struct watcher *w) {
    char c;
    write(w->poke[1], "p", 1);
    read(w->done[0], &c, 1);
}

/* Mount points outside /old, in mountinfo order. */
static void mounts(const char *label) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024];
    printf("%s:", label);
    while (f && fgets(line, sizeof line, f)) {
        char mp[512];
        if (sscanf(line, "%*d %*d %*s %*s %511s", mp) == 1 && strncmp(mp, "/old", 4) != 0)
            printf(" %s", mp);
    }
    printf("%s\n", f ? "" : " (no /proc)");
    if (f)
        fclose(f);
}

int main(void) {
    setup();
    if (unshare(CLONE_NEWNS) == 0)
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    if (!mkdtemp(base)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    printf("scratch: %s\n", res(mount("none", base, "tmpfs", 0, NULL)));
    mkdir(P("old"), 0755);
    mkdir(P("dir"), 0755);
    mkdir(P("dir/m"), 0755);
    close(open(P("marker"), O_CREAT | O_WRONLY, 0644));

    /* Errors, with nothing changed. */
    printf("new root not a mount point: %s\n", res(piv(P("dir"), P("old"))));
    char other[] = "/tmp/rvt-pivot2-XXXXXX";
    if (mkdtemp(other) && mount("none", other, "tmpfs", 0, NULL) == 0) {
        printf("put_old outside the new root: %s\n", res(piv(base, other)));
        umount2(other, 0);
        rmdir(other);
    }
    printf("put_old missing: %s\n", res(piv(base, P("nope"))));
    printf("new root missing: %s\n", res(piv(P("nope"), P("old"))));
    printf("new root a file: %s\n", res(piv(P("marker"), P("old"))));
    printf("put_old a file: %s\n", res(piv(base, P("marker"))));
    printf("new root is the current root: %s\n", res(piv("/", P("old"))));
    printf("put_old on the current root's mount: %s\n", res(piv(base, "/")));
    printf("bad pointer: %s\n", res(piv((const char *)8, P("old"))));
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        setuid(65534);
        printf("as nobody: %s\n", res(piv(base, P("old"))));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("tmpfs on dir/m: %s\n", res(mount("none", P("dir/m"), "tmpfs", 0, NULL)));
    mkdir(P("dir/m/old"), 0755);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        chroot(P("dir"));
        printf("from a chroot that is not a mount root: %s\n", res(piv("/m", "/m/old")));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    umount2(P("dir/m"), 0);

    /* The pivot. */
    struct watcher w1, w2;
    watcher(&w1, "watcher at /", "/");
    watcher(&w2, "watcher in dir", P("dir"));
    chdir("/");
    printf("pivot_root: %s\n", res(piv(base, P("old"))));
    where("caller");
    ask(&w1);
    ask(&w2);
    char oldbase[400];
    snprintf(oldbase, sizeof oldbase, "/old%s", base);
    printf("old root at /old: %s\n", yesno(access("/old/tmp", F_OK) == 0));
    ls("the new root's old place, seen through /old", oldbase);
    /* The scratch directory is uncovered now: remove it (natively it is
     * the host's). */
    printf("remove it: %s\n", res(rmdir(oldbase)));
    ls("/", "/");
    mkdir("/proc", 0555);
    printf("mount proc: %s\n", res(mount("proc", "/proc", "proc", 0, NULL)));
    mounts("mounts outside /old");
    printf("umount /old: %s\n", res(umount2("/old", 0)));
    printf("umount -l /old: %s\n", res(umount2("/old", MNT_DETACH)));
    ls("/old", "/old");
    mounts("mounts after");
    printf("pivot again onto the root's own mount: %s\n", res(piv("/", "/old")));

    /* mount --bind nr nr; cd nr; pivot_root . .; umount -l . */
    mkdir("/nr", 0755);
    close(open("/nr/inner-marker", O_CREAT | O_WRONLY, 0644));
    printf("bind nr onto itself: %s\n", res(mount("/nr", "/nr", NULL, MS_BIND, NULL)));
    printf("cd nr: %s\n", res(chdir("/nr")));
    printf("pivot_root . .: %s\n", res(piv(".", ".")));
    where("caller after . .");
    ask(&w1);
    ask(&w2);
    ls("/ after . .", "/");
    printf("umount -l .: %s\n", res(umount2(".", MNT_DETACH)));
    printf("cd /: %s\n", res(chdir("/")));
    where("caller after umount");
    ask(&w1);
    ask(&w2);
    ls("/", "/");
    ls("/..", "/..");
    mkdir("/proc", 0555);
    printf("mount proc: %s\n", res(mount("proc", "/proc", "proc", 0, NULL)));
    mounts("mounts at the end");

    close(w1.poke[1]);
    close(w2.poke[1]);
    while (wait(NULL) > 0)
        ;
    return 0;
}
