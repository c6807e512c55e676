//! Files backed by a host descriptor the sentry holds: the container's
//! stdio, and regular files donated by the gofer.
//!
//! Reads and writes go straight to the host fd with the *sentry's* buffer
//! and lengths (the workload's pointers never reach the host). Stream fds
//! are polled before reading so that a read never blocks the sentry thread.

use std::any::Any;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use super::{Attr, FileOps, Inode, IoctlIo};
use crate::{Errno, SysResult};

/// A file served by a host descriptor.
pub struct HostFile {
    fd: OwnedFd,
    seekable: bool,
    inode: Option<Arc<dyn Inode>>,
    /// True for a host terminal passed through (stdio that is not bridged
    /// to an emulated terminal): TCGETS and TIOCGWINSZ reach the host; the
    /// host's job control means nothing inside, so nothing else does.
    tty: bool,
}

fn last_errno() -> Errno {
    Errno::new(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// Host `fstat` converted to [`Attr`].
pub fn host_fstat(fd: RawFd) -> SysResult<Attr> {
    // SAFETY: libc::stat is plain old data; fstat fills it in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a live, correctly sized stat buffer.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(last_errno());
    }
    Ok(Attr {
        ino: st.st_ino,
        dev: st.st_dev,
        mode: st.st_mode,
        nlink: st.st_nlink,
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: st.st_rdev,
        size: st.st_size.max(0) as u64,
        blksize: st.st_blksize.max(0) as u64,
        blocks: st.st_blocks.max(0) as u64,
        atime: (st.st_atime, st.st_atime_nsec as u32),
        mtime: (st.st_mtime, st.st_mtime_nsec as u32),
        ctime: (st.st_ctime, st.st_ctime_nsec as u32),
    })
}

impl HostFile {
    /// Wraps one of the container's stdio fds. These keep the host's own
    /// file offset (shared with whoever else holds the description, e.g.
    /// `>file 2>&1`), so the sentry never tracks an offset for them.
    pub fn new_stdio(fd: OwnedFd) -> Arc<Self> {
        // SAFETY: isatty only inspects the descriptor.
        let tty = unsafe { libc::isatty(fd.as_raw_fd()) } == 1;
        Arc::new(HostFile {
            fd,
            seekable: false,
            inode: None,
            tty,
        })
    }

    /// Wraps a host fd; seekability and tty-ness are read from the host.
    pub fn new(fd: OwnedFd, inode: Option<Arc<dyn Inode>>) -> Arc<Self> {
        let mode = host_fstat(fd.as_raw_fd()).map(|a| a.mode).unwrap_or(0);
        let t = mode & super::S_IFMT;
        let seekable = t == super::S_IFREG || t == super::S_IFDIR || t == 0o060000;
        // SAFETY: isatty only inspects the descriptor.
        let tty = unsafe { libc::isatty(fd.as_raw_fd()) } == 1;
        Arc::new(HostFile {
            fd,
            seekable,
            inode,
            tty,
        })
    }

    fn ready(&self, events: i16) -> bool {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: one live pollfd, zero timeout.
        let r = unsafe { libc::poll(&mut p, 1, 0) };
        r != 0
    }
}

impl FileOps for HostFile {
    fn read(&self, buf: &mut [u8], off: u64) -> SysResult<usize> {
        if !self.seekable && !self.ready(libc::POLLIN) {
            return Err(Errno::EAGAIN);
        }
        // SAFETY: reads at most buf.len() bytes into the sentry's own buffer.
        let r = unsafe {
            if self.seekable {
                libc::pread(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    off as libc::off_t,
                )
            } else {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                )
            }
        };
        if r < 0 {
            return Err(last_errno());
        }
        Ok(r as usize)
    }

    fn write(&self, buf: &[u8], off: u64) -> SysResult<usize> {
        if !self.seekable && !self.ready(libc::POLLOUT) {
            return Err(Errno::EAGAIN);
        }
        // SAFETY: writes buf.len() bytes from the sentry's own buffer.
        let r = unsafe {
            if self.seekable {
                libc::pwrite(
                    self.fd.as_raw_fd(),
                    buf.as_ptr() as *const libc::c_void,
                    buf.len(),
                    off as libc::off_t,
                )
            } else {
                libc::write(
                    self.fd.as_raw_fd(),
                    buf.as_ptr() as *const libc::c_void,
                    buf.len(),
                )
            }
        };
        if r < 0 {
            return Err(last_errno());
        }
        Ok(r as usize)
    }

    fn seekable(&self) -> bool {
        self.seekable
    }

    fn poll(&self) -> u32 {
        if self.seekable {
            return super::poll::IN | super::poll::OUT;
        }
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one live pollfd, zero timeout.
        unsafe { libc::poll(&mut p, 1, 0) };
        p.revents as u16 as u32
    }

    fn sync(&self, datasync: bool) -> SysResult<()> {
        // SAFETY: fsync/fdatasync on the descriptor this file owns.
        let r = unsafe {
            if datasync {
                libc::fdatasync(self.fd.as_raw_fd())
            } else {
                libc::fsync(self.fd.as_raw_fd())
            }
        };
        if r != 0 {
            return Err(last_errno());
        }
        Ok(())
    }

    fn host_mmap_fd(&self) -> Option<RawFd> {
        if self.seekable && self.inode.is_some() {
            Some(self.fd.as_raw_fd())
        } else {
            None
        }
    }

    fn direct_io_fd(&self) -> Option<RawFd> {
        self.host_mmap_fd()
    }

    fn host_fd(&self) -> Option<RawFd> {
        if self.seekable {
            None
        } else {
            Some(self.fd.as_raw_fd())
        }
    }

    fn stat(&self) -> SysResult<Attr> {
        match &self.inode {
            Some(i) => i.attr(),
            None => host_fstat(self.fd.as_raw_fd()),
        }
    }

    fn ioctl(&self, cmd: u32, arg: u64, io: &mut dyn IoctlIo) -> SysResult<u64> {
        match cmd as u64 {
            libc::TCGETS | libc::TIOCGWINSZ if self.tty => {
                let mut buf = [0u8; 64];
                // SAFETY: these requests write at most 36 bytes (the
                // kernel's struct termios) into the sentry's own buffer.
                let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), cmd as _, buf.as_mut_ptr()) };
                if r < 0 {
                    return Err(last_errno());
                }
                let n = if cmd as u64 == libc::TCGETS { 36 } else { 8 };
                io.write(arg, &buf[..n])?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn inode(&self) -> Option<Arc<dyn Inode>> {
        self.inode.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
