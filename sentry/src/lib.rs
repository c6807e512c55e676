//! The sentry: rvisor's userspace kernel.
//!
//! See ARCHITECTURE.md at the repository root for the map of this crate.

pub mod platform;
