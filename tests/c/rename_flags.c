/* renameat2 flags: RENAME_NOREPLACE and RENAME_EXCHANGE (files,
 * directories, mixed, across directories with the parents' link counts),
 * their error cases and flag validation, the inotify events of an
 * exchange. Runs in fresh directories under each base given as an
 * argument (default /tmp, a tmpfs in the sandbox, and /var/tmp, the
 * overlay root). */
#define _GNU_SOURCE
#include "common.h"
#include <dirent.h>
#include <sys/inotify.h>

static char d[256];

static const char *p(const char *rel) {
    static char bufs[4][512];
    static int i;
    char *b = bufs[i++ % 4];
    snprintf(b, 512, "%s/%s", d, rel);
    return b;
}

static void mkfile(const char *rel, const char *data) {
    int fd = open(p(rel), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    write_all(fd, data, strlen(data));
    close(fd);
}

static const char *content(const char *rel) {
    static char bufs[4][64];
    static int i;
    char *b = bufs[i++ % 4];
    int fd = open(p(rel), O_RDONLY);
    if (fd < 0)
        return errname(errno);
    ssize_t n = read(fd, b, 63);
    close(fd);
    b[n < 0 ? 0 : n] = 0;
    return b;
}

static const char *kind(const char *rel) {
    struct stat st;
    if (lstat(p(rel), &st) < 0)
        return errname(errno);
    return S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : "other";
}

static long nlink(const char *rel) {
    struct stat st;
    return stat(p(rel), &st) < 0 ? -1 : (long)st.st_nlink;
}

static void r2(const char *label, const char *from, const char *to, unsigned flags) {
    int r = renameat2(AT_FDCWD, p(from), AT_FDCWD, p(to), flags);
    printf("%s: %s\n", label, r < 0 ? errname(errno) : "ok");
}

static void drain(int in) {
    char buf[4096] __attribute__((aligned(8)));
    uint32_t last = 0;
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (char *q = buf; q < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)q;
            printf("  event wd=%d mask=0x%x cookie=%s name=%s\n", e->wd, e->mask,
                   !e->cookie ? "0" : e->cookie == last ? "same" : "new", e->len ? e->name : "-");
            if (e->cookie)
                last = e->cookie;
            q += sizeof *e + e->len;
        }
    }
}

/* Removes a directory tree (no shell: a bundle may have none). */
static int remove_tree(const char *dir) {
    DIR *dd = opendir(dir);
    if (!dd)
        return -1;
    struct dirent *e;
    while ((e = readdir(dd))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR)
            remove_tree(sub);
        else
            unlink(sub);
    }
    closedir(dd);
    return rmdir(dir);
}

static void scenario(const char *base) {
    snprintf(d, sizeof d, "%s/rvisor-ren2-%d", base, getpid());
    CHECK(mkdir(d, 0755) == 0);
    CHECK(mkdir(p("d1"), 0755) == 0);
    CHECK(mkdir(p("d2"), 0755) == 0);
    mkfile("a", "A");
    mkfile("b", "B");

    /* Flag validation. */
    r2("unknown flag", "a", "b", 1u << 3);
    r2("noreplace|exchange", "a", "b", RENAME_NOREPLACE | RENAME_EXCHANGE);
    r2("whiteout|exchange", "a", "b", RENAME_WHITEOUT | RENAME_EXCHANGE);

    /* RENAME_NOREPLACE. */
    r2("noreplace onto existing", "a", "b", RENAME_NOREPLACE);
    printf("  a=%s b=%s\n", content("a"), content("b"));
    r2("noreplace to new name", "a", "c", RENAME_NOREPLACE);
    printf("  a=%s c=%s\n", content("a"), content("c"));
    r2("noreplace missing source", "a", "x", RENAME_NOREPLACE);
    r2("noreplace onto dir", "c", "d1", RENAME_NOREPLACE);
    r2("noreplace onto .", "c", "d1/.", RENAME_NOREPLACE);
    r2("plain onto .", "c", "d1/.", 0);
    CHECK(link(p("c"), p("c2")) == 0);
    r2("noreplace onto own hard link", "c", "c2", RENAME_NOREPLACE);
    r2("plain onto own hard link", "c", "c2", 0);
    printf("  c=%s c2=%s\n", content("c"), content("c2"));
    CHECK(unlink(p("c2")) == 0);
    r2("noreplace dir to new name", "d1", "d3", RENAME_NOREPLACE);
    r2("noreplace dir back", "d3", "d1", RENAME_NOREPLACE);

    /* RENAME_EXCHANGE of files. */
    r2("exchange files", "b", "c", RENAME_EXCHANGE);
    printf("  b=%s c=%s\n", content("b"), content("c"));
    r2("exchange with missing target", "b", "zz", RENAME_EXCHANGE);
    r2("exchange missing source", "zz", "b", RENAME_EXCHANGE);
    r2("exchange trailing slash on file", "b", "c/", RENAME_EXCHANGE);
    CHECK(link(p("b"), p("b2")) == 0);
    r2("exchange hard links of one file", "b", "b2", RENAME_EXCHANGE);
    CHECK(unlink(p("b2")) == 0);

    /* Across directories, and file <-> directory. */
    mkfile("d1/f", "F");
    mkfile("d2/g", "G");
    r2("exchange across dirs", "d1/f", "d2/g", RENAME_EXCHANGE);
    printf("  d1/f=%s d2/g=%s\n", content("d1/f"), content("d2/g"));
    CHECK(mkdir(p("d1/sub"), 0755) == 0);
    mkfile("d1/sub/inner", "I");
    printf("  nlink d1=%ld d2=%ld\n", nlink("d1"), nlink("d2"));
    r2("exchange dir with file across dirs", "d1/sub", "d2/g", RENAME_EXCHANGE);
    printf("  d1/sub is %s, d2/g is %s, d2/g/inner=%s, d1/sub=%s\n", kind("d1/sub"), kind("d2/g"),
           content("d2/g/inner"), content("d1/sub"));
    printf("  nlink d1=%ld d2=%ld\n", nlink("d1"), nlink("d2"));
    r2("exchange dir with its ancestor", "d2/g", "d2", RENAME_EXCHANGE);
    r2("exchange ancestor with its dir", "d2", "d2/g", RENAME_EXCHANGE);
    r2("exchange dirs", "d1", "d2", RENAME_EXCHANGE);
    printf("  d1/g is %s, d2/sub is %s\n", kind("d1/g"), kind("d2/sub"));
    CHECK(mkdir(p("d1/g/deep"), 0755) == 0);
    r2("exchange dirs across levels", "d1/g/deep", "d2", RENAME_EXCHANGE);
    printf("  d2 is %s, d1/g/inner=%s, d1/g/deep/sub is %s\n", kind("d2"), content("d1/g/inner"),
           kind("d1/g/deep/sub"));
    printf("  nlink d1/g=%ld d1/g/deep=%ld top=%ld\n", nlink("d1/g"), nlink("d1/g/deep"), nlink("."));

    /* Plain rename errors the flags share. */
    r2("file onto its ancestor dir", "d1/g/inner", "d1", 0);
    r2("dir onto its ancestor dir", "d1/g/deep", "d1", 0);
    r2("dir into itself", "d1", "d1/g/x", 0);
    r2("noreplace into itself", "d1", "d1/g/x", RENAME_NOREPLACE);

    /* inotify events of an exchange. */
    int in = inotify_init1(IN_NONBLOCK);
    CHECK(in >= 0);
    int w = inotify_add_watch(in, d, IN_MOVE | IN_ATTRIB | IN_CREATE);
    int wb = inotify_add_watch(in, p("b"), IN_MOVE_SELF | IN_ATTRIB);
    int wc = inotify_add_watch(in, p("c"), IN_MOVE_SELF | IN_ATTRIB);
    printf("watches %d %d %d\n", w, wb, wc);
    r2("exchange watched", "b", "c", RENAME_EXCHANGE);
    drain(in);
    r2("noreplace watched", "b", "n", RENAME_NOREPLACE);
    drain(in);
    close(in);

    printf("cleaned up: %s\n", remove_tree(d) == 0 ? "yes" : errname(errno));
}

int main(int argc, char **argv) {
    setup();
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            printf("== %s\n", argv[i]);
            scenario(argv[i]);
        }
        return 0;
    }
    printf("== /tmp\n");
    scenario("/tmp");
    printf("== /var/tmp\n");
    scenario("/var/tmp");
    return 0;
}
