//! Unix domain sockets, entirely in the sentry: stream, datagram and
//! seqpacket; socketpair; bind/listen/connect/accept on abstract names and
//! on socket files; descriptor passing (SCM_RIGHTS).

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::fs::{poll, Attr, FileOps, OpenFile};
use crate::kernel::wait::WaitQueue;
use crate::{Errno, SysResult};

/// Default receive buffer (Linux's net.core.rmem_default).
pub const DEFAULT_BUF: usize = 212_992;
/// Most descriptors in one SCM_RIGHTS message (Linux's SCM_MAX_FD).
pub const SCM_MAX_FD: usize = 253;

/// A socket address in the Unix family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UnixName {
    /// Abstract namespace (leading NUL), the bytes after it.
    Abstract(Vec<u8>),
    /// A socket file: (dev, ino) identity, and the path it was bound with.
    Path((u64, u64), Vec<u8>),
}

impl UnixName {
    fn key(&self) -> NameKey {
        match self {
            UnixName::Abstract(n) => NameKey::Abstract(n.clone()),
            UnixName::Path(id, _) => NameKey::Path(*id),
        }
    }

    /// The sockaddr_un bytes for this name (family + path).
    pub fn to_sockaddr(&self) -> Vec<u8> {
        let mut v = (libc::AF_UNIX as u16).to_le_bytes().to_vec();
        match self {
            UnixName::Abstract(n) => {
                v.push(0);
                v.extend_from_slice(n);
            }
            UnixName::Path(_, p) => {
                v.extend_from_slice(p);
                v.push(0);
            }
        }
        v
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum NameKey {
    Abstract(Vec<u8>),
    Path((u64, u64)),
}

fn registry() -> &'static Mutex<HashMap<NameKey, Weak<UnixSocket>>> {
    static R: OnceLock<Mutex<HashMap<NameKey, Weak<UnixSocket>>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// What one receive returned.
#[derive(Default)]
pub struct Received {
    /// Bytes copied into the caller's buffer.
    pub len: usize,
    /// The message's full length (larger than `len` when truncated).
    pub full_len: usize,
    /// Descriptions passed with it.
    pub files: Vec<Arc<OpenFile>>,
    /// The sender's address (datagrams).
    pub from: Option<UnixName>,
}

/// A message (datagram/seqpacket) or a chunk of a stream.
pub struct Msg {
    /// Payload.
    pub data: Vec<u8>,
    /// Passed descriptions (SCM_RIGHTS).
    pub files: Vec<Arc<OpenFile>>,
    /// Sender's address (datagrams).
    pub from: Option<UnixName>,
}

enum Conn {
    Unconnected,
    Listening {
        backlog: VecDeque<Arc<UnixSocket>>,
        max: usize,
    },
    Connected(Weak<UnixSocket>),
    /// The peer is gone (stream/seqpacket).
    Disconnected,
}

struct State {
    conn: Conn,
    rx: VecDeque<Msg>,
    rx_bytes: usize,
    rcvbuf: usize,
    sndbuf: usize,
    shut_rd: bool,
    shut_wr: bool,
    /// The peer shut down writing or closed.
    peer_done: bool,
    name: Option<UnixName>,
    /// Credentials of the process that created it: (pid, uid, gid).
    creds: (i32, u32, u32),
}

/// A Unix socket.
pub struct UnixSocket {
    /// SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
    pub kind: i32,
    state: Mutex<State>,
    queue: WaitQueue,
    ino: u64,
    me: Weak<UnixSocket>,
}

impl UnixSocket {
    /// A new unconnected socket.
    pub fn new(kind: i32, ino: u64, creds: (i32, u32, u32)) -> Arc<Self> {
        Arc::new_cyclic(|me| UnixSocket {
            kind,
            state: Mutex::new(State {
                conn: Conn::Unconnected,
                rx: VecDeque::new(),
                rx_bytes: 0,
                rcvbuf: DEFAULT_BUF,
                sndbuf: DEFAULT_BUF,
                shut_rd: false,
                shut_wr: false,
                peer_done: false,
                name: None,
                creds,
            }),
            queue: WaitQueue::new(),
            ino,
            me: me.clone(),
        })
    }

    /// A connected pair (socketpair).
    pub fn pair(kind: i32, ino: (u64, u64), creds: (i32, u32, u32)) -> (Arc<Self>, Arc<Self>) {
        let a = Self::new(kind, ino.0, creds);
        let b = Self::new(kind, ino.1, creds);
        if let Ok(mut s) = a.state.lock() {
            s.conn = Conn::Connected(Arc::downgrade(&b));
        }
        if let Ok(mut s) = b.state.lock() {
            s.conn = Conn::Connected(Arc::downgrade(&a));
        }
        (a, b)
    }

    fn st(&self) -> SysResult<std::sync::MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Errno::EIO)
    }

    fn peer(&self) -> Option<Arc<UnixSocket>> {
        match &self.st().ok()?.conn {
            Conn::Connected(p) => p.upgrade(),
            _ => None,
        }
    }

    fn notify_both(&self) {
        self.queue.notify_all();
        if let Some(p) = self.peer() {
            p.queue.notify_all();
        }
    }

    /// Binds to `name` (EADDRINUSE if taken, EINVAL if already bound).
    pub fn bind(&self, name: UnixName) -> SysResult<()> {
        let mut st = self.st()?;
        if st.name.is_some() {
            return Err(Errno::EINVAL);
        }
        let mut reg = registry().lock().map_err(|_| Errno::EIO)?;
        let key = name.key();
        if reg.get(&key).is_some_and(|w| w.strong_count() > 0) {
            return Err(Errno::EADDRINUSE);
        }
        reg.insert(key, self.me.clone());
        st.name = Some(name);
        Ok(())
    }

    /// The bound name.
    pub fn name(&self) -> Option<UnixName> {
        self.st().ok()?.name.clone()
    }

    /// The peer's bound name.
    pub fn peer_name(&self) -> SysResult<Option<UnixName>> {
        match self.peer() {
            Some(p) => Ok(p.name()),
            None => Err(Errno::ENOTCONN),
        }
    }

    /// The peer's credentials (SO_PEERCRED).
    pub fn peer_creds(&self) -> Option<(i32, u32, u32)> {
        self.peer().and_then(|p| p.st().ok().map(|s| s.creds))
    }

    /// listen(2).
    pub fn listen(&self, backlog: i32) -> SysResult<()> {
        if self.kind == libc::SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.st()?;
        if st.name.is_none() {
            return Err(Errno::EINVAL);
        }
        let max = backlog.clamp(1, 4096) as usize;
        match &mut st.conn {
            Conn::Unconnected => {
                st.conn = Conn::Listening {
                    backlog: VecDeque::new(),
                    max,
                }
            }
            Conn::Listening { max: m, .. } => *m = max,
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    }

    /// Whether this socket listens.
    pub fn is_listening(&self) -> bool {
        self.st()
            .map(|s| matches!(s.conn, Conn::Listening { .. }))
            .unwrap_or(false)
    }

    /// Looks up a bound socket.
    pub fn lookup(name: &UnixName) -> SysResult<Arc<UnixSocket>> {
        let reg = registry().lock().map_err(|_| Errno::EIO)?;
        reg.get(&name.key())
            .and_then(|w| w.upgrade())
            .ok_or(Errno::ECONNREFUSED)
    }

    /// connect(2) for stream/seqpacket: queues a new server-side socket on
    /// the listener. EAGAIN when the backlog is full.
    pub fn connect_stream(&self, target: &Arc<UnixSocket>, next_ino: u64) -> SysResult<()> {
        if target.kind != self.kind {
            return Err(Errno::ECONNREFUSED);
        }
        {
            let st = self.st()?;
            match st.conn {
                Conn::Unconnected => {}
                Conn::Listening { .. } => return Err(Errno::EINVAL),
                _ => return Err(Errno::EISCONN),
            }
        }
        let creds = self.st()?.creds;
        let server = UnixSocket::new(self.kind, next_ino, target.st()?.creds);
        {
            let mut t = target.st()?;
            let listener_name = t.name.clone();
            let Conn::Listening { backlog, max } = &mut t.conn else {
                return Err(Errno::ECONNREFUSED);
            };
            if backlog.len() >= *max {
                return Err(Errno::EAGAIN);
            }
            let mut s = server.st()?;
            s.conn = Conn::Connected(self.me.clone());
            s.name = listener_name;
            drop(s);
            backlog.push_back(server.clone());
        }
        {
            let mut st = self.st()?;
            st.conn = Conn::Connected(Arc::downgrade(&server));
            let _ = creds;
        }
        target.queue.notify_all();
        self.queue.notify_all();
        Ok(())
    }

    /// connect(2) for datagrams: sets the default destination.
    pub fn connect_dgram(&self, target: &Arc<UnixSocket>) -> SysResult<()> {
        if target.kind != self.kind {
            return Err(Errno::EPROTOTYPE);
        }
        self.st()?.conn = Conn::Connected(Arc::downgrade(target));
        Ok(())
    }

    /// accept(2): a queued connection, or EAGAIN.
    pub fn accept(&self) -> SysResult<Arc<UnixSocket>> {
        let mut st = self.st()?;
        let Conn::Listening { backlog, .. } = &mut st.conn else {
            return Err(Errno::EINVAL);
        };
        backlog.pop_front().ok_or(Errno::EAGAIN)
    }

    /// Sends one message (all of it for datagrams; as much as fits for
    /// streams). `to` is the explicit destination of a datagram.
    pub fn send(
        &self,
        data: &[u8],
        files: Vec<Arc<OpenFile>>,
        to: Option<Arc<UnixSocket>>,
    ) -> SysResult<usize> {
        if self.st()?.shut_wr {
            return Err(Errno::EPIPE);
        }
        let peer = match to {
            Some(t) => t,
            None => match &self.st()?.conn {
                Conn::Connected(p) => p.upgrade().ok_or(if self.kind == libc::SOCK_DGRAM {
                    Errno::ECONNREFUSED
                } else {
                    Errno::EPIPE
                })?,
                Conn::Disconnected => return Err(Errno::EPIPE),
                _ => {
                    return Err(if self.kind == libc::SOCK_DGRAM {
                        Errno::EDESTADDRREQ
                    } else {
                        Errno::ENOTCONN
                    })
                }
            },
        };
        let from = self.name();
        let mut ps = peer.st()?;
        if self.kind != libc::SOCK_DGRAM && (ps.shut_rd || matches!(ps.conn, Conn::Disconnected)) {
            return Err(Errno::EPIPE);
        }
        let room = ps.rcvbuf.saturating_sub(ps.rx_bytes);
        let n = if self.kind == libc::SOCK_STREAM {
            if room == 0 && !data.is_empty() {
                return Err(Errno::EAGAIN);
            }
            if data.is_empty() {
                return Ok(0);
            }
            data.len().min(room)
        } else {
            if data.len() > ps.rcvbuf.max(DEFAULT_BUF) {
                return Err(Errno::EMSGSIZE);
            }
            if data.len() > room && ps.rx_bytes > 0 {
                return Err(Errno::EAGAIN);
            }
            data.len()
        };
        ps.rx_bytes += n;
        ps.rx.push_back(Msg {
            data: data[..n].to_vec(),
            files,
            from,
        });
        drop(ps);
        peer.queue.notify_all();
        self.queue.notify_all();
        Ok(n)
    }

    /// Receives into `buf`. Streams read across chunks (stopping before a
    /// chunk that carries descriptors); message sockets return one message
    /// (truncated to `buf`, with its true length second). EAGAIN when
    /// nothing is queued and the peer may still send.
    pub fn recv(&self, buf: &mut [u8], peek: bool) -> SysResult<Received> {
        let mut st = self.st()?;
        if st.rx.is_empty() {
            let eof = st.shut_rd
                || st.peer_done
                || matches!(st.conn, Conn::Disconnected)
                || (self.kind != libc::SOCK_DGRAM
                    && matches!(&st.conn, Conn::Connected(p) if p.strong_count() == 0));
            return if eof {
                Ok(Received::default())
            } else {
                Err(Errno::EAGAIN)
            };
        }
        if self.kind != libc::SOCK_STREAM {
            let (n, full, files, from) = {
                let m = st.rx.front().ok_or(Errno::EAGAIN)?;
                let n = m.data.len().min(buf.len());
                buf[..n].copy_from_slice(&m.data[..n]);
                (
                    n,
                    m.data.len(),
                    if peek { Vec::new() } else { m.files.clone() },
                    m.from.clone(),
                )
            };
            if !peek {
                st.rx.pop_front();
                st.rx_bytes -= full;
            }
            drop(st);
            self.notify_both();
            return Ok(Received {
                len: n,
                full_len: full,
                files,
                from,
            });
        }
        let mut done = 0;
        let mut files = Vec::new();
        let mut idx = 0;
        while done < buf.len() && idx < st.rx.len() {
            if idx > 0 && !st.rx[idx].files.is_empty() {
                break;
            }
            let m = &st.rx[idx];
            let n = m.data.len().min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&m.data[..n]);
            done += n;
            idx += 1;
        }
        if !peek {
            let mut left = done;
            let mut first = true;
            while left > 0 || first {
                first = false;
                let Some(m) = st.rx.front_mut() else { break };
                files.append(&mut m.files);
                if m.data.len() <= left {
                    left -= m.data.len();
                    st.rx_bytes -= m.data.len();
                    st.rx.pop_front();
                } else {
                    m.data.drain(..left);
                    st.rx_bytes -= left;
                    left = 0;
                }
            }
        }
        drop(st);
        self.notify_both();
        Ok(Received {
            len: done,
            full_len: done,
            files,
            from: None,
        })
    }

    /// shutdown(2).
    pub fn shutdown(&self, how: i32) -> SysResult<()> {
        let (rd, wr) = match how {
            libc::SHUT_RD => (true, false),
            libc::SHUT_WR => (false, true),
            libc::SHUT_RDWR => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        {
            let mut st = self.st()?;
            if self.kind != libc::SOCK_DGRAM && !matches!(st.conn, Conn::Connected(_)) {
                return Err(Errno::ENOTCONN);
            }
            st.shut_rd |= rd;
            st.shut_wr |= wr;
        }
        if wr {
            if let Some(p) = self.peer() {
                if let Ok(mut ps) = p.st() {
                    ps.peer_done = true;
                }
            }
        }
        self.notify_both();
        Ok(())
    }

    /// Socket options kept per socket: (rcvbuf, sndbuf).
    pub fn bufs(&self) -> (usize, usize) {
        self.st()
            .map(|s| (s.rcvbuf, s.sndbuf))
            .unwrap_or((DEFAULT_BUF, DEFAULT_BUF))
    }

    /// Sets SO_RCVBUF / SO_SNDBUF (Linux doubles the value asked for).
    pub fn set_buf(&self, rcv: bool, v: usize) {
        if let Ok(mut s) = self.st() {
            let v = (v.clamp(1152, 1 << 24)) * 2;
            if rcv {
                s.rcvbuf = v;
            } else {
                s.sndbuf = v;
            }
        }
    }
}

impl FileOps for UnixSocket {
    fn read(&self, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        self.recv(buf, false).map(|r| r.len)
    }
    fn write(&self, buf: &[u8], _off: u64) -> SysResult<usize> {
        self.send(buf, Vec::new(), None)
    }
    fn poll(&self) -> u32 {
        let Ok(st) = self.state.lock() else {
            return poll::ERR;
        };
        let mut m = 0;
        match &st.conn {
            Conn::Listening { backlog, .. } => {
                if !backlog.is_empty() {
                    m |= poll::IN;
                }
                return m;
            }
            Conn::Connected(p) => {
                if let Some(p) = p.upgrade() {
                    if let Ok(ps) = p.state.try_lock() {
                        if ps.rx_bytes < ps.rcvbuf && !st.shut_wr {
                            m |= poll::OUT;
                        }
                    } else {
                        m |= poll::OUT;
                    }
                } else if self.kind != libc::SOCK_DGRAM {
                    m |= poll::HUP | poll::IN | poll::RDHUP;
                }
            }
            Conn::Disconnected => m |= poll::HUP | poll::IN | poll::RDHUP,
            Conn::Unconnected => {
                if self.kind == libc::SOCK_DGRAM {
                    m |= poll::OUT;
                } else {
                    m |= poll::HUP | poll::OUT;
                }
            }
        }
        if !st.rx.is_empty() {
            m |= poll::IN;
        }
        if st.peer_done || st.shut_rd {
            m |= poll::IN | poll::RDHUP;
        }
        if st.shut_rd && st.shut_wr {
            m |= poll::HUP;
        }
        m
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }
    fn stat(&self) -> SysResult<Attr> {
        Ok(super::socket_attr(self.ino))
    }
    fn mmap_source(&self) -> bool {
        false
    }
    fn ioctl(&self, cmd: u32, arg: u64, io: &mut dyn crate::fs::IoctlIo) -> SysResult<u64> {
        if cmd as u64 == libc::FIONREAD {
            let n = self
                .state
                .lock()
                .map(|s| {
                    s.rx.front()
                        .map(|m| {
                            if self.kind == libc::SOCK_STREAM {
                                s.rx_bytes
                            } else {
                                m.data.len()
                            }
                        })
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            io.write(arg, &(n.min(i32::MAX as usize) as i32).to_le_bytes())?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }
    fn release(&self) {
        let (peer, name) = {
            let Ok(mut st) = self.state.lock() else {
                return;
            };
            let peer = match std::mem::replace(&mut st.conn, Conn::Disconnected) {
                Conn::Connected(p) => p.upgrade(),
                _ => None,
            };
            st.rx.clear();
            (peer, st.name.clone())
        };
        if let Some(p) = peer {
            if let Ok(mut ps) = p.state.lock() {
                ps.peer_done = true;
                if p.kind != libc::SOCK_DGRAM {
                    if let Conn::Connected(w) = &ps.conn {
                        if w.as_ptr() == self.me.as_ptr() {
                            ps.conn = Conn::Disconnected;
                        }
                    }
                }
            }
            p.queue.notify_all();
        }
        if let Some(n) = name {
            if let Ok(mut reg) = registry().lock() {
                if reg
                    .get(&n.key())
                    .is_some_and(|w| w.as_ptr() == self.me.as_ptr())
                {
                    reg.remove(&n.key());
                }
            }
        }
        self.queue.notify_all();
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
