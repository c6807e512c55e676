/* Concurrent namespace changes: threads and a child process rename, link,
 * unlink and exchange names in a loop while others look them up. What is
 * printed are invariants that hold whatever the interleaving: a name
 * replaced by rename(2) never disappears for readers, link counts stay in
 * range, every call fails only with the errors its race allows, and the
 * final state is exact. Runs on /tmp (tmpfs in the sandbox) and /var/tmp
 * (the overlay root). */
#define _GNU_SOURCE
#include "common.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define ITER 1500

static char d[256];
static atomic_int stop, started;

/* Readers announce themselves, so writers race with running readers
 * whatever the scheduling; readers run at least once. */
static void reader_started(void) { atomic_fetch_add(&started, 1); }

static void wait_readers(int n) {
    while (atomic_load(&started) < n)
        sched_yield();
}

static const char *p(const char *rel, char *buf) {
    snprintf(buf, 512, "%s/%s", d, rel);
    return buf;
}

static void mkfile(const char *rel, const char *data) {
    char b[512];
    int fd = open(p(rel, b), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    write_all(fd, data, strlen(data));
    close(fd);
}

static ino_t ino_of(const char *rel) {
    char b[512];
    struct stat st;
    return stat(p(rel, b), &st) == 0 ? st.st_ino : 0;
}

/* ---- A: atomic replacement ----------------------------------------- */

static atomic_int a_missing, a_torn, a_reads;

static void *a_writer(void *arg) {
    (void)arg;
    char tmp[512], target[512];
    p("target", target);
    wait_readers(2);
    for (int i = 0; i < ITER; i++) {
        char name[32], data[32];
        snprintf(name, sizeof name, "tmp.%d", i);
        snprintf(data, sizeof data, "value-%06d", i);
        mkfile(name, data);
        CHECK(rename(p(name, tmp), target) == 0);
    }
    atomic_store(&stop, 1);
    return NULL;
}

static void *a_reader(void *arg) {
    (void)arg;
    char target[512];
    p("target", target);
    reader_started();
    do {
        int fd = open(target, O_RDONLY);
        if (fd < 0) {
            atomic_fetch_add(&a_missing, 1);
            continue;
        }
        char b[32] = {0};
        ssize_t n = read(fd, b, sizeof b);
        close(fd);
        if (n != 12 || strncmp(b, "value-", 6))
            atomic_fetch_add(&a_torn, 1);
        atomic_fetch_add(&a_reads, 1);
    } while (!atomic_load(&stop));
    return NULL;
}

/* ---- B: link/unlink churn on one inode ------------------------------ */

static atomic_int b_bad_errors, b_bad_nlink, b_stats;

static void *b_linker(void *arg) {
    const char *name = arg;
    char src[512], dst[512];
    p("src", src);
    p(name, dst);
    for (int i = 0; i < ITER; i++) {
        if (link(src, dst) != 0 && errno != EEXIST)
            atomic_fetch_add(&b_bad_errors, 1);
        if (unlink(dst) != 0 && errno != ENOENT)
            atomic_fetch_add(&b_bad_errors, 1);
    }
    return NULL;
}

static void *b_unlinker(void *arg) {
    (void)arg;
    /* Races the linkers on the same names. */
    char l1[512], l2[512];
    p("l1", l1);
    p("l2", l2);
    for (int i = 0; i < ITER; i++) {
        if (unlink(i & 1 ? l1 : l2) != 0 && errno != ENOENT)
            atomic_fetch_add(&b_bad_errors, 1);
    }
    return NULL;
}

static void *b_statter(void *arg) {
    (void)arg;
    char src[512];
    p("src", src);
    reader_started();
    do {
        struct stat st;
        if (stat(src, &st) != 0 || st.st_nlink < 1 || st.st_nlink > 3)
            atomic_fetch_add(&b_bad_nlink, 1);
        atomic_fetch_add(&b_stats, 1);
    } while (!atomic_load(&stop));
    return NULL;
}

/* ---- C: rename ping-pong across directories ------------------------- */

static atomic_int c_bad_errors, c_moves;

static void c_pingpong(const char *from, const char *to, int iter) {
    char f[512], t[512];
    p(from, f);
    p(to, t);
    for (int i = 0; i < iter; i++) {
        if (rename(f, t) == 0)
            atomic_fetch_add(&c_moves, 1);
        else if (errno != ENOENT)
            atomic_fetch_add(&c_bad_errors, 1);
    }
}

static void *c_forward(void *arg) {
    (void)arg;
    c_pingpong("d1/x", "d2/x", ITER);
    return NULL;
}

static void *c_back(void *arg) {
    (void)arg;
    c_pingpong("d2/x", "d1/x", ITER);
    return NULL;
}

/* ---- D: exchange under readers -------------------------------------- */

static atomic_int d_bad, d_reads;

static void *d_exchanger(void *arg) {
    (void)arg;
    char e1[512], e2[512];
    p("e1", e1);
    p("e2", e2);
    wait_readers(2);
    for (int i = 0; i < ITER; i++)
        if (renameat2(AT_FDCWD, e1, AT_FDCWD, e2, RENAME_EXCHANGE) != 0)
            atomic_fetch_add(&d_bad, 1);
    atomic_store(&stop, 1);
    return NULL;
}

static void *d_reader(void *arg) {
    const char *name = arg;
    char path[512];
    p(name, path);
    reader_started();
    do {
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            atomic_fetch_add(&d_bad, 1);
            continue;
        }
        char b[8] = {0};
        if (read(fd, b, sizeof b) != 5 || (strcmp(b, "first") && strcmp(b, "secnd")))
            atomic_fetch_add(&d_bad, 1);
        close(fd);
        atomic_fetch_add(&d_reads, 1);
    } while (!atomic_load(&stop));
    return NULL;
}

static void run(void *(*fns[])(void *), void *args[], int n) {
    pthread_t t[8];
    atomic_store(&stop, 0);
    atomic_store(&started, 0);
    for (int i = 0; i < n; i++)
        CHECK(pthread_create(&t[i], NULL, fns[i], args[i]) == 0);
    for (int i = 0; i < n; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
}

static void scenario(const char *base) {
    char b1[512], b2[512];
    snprintf(d, sizeof d, "%s/rvisor-races-%d", base, getpid());
    CHECK(mkdir(d, 0755) == 0);

    /* A */
    mkfile("target", "value-000000");
    void *(*fa[])(void *) = {a_writer, a_reader, a_reader};
    void *aa[] = {NULL, NULL, NULL};
    run(fa, aa, 3);
    char last[32] = {0};
    int fd = open(p("target", b1), O_RDONLY);
    CHECK(fd >= 0 && read(fd, last, sizeof last) == 12);
    close(fd);
    printf("replace: missing %d, torn %d, readers ran %s, final %s\n", a_missing, a_torn,
           yesno(a_reads > 0), last);
    CHECK(unlink(b1) == 0);

    /* B */
    mkfile("src", "s");
    ino_t src_ino = ino_of("src");
    void *(*fb[])(void *) = {b_linker, b_linker, b_unlinker};
    void *ab[] = {"l1", "l2", NULL};
    atomic_store(&stop, 0);
    atomic_store(&started, 0);
    pthread_t st;
    CHECK(pthread_create(&st, NULL, b_statter, NULL) == 0);
    wait_readers(1);
    run(fb, ab, 3);
    atomic_store(&stop, 1);
    CHECK(pthread_join(st, NULL) == 0);
    struct stat s;
    CHECK(stat(p("src", b1), &s) == 0);
    printf("link churn: bad errors %d, bad nlink %d, stats ran %s, final nlink %ld, same inode %s, "
           "l1 %s, l2 %s\n",
           b_bad_errors, b_bad_nlink, yesno(b_stats > 0), (long)s.st_nlink,
           yesno(s.st_ino == src_ino), ino_of("l1") ? "exists" : "gone",
           ino_of("l2") ? "exists" : "gone");
    CHECK(unlink(b1) == 0);

    /* C: two threads and a child process move one file back and forth. */
    CHECK(mkdir(p("d1", b1), 0755) == 0 && mkdir(p("d2", b2), 0755) == 0);
    mkfile("d1/x", "moving");
    ino_t x_ino = ino_of("d1/x");
    pid_t c = fork();
    if (c == 0) {
        c_pingpong("d2/x", "d1/x", ITER);
        _exit(c_bad_errors);
    }
    void *(*fc[])(void *) = {c_forward, c_back};
    void *ac[] = {NULL, NULL};
    run(fc, ac, 2);
    int status;
    CHECK(waitpid(c, &status, 0) == c);
    int in1 = ino_of("d1/x") != 0, in2 = ino_of("d2/x") != 0;
    ino_t now = in1 ? ino_of("d1/x") : ino_of("d2/x");
    printf("ping-pong: bad errors %d (child %d), moved %s, exactly one name %s, same inode %s\n",
           c_bad_errors, WEXITSTATUS(status), yesno(c_moves > 0), yesno(in1 + in2 == 1),
           yesno(now == x_ino));
    CHECK(unlink(p(in1 ? "d1/x" : "d2/x", b1)) == 0);
    struct stat s1, s2;
    CHECK(stat(p("d1", b1), &s1) == 0 && stat(p("d2", b2), &s2) == 0);
    printf("  dir link counts %ld %ld\n", (long)s1.st_nlink, (long)s2.st_nlink);
    CHECK(rmdir(b1) == 0 && rmdir(b2) == 0);

    /* D */
    mkfile("e1", "first");
    mkfile("e2", "secnd");
    void *(*fd_[])(void *) = {d_exchanger, d_reader, d_reader};
    void *ad[] = {NULL, "e1", "e2"};
    run(fd_, ad, 3);
    char c1[8] = {0}, c2[8] = {0};
    int f1 = open(p("e1", b1), O_RDONLY), f2 = open(p("e2", b2), O_RDONLY);
    CHECK(f1 >= 0 && f2 >= 0);
    CHECK(read(f1, c1, 7) == 5 && read(f2, c2, 7) == 5);
    close(f1);
    close(f2);
    printf("exchange: bad %d, readers ran %s, final e1=%s e2=%s\n", d_bad, yesno(d_reads > 0), c1,
           c2);
    CHECK(unlink(b1) == 0 && unlink(b2) == 0);

    /* Leftover temporaries of A: none (each was renamed away). */
    printf("tmp files left: %s\n", ino_of("tmp.0") ? "yes" : "no");
    CHECK(rmdir(d) == 0);
    a_missing = a_torn = a_reads = 0;
    b_bad_errors = b_bad_nlink = b_stats = 0;
    c_bad_errors = c_moves = 0;
    d_bad = d_reads = 0;
}

int main(void) {
    setup();
    printf("== /tmp\n");
    scenario("/tmp");
    printf("== /var/tmp\n");
    scenario("/var/tmp");
    return 0;
}
