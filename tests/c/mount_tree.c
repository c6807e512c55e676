/* Mount trees as root: MS_BIND|MS_REC carries the mounts below the source
 * along (copies at the corresponding places, keeping their read-only
 * flags, unmounted on their own), a plain MS_BIND does not; MS_MOVE moves
 * a mount with its submounts (working directories inside follow) and
 * fails for non-mounts, the root, a mount below itself and a directory
 * over a file. Mount points are printed relative to the scratch
 * directory, in /proc/self/mountinfo order. Natively it runs in a private
 * mount namespace of its own so the host's table is untouched. */
#include "common.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

static const char *res(int r) {
    return r >= 0 ? "ok" : errname(errno);
}

static char base[] = "/tmp/rvt-mtree-XXXXXX";

static const char *P(const char *rel) {
    static char buf[8][300];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", base, rel);
    return buf[i];
}

static const char *exists(const char *rel) {
    return access(P(rel), F_OK) == 0 ? "yes" : "no";
}

static void touch(const char *rel) {
    int fd = open(P(rel), O_CREAT | O_WRONLY, 0644);
    if (fd >= 0)
        close(fd);
}

static void tmpfs(const char *rel) {
    printf("tmpfs on %s: %s\n", rel, res(mount("none", P(rel), "tmpfs", 0, NULL)));
}

/* The mount points below the scratch directory, as mountinfo lists them. */
static void list(const char *label) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024];
    size_t bl = strlen(base);
    printf("%s:", label);
    while (f && fgets(line, sizeof line, f)) {
        char mp[512], opts[256];
        if (sscanf(line, "%*d %*d %*s %*s %511s %255s", mp, opts) != 2)
            continue;
        if (strncmp(mp, base, bl) == 0 && mp[bl] == '/')
            printf(" %s(%.2s)", mp + bl + 1, opts);
    }
    printf("\n");
    if (f)
        fclose(f);
}

static int is_ro(const char *rel) {
    struct statvfs s;
    return statvfs(P(rel), &s) == 0 && (s.f_flag & ST_RDONLY);
}

int main(void) {
    setup();
    if (unshare(CLONE_NEWNS) == 0)
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    if (!mkdtemp(base)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    /* Everything happens on a scratch tmpfs. */
    printf("scratch: %s\n", res(mount("none", base, "tmpfs", 0, NULL)));
    const char *dirs[] = {"src", "src/a", "src/c", "src/plain", "d1", "d2", "d3", "d4", "m1", "m2", "m3", "m4"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        mkdir(P(dirs[i]), 0755);
    touch("src/top");
    tmpfs("src/a");
    touch("src/a/fa");
    mkdir(P("src/a/b"), 0755);
    tmpfs("src/a/b");
    touch("src/a/b/fb");
    tmpfs("src/c");
    touch("src/c/fc");
    printf("bind-remount src/c ro: %s\n", res(mount(NULL, P("src/c"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));
    list("before");

    /* A plain bind: only the top. */
    printf("bind src d1: %s\n", res(mount(P("src"), P("d1"), NULL, MS_BIND, NULL)));
    printf("d1: top %s, a/fa %s, c/fc %s\n", exists("d1/top"), exists("d1/a/fa"), exists("d1/c/fc"));

    /* A recursive bind: copies of the submounts. */
    printf("rbind src d2: %s\n", res(mount(P("src"), P("d2"), NULL, MS_BIND | MS_REC, NULL)));
    printf("d2: top %s, a/fa %s, a/b/fb %s, c/fc %s\n", exists("d2/top"), exists("d2/a/fa"),
           exists("d2/a/b/fb"), exists("d2/c/fc"));
    printf("d2/c read-only like src/c: %s, d2 itself: %s\n", yesno(is_ro("d2/c")), yesno(is_ro("d2")));
    touch("d2/a/new");
    printf("written through d2/a, seen in src/a: %s\n", exists("src/a/new"));
    list("after rbind");
    printf("umount d2 (busy with submounts): %s\n", res(umount2(P("d2"), 0)));
    printf("umount d2/a/b: %s\n", res(umount2(P("d2/a/b"), 0)));
    printf("src/a/b/fb still there: %s, d2/a/b/fb: %s\n", exists("src/a/b/fb"), exists("d2/a/b/fb"));

    /* A recursive bind of a directory inside a mount. */
    printf("rbind src/a d3: %s\n", res(mount(P("src/a"), P("d3"), NULL, MS_BIND | MS_REC, NULL)));
    printf("d3: fa %s, b/fb %s\n", exists("d3/fa"), exists("d3/b/fb"));
    mkdir(P("src/plain/in"), 0755);
    tmpfs("src/plain/in");
    touch("src/plain/in/deep");
    printf("rbind src/plain d4: %s\n", res(mount(P("src/plain"), P("d4"), NULL, MS_BIND | MS_REC, NULL)));
    printf("d4/in/deep: %s\n", exists("d4/in/deep"));
    list("after more rbinds");
    printf("lazy umount d2: %s\n", res(umount2(P("d2"), MNT_DETACH)));
    printf("after: d2/a/fa %s, src/a/fa %s, src/c/fc %s\n", exists("d2/a/fa"), exists("src/a/fa"),
           exists("src/c/fc"));
    printf("rbind onto a directory inside the source: %s\n",
           res(mount(P("src"), P("src/plain"), NULL, MS_BIND | MS_REC, NULL)));
    printf("src/plain/a/fa: %s, src/plain/plain/in/deep: %s, src/plain/plain/plain/in: %s\n",
           exists("src/plain/a/fa"), exists("src/plain/plain/in/deep"), exists("src/plain/plain/plain/in"));
    list("after rbind into itself");
    printf("lazy umount it: %s\n", res(umount2(P("src/plain"), MNT_DETACH)));

    /* MS_MOVE. */
    tmpfs("m1");
    touch("m1/f1");
    mkdir(P("m1/sub"), 0755);
    tmpfs("m1/sub");
    touch("m1/sub/fs");
    int ready[2], moved[2];
    pipe(ready);
    pipe(moved);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        /* A working directory inside the moved mount goes along. */
        char buf[600];
        chdir(P("m1/sub"));
        write(ready[1], "r", 1);
        read(moved[0], buf, 1);
        if (getcwd(buf, sizeof buf))
            printf("child cwd after the move: %s, fs here: %s\n",
                   strncmp(buf, base, strlen(base)) == 0 ? buf + strlen(base) : buf,
                   access("fs", F_OK) == 0 ? "yes" : "no");
        fflush(stdout);
        _exit(0);
    }
    char x;
    read(ready[0], &x, 1);
    printf("move m1 m2: %s\n", res(mount(P("m1"), P("m2"), NULL, MS_MOVE, NULL)));
    write(moved[1], "m", 1);
    waitpid(c, NULL, 0);
    printf("m2/f1 %s, m2/sub/fs %s, m1/f1 %s\n", exists("m2/f1"), exists("m2/sub/fs"), exists("m1/f1"));
    list("after move");
    printf("umount m1 (no longer a mount): %s\n", res(umount2(P("m1"), 0)));
    mkdir(P("m2/inner"), 0755);
    printf("move m2 below itself: %s\n", res(mount(P("m2"), P("m2/inner"), NULL, MS_MOVE, NULL)));
    printf("move m2 onto its own submount: %s\n", res(mount(P("m2"), P("m2/sub"), NULL, MS_MOVE, NULL)));
    printf("move a non-mount: %s\n", res(mount(P("m2/inner"), P("m3"), NULL, MS_MOVE, NULL)));
    printf("move src/a/b onto m3: %s\n", res(mount(P("src/a/b"), P("m3"), NULL, MS_MOVE, NULL)));
    printf("move /: %s\n", res(mount("/", P("m3"), NULL, MS_MOVE, NULL)));
    printf("move with no source: %s\n", res(mount(NULL, P("m3"), NULL, MS_MOVE, NULL)));
    printf("move with an empty source: %s\n", res(mount("", P("m3"), NULL, MS_MOVE, NULL)));
    printf("move a missing source: %s\n", res(mount(P("nope"), P("m3"), NULL, MS_MOVE, NULL)));
    touch("file");
    printf("move a directory mount onto a file: %s\n", res(mount(P("m2"), P("file"), NULL, MS_MOVE, NULL)));
    printf("move the submount out: %s\n", res(mount(P("m2/sub"), P("m3"), NULL, MS_MOVE, NULL)));
    printf("m3/fs %s, m2/sub/fs %s\n", exists("m3/fs"), exists("m2/sub/fs"));

    /* Stacked mounts: the top one moves, the one below shows again. */
    tmpfs("m4");
    touch("m4/lower");
    tmpfs("m4");
    touch("m4/upper");
    printf("move the top of a stack: %s\n", res(mount(P("m4"), P("m1"), NULL, MS_MOVE, NULL)));
    printf("m4/lower %s, m4/upper %s, m1/upper %s\n", exists("m4/lower"), exists("m4/upper"), exists("m1/upper"));
    list("final");

    /* A file bind mount moved onto another file. */
    touch("file2");
    touch("src/top2");
    printf("bind a file: %s\n", res(mount(P("src/top"), P("file"), NULL, MS_BIND, NULL)));
    printf("move it onto another file: %s\n", res(mount(P("file"), P("file2"), NULL, MS_MOVE, NULL)));
    printf("umount file2: %s, umount file: %s\n", res(umount2(P("file2"), 0)), res(umount2(P("file"), 0)));

    umount2(base, MNT_DETACH);
    rmdir(base);
    return 0;
}
