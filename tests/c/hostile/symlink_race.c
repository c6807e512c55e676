/* Hostile workload: a directory is swapped for a symlink pointing out of
 * the root while other tasks open paths through it.
 *
 *   symlink_race race DIR N
 *     Makes DIR/d (a directory holding secret-sentinel = "inside-d") and
 *     the symlinks DIR/s-root -> / and DIR/s-up -> ../../../../..; a
 *     writer thread then swaps DIR/d with one of the symlinks N times
 *     (four renames per swap, alternating the symlink), while the main
 *     thread and a forked child read DIR/d/secret-sentinel (and a few
 *     variants) in a loop.
 *   symlink_race read DIR
 *     Only reads, until DIR/stop exists (the host swaps DIR/d itself);
 *     creates DIR/started once it runs.
 *
 * A read may see "inside-d" (d was the directory), "inside-root" (d was a
 * symlink, which the sandbox resolves inside its own root, where
 * /secret-sentinel holds that) or fail (ENOENT, ENOTDIR, ...: the name was
 * mid-swap). Anything else is a leak and is printed with its content.
 * The last line is "leaks L" followed by the outcome counts on stderr. */
#include "../common.h"
#include <pthread.h>

static const char *dir;
static volatile int writer_done;
static int renames_ok;

/* DIR/rest, freshly allocated (callers keep them for the whole run). */
static char *path_in(const char *rest) {
    char *p = NULL;
    CHECK(asprintf(&p, "%s/%s", dir, rest) > 0);
    return p;
}

/* Reads `path`; returns 1 if what it saw is a leak. */
static int read_one(const char *path, long *seen_dir, long *seen_root, long *failed) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        (*failed)++;
        return 0;
    }
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    if (strcmp(buf, "inside-d\n") == 0) {
        (*seen_dir)++;
        return 0;
    }
    if (strcmp(buf, "inside-root\n") == 0) {
        (*seen_root)++;
        return 0;
    }
    printf("LEAK via %s: %s\n", path, buf);
    return 1;
}

static long reader(int (*keep_going)(void)) {
    long leaks = 0, seen_dir = 0, seen_root = 0, failed = 0, rounds = 0;
    const char *paths[] = {
        path_in("d/secret-sentinel"),
        path_in("d/../secret-sentinel"),
        path_in("d/./secret-sentinel"),
        path_in("d/../../secret-sentinel"),
    };
    int dfd = open(dir, O_PATH | O_DIRECTORY);
    CHECK(dfd >= 0);
    while (keep_going()) {
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            leaks += read_one(paths[i], &seen_dir, &seen_root, &failed);
        /* Relative to a directory fd, too. */
        int fd = openat(dfd, "d/secret-sentinel", O_RDONLY);
        if (fd >= 0) {
            char buf[128];
            ssize_t n = read(fd, buf, sizeof buf - 1);
            buf[n > 0 ? n : 0] = 0;
            close(fd);
            if (strcmp(buf, "inside-d\n") != 0 && strcmp(buf, "inside-root\n") != 0) {
                printf("LEAK via openat d/secret-sentinel: %s\n", buf);
                leaks++;
            }
        }
        rounds++;
    }
    close(dfd);
    fprintf(stderr, "rounds %ld dir %ld root %ld failed %ld\n", rounds, seen_dir, seen_root,
            failed);
    return leaks;
}

static void *writer(void *arg) {
    long n = (long)arg;
    char *d = path_in("d"), *away = path_in("d-away");
    char *links[2] = {path_in("s-root"), path_in("s-up")};
    for (long i = 0; i < n; i++) {
        const char *link = links[i % 2];
        renames_ok += rename(d, away) == 0;
        renames_ok += rename(link, d) == 0;
        renames_ok += rename(d, link) == 0;
        renames_ok += rename(away, d) == 0;
    }
    writer_done = 1;
    return NULL;
}

static int until_writer_done(void) { return !writer_done; }

static char *stop_path;
static int stop_file_absent(void) {
    struct stat st;
    return stat(stop_path, &st) != 0;
}

/* Keeps the forked reader going until the parent says stop (its own
 * `writer_done` is a copy). */
static int pipe_r = -1;
static int until_pipe_closed(void) {
    char c;
    return read(pipe_r, &c, 1) < 0 && errno == EAGAIN;
}

static void setup_tree(void) {
    CHECK(mkdir(path_in("d"), 0755) == 0);
    int fd = open(path_in("d/secret-sentinel"), O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    write_all(fd, "inside-d\n", 9);
    close(fd);
    CHECK(symlink("/", path_in("s-root")) == 0);
    CHECK(symlink("../../../../..", path_in("s-up")) == 0);
}

int main(int argc, char **argv) {
    setup();
    CHECK(argc >= 3);
    dir = argv[2];
    if (strcmp(argv[1], "read") == 0) {
        stop_path = path_in("stop");
        int fd = open(path_in("started"), O_WRONLY | O_CREAT, 0644);
        CHECK(fd >= 0);
        close(fd);
        long leaks = reader(stop_file_absent);
        printf("leaks %ld\n", leaks);
        return 0;
    }
    CHECK(strcmp(argv[1], "race") == 0 && argc == 4);
    long n = atol(argv[3]);
    setup_tree();

    int p[2];
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(p[1]);
        pipe_r = p[0];
        long leaks = reader(until_pipe_closed);
        printf("child leaks %ld\n", leaks);
        fflush(stdout);
        _exit(0);
    }
    close(p[0]);

    pthread_t w;
    CHECK(pthread_create(&w, NULL, writer, (void *)n) == 0);
    long leaks = reader(until_writer_done);
    CHECK(pthread_join(w, NULL) == 0);
    close(p[1]);
    int st;
    CHECK(waitpid(child, &st, 0) == child);
    print_status("child", st);
    printf("renames %d of %ld\n", renames_ok, 4 * n);
    printf("leaks %ld\n", leaks);
    return 0;
}
