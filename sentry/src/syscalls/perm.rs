//! Discretionary access checks against the sandbox credentials.

use crate::fs::Attr;
use crate::kernel::Creds;

/// Read permission bit.
pub const R: u32 = 4;
/// Write permission bit.
pub const W: u32 = 2;
/// Execute/search permission bit.
pub const X: u32 = 1;

/// Whether `c` may access a file with attributes `a` for `want` (R|W|X).
/// Root passes everything except execute on a file with no execute bit.
pub fn may_access(c: &Creds, a: &Attr, want: u32) -> bool {
    if want == 0 {
        return true;
    }
    if c.fsuid == 0 {
        if want & X != 0 && !a.is_dir() && a.mode & 0o111 == 0 {
            return false;
        }
        return true;
    }
    let bits = if a.uid == c.fsuid {
        (a.mode >> 6) & 7
    } else if a.gid == c.fsgid || c.groups.contains(&a.gid) {
        (a.mode >> 3) & 7
    } else {
        a.mode & 7
    };
    bits & want == want
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
    fn root_needs_some_x_bit_to_execute() {
        let c = Creds::new(0, 0, vec![]);
        assert!(may_access(&c, &attr(0o000, 5, 5), R | W));
        assert!(!may_exec(&c, &attr(0o644, 0, 0)));
        assert!(may_exec(&c, &attr(0o744, 5, 5)));
    }
}
