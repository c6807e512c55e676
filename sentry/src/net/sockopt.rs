//! The socket options an internet socket offers the workload: an
//! allowlist of (level, name) pairs with the most value bytes each may
//! move. Listed options are set and read on the host socket with a value
//! the sentry copied (so the host kernel applies Linux's own checks and
//! errors); the receive/send timeouts are the sentry's own (it does the
//! waiting); options that need a capability on Linux (CAP_NET_ADMIN,
//! CAP_NET_RAW) are refused, since the sentry's host privileges must not
//! reach the workload; anything else is ENOPROTOOPT.

/// How one option is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// On the host socket, with at most this many value bytes.
    Host(usize),
    /// SO_RCVTIMEO / SO_SNDTIMEO (old and new names): kept in the sentry;
    /// `true` for the receive timeout.
    Timeout(bool),
    /// SO_PRIORITY: values 0..=6 on the host, higher ones need
    /// CAP_NET_ADMIN (EPERM).
    Priority,
    /// Needs a capability the workload does not get: EPERM.
    Privileged,
}

/// `sizeof(int)`, the value of most options.
const INT: usize = 4;
/// `struct linger`.
const LINGER: usize = 8;
/// `struct ip_mreqn` (an `ip_mreq` or a bare `in_addr` is shorter).
const MREQN: usize = 12;
/// `struct ipv6_mreq`.
const MREQ6: usize = 20;
/// `IFNAMSIZ`.
const IFNAMSIZ: usize = 16;
/// Room for `struct tcp_info` of any kernel so far (Linux 6.x: 248 bytes).
const TCP_INFO_MAX: usize = 512;

/// The option levels.
const SOL_SOCKET: i32 = libc::SOL_SOCKET;
const SOL_IP: i32 = libc::IPPROTO_IP;
const SOL_IPV6: i32 = libc::IPPROTO_IPV6;
const SOL_TCP: i32 = libc::IPPROTO_TCP;
const SOL_UDP: i32 = libc::IPPROTO_UDP;

/// SO_RCVTIMEO_NEW / SO_SNDTIMEO_NEW (64-bit time; same layout on x86-64).
const SO_RCVTIMEO_NEW: i32 = 66;
const SO_SNDTIMEO_NEW: i32 = 67;

/// Whether `level` is one the allowlist has options of. Others never
/// reach the host: Linux answers them from the protocol code, EOPNOTSUPP
/// for a getsockopt on an IPv4 socket (`ip_getsockopt`), ENOPROTOOPT
/// otherwise.
pub fn known_level(level: i32) -> bool {
    matches!(level, SOL_SOCKET | SOL_IP | SOL_IPV6 | SOL_TCP | SOL_UDP)
}

/// How `getsockopt(level, name)` is served, or None (ENOPROTOOPT).
pub fn for_get(level: i32, name: i32) -> Option<Handling> {
    match (level, name) {
        // Set-only on Linux too (getsockopt says ENOPROTOOPT).
        (SOL_SOCKET, libc::SO_SNDBUFFORCE | libc::SO_RCVBUFFORCE) => None,
        // Reading these is harmless.
        (SOL_SOCKET, libc::SO_MARK) => Some(Handling::Host(INT)),
        (SOL_IP, libc::IP_TRANSPARENT) | (SOL_IPV6, libc::IPV6_TRANSPARENT) => {
            Some(Handling::Host(INT))
        }
        (SOL_TCP, libc::TCP_CONGESTION) => Some(Handling::Host(IFNAMSIZ)),
        (SOL_SOCKET, libc::SO_PRIORITY) => Some(Handling::Host(INT)),
        _ => common(level, name),
    }
}

/// How `setsockopt(level, name)` is served, or None (ENOPROTOOPT).
pub fn for_set(level: i32, name: i32) -> Option<Handling> {
    match (level, name) {
        (SOL_SOCKET, libc::SO_SNDBUFFORCE | libc::SO_RCVBUFFORCE | libc::SO_MARK)
        | (SOL_IP, libc::IP_TRANSPARENT)
        | (SOL_IPV6, libc::IPV6_TRANSPARENT) => Some(Handling::Privileged),
        // Choosing an algorithm that is not loaded could load a host
        // kernel module with the sentry's privileges.
        (SOL_TCP, libc::TCP_CONGESTION) => Some(Handling::Privileged),
        (SOL_SOCKET, libc::SO_PRIORITY) => Some(Handling::Priority),
        _ => common(level, name),
    }
}

/// Options served the same way in both directions.
fn common(level: i32, name: i32) -> Option<Handling> {
    use Handling::{Host, Timeout};
    let h = match level {
        SOL_SOCKET => match name {
            libc::SO_RCVTIMEO | SO_RCVTIMEO_NEW => Timeout(true),
            libc::SO_SNDTIMEO | SO_SNDTIMEO_NEW => Timeout(false),
            libc::SO_LINGER => Host(LINGER),
            libc::SO_BINDTODEVICE => Host(IFNAMSIZ),
            libc::SO_REUSEADDR
            | libc::SO_TYPE
            | libc::SO_ERROR
            | libc::SO_DONTROUTE
            | libc::SO_BROADCAST
            | libc::SO_SNDBUF
            | libc::SO_RCVBUF
            | libc::SO_KEEPALIVE
            | libc::SO_OOBINLINE
            | libc::SO_NO_CHECK
            | libc::SO_REUSEPORT
            | libc::SO_RCVLOWAT
            | libc::SO_SNDLOWAT
            | libc::SO_TIMESTAMP
            | libc::SO_TIMESTAMPNS
            | libc::SO_ACCEPTCONN
            | libc::SO_PROTOCOL
            | libc::SO_DOMAIN => Host(INT),
            _ => return None,
        },
        SOL_IP => match name {
            libc::IP_MULTICAST_IF | libc::IP_ADD_MEMBERSHIP | libc::IP_DROP_MEMBERSHIP => {
                Host(MREQN)
            }
            libc::IP_TOS
            | libc::IP_TTL
            | libc::IP_PKTINFO
            | libc::IP_RECVTTL
            | libc::IP_RECVTOS
            | libc::IP_MTU_DISCOVER
            | libc::IP_RECVERR
            | libc::IP_MTU
            | libc::IP_FREEBIND
            | libc::IP_BIND_ADDRESS_NO_PORT
            | libc::IP_MULTICAST_TTL
            | libc::IP_MULTICAST_LOOP
            | libc::IP_MULTICAST_ALL => Host(INT),
            _ => return None,
        },
        SOL_IPV6 => match name {
            libc::IPV6_ADD_MEMBERSHIP | libc::IPV6_DROP_MEMBERSHIP => Host(MREQ6),
            libc::IPV6_UNICAST_HOPS
            | libc::IPV6_MULTICAST_IF
            | libc::IPV6_MULTICAST_HOPS
            | libc::IPV6_MULTICAST_LOOP
            | libc::IPV6_MTU_DISCOVER
            | libc::IPV6_MTU
            | libc::IPV6_RECVERR
            | libc::IPV6_V6ONLY
            | libc::IPV6_RECVPKTINFO
            | libc::IPV6_RECVHOPLIMIT
            | libc::IPV6_RECVTCLASS
            | libc::IPV6_TCLASS => Host(INT),
            _ => return None,
        },
        SOL_TCP => match name {
            libc::TCP_INFO => Host(TCP_INFO_MAX),
            libc::TCP_NODELAY
            | libc::TCP_MAXSEG
            | libc::TCP_CORK
            | libc::TCP_KEEPIDLE
            | libc::TCP_KEEPINTVL
            | libc::TCP_KEEPCNT
            | libc::TCP_SYNCNT
            | libc::TCP_LINGER2
            | libc::TCP_DEFER_ACCEPT
            | libc::TCP_WINDOW_CLAMP
            | libc::TCP_QUICKACK
            | libc::TCP_USER_TIMEOUT
            | libc::TCP_FASTOPEN
            | libc::TCP_NOTSENT_LOWAT => Host(INT),
            _ => return None,
        },
        SOL_UDP => match name {
            libc::UDP_CORK => Host(INT),
            _ => return None,
        },
        _ => return None,
    };
    Some(h)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn allowlist() {
        assert_eq!(
            for_set(SOL_SOCKET, libc::SO_REUSEADDR),
            Some(Handling::Host(4))
        );
        assert_eq!(
            for_get(SOL_SOCKET, libc::SO_RCVTIMEO),
            Some(Handling::Timeout(true))
        );
        assert_eq!(
            for_set(SOL_SOCKET, libc::SO_MARK),
            Some(Handling::Privileged)
        );
        assert_eq!(for_get(SOL_SOCKET, libc::SO_RCVBUFFORCE), None);
        assert_eq!(
            for_set(SOL_TCP, libc::TCP_CONGESTION),
            Some(Handling::Privileged)
        );
        assert_eq!(for_get(SOL_TCP, libc::TCP_INFO), Some(Handling::Host(512)));
        assert_eq!(for_set(SOL_SOCKET, 12345), None);
        assert_eq!(for_set(libc::SOL_PACKET, 1), None);
    }
}
