//! The crate's error type.

use nix::errno::Errno;

use crate::protocol::MAX_MESSAGE_SIZE;

/// Errors from the gofer client, server and confinement.
#[derive(Debug, thiserror::Error)]
pub enum GoferError {
    /// The gofer refused the request with this (positive) errno; pass it on
    /// to the workload unchanged.
    #[error("gofer replied with errno {0}")]
    Errno(i32),
    /// Sending or receiving on the gofer socket failed.
    #[error("gofer transport failure: {0}")]
    Transport(#[source] Errno),
    /// The peer closed the gofer socket.
    #[error("gofer connection closed by peer")]
    Closed,
    /// The peer sent something that violates the protocol.
    #[error("gofer protocol violation: {0}")]
    Protocol(String),
    /// A message could not be encoded or decoded.
    #[error("gofer message codec: {0}")]
    Codec(#[from] postcard::Error),
    /// A message exceeds [`MAX_MESSAGE_SIZE`].
    #[error("gofer message of {0} bytes exceeds the {MAX_MESSAGE_SIZE}-byte limit")]
    TooLarge(usize),
    /// A host system call made while setting the gofer up failed.
    #[error("{op} failed: {errno}")]
    Sys {
        /// What was being done.
        op: &'static str,
        /// The host errno.
        #[source]
        errno: Errno,
    },
    /// The seccomp policy file is not what the gofer expects.
    #[error("invalid seccomp policy: {0}")]
    Policy(&'static str),
    /// The seccomp filter could not be compiled or installed.
    #[error("seccomp: {0}")]
    Seccomp(#[from] seccompiler::Error),
}

impl GoferError {
    /// The errno to report to the workload: the server's errno for
    /// [`GoferError::Errno`], the host errno for [`GoferError::Sys`], and
    /// `EIO` for every transport or protocol failure.
    pub fn errno(&self) -> i32 {
        match self {
            GoferError::Errno(e) => *e,
            GoferError::Sys { errno, .. } => *errno as i32,
            _ => libc::EIO,
        }
    }

    pub(crate) fn sys(op: &'static str) -> impl FnOnce(Errno) -> GoferError {
        move |errno| GoferError::Sys { op, errno }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn errno_mapping() {
        assert_eq!(GoferError::Errno(libc::ENOENT).errno(), libc::ENOENT);
        assert_eq!(GoferError::Closed.errno(), libc::EIO);
        assert_eq!(GoferError::Transport(Errno::EPIPE).errno(), libc::EIO);
        assert_eq!(GoferError::Protocol("x".into()).errno(), libc::EIO);
        assert_eq!(GoferError::TooLarge(1 << 20).errno(), libc::EIO);
    }

    #[test]
    fn is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<GoferError>();
    }
}
