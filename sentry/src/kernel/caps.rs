//! Capabilities of a process: the five capability sets, the securebits,
//! and Linux's rules for how they change when user ids change and across
//! execve (security/commoncap.c). The sandbox has one user namespace, so
//! "capable" means the bit is in the effective set.
//!
//! File capabilities (`security.capability`) are not honoured by execve;
//! set-user-id and set-group-id bits are (see `loader::exec_creds`).

use crate::Errno;

/// CAP_LAST_CAP of the kernel rvisor reports (CAP_CHECKPOINT_RESTORE).
pub const CAP_LAST_CAP: u32 = 40;
/// Every capability.
pub const CAP_FULL: u64 = (1u64 << (CAP_LAST_CAP + 1)) - 1;

/// Capability numbers (linux/capability.h), indexed by value.
pub const CAP_NAMES: [&str; CAP_LAST_CAP as usize + 1] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// CAP_CHOWN.
pub const CHOWN: u32 = 0;
/// CAP_DAC_OVERRIDE.
pub const DAC_OVERRIDE: u32 = 1;
/// CAP_DAC_READ_SEARCH.
pub const DAC_READ_SEARCH: u32 = 2;
/// CAP_FOWNER.
pub const FOWNER: u32 = 3;
/// CAP_FSETID.
pub const FSETID: u32 = 4;
/// CAP_KILL.
pub const KILL: u32 = 5;
/// CAP_SETGID.
pub const SETGID: u32 = 6;
/// CAP_SETUID.
pub const SETUID: u32 = 7;
/// CAP_SETPCAP.
pub const SETPCAP: u32 = 8;
/// CAP_LINUX_IMMUTABLE.
pub const LINUX_IMMUTABLE: u32 = 9;
/// CAP_NET_BIND_SERVICE.
pub const NET_BIND_SERVICE: u32 = 10;
/// CAP_SYS_CHROOT.
pub const SYS_CHROOT: u32 = 18;
/// CAP_SYS_ADMIN.
pub const SYS_ADMIN: u32 = 21;
/// CAP_SYS_NICE.
pub const SYS_NICE: u32 = 23;
/// CAP_SYS_RESOURCE.
pub const SYS_RESOURCE: u32 = 24;
/// CAP_MAC_OVERRIDE.
pub const MAC_OVERRIDE: u32 = 32;

/// The capabilities that follow the filesystem user id (CAP_FS_MASK).
const FS_MASK: u64 = bit(CHOWN)
    | bit(DAC_OVERRIDE)
    | bit(DAC_READ_SEARCH)
    | bit(FOWNER)
    | bit(FSETID)
    | bit(LINUX_IMMUTABLE)
    | bit(MAC_OVERRIDE);

/// SECBIT_NOROOT: uid 0 gains no capabilities on execve.
pub const SECBIT_NOROOT: u32 = 1 << 0;
/// SECBIT_NO_SETUID_FIXUP: uid changes leave the capability sets alone.
pub const SECBIT_NO_SETUID_FIXUP: u32 = 1 << 2;
/// SECBIT_KEEP_CAPS: leaving uid 0 keeps the permitted set.
pub const SECBIT_KEEP_CAPS: u32 = 1 << 4;
/// SECBIT_KEEP_CAPS_LOCKED.
pub const SECBIT_KEEP_CAPS_LOCKED: u32 = 1 << 5;
/// SECBIT_NO_CAP_AMBIENT_RAISE: PR_CAP_AMBIENT_RAISE is refused.
pub const SECBIT_NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
/// Every securebit (SECURE_ALL_BITS).
const SECURE_ALL_BITS: u32 = 0x55;
/// Every lock bit (SECURE_ALL_LOCKS).
const SECURE_ALL_LOCKS: u32 = SECURE_ALL_BITS << 1;

/// The mask of capability `cap`.
pub const fn bit(cap: u32) -> u64 {
    1u64 << cap
}

/// Whether `cap` names a capability (cap_valid).
pub fn valid(cap: u64) -> bool {
    cap <= CAP_LAST_CAP as u64
}

/// The number of a capability name (`CAP_SYS_ADMIN`, any case).
pub fn from_name(name: &str) -> Option<u32> {
    CAP_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .map(|i| i as u32)
}

/// The user ids that the capability rules look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uids {
    /// Real.
    pub r: u32,
    /// Effective.
    pub e: u32,
    /// Saved.
    pub s: u32,
    /// Filesystem.
    pub fs: u32,
}

/// The five sets of an OCI `process.capabilities`, as masks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OciSets {
    /// bounding.
    pub bounding: u64,
    /// effective.
    pub effective: u64,
    /// permitted.
    pub permitted: u64,
    /// inheritable.
    pub inheritable: u64,
    /// ambient.
    pub ambient: u64,
}

/// A process's capability sets and securebits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// What the process may make effective.
    pub permitted: u64,
    /// What its privilege checks use.
    pub effective: u64,
    /// What execve may pass on.
    pub inheritable: u64,
    /// The most any execve can give (the bounding set).
    pub bounding: u64,
    /// Kept in permitted and effective across execve of an unprivileged
    /// program.
    pub ambient: u64,
    /// SECBIT_* flags.
    pub securebits: u32,
}

impl Default for Caps {
    /// Root's sets (a default [`super::Creds`] is root).
    fn default() -> Self {
        Caps::for_uid(0)
    }
}

impl Caps {
    /// Linux's sets for a process started with effective user `euid` by a
    /// fully privileged parent: everything for root, nothing otherwise,
    /// and a full bounding set.
    pub fn for_uid(euid: u32) -> Caps {
        let all = if euid == 0 { CAP_FULL } else { 0 };
        Caps {
            permitted: all,
            effective: all,
            inheritable: 0,
            bounding: CAP_FULL,
            ambient: 0,
            securebits: 0,
        }
    }

    /// The sets of a process that a container runtime set up with the
    /// given sets (bounding set, user ids with the permitted set kept,
    /// capset, ambient raises, as runc does) and then started with execve
    /// as user `uid`. Effective is limited to permitted and ambient to
    /// permitted and inheritable, as capset and PR_CAP_AMBIENT_RAISE
    /// would require.
    pub fn after_runtime_exec(sets: &OciSets, uid: u32) -> Caps {
        let permitted = sets.permitted & CAP_FULL;
        let inheritable = sets.inheritable & CAP_FULL;
        let mut c = Caps {
            permitted,
            effective: sets.effective & permitted,
            inheritable,
            bounding: sets.bounding & CAP_FULL,
            ambient: sets.ambient & permitted & inheritable,
            securebits: 0,
        };
        c.on_exec(uid, uid, false);
        c
    }

    /// Whether `cap` is effective.
    pub fn has(&self, cap: u32) -> bool {
        self.effective & bit(cap) != 0
    }

    /// Adjusts the sets after a set*uid call changed `old` to `new`
    /// (cap_task_fix_setuid for LSM_SETID_ID/RE/RES).
    pub fn fix_setuid(&mut self, old: Uids, new: Uids) {
        if self.securebits & SECBIT_NO_SETUID_FIXUP != 0 {
            return;
        }
        let had_root = old.r == 0 || old.e == 0 || old.s == 0;
        let has_root = new.r == 0 || new.e == 0 || new.s == 0;
        if had_root && !has_root {
            if self.securebits & SECBIT_KEEP_CAPS == 0 {
                self.permitted = 0;
                self.effective = 0;
            }
            self.ambient = 0;
        }
        if old.e == 0 && new.e != 0 {
            self.effective = 0;
        }
        if old.e != 0 && new.e == 0 {
            self.effective = self.permitted;
        }
        self.fix_setfsuid(old.fs, new.fs);
    }

    /// Adjusts the filesystem capabilities after the filesystem user id
    /// changed (cap_task_fix_setuid for LSM_SETID_FS).
    pub fn fix_setfsuid(&mut self, old: u32, new: u32) {
        if self.securebits & SECBIT_NO_SETUID_FIXUP != 0 {
            return;
        }
        if old == 0 && new != 0 {
            self.effective &= !FS_MASK;
        }
        if old != 0 && new == 0 {
            self.effective |= self.permitted & FS_MASK;
        }
    }

    /// The sets after execve of a program without file capabilities by a
    /// process with real user `ruid` and effective user `euid` (after any
    /// set-user-id bit took effect: `setid`) (cap_bprm_creds_from_file):
    /// root gets its bounding and inheritable sets (effective only if euid
    /// is 0) unless SECBIT_NOROOT; the ambient set is kept, unless the
    /// exec changed ids.
    pub fn on_exec(&mut self, ruid: u32, euid: u32, setid: bool) {
        if setid {
            self.ambient = 0;
        }
        let mut permitted = 0;
        let mut effective = false;
        if self.securebits & SECBIT_NOROOT == 0 {
            if euid == 0 || ruid == 0 {
                permitted = self.bounding | self.inheritable;
            }
            effective = euid == 0;
        }
        self.permitted = permitted | self.ambient;
        self.effective = if effective {
            self.permitted
        } else {
            self.ambient
        };
        self.securebits &= !SECBIT_KEEP_CAPS;
    }

    /// The sets after capset(effective, permitted, inheritable), or EPERM
    /// if the change is not allowed (cap_capset).
    pub fn capset(&self, effective: u64, permitted: u64, inheritable: u64) -> Result<Caps, Errno> {
        let (effective, permitted, inheritable) = (
            effective & CAP_FULL,
            permitted & CAP_FULL,
            inheritable & CAP_FULL,
        );
        let subset = |a: u64, b: u64| a & !b == 0;
        if !subset(inheritable, self.inheritable | self.permitted) && !self.has(SETPCAP) {
            return Err(Errno::EPERM);
        }
        if !subset(inheritable, self.inheritable | self.bounding)
            || !subset(permitted, self.permitted)
            || !subset(effective, permitted)
        {
            return Err(Errno::EPERM);
        }
        Ok(Caps {
            permitted,
            effective,
            inheritable,
            ambient: self.ambient & permitted & inheritable,
            ..*self
        })
    }

    /// PR_CAPBSET_DROP: removes `cap` from the bounding set.
    pub fn drop_bounding(&mut self, cap: u64) -> Result<(), Errno> {
        if !self.has(SETPCAP) {
            return Err(Errno::EPERM);
        }
        if !valid(cap) {
            return Err(Errno::EINVAL);
        }
        self.bounding &= !(1u64 << cap);
        Ok(())
    }

    /// PR_CAP_AMBIENT_RAISE: needs `cap` permitted and inheritable.
    pub fn raise_ambient(&mut self, cap: u64) -> Result<(), Errno> {
        if !valid(cap) {
            return Err(Errno::EINVAL);
        }
        let m = 1u64 << cap;
        if self.permitted & m == 0
            || self.inheritable & m == 0
            || self.securebits & SECBIT_NO_CAP_AMBIENT_RAISE != 0
        {
            return Err(Errno::EPERM);
        }
        self.ambient |= m;
        Ok(())
    }

    /// PR_SET_SECUREBITS: needs CAP_SETPCAP; locked bits stay as they
    /// are, and a set lock stays set.
    pub fn set_securebits(&mut self, bits: u64) -> Result<(), Errno> {
        let old = self.securebits;
        let locks = old & SECURE_ALL_LOCKS;
        let bad = bits & !u64::from(SECURE_ALL_BITS | SECURE_ALL_LOCKS) != 0;
        let bits = bits as u32;
        if bad || ((locks >> 1) & (old ^ bits)) != 0 || (locks & !bits) != 0 || !self.has(SETPCAP) {
            return Err(Errno::EPERM);
        }
        self.securebits = bits;
        Ok(())
    }

    /// PR_SET_KEEPCAPS.
    pub fn set_keepcaps(&mut self, on: u64) -> Result<(), Errno> {
        if on > 1 {
            return Err(Errno::EINVAL);
        }
        if self.securebits & SECBIT_KEEP_CAPS_LOCKED != 0 {
            return Err(Errno::EPERM);
        }
        if on == 1 {
            self.securebits |= SECBIT_KEEP_CAPS;
        } else {
            self.securebits &= !SECBIT_KEEP_CAPS;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ids(r: u32, e: u32, s: u32) -> Uids {
        Uids { r, e, s, fs: e }
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(from_name("CAP_SYS_ADMIN"), Some(SYS_ADMIN));
        assert_eq!(from_name("cap_chown"), Some(CHOWN));
        assert_eq!(from_name("CAP_NOPE"), None);
        assert_eq!(CAP_NAMES[CAP_LAST_CAP as usize], "CAP_CHECKPOINT_RESTORE");
    }

    #[test]
    fn leaving_root_drops_everything_unless_keepcaps() {
        let mut c = Caps::for_uid(0);
        c.fix_setuid(ids(0, 0, 0), ids(1000, 1000, 1000));
        assert_eq!((c.permitted, c.effective), (0, 0));

        let mut c = Caps::for_uid(0);
        c.set_keepcaps(1).unwrap();
        c.fix_setuid(ids(0, 0, 0), ids(1000, 1000, 1000));
        assert_eq!((c.permitted, c.effective), (CAP_FULL, 0));
        c.on_exec(1000, 1000, false);
        assert_eq!((c.permitted, c.effective), (0, 0));
    }

    #[test]
    fn seteuid_round_trip_restores_effective() {
        let mut c = Caps::for_uid(0);
        c.fix_setuid(ids(0, 0, 0), ids(0, 1000, 0));
        assert_eq!((c.permitted, c.effective), (CAP_FULL, 0));
        c.fix_setuid(ids(0, 1000, 0), ids(0, 0, 0));
        assert_eq!(c.effective, CAP_FULL);
        c.fix_setfsuid(0, 1000);
        assert!(!c.has(DAC_OVERRIDE) && c.has(SYS_ADMIN));
        c.fix_setfsuid(1000, 0);
        assert!(c.has(DAC_OVERRIDE));
    }

    #[test]
    fn exec_as_root_takes_the_bounding_set() {
        let mut c = Caps::for_uid(0);
        c.bounding = bit(CHOWN) | bit(KILL);
        c.effective = 0;
        c.on_exec(0, 0, false);
        assert_eq!(c.permitted, bit(CHOWN) | bit(KILL));
        assert_eq!(c.effective, c.permitted);
        // Real root, effective user: permitted but not effective.
        c.on_exec(0, 1000, false);
        assert_eq!((c.permitted, c.effective), (bit(CHOWN) | bit(KILL), 0));
    }

    #[test]
    fn ambient_survives_exec_of_a_user() {
        let mut c = Caps::for_uid(0);
        c = c.capset(bit(KILL), bit(KILL), bit(KILL)).unwrap();
        c.raise_ambient(KILL as u64).unwrap();
        assert_eq!(c.raise_ambient(CHOWN as u64), Err(Errno::EPERM));
        c.set_keepcaps(1).unwrap();
        c.fix_setuid(ids(0, 0, 0), ids(1000, 1000, 1000));
        // Ambient is cleared when root is left...
        assert_eq!(c.ambient, 0);
        c.raise_ambient(KILL as u64).unwrap();
        c.on_exec(1000, 1000, false);
        assert_eq!((c.permitted, c.effective), (bit(KILL), bit(KILL)));
    }

    #[test]
    fn docker_default_sets() {
        let d = bit(CHOWN) | bit(KILL) | bit(SETUID);
        let sets = OciSets {
            bounding: d,
            effective: d,
            permitted: d,
            ..Default::default()
        };
        let root = Caps::after_runtime_exec(&sets, 0);
        assert_eq!((root.permitted, root.effective, root.bounding), (d, d, d));
        let user = Caps::after_runtime_exec(&sets, 1000);
        assert_eq!((user.permitted, user.effective, user.bounding), (0, 0, d));
    }

    #[test]
    fn capset_rules() {
        let c = Caps {
            permitted: bit(CHOWN),
            effective: 0,
            inheritable: 0,
            bounding: CAP_FULL,
            ambient: 0,
            securebits: 0,
        };
        assert_eq!(c.capset(0, bit(KILL), 0), Err(Errno::EPERM));
        assert_eq!(c.capset(bit(KILL), bit(CHOWN), 0), Err(Errno::EPERM));
        assert_eq!(c.capset(0, 0, bit(KILL)), Err(Errno::EPERM));
        assert!(c.capset(bit(CHOWN), bit(CHOWN), bit(CHOWN)).is_ok());
        // Bits above CAP_LAST_CAP are dropped, not refused.
        let n = c.capset(0, bit(CHOWN) | (1 << 60), 0).unwrap();
        assert_eq!(n.permitted, bit(CHOWN));
    }

    #[test]
    fn securebits_locks() {
        let mut c = Caps::for_uid(0);
        c.set_securebits(u64::from(SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED))
            .unwrap();
        assert_eq!(c.set_keepcaps(0), Err(Errno::EPERM));
        assert_eq!(c.set_securebits(0), Err(Errno::EPERM));
        assert_eq!(c.set_securebits(1 << 9), Err(Errno::EPERM));
        let mut u = Caps::for_uid(1000);
        assert_eq!(u.set_securebits(0), Err(Errno::EPERM));
    }
}
