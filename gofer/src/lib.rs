//! The gofer: rvisor's file proxy.
//!
//! The sentry never touches host files by path. It asks the gofer — a
//! separate, confined process — to walk, stat, list and open files beneath
//! one root directory, and (unless it serves read-only) to create, link,
//! remove, rename and change them and their extended attributes, over a
//! `SOCK_SEQPACKET` socket. Opened and created files come back as donated
//! host fds, so reads and writes need no round trip.
//!
//! * [`protocol`] — the wire messages and their encoding.
//! * [`server`] — the gofer's request loop, [`server::serve`].
//! * [`client`] — the sentry's side, [`client::GoferClient`].
//! * [`confine`] — mount-namespace and seccomp confinement of the gofer
//!   process, to run before [`server::serve`].

#![warn(missing_docs)]

pub mod client;
pub mod confine;
mod error;
pub mod protocol;
pub mod server;
mod transport;

pub use error::GoferError;

/// When the exported root is not a directory (a file bind mount), the gofer
/// serves a read-only directory whose only entry, of this name, is that file.
pub const FILE_EXPORT_NAME: &str = "file";
