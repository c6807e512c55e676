//! The gofer: rvisor's file proxy.
