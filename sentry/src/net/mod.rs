//! Networking. Today: Unix domain sockets held in the sentry. Internet
//! sockets are refused (EAFNOSUPPORT) until a network mode provides them.

pub mod unix;
