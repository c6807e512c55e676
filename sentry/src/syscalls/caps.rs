//! capget, capset and the capability operations of prctl. The rules for
//! what may change live in `kernel::caps`.

use crate::kernel::caps::{self, Caps};
use crate::kernel::task::TaskCtx;
use crate::{Errno, SysResult};

/// _LINUX_CAPABILITY_VERSION_1: one 32-bit word per set.
const VERSION_1: u32 = 0x1998_0330;
/// _LINUX_CAPABILITY_VERSION_2 (deprecated, same layout as 3).
const VERSION_2: u32 = 0x2007_1026;
/// _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.
const VERSION_3: u32 = 0x2008_0522;

/// One word of each set (struct __user_cap_data_struct): effective,
/// permitted, inheritable.
type CapData = [u32; 3];

/// Reads the header's version; an unknown one is answered with the
/// preferred version written back and EINVAL. Returns the number of data
/// words.
fn words(ctx: &TaskCtx, hdr: u64) -> SysResult<usize> {
    let version: u32 = ctx.read_val(hdr)?;
    match version {
        VERSION_1 => Ok(1),
        VERSION_2 | VERSION_3 => Ok(2),
        _ => {
            ctx.write_val(hdr, &VERSION_3)?;
            Err(Errno::EINVAL)
        }
    }
}

fn header_pid(ctx: &TaskCtx, hdr: u64) -> SysResult<i32> {
    ctx.read_val(hdr.checked_add(4).ok_or(Errno::EFAULT)?)
}

/// capget.
pub fn sys_capget(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let n = match words(ctx, a[0]) {
        Ok(n) => n,
        // Probing the version with a null data pointer succeeds.
        Err(Errno::EINVAL) if a[1] == 0 => return Ok(0),
        Err(e) => return Err(e),
    };
    if a[1] == 0 {
        return Ok(0);
    }
    let pid = header_pid(ctx, a[0])?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let c = if pid == 0 || pid == ctx.task.tid {
        ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?.creds.caps
    } else {
        let t = ctx.kernel().task(pid).ok_or(Errno::ESRCH)?;
        let g = t.tg.inner.lock().map_err(|_| Errno::EIO)?;
        g.creds.caps
    };
    let data: Vec<CapData> = (0..n)
        .map(|i| {
            [
                (c.effective >> (32 * i)) as u32,
                (c.permitted >> (32 * i)) as u32,
                (c.inheritable >> (32 * i)) as u32,
            ]
        })
        .collect();
    for (i, d) in data.iter().enumerate() {
        ctx.write_val(a[1] + (i * std::mem::size_of::<CapData>()) as u64, d)?;
    }
    Ok(0)
}

/// capset: only the caller's own sets.
pub fn sys_capset(ctx: &mut TaskCtx, a: [u64; 6]) -> SysResult<u64> {
    let n = words(ctx, a[0])?;
    let pid = header_pid(ctx, a[0])?;
    if pid != 0 && pid != ctx.task.tid {
        return Err(Errno::EPERM);
    }
    let (mut e, mut p, mut i) = (0u64, 0u64, 0u64);
    for w in 0..n {
        let d: CapData = ctx.read_val(a[1] + (w * std::mem::size_of::<CapData>()) as u64)?;
        e |= u64::from(d[0]) << (32 * w);
        p |= u64::from(d[1]) << (32 * w);
        i |= u64::from(d[2]) << (32 * w);
    }
    let mut g = ctx.task.tg.inner.lock().map_err(|_| Errno::EIO)?;
    g.creds.caps = g.creds.caps.capset(e, p, i)?;
    Ok(0)
}

/// PR_CAP_AMBIENT sub-operations.
const PR_CAP_AMBIENT_IS_SET: u64 = 1;
const PR_CAP_AMBIENT_RAISE: u64 = 2;
const PR_CAP_AMBIENT_LOWER: u64 = 3;
const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;

/// The capability operations of prctl; None if `a[0]` is not one of them.
pub fn prctl(ctx: &TaskCtx, a: [u64; 6]) -> Option<SysResult<u64>> {
    let op = a[0] as i32;
    let known = matches!(
        op,
        libc::PR_CAPBSET_READ
            | libc::PR_CAPBSET_DROP
            | libc::PR_CAP_AMBIENT
            | libc::PR_GET_KEEPCAPS
            | libc::PR_SET_KEEPCAPS
            | libc::PR_GET_SECUREBITS
            | libc::PR_SET_SECUREBITS
    );
    if !known {
        return None;
    }
    let mut g = match ctx.task.tg.inner.lock() {
        Ok(g) => g,
        Err(_) => return Some(Err(Errno::EIO)),
    };
    let c: &mut Caps = &mut g.creds.caps;
    Some(match op {
        libc::PR_CAPBSET_READ => {
            if caps::valid(a[1]) {
                Ok((c.bounding >> a[1]) & 1)
            } else {
                Err(Errno::EINVAL)
            }
        }
        libc::PR_CAPBSET_DROP => c.drop_bounding(a[1]).map(|()| 0),
        libc::PR_CAP_AMBIENT => {
            if a[2..5].iter().skip(1).any(|&v| v != 0)
                || (a[1] == PR_CAP_AMBIENT_CLEAR_ALL && a[2] != 0)
            {
                return Some(Err(Errno::EINVAL));
            }
            match a[1] {
                PR_CAP_AMBIENT_CLEAR_ALL => {
                    c.ambient = 0;
                    Ok(0)
                }
                PR_CAP_AMBIENT_IS_SET if caps::valid(a[2]) => Ok((c.ambient >> a[2]) & 1),
                PR_CAP_AMBIENT_RAISE => c.raise_ambient(a[2]).map(|()| 0),
                PR_CAP_AMBIENT_LOWER if caps::valid(a[2]) => {
                    c.ambient &= !(1u64 << a[2]);
                    Ok(0)
                }
                _ => Err(Errno::EINVAL),
            }
        }
        libc::PR_GET_KEEPCAPS => Ok(u64::from(c.securebits & caps::SECBIT_KEEP_CAPS != 0)),
        libc::PR_SET_KEEPCAPS => c.set_keepcaps(a[1]).map(|()| 0),
        libc::PR_GET_SECUREBITS => Ok(u64::from(c.securebits)),
        _ => c.set_securebits(a[1]).map(|()| 0),
    })
}
