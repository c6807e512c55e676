//! Pipes: a bounded in-sentry byte buffer with a read end and a write end.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::{poll, Attr, FileOps, S_IFIFO};
use crate::kernel::wait::WaitQueue;
use crate::{Errno, SysResult};

/// Pipe capacity (Linux's default).
pub const PIPE_BUF_SIZE: usize = 65536;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

struct PipeState {
    buf: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

/// The shared part of a pipe.
pub struct Pipe {
    state: Mutex<PipeState>,
    queue: WaitQueue,
    ino: u64,
}

/// Which end of a pipe a file is.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write_end: bool,
}

impl PipeEnd {
    /// The pipe this is an end of.
    pub fn pipe(&self) -> &Arc<Pipe> {
        &self.pipe
    }
}

impl Pipe {
    /// Creates a pipe and returns (read end, write end).
    pub fn new_pair(ino: u64) -> (Arc<PipeEnd>, Arc<PipeEnd>) {
        let pipe = Arc::new(Pipe {
            state: Mutex::new(PipeState {
                buf: VecDeque::new(),
                readers: 1,
                writers: 1,
            }),
            queue: WaitQueue::new(),
            ino,
        });
        (
            Arc::new(PipeEnd {
                pipe: pipe.clone(),
                write_end: false,
            }),
            Arc::new(PipeEnd {
                pipe,
                write_end: true,
            }),
        )
    }

    /// A pipe with no ends yet, for a named FIFO: ends are attached one at
    /// a time with [`Pipe::open_end`].
    pub fn new_unattached(ino: u64) -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Mutex::new(PipeState {
                buf: VecDeque::new(),
                readers: 0,
                writers: 0,
            }),
            queue: WaitQueue::new(),
            ino,
        })
    }

    /// Attaches a new read or write end, counting it as a reader or
    /// writer (its `release` uncounts it), and wakes the pipe's waiters.
    pub fn open_end(self: &Arc<Self>, write_end: bool) -> SysResult<Arc<PipeEnd>> {
        let mut st = self.state.lock().map_err(|_| Errno::EIO)?;
        if write_end {
            st.writers += 1;
        } else {
            st.readers += 1;
        }
        drop(st);
        self.queue.notify_all();
        Ok(Arc::new(PipeEnd {
            pipe: self.clone(),
            write_end,
        }))
    }

    /// Current number of (readers, writers).
    pub fn ends(&self) -> SysResult<(usize, usize)> {
        let st = self.state.lock().map_err(|_| Errno::EIO)?;
        Ok((st.readers, st.writers))
    }

    /// tee(2): copies up to `len` bytes from the front of this pipe to the
    /// end of `out` without consuming them. `EAGAIN` while this pipe is
    /// empty with writers or `out` is full; `EPIPE` when `out` has no
    /// reader; 0 when this pipe is empty for good.
    pub fn tee_into(&self, out: &Pipe, len: usize) -> SysResult<usize> {
        if std::ptr::eq(self, out) {
            return Err(Errno::EINVAL);
        }
        // Lock in address order: two tees in opposite directions never
        // wait for each other.
        let (src, dst) = if (self as *const Pipe) < (out as *const Pipe) {
            let a = self.state.lock().map_err(|_| Errno::EIO)?;
            let b = out.state.lock().map_err(|_| Errno::EIO)?;
            (a, b)
        } else {
            let b = out.state.lock().map_err(|_| Errno::EIO)?;
            let a = self.state.lock().map_err(|_| Errno::EIO)?;
            (a, b)
        };
        let mut dst = dst;
        if src.buf.is_empty() && src.writers > 0 {
            return Err(Errno::EAGAIN);
        }
        if dst.readers == 0 {
            return Err(Errno::EPIPE);
        }
        if src.buf.is_empty() {
            return Ok(0);
        }
        let room = PIPE_BUF_SIZE - dst.buf.len();
        if room == 0 {
            return Err(Errno::EAGAIN);
        }
        let n = len.min(src.buf.len()).min(room);
        dst.buf.extend(src.buf.iter().take(n));
        drop(dst);
        drop(src);
        out.queue.notify_all();
        Ok(n)
    }
}

impl FileOps for PipeEnd {
    fn read(&self, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        if self.write_end {
            return Err(Errno::EBADF);
        }
        let mut st = self.pipe.state.lock().map_err(|_| Errno::EIO)?;
        if buf.is_empty() {
            return Ok(0);
        }
        if st.buf.is_empty() {
            return if st.writers == 0 {
                Ok(0)
            } else {
                Err(Errno::EAGAIN)
            };
        }
        let n = buf.len().min(st.buf.len());
        for (i, b) in st.buf.drain(..n).enumerate() {
            buf[i] = b;
        }
        drop(st);
        self.pipe.queue.notify_all();
        Ok(n)
    }

    fn write(&self, buf: &[u8], _off: u64) -> SysResult<usize> {
        if !self.write_end {
            return Err(Errno::EBADF);
        }
        let mut st = self.pipe.state.lock().map_err(|_| Errno::EIO)?;
        if st.readers == 0 {
            return Err(Errno::EPIPE);
        }
        let room = PIPE_BUF_SIZE - st.buf.len();
        if room == 0 || (buf.len() <= PIPE_BUF && room < buf.len()) {
            return Err(Errno::EAGAIN);
        }
        let n = buf.len().min(room);
        st.buf.extend(&buf[..n]);
        drop(st);
        self.pipe.queue.notify_all();
        Ok(n)
    }

    fn poll(&self) -> u32 {
        let Ok(st) = self.pipe.state.lock() else {
            return poll::ERR;
        };
        let mut m = 0;
        if self.write_end {
            if st.readers == 0 {
                m |= poll::ERR;
            } else if PIPE_BUF_SIZE - st.buf.len() >= PIPE_BUF {
                m |= poll::OUT;
            }
        } else {
            if !st.buf.is_empty() {
                m |= poll::IN;
            }
            if st.writers == 0 {
                m |= poll::HUP;
            }
        }
        m
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.queue)
    }

    fn stat(&self) -> SysResult<Attr> {
        Ok(Attr {
            ino: self.pipe.ino,
            dev: 0xc,
            mode: S_IFIFO | 0o600,
            nlink: 1,
            blksize: 4096,
            ..Attr::default()
        })
    }

    fn ioctl(&self, cmd: u32, arg: u64, io: &mut dyn super::IoctlIo) -> SysResult<u64> {
        if cmd as u64 == libc::FIONREAD {
            let n = self.pipe.state.lock().map(|s| s.buf.len()).unwrap_or(0) as i32;
            io.write(arg, &n.to_le_bytes())?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn release(&self) {
        if let Ok(mut st) = self.pipe.state.lock() {
            if self.write_end {
                st.writers = st.writers.saturating_sub(1);
            } else {
                st.readers = st.readers.saturating_sub(1);
            }
        }
        self.pipe.queue.notify_all();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
