/* Internet socket arguments: socket() type/protocol errors, option round
 * trips at every level (SOL_SOCKET, IPPROTO_TCP/IP/IPV6/UDP) and their
 * errors (ENOPROTOOPT, EINVAL, EDOM), bad addresses and pointers (EINVAL,
 * EAFNOSUPPORT, EFAULT without losing data), fstat of a socket, and the
 * interface ioctls on loopback. */
#include "common.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static void get_int(int s, int level, int name, const char *label) {
    int v = -12345;
    socklen_t l = sizeof v;
    int r = getsockopt(s, level, name, &v, &l);
    if (r < 0)
        printf("get %s: %s\n", label, errname(errno));
    else
        printf("get %s: %d (len %u)\n", label, v, (unsigned)l);
}

static void set_int(int s, int level, int name, int v, const char *label) {
    int r = setsockopt(s, level, name, &v, sizeof v);
    printf("set %s=%d: %s\n", label, v, r < 0 ? errname(errno) : "ok");
}

static void sockets(void) {
    report("socket(AF_INET, SOCK_SEQPACKET)", socket(AF_INET, SOCK_SEQPACKET, 0));
    report("socket(AF_INET6, SOCK_RDM)", socket(AF_INET6, SOCK_RDM, 0));
    report("socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    report("socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP)", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
    report("socket(AF_INET, SOCK_DGRAM, 300)", socket(AF_INET, SOCK_DGRAM, 300));
    report("socket(AF_INET, SOCK_DGRAM, -1)", socket(AF_INET, SOCK_DGRAM, -1));
    report("socket(AF_INET, 12)", socket(AF_INET, 12, 0));
    report("socket(AF_INET, SOCK_STREAM|0x100)", socket(AF_INET, SOCK_STREAM | 0x100, 0));
    report("socket(AF_PACKET + 100)", socket(200, SOCK_DGRAM, 0));
    int sv[2];
    report("socketpair(AF_INET, SOCK_STREAM)", socketpair(AF_INET, SOCK_STREAM, 0, sv));
    int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
    CHECK(s >= 0);
    printf("SOCK_CLOEXEC: %s, SOCK_NONBLOCK: %s\n", yesno(fcntl(s, F_GETFD) & FD_CLOEXEC),
           yesno(fcntl(s, F_GETFL) & O_NONBLOCK));
    struct stat st;
    CHECK(fstat(s, &st) == 0);
    printf("fstat: socket %s, mode %o\n", yesno(S_ISSOCK(st.st_mode)), st.st_mode & 07777);
    report("lseek on a socket", lseek(s, 0, SEEK_SET));
    char b[4];
    report("pread on a socket", pread(s, b, sizeof b, 0));
    close(s);
}

static void options(void) {
    int t = socket(AF_INET, SOCK_STREAM, 0);
    get_int(t, SOL_SOCKET, SO_TYPE, "SO_TYPE");
    get_int(t, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN");
    get_int(t, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL");
    get_int(t, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");
    get_int(t, SOL_SOCKET, SO_ERROR, "SO_ERROR");
    set_int(t, SOL_SOCKET, SO_TYPE, 1, "SO_TYPE");
    set_int(t, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    get_int(t, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
    set_int(t, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
    get_int(t, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT");
    set_int(t, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
    get_int(t, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
    set_int(t, SOL_SOCKET, SO_RCVBUF, 4096, "SO_RCVBUF");
    get_int(t, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF (doubled)");
    set_int(t, SOL_SOCKET, SO_SNDBUF, 8192, "SO_SNDBUF");
    get_int(t, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF (doubled)");
    set_int(t, SOL_SOCKET, SO_PRIORITY, 3, "SO_PRIORITY");
    get_int(t, SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY");
    struct linger lg = {1, 7}, lg2;
    socklen_t ll = sizeof lg2;
    CHECK(setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    CHECK(getsockopt(t, SOL_SOCKET, SO_LINGER, &lg2, &ll) == 0);
    printf("SO_LINGER: onoff %d linger %d len %u\n", lg2.l_onoff, lg2.l_linger, (unsigned)ll);
    struct timeval tv = {2, 500000}, tv2;
    socklen_t tl = sizeof tv2;
    CHECK(setsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
    CHECK(getsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &tv2, &tl) == 0);
    printf("SO_SNDTIMEO: %ld.%06ld len %u\n", (long)tv2.tv_sec, (long)tv2.tv_usec, (unsigned)tl);
    tl = 8;
    CHECK(getsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &tv2, &tl) == 0);
    printf("SO_SNDTIMEO into 8 bytes: len %u\n", (unsigned)tl);
    tv.tv_usec = 1000000;
    report("SO_RCVTIMEO with tv_usec 1000000", setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    report("SO_RCVTIMEO with 8 bytes", setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, 8));
    set_int(t, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
    get_int(t, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
    set_int(t, IPPROTO_TCP, TCP_KEEPIDLE, 30, "TCP_KEEPIDLE");
    get_int(t, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE");
    set_int(t, IPPROTO_TCP, TCP_KEEPINTVL, 5, "TCP_KEEPINTVL");
    get_int(t, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL");
    set_int(t, IPPROTO_TCP, TCP_KEEPCNT, 4, "TCP_KEEPCNT");
    get_int(t, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT");
    set_int(t, IPPROTO_TCP, TCP_KEEPCNT, 0, "TCP_KEEPCNT");
    set_int(t, IPPROTO_TCP, TCP_CORK, 1, "TCP_CORK");
    get_int(t, IPPROTO_TCP, TCP_CORK, "TCP_CORK");
    set_int(t, IPPROTO_TCP, TCP_USER_TIMEOUT, 1000, "TCP_USER_TIMEOUT");
    get_int(t, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT");
    struct tcp_info ti;
    socklen_t il = sizeof ti;
    CHECK(getsockopt(t, IPPROTO_TCP, TCP_INFO, &ti, &il) == 0);
    printf("TCP_INFO: state %u (TCP_CLOSE %d), len == sizeof: %s\n", ti.tcpi_state, TCP_CLOSE,
           yesno(il == sizeof ti));
    char cc[16] = {0};
    socklen_t cl = sizeof cc;
    printf("TCP_CONGESTION readable: %s\n", yesno(getsockopt(t, IPPROTO_TCP, TCP_CONGESTION, cc, &cl) == 0 && cc[0]));
    set_int(t, IPPROTO_IP, IP_TOS, 0x10, "IP_TOS");
    get_int(t, IPPROTO_IP, IP_TOS, "IP_TOS");
    set_int(t, IPPROTO_IP, IP_TTL, 9, "IP_TTL");
    get_int(t, IPPROTO_IP, IP_TTL, "IP_TTL");
    set_int(t, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY on IPv4");
    set_int(t, SOL_SOCKET, 9999, 1, "SOL_SOCKET 9999");
    get_int(t, SOL_SOCKET, 9999, "SOL_SOCKET 9999");
    set_int(t, IPPROTO_TCP, 9999, 1, "IPPROTO_TCP 9999");
    get_int(t, 12345, 1, "level 12345");
    set_int(t, IPPROTO_UDP, UDP_CORK, 1, "UDP_CORK on TCP");
    report("setsockopt optlen -1", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &tv, -1));
    report("setsockopt optlen 2", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &tv, 2));
    int v;
    socklen_t bad = (socklen_t)-1;
    report("getsockopt optlen -1", getsockopt(t, SOL_SOCKET, SO_TYPE, &v, &bad));
    report("setsockopt value NULL", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, NULL, 4));
    report("getsockopt optlen NULL", getsockopt(t, SOL_SOCKET, SO_TYPE, &v, NULL));
    report("getsockopt value NULL", getsockopt(t, SOL_SOCKET, SO_TYPE, NULL, &il));
    close(t);

    int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
    get_int(u6, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY");
    set_int(u6, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
    get_int(u6, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY");
    set_int(u6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 12, "IPV6_UNICAST_HOPS");
    get_int(u6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS");
    set_int(u6, IPPROTO_IPV6, IPV6_TCLASS, 4, "IPV6_TCLASS");
    get_int(u6, IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS");
    set_int(u6, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST");
    get_int(u6, SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST");
    set_int(u6, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY on UDP");
    close(u6);
    int u4 = socket(AF_INET, SOCK_DGRAM, 0);
    set_int(u4, IPPROTO_IP, IP_MULTICAST_TTL, 3, "IP_MULTICAST_TTL");
    get_int(u4, IPPROTO_IP, IP_MULTICAST_TTL, "IP_MULTICAST_TTL");
    set_int(u4, IPPROTO_IP, IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP");
    get_int(u4, IPPROTO_IP, IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP");
    struct ip_mreq mr = {0};
    mr.imr_multiaddr.s_addr = inet_addr("239.1.2.3");
    mr.imr_interface.s_addr = htonl(INADDR_LOOPBACK);
    report("IP_ADD_MEMBERSHIP on loopback", setsockopt(u4, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr));
    report("IP_DROP_MEMBERSHIP", setsockopt(u4, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mr, sizeof mr));
    report("IP_DROP_MEMBERSHIP again", setsockopt(u4, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mr, sizeof mr));
    set_int(u4, IPPROTO_UDP, UDP_CORK, 1, "UDP_CORK");
    get_int(u4, IPPROTO_UDP, UDP_CORK, "UDP_CORK");
    close(u4);
}

static void addresses(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    report("bind addrlen 200", bind(s, (struct sockaddr *)&a, 200));
    report("bind addrlen -1", bind(s, (struct sockaddr *)&a, (socklen_t)-1));
    report("bind addrlen 4", bind(s, (struct sockaddr *)&a, 4));
    report("bind NULL address", bind(s, NULL, sizeof a));
    a.sin_family = AF_UNIX;
    report("bind an AF_UNIX-family address", bind(s, (struct sockaddr *)&a, sizeof a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = inet_addr("192.0.2.77");
    report("bind a foreign address", bind(s, (struct sockaddr *)&a, sizeof a));
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    report("bind an IPv6 address to IPv4", bind(s, (struct sockaddr *)&a6, sizeof a6));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    report("bind twice", bind(s, (struct sockaddr *)&a, sizeof a));
    socklen_t l = sizeof a;
    report("getsockname bad length pointer", getsockname(s, (struct sockaddr *)&a, (socklen_t *)8));
    l = (socklen_t)-1;
    report("getsockname negative length", getsockname(s, (struct sockaddr *)&a, &l));
    l = 4;
    memset(&a, 0, sizeof a);
    CHECK(getsockname(s, (struct sockaddr *)&a, &l) == 0);
    printf("getsockname into 4 bytes: family %s, length stored %u\n",
           a.sin_family == AF_INET ? "AF_INET" : "?", (unsigned)l);
    l = sizeof a;
    CHECK(getsockname(s, (struct sockaddr *)&a, &l) == 0);
    CHECK(listen(s, 2) == 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    report("connect addrlen 3", connect(c, (struct sockaddr *)&a, 3));
    report("connect bad pointer", connect(c, (struct sockaddr *)8, sizeof a));
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    report("connect again", connect(c, (struct sockaddr *)&a, sizeof a));
    int d = accept(s, NULL, NULL);
    CHECK(d >= 0);
    CHECK(write(c, "keep", 4) == 4);
    report("recv into a bad buffer", recv(d, (void *)8, 4, 0));
    char b[8];
    ssize_t n = recv(d, b, sizeof b, 0);
    printf("data still there after EFAULT: %.*s\n", (int)n, b);
    report("send from a bad buffer", send(c, (void *)8, 4, 0));
    report("sendto a bad address pointer", sendto(c, "x", 1, 0, (struct sockaddr *)8, sizeof a));
    report("recvfrom flags MSG_CMSG_CLOEXEC|MSG_DONTWAIT", recvfrom(d, b, sizeof b, MSG_CMSG_CLOEXEC | MSG_DONTWAIT, NULL, NULL));
    report("recvmsg bad msghdr", recvmsg(d, (struct msghdr *)8, 0));
    struct msghdr m = {0};
    struct iovec iov = {b, 1};
    m.msg_iov = &iov;
    m.msg_iovlen = 2000;
    report("sendmsg 2000 iovecs", sendmsg(c, &m, 0));
    m.msg_iovlen = 1;
    m.msg_control = b;
    m.msg_controllen = 1 << 20;
    report("sendmsg 1 MiB of control", sendmsg(c, &m, 0));
    close(c);
    close(d);
    close(s);
}

static void interfaces(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    CHECK(ioctl(s, SIOCGIFINDEX, &r) == 0);
    printf("SIOCGIFINDEX lo: %d\n", r.ifr_ifindex);
    int idx = r.ifr_ifindex;
    CHECK(ioctl(s, SIOCGIFFLAGS, &r) == 0);
    printf("lo flags: UP %s LOOPBACK %s RUNNING %s\n", yesno(r.ifr_flags & IFF_UP),
           yesno(r.ifr_flags & IFF_LOOPBACK), yesno(r.ifr_flags & IFF_RUNNING));
    CHECK(ioctl(s, SIOCGIFADDR, &r) == 0);
    printf("lo address: %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_addr)->sin_addr));
    CHECK(ioctl(s, SIOCGIFNETMASK, &r) == 0);
    printf("lo netmask: %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_netmask)->sin_addr));
    CHECK(ioctl(s, SIOCGIFMTU, &r) == 0);
    printf("lo mtu: %d\n", r.ifr_mtu);
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = idx;
    CHECK(ioctl(s, SIOCGIFNAME, &r) == 0);
    printf("SIOCGIFNAME %d: %s\n", idx, r.ifr_name);
    strcpy(r.ifr_name, "nonexistent0");
    report("SIOCGIFINDEX of a missing interface", ioctl(s, SIOCGIFINDEX, &r));
    report("SIOCGIFFLAGS bad pointer", ioctl(s, SIOCGIFFLAGS, (void *)8));
    struct ifconf ic = {0};
    report("SIOCGIFCONF length query", ioctl(s, SIOCGIFCONF, &ic));
    printf("length is a multiple of ifreq: %s\n", yesno(ic.ifc_len > 0 && ic.ifc_len % sizeof(struct ifreq) == 0));
    struct ifreq list[16];
    ic.ifc_len = sizeof list;
    ic.ifc_req = list;
    CHECK(ioctl(s, SIOCGIFCONF, &ic) == 0);
    int lo = 0;
    for (size_t i = 0; i < ic.ifc_len / sizeof(struct ifreq); i++)
        if (strcmp(list[i].ifr_name, "lo") == 0 &&
            ((struct sockaddr_in *)&list[i].ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
            lo = 1;
    printf("SIOCGIFCONF lists lo with 127.0.0.1: %s\n", yesno(lo));
    printf("if_nametoindex(lo) == SIOCGIFINDEX: %s\n", yesno((int)if_nametoindex("lo") == idx));
    char name[IF_NAMESIZE];
    printf("if_indextoname: %s\n", if_indextoname((unsigned)idx, name) ? name : errname(errno));
    int n = -1;
    report("FIONREAD on UDP with nothing queued", ioctl(s, FIONREAD, &n));
    printf("FIONREAD value: %d\n", n);
    close(s);
}

int main(void) {
    setup();
    sockets();
    options();
    addresses();
    interfaces();
    return 0;
}
