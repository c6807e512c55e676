//! The sandbox's `/sys`: a small read-only tree with what real programs
//! read from sysfs (the CPU topology glibc's `get_nprocs`/`get_nprocs_conf`
//! and language runtimes use, a few kernel settings), built on a tmpfs at
//! boot and mounted read-only. Nothing of the host's `/sys` shows through.

use std::sync::Arc;

use super::tmpfs::Tmpfs;
use super::Inode;
use crate::SysResult;

/// Builds the tree for a sandbox that reports `ncpus` CPUs.
pub fn new_sysfs(dev: u64, ncpus: usize) -> SysResult<Arc<dyn Inode>> {
    let root = Tmpfs::new(dev, 0o555, 0, 0, None);
    let range = if ncpus <= 1 {
        "0\n".to_string()
    } else {
        format!("0-{}\n", ncpus - 1)
    };
    let cpu = mkdirs(&root, &["devices", "system", "cpu"])?;
    for f in ["online", "possible", "present"] {
        file(&cpu, f, range.as_bytes())?;
    }
    file(&cpu, "kernel_max", b"8191\n")?;
    for n in 0..ncpus {
        let d = cpu.mkdir(format!("cpu{n}").as_bytes(), 0o555, 0, 0)?;
        file(&d, "online", b"1\n")?;
        let topo = d.mkdir(b"topology", 0o555, 0, 0)?;
        file(&topo, "core_id", format!("{n}\n").as_bytes())?;
        file(&topo, "physical_package_id", b"0\n")?;
    }
    let nodes = mkdirs(&root, &["devices", "system", "node"])?;
    for f in [
        "online",
        "possible",
        "has_cpu",
        "has_memory",
        "has_normal_memory",
    ] {
        file(&nodes, f, b"0\n")?;
    }
    let node = mkdirs(&root, &["devices", "system", "node", "node0"])?;
    file(&node, "cpulist", range.as_bytes())?;
    // libnuma reads the mask form; without it, it warns that /sys is not
    // mounted.
    file(&node, "cpumap", format!("{}\n", cpumap(ncpus)).as_bytes())?;
    let thp = mkdirs(&root, &["kernel", "mm", "transparent_hugepage"])?;
    file(&thp, "enabled", b"always madvise [never]\n")?;
    file(&thp, "hpage_pmd_size", b"2097152\n")?;
    mkdirs(&root, &["fs", "cgroup"])?;
    mkdirs(&root, &["class", "net"])?;
    Ok(root)
}

/// A CPU mask as sysfs prints one (`%*pb`): hexadecimal in 32-bit words,
/// most significant first, separated by commas, as wide as `ncpus` bits.
fn cpumap(ncpus: usize) -> String {
    let ncpus = ncpus.max(1);
    let words = ncpus.div_ceil(32);
    let mut out = Vec::with_capacity(words);
    for w in (0..words).rev() {
        let bits = (ncpus - w * 32).min(32);
        let value: u64 = (1u64 << bits) - 1;
        if w == words - 1 {
            let nibbles = bits.div_ceil(4);
            out.push(format!("{value:0nibbles$x}"));
        } else {
            out.push(format!("{value:08x}"));
        }
    }
    out.join(",")
}

fn mkdirs(root: &Arc<dyn Inode>, path: &[&str]) -> SysResult<Arc<dyn Inode>> {
    let mut cur = root.clone();
    for p in path {
        cur = match cur.lookup(p.as_bytes()) {
            Ok(d) => d,
            Err(_) => cur.mkdir(p.as_bytes(), 0o555, 0, 0)?,
        };
    }
    Ok(cur)
}

fn file(dir: &Arc<dyn Inode>, name: &str, content: &[u8]) -> SysResult<()> {
    let f = dir.create(name.as_bytes(), 0o444, 0, 0)?;
    let open = f.open(libc::O_WRONLY as u32)?;
    open.write(content, 0)?;
    open.release();
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cpumaps() {
        assert_eq!(cpumap(2), "3");
        assert_eq!(cpumap(8), "ff");
        assert_eq!(cpumap(36), "f,ffffffff");
        assert_eq!(cpumap(64), "ffffffff,ffffffff");
    }

    #[test]
    fn cpu_files() {
        let root = new_sysfs(1, 4).unwrap();
        let cpu = ["devices", "system", "cpu"]
            .iter()
            .fold(root, |d, n| d.lookup(n.as_bytes()).unwrap());
        let online = cpu
            .lookup(b"online")
            .unwrap()
            .open(libc::O_RDONLY as u32)
            .unwrap();
        let mut b = [0u8; 16];
        let n = online.read(&mut b, 0).unwrap();
        assert_eq!(&b[..n], b"0-3\n");
        assert!(cpu.lookup(b"cpu3").is_ok());
        assert!(cpu.lookup(b"cpu4").is_err());
    }
}
