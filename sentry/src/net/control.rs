//! Ancillary data (control messages) of internet sockets.
//!
//! Sending: the sentry rebuilds the control buffer it passes to the host
//! from the workload's, message by message, as Linux's `ip_cmsg_send` /
//! `ip6_datagram_send_ctl` / `sock_cmsg_send` treat them: per-packet IP
//! settings (`IP_PKTINFO`, `IP_TTL`, `IP_TOS`, `IPV6_PKTINFO`,
//! `IPV6_HOPLIMIT`, `IPV6_TCLASS`, `IPV6_DONTFRAG`) and the harmless
//! socket-level ones (`SO_TIMESTAMPING`, `SCM_TXTIME`) go to the host;
//! `SCM_RIGHTS`/`SCM_CREDENTIALS` mean nothing on an internet socket and
//! other levels are not looked at (both dropped, as Linux ignores them);
//! `SO_MARK`/`SO_PRIORITY` need a capability (EPERM); any other kind at
//! the socket or IP levels is EINVAL. Receiving: the host fills a bounded
//! sentry buffer; on an internet socket every message the host can
//! produce is plain data (the options that ask for them are in
//! [`super::sockopt`]'s allowlist), so it is copied out as it is.

use crate::{Errno, SysResult};

/// Most control bytes one sendmsg passes (Linux's default
/// `net.core.optmem_max`; more is ENOBUFS).
pub const SEND_MAX: usize = 20480;
/// Most control bytes one recvmsg asks the host for.
pub const RECV_MAX: usize = 65536;
/// `sizeof(struct cmsghdr)`.
const HDR: usize = 16;
/// SCM_CREDENTIALS.
const SCM_CREDENTIALS: i32 = 2;
/// SO_TIMESTAMPING (old value, what x86-64 uses).
const SO_TIMESTAMPING: i32 = 37;
/// SCM_TXTIME (= SO_TXTIME).
const SCM_TXTIME: i32 = 61;
/// IPV6_DONTFRAG.
const IPV6_DONTFRAG: i32 = 62;

/// What becomes of one control message.
enum Fate {
    Pass,
    Drop,
}

fn fate(level: i32, ty: i32) -> SysResult<Fate> {
    match level {
        libc::SOL_SOCKET => match ty {
            libc::SCM_RIGHTS | SCM_CREDENTIALS => Ok(Fate::Drop),
            libc::SO_MARK | libc::SO_PRIORITY => Err(Errno::EPERM),
            SO_TIMESTAMPING | SCM_TXTIME => Ok(Fate::Pass),
            _ => Err(Errno::EINVAL),
        },
        libc::IPPROTO_IP => match ty {
            libc::IP_PKTINFO | libc::IP_TTL | libc::IP_TOS => Ok(Fate::Pass),
            _ => Err(Errno::EINVAL),
        },
        libc::IPPROTO_IPV6 => match ty {
            libc::IPV6_PKTINFO | libc::IPV6_HOPLIMIT | libc::IPV6_TCLASS | IPV6_DONTFRAG => {
                Ok(Fate::Pass)
            }
            _ => Err(Errno::EINVAL),
        },
        _ => Ok(Fate::Drop),
    }
}

/// Checks the control messages of a sendmsg (each header at least 16
/// bytes and inside the buffer, else EINVAL) and returns the buffer to
/// give the host: the messages that pass, each padded to 8 bytes. A
/// buffer shorter than one header holds no message (Linux ignores it).
pub fn filter_send(ctl: &[u8]) -> SysResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while ctl.len().saturating_sub(off) >= HDR {
        let word = |i: usize, n: usize| -> SysResult<&[u8]> {
            ctl.get(off + i..off + i + n).ok_or(Errno::EINVAL)
        };
        let len = u64::from_ne_bytes(word(0, 8)?.try_into().map_err(|_| Errno::EINVAL)?);
        let level = i32::from_ne_bytes(word(8, 4)?.try_into().map_err(|_| Errno::EINVAL)?);
        let ty = i32::from_ne_bytes(word(12, 4)?.try_into().map_err(|_| Errno::EINVAL)?);
        if len < HDR as u64 || len > (ctl.len() - off) as u64 {
            return Err(Errno::EINVAL);
        }
        let len = len as usize;
        if let Fate::Pass = fate(level, ty)? {
            out.extend_from_slice(&ctl[off..off + len]);
            out.resize((out.len() + 7) & !7, 0);
        }
        off += (len + 7) & !7;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cmsg(level: i32, ty: i32, data: &[u8]) -> Vec<u8> {
        let mut v = ((HDR + data.len()) as u64).to_ne_bytes().to_vec();
        v.extend_from_slice(&level.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        while !v.len().is_multiple_of(8) {
            v.push(0);
        }
        v
    }

    #[test]
    fn send_filter() {
        assert!(filter_send(&[]).unwrap().is_empty());
        assert!(filter_send(&[0; 8]).unwrap().is_empty());
        let ttl = cmsg(libc::IPPROTO_IP, libc::IP_TTL, &5i32.to_ne_bytes());
        let mut two = ttl.clone();
        two.extend(cmsg(
            libc::IPPROTO_IPV6,
            libc::IPV6_TCLASS,
            &1i32.to_ne_bytes(),
        ));
        assert_eq!(filter_send(&two).unwrap(), two);
        // Descriptors mean nothing here and other levels are ignored.
        let mut mixed = cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &0i32.to_ne_bytes());
        mixed.extend(cmsg(libc::IPPROTO_TCP, 1, &[1, 2, 3]));
        mixed.extend(ttl.clone());
        assert_eq!(filter_send(&mixed).unwrap(), ttl);
        let mark = cmsg(libc::SOL_SOCKET, libc::SO_MARK, &1u32.to_ne_bytes());
        assert_eq!(filter_send(&mark), Err(Errno::EPERM));
        let opts = cmsg(libc::IPPROTO_IP, libc::IP_OPTIONS, &[0; 4]);
        assert_eq!(filter_send(&opts), Err(Errno::EINVAL));
        let mut bad = ttl.clone();
        bad[..8].copy_from_slice(&1000u64.to_ne_bytes());
        assert_eq!(filter_send(&bad), Err(Errno::EINVAL));
        bad[..8].copy_from_slice(&3u64.to_ne_bytes());
        assert_eq!(filter_send(&bad), Err(Errno::EINVAL));
    }
}
