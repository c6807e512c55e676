//! Differential tests of internet sockets: TCP and UDP over loopback
//! (IPv4 and IPv6), non-blocking use with poll/select/epoll, timeouts and
//! signals, options, argument errors and interface ioctls; routing
//! netlink (getifaddrs, if_nameindex, an RTM_GETLINK dump). Natively they
//! run in the host's network namespace; under `rvisor do` in the
//! sandbox's own, with only loopback.
use rvisor_tests::diff_test;

diff_test!(inet_tcp, "inet_tcp");
diff_test!(inet_tcp_static, "inet_tcp", ["-static"]);
diff_test!(inet_udp, "inet_udp");
diff_test!(inet_nonblock, "inet_nonblock");
diff_test!(inet_opts, "inet_opts");
diff_test!(netlink_route, "netlink_route");
