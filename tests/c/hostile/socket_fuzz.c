/* Hostile workload against the socket layer: children make thousands of
 * socket system calls (internet TCP/UDP over IPv4 and IPv6, connected
 * pairs, listeners, routing netlink) with random arguments: wild
 * pointers, and pointers to buffers of random bytes, so that addresses,
 * msghdrs, iovecs, control messages, option values and netlink requests
 * are garbage that parses. The sandbox runs in its own network namespace,
 * so nothing leaves it. The sentry must stay up. */
#include "../common.h"
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static unsigned long long state = 0x2545F4914F6CDD1DULL;
static unsigned long long rnd(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static unsigned char junk[4][4096];

static void scramble(void) {
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < 4096; i += 8) {
            unsigned long long v = rnd();
            /* Some words point into the junk itself, so that nested
             * pointers (iovecs, msg_name, msg_control) are followed. */
            if (v % 5 == 0) v = (unsigned long long)(uintptr_t)&junk[v % 4][(v >> 8) % 4000];
            else if (v % 7 == 0) v %= 256;
            memcpy(&junk[b][i], &v, 8);
        }
}

static long arg(void) {
    switch (rnd() % 10) {
    case 0: return 0;
    case 1: return -1;
    case 2: return (long)(rnd() % 256);
    case 3: return (long)(rnd() & 0xffffffffffffULL);
    case 4: return (long)0xffffffffff600000ULL;
    case 5: case 6: case 7: return (long)(uintptr_t)&junk[rnd() % 4][rnd() % 2048];
    case 8: return 1L << (rnd() % 63);
    default: return (long)rnd();
    }
}

static const long calls[] = {
    SYS_bind, SYS_connect, SYS_listen, SYS_accept, SYS_accept4, SYS_getsockname,
    SYS_getpeername, SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg, SYS_sendmmsg,
    SYS_recvmmsg, SYS_setsockopt, SYS_getsockopt, SYS_shutdown, SYS_ioctl, SYS_read,
    SYS_write, SYS_readv, SYS_writev, SYS_poll, SYS_socket, SYS_socketpair, SYS_close,
};

int main(int argc, char **argv) {
    setup();
    if (argc > 1) state ^= strtoull(argv[1], NULL, 0) * 0x9e3779b97f4a7c15ULL;
    int survived = 0;
    for (int child = 0; child < 8; child++) {
        fflush(stdout);
        pid_t c = fork();
        CHECK(c >= 0);
        if (c == 0) {
            state += (unsigned long long)child * 0x9e3779b97f4a7c15ULL;
            alarm(4);
            int fds[16], n = 0;
            int fam[2] = {AF_INET, AF_INET6};
            for (int f = 0; f < 2; f++) {
                struct sockaddr_storage a;
                socklen_t l;
                memset(&a, 0, sizeof a);
                if (fam[f] == AF_INET) {
                    struct sockaddr_in *s = (struct sockaddr_in *)&a;
                    s->sin_family = AF_INET;
                    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                    l = sizeof *s;
                } else {
                    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a;
                    s->sin6_family = AF_INET6;
                    s->sin6_addr = in6addr_loopback;
                    l = sizeof *s;
                }
                int ls = socket(fam[f], SOCK_STREAM | SOCK_NONBLOCK, 0);
                if (ls >= 0 && bind(ls, (struct sockaddr *)&a, l) == 0 && listen(ls, 4) == 0 &&
                    getsockname(ls, (struct sockaddr *)&a, &l) == 0) {
                    int cl = socket(fam[f], SOCK_STREAM | SOCK_NONBLOCK, 0);
                    connect(cl, (struct sockaddr *)&a, l);
                    usleep(1000);
                    fds[n++] = ls;
                    fds[n++] = cl;
                    int ac = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                    if (ac >= 0) fds[n++] = ac;
                }
                fds[n++] = socket(fam[f], SOCK_DGRAM | SOCK_NONBLOCK, 0);
            }
            fds[n++] = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE);
            for (int i = 0; i < 4000; i++) {
                if (i % 64 == 0) scramble();
                long nr = calls[rnd() % (sizeof calls / sizeof calls[0])];
                long fd = rnd() % 8 == 0 ? arg() : fds[rnd() % n];
                /* Keep the descriptors: close only wild numbers. */
                if (nr == SYS_close && fd < 64) continue;
                syscall(nr, fd, arg(), arg(), arg(), arg(), arg());
            }
            _exit(0);
        }
        int st = 0, done = 0;
        for (int t = 0; t < 500 && !done; t++) {
            pid_t r = waitpid(c, &st, WNOHANG);
            if (r == c) done = 1;
            else usleep(10 * 1000);
        }
        if (!done) {
            kill(c, SIGKILL);
            CHECK(waitpid(c, &st, 0) == c);
        }
        survived++;
    }
    /* The socket layer still works. */
    int sv = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    CHECK(bind(sv, (struct sockaddr *)&a, l) == 0 && getsockname(sv, (struct sockaddr *)&a, &l) == 0);
    CHECK(sendto(sv, "ok", 2, 0, (struct sockaddr *)&a, l) == 2);
    char b[4];
    CHECK(recv(sv, b, sizeof b, 0) == 2);
    printf("parent outlived %d hostile socket children\n", survived);
    return 0;
}
