/* Routing netlink, as programs read the network configuration: getifaddrs
 * and if_nameindex (glibc over netlink), and a raw NETLINK_ROUTE socket
 * (bind/getsockname, an RTM_GETLINK dump with its sequence number and
 * port id echoed, NLMSG_DONE, MSG_PEEK|MSG_TRUNC sizing, EAGAIN, errors).
 * Only loopback is printed: the host has other interfaces, the sandbox
 * has none. */
#include "common.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void glibc_view(void) {
    struct ifaddrs *ifa;
    CHECK(getifaddrs(&ifa) == 0);
    int v4 = 0, v6 = 0, pkt = 0;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (strcmp(i->ifa_name, "lo") != 0 || !i->ifa_addr) continue;
        char buf[64];
        if (i->ifa_addr->sa_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, sizeof buf);
            printf("getifaddrs lo inet %s, up %s\n", buf, yesno(i->ifa_flags & IFF_UP));
            v4++;
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, buf, sizeof buf);
            printf("getifaddrs lo inet6 %s\n", buf);
            v6++;
        } else if (i->ifa_addr->sa_family == AF_PACKET) {
            pkt++;
        }
    }
    printf("getifaddrs lo entries: inet %d inet6 %d packet %d\n", v4, v6, pkt);
    freeifaddrs(ifa);
    struct if_nameindex *ni = if_nameindex();
    CHECK(ni != NULL);
    for (struct if_nameindex *p = ni; p->if_index; p++)
        if (strcmp(p->if_name, "lo") == 0) printf("if_nameindex: lo is %u\n", p->if_index);
    if_freenameindex(ni);
}

static void raw_dump(void) {
    report("socket(AF_NETLINK, SOCK_STREAM)", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE));
    report("socket(AF_NETLINK, SOCK_RAW, 99)", socket(AF_NETLINK, SOCK_RAW, 99));
    int sv[2];
    report("socketpair(AF_NETLINK)", socketpair(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, sv));
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    CHECK(s >= 0);
    int v;
    socklen_t vl = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &vl) == 0);
    printf("SO_PROTOCOL: %d, ", v);
    CHECK(getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &vl) == 0);
    printf("SO_DOMAIN: %d, ", v);
    CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl) == 0);
    printf("SO_TYPE: %d\n", v);
    struct sockaddr_nl a = {.nl_family = AF_NETLINK};
    socklen_t al = sizeof a;
    CHECK(getsockname(s, (struct sockaddr *)&a, &al) == 0);
    printf("port before bind: %u, len %u\n", a.nl_pid, (unsigned)al);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(getsockname(s, (struct sockaddr *)&a, &al) == 0);
    printf("port after bind is nonzero: %s\n", yesno(a.nl_pid != 0));
    report("bind with a short address", bind(s, (struct sockaddr *)&a, 4));
    char b[8];
    report("recv with nothing queued (MSG_DONTWAIT)", recv(s, b, sizeof b, MSG_DONTWAIT));
    struct sockaddr_nl other = {.nl_family = AF_NETLINK, .nl_pid = 0x7ffffff0};
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } req = {{sizeof req, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 4242, 0}, {.ifi_family = AF_UNSPEC}};
    report("sendto an unbound port", sendto(s, &req, sizeof req, 0, (struct sockaddr *)&other, sizeof other));
    CHECK(send(s, &req, sizeof req, 0) == sizeof req);
    int lo = 0, done = 0, seq_ok = 1, pid_ok = 1, msgs = 0;
    static char buf[1 << 16];
    while (!done) {
        ssize_t peek = recv(s, buf, 1, MSG_PEEK | MSG_TRUNC);
        CHECK(peek > 0);
        struct sockaddr_nl from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        CHECK(n == peek);
        if (from.nl_pid != 0) printf("reply not from the kernel\n");
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != 4242) seq_ok = 0;
            if (h->nlmsg_pid != a.nl_pid) pid_ok = 0;
            if (h->nlmsg_type == NLMSG_DONE) {
                done = 1;
                break;
            }
            CHECK(h->nlmsg_type == RTM_NEWLINK);
            msgs++;
            struct ifinfomsg *ifi = NLMSG_DATA(h);
            int len = h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi);
            for (struct rtattr *at = IFLA_RTA(ifi); RTA_OK(at, len); at = RTA_NEXT(at, len))
                if (at->rta_type == IFLA_IFNAME && strcmp(RTA_DATA(at), "lo") == 0)
                    lo = ifi->ifi_index;
        }
    }
    printf("RTM_GETLINK dump: links >= 1 %s, lo index %d, seq echoed %s, port id ours %s\n",
           yesno(msgs >= 1), lo, yesno(seq_ok), yesno(pid_ok));
    report("recv after NLMSG_DONE (MSG_DONTWAIT)", recv(s, b, sizeof b, MSG_DONTWAIT));
    report("listen on netlink", listen(s, 1));
    report("shutdown on netlink", shutdown(s, SHUT_RDWR));
    close(s);
}

int main(void) {
    setup();
    glibc_view();
    raw_dump();
    return 0;
}
