//! Discretionary access checks against the sandbox credentials.

use crate::fs::Attr;
use crate::kernel::task::TaskCtx;
use crate::kernel::{caps, Creds};
use crate::{Errno, SysResult};

/// The calling process's credentials (a copy).
pub fn creds(ctx: &TaskCtx) -> SysResult<Creds> {
    Ok(ctx
        .task
        .tg
        .inner
        .lock()
        .map_err(|_| Errno::EIO)?
        .creds
        .clone())
}

/// Whether the calling process holds capability `cap` (a `caps::*`
/// number) in its effective set.
pub fn capable(ctx: &TaskCtx, cap: u32) -> SysResult<bool> {
    Ok(ctx
        .task
        .tg
        .inner
        .lock()
        .map_err(|_| Errno::EIO)?
        .creds
        .capable(cap))
}

/// Read permission bit.
pub const R: u32 = 4;
/// Write permission bit.
pub const W: u32 = 2;
/// Execute/search permission bit.
pub const X: u32 = 1;

/// Whether `c` may access a file with attributes `a` for `want` (R|W|X)
/// (Linux's generic_permission): the mode bits for the owner, group or
/// others, then CAP_DAC_OVERRIDE (anything, except executing a file with
/// no execute bit) and CAP_DAC_READ_SEARCH (reading files, reading and
/// searching directories).
pub fn may_access(c: &Creds, a: &Attr, want: u32) -> bool {
    if want == 0 {
        return true;
    }
    let bits = if a.uid == c.fsuid {
        (a.mode >> 6) & 7
    } else if a.gid == c.fsgid || c.groups.contains(&a.gid) {
        (a.mode >> 3) & 7
    } else {
        a.mode & 7
    };
    if bits & want == want {
        return true;
    }
    if a.is_dir() {
        c.capable(caps::DAC_OVERRIDE) || (want & W == 0 && c.capable(caps::DAC_READ_SEARCH))
    } else {
        (c.capable(caps::DAC_OVERRIDE) && (want & X == 0 || a.mode & 0o111 != 0))
            || (want == R && c.capable(caps::DAC_READ_SEARCH))
    }
}

/// Whether `c` may execute the regular file `a`.
pub fn may_exec(c: &Creds, a: &Attr) -> bool {
    may_access(c, a, X)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(mode: u32, uid: u32, gid: u32) -> Attr {
        Attr {
            mode: crate::fs::S_IFREG | mode,
            uid,
            gid,
            ..Default::default()
        }
    }

    #[test]
    fn owner_group_other() {
        let c = Creds::new(1000, 1000, vec![50]);
        assert!(may_access(&c, &attr(0o600, 1000, 0), R | W));
        assert!(!may_access(&c, &attr(0o060, 1000, 1000), R));
        assert!(may_access(&c, &attr(0o040, 0, 50), R));
        assert!(!may_access(&c, &attr(0o004, 0, 0), W));
    }

    #[test]
    fn capabilities_override_the_mode() {
        let mut c = Creds::new(0, 0, vec![]);
        c.caps.effective = caps::bit(caps::DAC_READ_SEARCH);
        assert!(may_access(&c, &attr(0o000, 5, 5), R));
        assert!(!may_access(&c, &attr(0o000, 5, 5), W));
        c.caps.effective = 0;
        // uid 0 without capabilities is an ordinary user.
        assert!(!may_access(&c, &attr(0o600, 5, 5), R));
        assert!(may_access(&c, &attr(0o600, 0, 5), R));
    }

    #[test]
    fn root_needs_some_x_bit_to_execute() {
        let c = Creds::new(0, 0, vec![]);
        assert!(may_access(&c, &attr(0o000, 5, 5), R | W));
        assert!(!may_exec(&c, &attr(0o644, 0, 0)));
        assert!(may_exec(&c, &attr(0o744, 5, 5)));
    }
}
