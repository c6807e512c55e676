/* UDP over loopback (IPv4 and IPv6): sendto/recvfrom with the sender's
 * address, connect and send/recv, MSG_PEEK, MSG_TRUNC (return value and
 * msg_flags), readv/writev of one datagram, zero-length datagrams,
 * FIONREAD, sendmmsg/recvmmsg, EMSGSIZE, ECONNREFUSED from a closed port,
 * disconnecting with AF_UNSPEC, IP_PKTINFO control messages. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

static socklen_t loopback(int family, struct sockaddr_storage *a) {
    memset(a, 0, sizeof *a);
    if (family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)a;
        s->sin_family = AF_INET;
        s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return sizeof *s;
    }
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)a;
    s->sin6_family = AF_INET6;
    s->sin6_addr = in6addr_loopback;
    return sizeof *s;
}

static int bound(int family, struct sockaddr_storage *a, socklen_t *l) {
    int s = socket(family, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    *l = loopback(family, a);
    CHECK(bind(s, (struct sockaddr *)a, *l) == 0);
    CHECK(getsockname(s, (struct sockaddr *)a, l) == 0);
    return s;
}

static void basics(int family) {
    const char *tag = family == AF_INET ? "v4" : "v6";
    struct sockaddr_storage ra, sa;
    socklen_t rl, sl;
    int r = bound(family, &ra, &rl);
    int s = bound(family, &sa, &sl);
    CHECK(sendto(s, "first", 5, 0, (struct sockaddr *)&ra, rl) == 5);
    CHECK(sendto(s, "second datagram", 15, 0, (struct sockaddr *)&ra, rl) == 15);
    int n = -1;
    CHECK(ioctl(r, FIONREAD, &n) == 0);
    printf("[%s] FIONREAD (next datagram): %d\n", tag, n);
    char buf[64];
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t k = recvfrom(r, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &fl);
    printf("[%s] peek: %.*s, from the sender: %s\n", tag, (int)k, buf,
           yesno(fl == sl && memcmp(&from, &sa, sl) == 0));
    k = recvfrom(r, buf, sizeof buf, 0, NULL, NULL);
    printf("[%s] recv after peek: %.*s\n", tag, (int)k, buf);
    k = recv(r, buf, 6, MSG_TRUNC);
    printf("[%s] recv 6 bytes with MSG_TRUNC: returns %zd, got %.6s\n", tag, k, buf);
    /* recvmsg reports truncation in msg_flags. */
    CHECK(sendto(s, "truncate me", 11, 0, (struct sockaddr *)&ra, rl) == 11);
    struct iovec iov = {buf, 4};
    struct sockaddr_storage mfrom;
    struct msghdr m = {.msg_name = &mfrom, .msg_namelen = sizeof mfrom, .msg_iov = &iov, .msg_iovlen = 1};
    k = recvmsg(r, &m, 0);
    printf("[%s] recvmsg into 4 bytes: %zd, MSG_TRUNC %s, namelen ok %s\n", tag, k,
           yesno(m.msg_flags & MSG_TRUNC), yesno(m.msg_namelen == sl));
    /* One datagram gathered from and scattered into several buffers. */
    struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
    CHECK(writev(s, out, 3) < 0 && errno == EDESTADDRREQ);
    printf("[%s] writev on an unconnected socket: EDESTADDRREQ\n", tag);
    CHECK(connect(s, (struct sockaddr *)&ra, rl) == 0);
    CHECK(writev(s, out, 3) == 6);
    char p1[3] = {0}, p2[8] = {0};
    struct iovec in[2] = {{p1, 3}, {p2, 8}};
    k = readv(r, in, 2);
    printf("[%s] readv: %zd: %.3s|%s\n", tag, k, p1, p2);
    CHECK(send(s, "", 0, 0) == 0);
    k = recv(r, buf, sizeof buf, 0);
    printf("[%s] zero-length datagram received: %zd\n", tag, k);
    /* A connected socket takes datagrams only from its peer. */
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    CHECK(getpeername(s, (struct sockaddr *)&peer, &pl) == 0);
    printf("[%s] getpeername is the receiver: %s\n", tag, yesno(pl == rl && memcmp(&peer, &ra, rl) == 0));
    struct sockaddr_storage un = {0};
    un.ss_family = AF_UNSPEC;
    CHECK(connect(s, (struct sockaddr *)&un, sizeof un) == 0);
    pl = sizeof peer;
    report("getpeername after AF_UNSPEC connect", getpeername(s, (struct sockaddr *)&peer, &pl));
    static char huge[70000];
    report("sendto 70000 bytes", sendto(s, huge, sizeof huge, 0, (struct sockaddr *)&ra, rl));
    close(s);
    close(r);
}

static void mmsg(void) {
    struct sockaddr_storage ra, sa;
    socklen_t rl, sl;
    int r = bound(AF_INET, &ra, &rl);
    int s = bound(AF_INET, &sa, &sl);
    CHECK(connect(s, (struct sockaddr *)&ra, rl) == 0);
    struct iovec iov[3] = {{"one", 3}, {"two!", 4}, {"three", 5}};
    struct mmsghdr mm[3];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(s, mm, 3, 0);
    printf("sendmmsg: %d, lengths %u %u %u\n", n, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    char b[4][16];
    struct iovec riov[4];
    struct mmsghdr rm[4];
    memset(rm, 0, sizeof rm);
    for (int i = 0; i < 4; i++) {
        riov[i].iov_base = b[i];
        riov[i].iov_len = sizeof b[i];
        rm[i].msg_hdr.msg_iov = &riov[i];
        rm[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg(r, rm, 4, MSG_WAITFORONE, NULL);
    printf("recvmmsg MSG_WAITFORONE: %d:", n);
    for (int i = 0; i < n; i++) printf(" %.*s", (int)rm[i].msg_len, b[i]);
    printf("\n");
    report("recvmmsg MSG_DONTWAIT with nothing queued", recvmmsg(r, rm, 4, MSG_DONTWAIT, NULL));
    close(s);
    close(r);
}

static void refused(void) {
    struct sockaddr_storage ra;
    socklen_t rl;
    int gone = bound(AF_INET, &ra, &rl);
    close(gone);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(connect(s, (struct sockaddr *)&ra, rl) == 0);
    report("send to a closed port", send(s, "x", 1, 0));
    char b[4];
    report("recv after the ICMP error", recv(s, b, sizeof b, MSG_DONTWAIT));
    report("recv again", recv(s, b, sizeof b, MSG_DONTWAIT));
    close(s);
}

static void pktinfo(void) {
    struct sockaddr_storage ra, sa;
    socklen_t rl, sl;
    int r = bound(AF_INET, &ra, &rl);
    int s = bound(AF_INET, &sa, &sl);
    int one = 1;
    CHECK(setsockopt(r, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0);
    /* sendmsg with an IP_TTL control message. */
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {"ctl", 3};
    struct msghdr m = {.msg_name = &ra, .msg_namelen = rl, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_TTL;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int ttl = 7;
    memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
    report("sendmsg with IP_TTL", sendmsg(s, &m, 0));
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    report("sendmsg with SCM_RIGHTS on UDP", sendmsg(s, &m, 0));
    char buf[16];
    char rc[256];
    struct iovec riov = {buf, sizeof buf};
    struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rc, .msg_controllen = sizeof rc};
    ssize_t k = recvmsg(r, &rm, 0);
    int found = 0;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&rm); h; h = CMSG_NXTHDR(&rm, h)) {
        if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(h), sizeof pi);
            char a[INET_ADDRSTRLEN];
            printf("IP_PKTINFO: destination %s\n", inet_ntop(AF_INET, &pi.ipi_addr, a, sizeof a));
            found = 1;
        }
    }
    printf("recvmsg %zd bytes, pktinfo found: %s\n", k, yesno(found));
    close(r);
    close(s);
}

int main(void) {
    setup();
    basics(AF_INET);
    basics(AF_INET6);
    mmsg();
    refused();
    pktinfo();
    return 0;
}
