//! Shared helpers for rvisor end-to-end tests.
