//! The sentry: rvisor's userspace kernel.
