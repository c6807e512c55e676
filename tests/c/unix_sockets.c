/* Unix domain sockets: socketpair stream/dgram/seqpacket, a listening
 * socket file with connect/accept between processes, abstract names,
 * SCM_RIGHTS descriptor passing, shutdown and EOF, EPIPE. */
#include "common.h"
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

int main(void) {
    setup();
    signal(SIGPIPE, SIG_IGN);
    int sv[2];
    char buf[64];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "hello", 5) == 5);
    CHECK(write(sv[0], "world", 5) == 5);
    ssize_t n = read(sv[1], buf, sizeof buf);
    printf("stream pair read %zd: %.*s\n", n, (int)n, buf);
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    printf("read after peer SHUT_WR: %zd\n", read(sv[1], buf, sizeof buf));
    close(sv[1]);
    printf("write to closed peer: %s\n", write(sv[0], "x", 1) < 0 ? errname(errno) : "ok");
    close(sv[0]);

    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    CHECK(send(sv[0], "one", 3, 0) == 3);
    CHECK(send(sv[0], "three", 5, 0) == 5);
    n = recv(sv[1], buf, 2, 0);
    printf("dgram truncated recv: %zd\n", n);
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("dgram next message: %.*s\n", (int)n, buf);
    int type;
    socklen_t tl = sizeof type;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &tl) == 0);
    printf("SO_TYPE is SOCK_DGRAM: %s\n", yesno(type == SOCK_DGRAM));
    close(sv[0]);
    close(sv[1]);

    /* A listening socket file and a client process; the server passes
     * a pipe's read end to the client with SCM_RIGHTS. */
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "/tmp/rvisor-sock-%d", getpid());
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(ls >= 0);
    CHECK(bind(ls, (struct sockaddr *)&addr, sizeof addr) == 0);
    printf("bind again: %s\n", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&addr, sizeof addr) < 0 ? errname(errno) : "ok");
    CHECK(listen(ls, 4) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) _exit(2);
        char cbuf[CMSG_SPACE(sizeof(int))];
        char b[8];
        struct iovec io = {.iov_base = b, .iov_len = sizeof b};
        struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        if (recvmsg(s, &m, 0) != 2) _exit(3);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        if (!cm || cm->cmsg_type != SCM_RIGHTS) _exit(4);
        int fd;
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        char pb[16];
        ssize_t k = read(fd, pb, sizeof pb);
        if (k != 6 || memcmp(pb, "piped!", 6) != 0) _exit(5);
        if (write(s, "thanks", 6) != 6) _exit(6);
        _exit(0);
    }
    int conn = accept(ls, NULL, NULL);
    CHECK(conn >= 0);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "piped!", 6) == 6);
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec io = {.iov_base = "fd", .iov_len = 2};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
    CHECK(sendmsg(conn, &m, 0) == 2);
    n = read(conn, buf, sizeof buf);
    printf("client answered: %.*s\n", (int)n, buf);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("client", st);
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    CHECK(getsockname(ls, (struct sockaddr *)&got, &gl) == 0);
    printf("getsockname matches: %s\n", yesno(strcmp(got.sun_path, addr.sun_path) == 0));
    unlink(addr.sun_path);

    /* Abstract names. */
    struct sockaddr_un ab = {.sun_family = AF_UNIX};
    socklen_t alen;
    int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    char aname[32];
    snprintf(aname, sizeof aname, "rvisor-abs-%d", getpid());
    memset(ab.sun_path, 0, sizeof ab.sun_path);
    memcpy(ab.sun_path + 1, aname, strlen(aname));
    alen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(aname);
    CHECK(bind(d1, (struct sockaddr *)&ab, alen) == 0);
    CHECK(sendto(d2, "abs", 3, 0, (struct sockaddr *)&ab, alen) == 3);
    n = recv(d1, buf, sizeof buf, 0);
    printf("abstract datagram: %.*s\n", (int)n, buf);
    printf("AF_INET socket: %s\n", socket(AF_INET6 + 1000, SOCK_STREAM, 0) < 0 ? errname(errno) : "ok");
    return 0;
}
