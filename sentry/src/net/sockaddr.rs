//! Internet socket addresses as they cross the sentry: copied out of
//! workload memory into a bounded buffer, checked, and handed to the host
//! socket call by the sentry's own pointer; results come back the same way.

use crate::{Errno, SysResult};

/// Largest address a socket call takes (`sizeof(struct sockaddr_storage)`).
pub const SOCKADDR_MAX: usize = 128;
/// `sizeof(struct sockaddr_in)`.
pub const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
pub const SOCKADDR_IN6_LEN: usize = 28;

/// A socket address in the sentry's memory: `len` bytes of `bytes`.
#[derive(Clone, Copy)]
pub struct SockAddr {
    bytes: [u8; SOCKADDR_MAX],
    len: usize,
}

impl std::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SockAddr(family {}, {} bytes)", self.family(), self.len)
    }
}

impl Default for SockAddr {
    fn default() -> Self {
        SockAddr::empty()
    }
}

impl SockAddr {
    /// An empty address, for a host call to fill in.
    pub fn empty() -> SockAddr {
        SockAddr {
            bytes: [0; SOCKADDR_MAX],
            len: 0,
        }
    }

    /// An address the workload passed: `raw` as copied (at most
    /// [`SOCKADDR_MAX`] bytes, which the caller enforces). An address long
    /// enough to be an internet one must be of an internet family (or
    /// AF_UNSPEC, which connect uses to dissolve an association); shorter
    /// ones go to the host, which refuses them with Linux's own errno.
    pub fn from_workload(raw: &[u8]) -> SysResult<SockAddr> {
        if raw.len() > SOCKADDR_MAX {
            return Err(Errno::EINVAL);
        }
        let mut a = SockAddr::empty();
        a.bytes[..raw.len()].copy_from_slice(raw);
        a.len = raw.len();
        if a.len >= SOCKADDR_IN_LEN
            && !matches!(
                a.family() as i32,
                libc::AF_INET | libc::AF_INET6 | libc::AF_UNSPEC
            )
        {
            return Err(Errno::EAFNOSUPPORT);
        }
        Ok(a)
    }

    /// The address family (0 when shorter than the family field).
    pub fn family(&self) -> u16 {
        if self.len < 2 {
            return 0;
        }
        u16::from_ne_bytes([self.bytes[0], self.bytes[1]])
    }

    /// The port of an AF_INET/AF_INET6 address long enough to hold one.
    pub fn port(&self) -> Option<u16> {
        let min = match self.family() as i32 {
            libc::AF_INET => SOCKADDR_IN_LEN,
            libc::AF_INET6 => 24,
            _ => return None,
        };
        if self.len < min {
            return None;
        }
        Some(u16::from_be_bytes([self.bytes[2], self.bytes[3]]))
    }

    /// The address bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Pointer and length for a host call that reads the address.
    pub fn as_host(&self) -> (*const libc::sockaddr, libc::socklen_t) {
        (
            self.bytes.as_ptr() as *const libc::sockaddr,
            self.len as libc::socklen_t,
        )
    }

    /// Pointer to the whole buffer and its capacity, for a host call that
    /// writes an address; call [`Self::set_len`] with the length it reports.
    pub fn as_host_mut(&mut self) -> (*mut libc::sockaddr, libc::socklen_t) {
        (
            self.bytes.as_mut_ptr() as *mut libc::sockaddr,
            SOCKADDR_MAX as libc::socklen_t,
        )
    }

    /// Records the length the host reported (clamped to the buffer: a
    /// host address is never longer, but a longer report must not make
    /// [`Self::as_bytes`] read past it).
    pub fn set_len(&mut self, len: libc::socklen_t) {
        self.len = (len as usize).min(SOCKADDR_MAX);
    }

    /// The full length the host reported.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-length address (a TCP recvfrom reports none).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn inet(port: u16) -> Vec<u8> {
        let mut v = vec![0u8; 16];
        v[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v[2..4].copy_from_slice(&port.to_be_bytes());
        v[4..8].copy_from_slice(&[127, 0, 0, 1]);
        v
    }

    #[test]
    fn parses_inet() {
        let a = SockAddr::from_workload(&inet(8080)).unwrap();
        assert_eq!(a.family() as i32, libc::AF_INET);
        assert_eq!(a.port(), Some(8080));
        assert_eq!(a.as_bytes().len(), 16);
    }

    #[test]
    fn refuses_other_families_and_lengths() {
        let mut v = inet(1);
        v[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
        assert_eq!(
            SockAddr::from_workload(&v).unwrap_err(),
            Errno::EAFNOSUPPORT
        );
        assert_eq!(
            SockAddr::from_workload(&[0u8; 129]).unwrap_err(),
            Errno::EINVAL
        );
        // Short addresses are left for the host to refuse (EINVAL there).
        assert!(SockAddr::from_workload(&v[..4]).is_ok());
        assert_eq!(SockAddr::from_workload(&v[..4]).unwrap().port(), None);
    }

    #[test]
    fn set_len_is_clamped() {
        let mut a = SockAddr::empty();
        a.set_len(4096);
        assert_eq!(a.as_bytes().len(), SOCKADDR_MAX);
    }
}
