/* Permission checks for an unprivileged user (uid/gid 1000): files and
 * directories made by root with various modes, then the process drops to
 * uid 1000 and tries to read, write, create, remove, rename, chmod, chown
 * and execute; sticky and setgid directories; umask. Prints errno names. */
#include "common.h"
#include <dirent.h>
#include <grp.h>

static char base[256];

static const char *res(int r) {
    static char b[64];
    if (r >= 0)
        return "ok";
    snprintf(b, sizeof b, "%s", strerrorname_np(errno));
    return b;
}

static void mk(const char *name, mode_t mode, const char *content) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", base, name);
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (content)
        write(fd, content, strlen(content));
    close(fd);
    chmod(p, mode);
}

static void mkd(const char *name, mode_t mode, uid_t uid, gid_t gid) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", base, name);
    mkdir(p, 0700);
    chmod(p, mode);
    chown(p, uid, gid);
}

static const char *P(const char *name) {
    static char p[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", base, name);
    return p[i];
}

int main(void) {
    snprintf(base, sizeof base, "/tmp/rvt-perm-XXXXXX");
    if (!mkdtemp(base)) {
        printf("mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    chmod(base, 0755);
    mk("secret", 0600, "s\n");
    mk("public", 0644, "p\n");
    mk("writable", 0666, "w\n");
    mk("script", 0755, "#!/bin/sh\necho ran\n");
    mk("noexec", 0644, "#!/bin/sh\necho ran\n");
    mkd("closed", 0700, 0, 0);
    mkd("open", 0777, 0, 0);
    mkd("sticky", 01777, 0, 0);
    mkd("sgid", 02777, 0, 4321);
    mkd("noread", 0311, 0, 0);
    int fd = open(P("sticky/rootfile"), O_CREAT | O_WRONLY, 0666);
    close(fd);
    chmod(P("sticky/rootfile"), 0666);
    mk("closed/inner", 0644, "i\n");

    gid_t groups[1] = {1000};
    if (setgroups(1, groups) || setgid(1000) || setuid(1000)) {
        printf("dropping privileges: %s\n", strerror(errno));
        return 1;
    }
    umask(022);
    printf("uid %d euid %d gid %d\n", (int)getuid(), (int)geteuid(), (int)getgid());
    printf("open secret r: %s\n", res(open(P("secret"), O_RDONLY)));
    printf("open public r: %s\n", res(open(P("public"), O_RDONLY)));
    printf("open public w: %s\n", res(open(P("public"), O_WRONLY)));
    printf("open writable w: %s\n", res(open(P("writable"), O_WRONLY)));
    printf("access secret R_OK: %s\n", res(access(P("secret"), R_OK)));
    printf("access script X_OK: %s\n", res(access(P("script"), X_OK)));
    printf("access noexec X_OK: %s\n", res(access(P("noexec"), X_OK)));
    printf("stat closed/inner: %s\n", res(open(P("closed/inner"), O_RDONLY)));
    printf("opendir closed: %s\n", opendir(P("closed")) ? "ok" : strerrorname_np(errno));
    printf("opendir noread: %s\n", opendir(P("noread")) ? "ok" : strerrorname_np(errno));
    printf("create in base: %s\n", res(open(P("mine"), O_CREAT | O_WRONLY, 0644)));
    printf("create in open: %s\n", res(open(P("open/mine"), O_CREAT | O_WRONLY, 0666)));
    struct stat st;
    stat(P("open/mine"), &st);
    printf("new file mode %o uid %d gid %d\n", st.st_mode & 07777, (int)st.st_uid, (int)st.st_gid);
    printf("mkdir in base: %s\n", res(mkdir(P("d"), 0755)));
    printf("unlink public: %s\n", res(unlink(P("public"))));
    printf("rename writable: %s\n", res(rename(P("writable"), P("open/w"))));
    printf("chmod public: %s\n", res(chmod(P("public"), 0777)));
    printf("chown own file: %s\n", res(chown(P("open/mine"), 0, 0)));
    printf("chmod own file: %s\n", res(chmod(P("open/mine"), 0600)));
    printf("truncate public: %s\n", res(truncate(P("public"), 0)));
    printf("utimes public: %s\n", res(utimensat(AT_FDCWD, P("public"), NULL, 0)));
    printf("utimes writable: %s\n", res(utimensat(AT_FDCWD, P("writable"), NULL, 0)));
    printf("sticky: unlink root's file: %s\n", res(unlink(P("sticky/rootfile"))));
    printf("sticky: write root's file: %s\n", res(open(P("sticky/rootfile"), O_WRONLY)));
    printf("sticky: create own: %s\n", res(open(P("sticky/mine"), O_CREAT | O_WRONLY, 0644)));
    printf("sticky: unlink own: %s\n", res(unlink(P("sticky/mine"))));
    printf("sgid dir: create: %s\n", res(open(P("sgid/f"), O_CREAT | O_WRONLY, 0644)));
    stat(P("sgid/f"), &st);
    printf("sgid dir: new file gid %d\n", (int)st.st_gid);
    printf("sgid dir: mkdir: %s\n", res(mkdir(P("sgid/d"), 0755)));
    stat(P("sgid/d"), &st);
    printf("sgid dir: new dir gid %d setgid %s\n", (int)st.st_gid, yesno(st.st_mode & S_ISGID));
    printf("noread: create inside: %s\n", res(open(P("noread/f"), O_CREAT | O_WRONLY, 0644)));
    printf("setuid(0): %s\n", res(setuid(0)));
    pid_t c = fork();
    if (c == 0) {
        execl(P("noexec"), "noexec", (char *)NULL);
        printf("exec noexec: %s\n", strerrorname_np(errno));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}
