//! Networking: Unix domain sockets held in the sentry (`unix`), and
//! internet sockets (`inet`) served through host sockets the sentry owns in
//! the sandbox's network namespace, with their addresses (`sockaddr`),
//! option allowlist (`sockopt`), control messages (`control`) and
//! interface ioctls (`ifreq`). Without a network (`--network=none`)
//! internet sockets are refused (EAFNOSUPPORT).

pub mod control;
pub mod ifreq;
pub mod inet;
pub mod sockaddr;
pub mod sockopt;
pub mod unix;
