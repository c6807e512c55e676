//! Packet transport over a `SOCK_SEQPACKET` Unix socket, with fd passing.

use std::io::IoSlice;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::time::TimeSpec;

/// One received packet.
pub(crate) struct Packet {
    /// Bytes of payload stored in the caller's buffer.
    pub len: usize,
    /// The packet was longer than the buffer (`MSG_TRUNC`).
    pub truncated: bool,
    /// File descriptors that came with the packet (close-on-exec).
    pub fds: Vec<OwnedFd>,
    /// More fds were sent than there was room for; the extra ones were
    /// discarded by the kernel (`MSG_CTRUNC`).
    pub fds_truncated: bool,
}

/// Sends `bytes` as one packet, donating `fd` with `SCM_RIGHTS` if given.
/// Never raises `SIGPIPE`; retries on `EINTR`.
pub(crate) fn send_packet(
    sock: BorrowedFd<'_>,
    bytes: &[u8],
    fd: Option<BorrowedFd<'_>>,
) -> Result<(), Errno> {
    let iov = [IoSlice::new(bytes)];
    let raw: [RawFd; 1];
    let rights: [ControlMessage<'_>; 1];
    let cmsgs: &[ControlMessage<'_>] = match fd {
        Some(fd) => {
            raw = [fd.as_raw_fd()];
            rights = [ControlMessage::ScmRights(&raw)];
            &rights
        }
        None => &[],
    };
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(n) if n == bytes.len() => return Ok(()),
            // A seqpacket send is all or nothing; a short count means the
            // socket is not what we were promised.
            Ok(_) => return Err(Errno::EMSGSIZE),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Receives one packet into `buf`, accepting up to `max_fds` donated fds
/// (with `max_fds == 0` the kernel discards any fds the peer sends).
/// Retries on `EINTR`. A zero-length result means either the peer closed
/// the socket or sent an empty packet; see [`peer_hung_up`].
pub(crate) fn recv_packet(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    max_fds: usize,
) -> Result<Packet, Errno> {
    let ctl_len = if max_fds == 0 {
        0
    } else {
        let data = u32::try_from(max_fds * size_of::<RawFd>()).map_err(|_| Errno::EINVAL)?;
        // SAFETY: CMSG_SPACE is pure arithmetic on its argument.
        unsafe { libc::CMSG_SPACE(data) as usize }
    };
    // u64 storage keeps the control buffer aligned for `cmsghdr`.
    let mut ctl = vec![0u64; ctl_len.div_ceil(size_of::<u64>())];
    loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: all-zero is a valid `msghdr` (null pointers, zero lengths);
        // the fields we need are set below.
        let mut mhdr: libc::msghdr = unsafe { std::mem::zeroed() };
        mhdr.msg_iov = &mut iov;
        mhdr.msg_iovlen = 1;
        if ctl_len > 0 {
            mhdr.msg_control = ctl.as_mut_ptr().cast();
            mhdr.msg_controllen = ctl_len as _;
        }
        // SAFETY: `mhdr` points at `iov`, which describes `buf` (exclusively
        // borrowed for this call), and at `ctl`, which holds at least
        // `ctl_len` writable bytes; all of them outlive the call. The
        // kernel writes at most `iov_len` and `msg_controllen` bytes.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut mhdr, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            match Errno::last() {
                Errno::EINTR => continue,
                e => return Err(e),
            }
        }
        // Take ownership of every fd first, so none leaks on any path.
        let fds = if ctl_len > 0 {
            take_fds(&mhdr)
        } else {
            Vec::new()
        };
        return Ok(Packet {
            len: usize::try_from(n).map_err(|_| Errno::EIO)?.min(buf.len()),
            truncated: mhdr.msg_flags & libc::MSG_TRUNC != 0,
            fds,
            fds_truncated: mhdr.msg_flags & libc::MSG_CTRUNC != 0,
        });
    }
}

/// Collects the `SCM_RIGHTS` fds the kernel installed for a message.
fn take_fds(mhdr: &libc::msghdr) -> Vec<OwnedFd> {
    let mut fds = Vec::new();
    // SAFETY: `mhdr` was just filled in by a successful recvmsg, so
    // `msg_control`/`msg_controllen` describe the part of our aligned
    // control buffer that holds well-formed headers written by the kernel;
    // CMSG_FIRSTHDR returns either null or a header within that range.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(mhdr) };
    while !cmsg.is_null() {
        // SAFETY: non-null results of CMSG_FIRSTHDR/CMSG_NXTHDR point at a
        // complete, aligned `cmsghdr` inside the control buffer.
        let (level, ty, len) = unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
        if level == libc::SOL_SOCKET && ty == libc::SCM_RIGHTS {
            // SAFETY: CMSG_LEN is pure arithmetic on its argument.
            let header = unsafe { libc::CMSG_LEN(0) } as usize;
            let count = to_usize(len).saturating_sub(header) / size_of::<RawFd>();
            // SAFETY: `cmsg` is a valid header (above); its data follows it.
            let data = unsafe { libc::CMSG_DATA(cmsg) }.cast::<RawFd>();
            for i in 0..count {
                // SAFETY: the kernel wrote `cmsg_len - CMSG_LEN(0)` bytes of
                // data, i.e. `count` fds, and `i < count`; the read is
                // unaligned-safe regardless of the buffer's layout.
                let raw = unsafe { data.add(i).read_unaligned() };
                // SAFETY: the kernel installed `raw` in our fd table for this
                // message only; nothing else owns or will close it.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
        // SAFETY: as for CMSG_FIRSTHDR; `cmsg` is a valid header of `mhdr`,
        // and CMSG_NXTHDR bounds-checks against `msg_controllen`.
        cmsg = unsafe { libc::CMSG_NXTHDR(mhdr, cmsg) };
    }
    fds
}

/// `cmsg_len`'s type differs between libcs; a generic keeps the conversion
/// lint-clean on all of them.
fn to_usize<T: TryInto<usize>>(v: T) -> usize {
    v.try_into().unwrap_or(0)
}

/// Whether the peer of a connected seqpacket socket has closed its end
/// (without blocking). Used to tell EOF from an empty packet, since both
/// read as zero bytes.
pub(crate) fn peer_hung_up(sock: BorrowedFd<'_>) -> bool {
    // nix does not name POLLRDHUP (peer shut down its sending side).
    let rdhup = PollFlags::from_bits_retain(libc::POLLRDHUP);
    let mut fds = [PollFd::new(sock, PollFlags::POLLIN | rdhup)];
    loop {
        match ppoll(&mut fds, Some(TimeSpec::new(0, 0)), None) {
            Ok(_) => break,
            Err(Errno::EINTR) => continue,
            // If we cannot even poll, treat the connection as gone.
            Err(_) => return true,
        }
    }
    fds[0]
        .revents()
        .is_some_and(|r| r.intersects(PollFlags::POLLHUP | rdhup | PollFlags::POLLERR))
}
