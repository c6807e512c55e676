/* TCP over loopback: an echo server and a forked client (blocking), a big
 * transfer, MSG_WAITALL, accept4 flags, getsockname/getpeername (ports
 * compared, never printed), half-close with shutdown, EPIPE and SIGPIPE,
 * ECONNREFUSED on a closed port, EADDRINUSE on a second bind, IPv6 ::1. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

static volatile sig_atomic_t pipes;
static void on_pipe(int sig) { (void)sig; pipes++; }

static int listener(int family, struct sockaddr_storage *addr, socklen_t *len) {
    int s = socket(family, SOCK_STREAM, 0);
    CHECK(s >= 0);
    memset(addr, 0, sizeof *addr);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)addr;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)addr;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        *len = sizeof *a;
    }
    CHECK(bind(s, (struct sockaddr *)addr, *len) == 0);
    CHECK(listen(s, 8) == 0);
    CHECK(getsockname(s, (struct sockaddr *)addr, len) == 0);
    return s;
}

static unsigned port_of(const struct sockaddr_storage *a) {
    if (a->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)a)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
}

static const char *addr_str(const struct sockaddr_storage *a, char *buf, size_t n) {
    if (a->ss_family == AF_INET)
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, buf, n);
    return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, buf, n);
}

/* The echo round trip for one family: the child connects and sends
 * lines, the server echoes them upper-cased until the client half-closes,
 * then says goodbye. */
static void echo(int family) {
    struct sockaddr_storage la;
    socklen_t ll = sizeof la;
    int ls = listener(family, &la, &ll);
    char buf[256];
    printf("[%s] listening on %s, port nonzero: %s\n", family == AF_INET ? "v4" : "v6",
           addr_str(&la, buf, sizeof buf), yesno(port_of(&la) != 0));
    int one = 1;
    socklen_t ol = sizeof one;
    CHECK(getsockopt(ls, SOL_SOCKET, SO_ACCEPTCONN, &one, &ol) == 0);
    printf("SO_ACCEPTCONN on listener: %d\n", one);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int s = socket(family, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&la, ll) != 0) _exit(2);
        const char *msgs[] = {"hello\n", "tcp world\n"};
        for (int i = 0; i < 2; i++) {
            size_t n = strlen(msgs[i]);
            if (write(s, msgs[i], n) != (ssize_t)n) _exit(3);
            char r[64];
            if (recv(s, r, n, MSG_WAITALL) != (ssize_t)n) _exit(4);
            if (write(1, r, n) != (ssize_t)n) _exit(5);
        }
        if (shutdown(s, SHUT_WR) != 0) _exit(6);
        char r[64];
        ssize_t k = recv(s, r, sizeof r, MSG_WAITALL);
        if (k <= 0 || write(1, r, (size_t)k) != k) _exit(7);
        if (recv(s, r, sizeof r, 0) != 0) _exit(8);
        _exit(0);
    }
    struct sockaddr_storage pa;
    socklen_t pl = sizeof pa;
    int cs = accept4(ls, (struct sockaddr *)&pa, &pl, SOCK_CLOEXEC);
    CHECK(cs >= 0);
    struct sockaddr_storage peer, me;
    socklen_t pl2 = sizeof peer, ml = sizeof me;
    CHECK(getpeername(cs, (struct sockaddr *)&peer, &pl2) == 0);
    CHECK(getsockname(cs, (struct sockaddr *)&me, &ml) == 0);
    printf("accept addr len ok: %s, peer %s, accept addr == getpeername: %s\n",
           yesno(pl == ll), addr_str(&peer, buf, sizeof buf),
           yesno(pl == pl2 && memcmp(&pa, &peer, pl) == 0));
    printf("local port == listener port: %s, peer port differs: %s\n",
           yesno(port_of(&me) == port_of(&la)), yesno(port_of(&peer) != port_of(&la)));
    printf("accept4 SOCK_CLOEXEC: %s\n", yesno(fcntl(cs, F_GETFD) & FD_CLOEXEC));
    ssize_t n;
    while ((n = read(cs, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] -= 32;
        CHECK(send(cs, buf, (size_t)n, 0) == n);
    }
    printf("server read after client SHUT_WR: %zd\n", n);
    CHECK(write(cs, "goodbye\n", 8) == 8);
    close(cs);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("client", st);
    close(ls);
}

/* 4 MiB through the connection in one send, received with one
 * MSG_WAITALL recvmsg, checksummed. */
static void bulk(void) {
    struct sockaddr_storage la;
    socklen_t ll = sizeof la;
    int ls = listener(AF_INET, &la, &ll);
    const size_t total = 4u << 20;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&la, ll) != 0) _exit(2);
        char *b = malloc(total);
        for (size_t i = 0; i < total; i++) b[i] = (char)(i * 7 + (i >> 12));
        /* One big send: a blocking stream send moves it all. */
        if (send(s, b, total, 0) != (ssize_t)total) _exit(3);
        close(s);
        _exit(0);
    }
    int cs = accept(ls, NULL, NULL);
    CHECK(cs >= 0);
    char *b = malloc(total + 1);
    /* One MSG_WAITALL receive over two buffers, one byte more than is
     * sent: it ends at the sender's close with everything. */
    struct iovec iov[2] = {{b, total / 3}, {b + total / 3, total + 1 - total / 3}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n = recvmsg(cs, &m, MSG_WAITALL);
    size_t got = n > 0 ? (size_t)n : 0;
    int ok = got == total;
    for (size_t i = 0; ok && i < total; i++) ok = b[i] == (char)(i * 7 + (i >> 12));
    printf("bulk: received %zu bytes, intact: %s\n", got, yesno(ok));
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("bulk sender", st);
    close(cs);
    close(ls);
    free(b);
}

static void errors(void) {
    struct sockaddr_storage la;
    socklen_t ll = sizeof la;
    int ls = listener(AF_INET, &la, &ll);
    /* Same address again without SO_REUSEADDR. */
    int s2 = socket(AF_INET, SOCK_STREAM, 0);
    report("second bind to the listener's port", bind(s2, (struct sockaddr *)&la, ll));
    int one = 1;
    CHECK(setsockopt(s2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    report("second bind with SO_REUSEADDR (listener live)", bind(s2, (struct sockaddr *)&la, ll));
    close(s2);
    report("listen on an unbound socket (autobind)", listen(socket(AF_INET, SOCK_STREAM, 0), 1));
    int u = socket(AF_INET, SOCK_STREAM, 0);
    report("accept on a non-listening socket", accept(u, NULL, NULL));
    report("getpeername unconnected", getpeername(u, (struct sockaddr *)&la, &ll));
    report("shutdown unconnected", shutdown(u, SHUT_RDWR));
    report("shutdown bad how", shutdown(u, 7));
    report("accept4 bad flags", accept4(ls, NULL, NULL, 0x40));
    close(u);
    /* A port nobody listens on any more. */
    close(ls);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    report("connect to a closed port", connect(c, (struct sockaddr *)&la, ll));
    close(c);
    int dg = socket(AF_INET, SOCK_DGRAM, 0);
    report("listen on UDP", listen(dg, 1));
    report("accept on UDP", accept(dg, NULL, NULL));
    close(dg);
}

static void epipe(void) {
    struct sockaddr_storage la;
    socklen_t ll = sizeof la;
    int ls = listener(AF_INET, &la, &ll);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&la, ll) == 0);
    int a = accept(ls, NULL, NULL);
    CHECK(a >= 0);
    CHECK(shutdown(c, SHUT_WR) == 0);
    signal(SIGPIPE, on_pipe);
    report("write after SHUT_WR", write(c, "x", 1));
    printf("SIGPIPE delivered: %d\n", (int)pipes);
    report("send MSG_NOSIGNAL after SHUT_WR", send(c, "x", 1, MSG_NOSIGNAL));
    printf("SIGPIPE delivered: %d\n", (int)pipes);
    char b[4];
    report("peer reads EOF", read(a, b, sizeof b));
    close(a);
    close(c);
    close(ls);
    signal(SIGPIPE, SIG_DFL);
    /* Default action: the writer dies of SIGPIPE. */
    fflush(stdout);
    pid_t k = fork();
    if (k == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int l2 = listener(AF_INET, &la, &ll);
        if (connect(s, (struct sockaddr *)&la, ll) != 0) _exit(2);
        shutdown(s, SHUT_WR);
        (void)write(s, "x", 1);
        (void)l2;
        _exit(0);
    }
    int st;
    CHECK(waitpid(k, &st, 0) == k);
    print_status("writer with default SIGPIPE", st);
}

int main(void) {
    setup();
    echo(AF_INET);
    echo(AF_INET6);
    bulk();
    errors();
    epipe();
    return 0;
}
