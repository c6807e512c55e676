//! The container's host cgroup: the whole sandbox (boot process, sentry
//! threads, stubs, gofers) is placed in it, so `linux.resources` limits
//! apply to everything the container costs the host, `pause` freezes it and
//! `delete` can find every process that is left.
//!
//! Both cgroup v1 (one directory per controller) and v2 (one unified
//! directory) are handled. The pids limit is also enforced exactly inside
//! the sentry (on workload tasks); the host limit is a looser backstop
//! because every workload thread also costs a sentry thread.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

/// Where cgroup file systems are mounted.
const ROOT: &str = "/sys/fs/cgroup";

/// v1 controllers the sandbox joins (when mounted).
const V1_CONTROLLERS: [&str; 6] = ["memory", "pids", "cpu", "cpuacct", "freezer", "cpuset"];

/// Host pids allowed per workload task (its stub thread and its sentry
/// thread), plus room for the sentry's own threads and the gofers.
const HOST_PIDS_PER_TASK: i64 = 2;
const HOST_PIDS_SLACK: i64 = 64;

/// The container's cgroup directories.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct Cgroup {
    /// v2: the one directory; v1: one directory per controller.
    pub dirs: Vec<PathBuf>,
    /// Whether this is cgroup v2.
    pub unified: bool,
}

fn is_v2() -> bool {
    Path::new(ROOT).join("cgroup.controllers").exists()
}

/// The relative cgroup path for `cgroups_path` from the spec (cgroupfs
/// `/a/b`, or systemd `slice:prefix:name`), or `/rvisor/<id>` if none.
pub fn relative_path(cgroups_path: Option<&Path>, id: &str) -> Result<PathBuf> {
    let Some(p) = cgroups_path.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(PathBuf::from("rvisor").join(id));
    };
    let s = p.to_string_lossy();
    let rel = if !s.starts_with('/') && s.matches(':').count() == 2 {
        let mut parts = s.splitn(3, ':');
        let slice = parts.next().unwrap_or_default();
        let prefix = parts.next().unwrap_or_default();
        let name = parts.next().unwrap_or_default();
        let slice = if slice.is_empty() {
            "system.slice"
        } else {
            slice
        };
        PathBuf::from(slice).join(format!("{prefix}-{name}.scope"))
    } else {
        PathBuf::from(s.trim_start_matches('/'))
    };
    if rel
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
        || rel.as_os_str().is_empty()
    {
        bail!("linux.cgroupsPath {}: not a plain path", p.display());
    }
    Ok(rel)
}

impl Cgroup {
    /// Creates the directories for `rel` and applies `res`.
    pub fn create(rel: &Path, res: Option<&LinuxResources>) -> Result<Cgroup> {
        let cg = if is_v2() {
            Cgroup {
                dirs: vec![Path::new(ROOT).join(rel)],
                unified: true,
            }
        } else {
            Cgroup {
                dirs: V1_CONTROLLERS
                    .iter()
                    .map(|c| Path::new(ROOT).join(c))
                    .filter(|d| d.is_dir())
                    .map(|d| d.join(rel))
                    .collect(),
                unified: false,
            }
        };
        for d in &cg.dirs {
            std::fs::create_dir_all(d)
                .with_context(|| format!("creating cgroup {}", d.display()))?;
            if !cg.unified && d.starts_with(Path::new(ROOT).join("cpuset")) {
                inherit_cpuset(d)?;
            }
        }
        if cg.unified {
            enable_v2_controllers(&cg.dirs[0]);
        }
        if let Some(r) = res {
            if let Err(e) = cg.apply(r) {
                cg.remove();
                return Err(e);
            }
        }
        Ok(cg)
    }

    /// Open `cgroup.procs` files: writing "0" to each moves the writer in
    /// (done by the sandbox process before it execs, see
    /// [`join_from_pre_exec`]).
    pub fn procs_files(&self) -> Result<Vec<OwnedFd>> {
        self.dirs
            .iter()
            .map(|d| {
                let p = d.join("cgroup.procs");
                File::options()
                    .write(true)
                    .open(&p)
                    .map(OwnedFd::from)
                    .with_context(|| format!("opening {}", p.display()))
            })
            .collect()
    }

    fn file(&self, controller: &str, name: &str) -> Option<PathBuf> {
        let d = if self.unified {
            self.dirs.first()?
        } else {
            self.dirs.iter().find(|d| {
                d.strip_prefix(ROOT)
                    .ok()
                    .and_then(|r| r.components().next())
                    .is_some_and(|c| c.as_os_str() == controller)
            })?
        };
        Some(d.join(name))
    }

    fn write(&self, controller: &str, name: &str, value: &str) -> Result<()> {
        let Some(p) = self.file(controller, name) else {
            bail!("the {controller} cgroup controller is not available");
        };
        std::fs::write(&p, value).with_context(|| format!("writing {value:?} to {}", p.display()))
    }

    fn read(&self, controller: &str, name: &str) -> Option<String> {
        std::fs::read_to_string(self.file(controller, name)?)
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// Applies memory, pids and cpu limits (`create` and `update`).
    pub fn apply(&self, r: &LinuxResources) -> Result<()> {
        if let Some(m) = r.memory() {
            if let Some(limit) = m.limit() {
                if self.unified {
                    self.write("memory", "memory.max", &v2_max(limit))?;
                    if let Some(swap) = m.swap() {
                        let s = if swap < 0 || limit < 0 {
                            -1
                        } else {
                            (swap - limit).max(0)
                        };
                        self.write("memory", "memory.swap.max", &v2_max(s))?;
                    }
                } else {
                    self.write("memory", "memory.limit_in_bytes", &limit.to_string())?;
                    if let Some(swap) = m.swap() {
                        // Not every kernel accounts swap; ignore its absence.
                        if self
                            .file("memory", "memory.memsw.limit_in_bytes")
                            .is_some_and(|p| p.exists())
                        {
                            self.write("memory", "memory.memsw.limit_in_bytes", &swap.to_string())?;
                        }
                    }
                }
            }
        }
        if let Some(p) = r.pids() {
            let limit = p.limit();
            let host = if limit > 0 {
                limit
                    .saturating_mul(HOST_PIDS_PER_TASK)
                    .saturating_add(HOST_PIDS_SLACK)
            } else {
                -1
            };
            self.write("pids", "pids.max", &v2_max(host))?;
        }
        if let Some(c) = r.cpu() {
            if self.unified {
                if let Some(shares) = c.shares() {
                    // The conversion runc uses from shares to weight.
                    let w = 1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142;
                    self.write("cpu", "cpu.weight", &w.to_string())?;
                }
                if c.quota().is_some() || c.period().is_some() {
                    let q = c
                        .quota()
                        .filter(|q| *q > 0)
                        .map_or("max".into(), |q| q.to_string());
                    let per = c.period().unwrap_or(100_000);
                    self.write("cpu", "cpu.max", &format!("{q} {per}"))?;
                }
            } else {
                if let Some(shares) = c.shares() {
                    self.write("cpu", "cpu.shares", &shares.to_string())?;
                }
                if let Some(per) = c.period() {
                    self.write("cpu", "cpu.cfs_period_us", &per.to_string())?;
                }
                if let Some(q) = c.quota() {
                    self.write("cpu", "cpu.cfs_quota_us", &q.to_string())?;
                }
            }
        }
        Ok(())
    }

    /// Host pids of every process in the cgroup.
    pub fn pids(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self
            .dirs
            .iter()
            .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|s| {
                s.lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Freezes (`pause`) or thaws (`resume`) every process of the sandbox
    /// and waits until the kernel says it is done.
    pub fn freeze(&self, frozen: bool) -> Result<()> {
        let (ctl, file, val, want) = if self.unified {
            ("", "cgroup.freeze", if frozen { "1" } else { "0" }, None)
        } else {
            (
                "freezer",
                "freezer.state",
                if frozen { "FROZEN" } else { "THAWED" },
                Some(if frozen { "FROZEN" } else { "THAWED" }),
            )
        };
        let p = if self.unified {
            self.dirs.first().map(|d| d.join(file))
        } else {
            self.file(ctl, file)
        };
        let Some(p) = p else {
            bail!("no freezer cgroup for this container");
        };
        std::fs::write(&p, val).with_context(|| format!("writing {val} to {}", p.display()))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let done = match want {
                Some(w) => std::fs::read_to_string(&p)
                    .map(|s| s.trim() == w)
                    .unwrap_or(false),
                None => {
                    let ev = self.dirs[0].join("cgroup.events");
                    std::fs::read_to_string(ev)
                        .map(|s| {
                            s.lines()
                                .any(|l| l == format!("frozen {}", u8::from(frozen)))
                        })
                        .unwrap_or(true)
                }
            };
            if done {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the cgroup did not become {val}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Whether the cgroup is frozen now.
    pub fn is_frozen(&self) -> bool {
        if self.unified {
            self.dirs
                .first()
                .and_then(|d| std::fs::read_to_string(d.join("cgroup.freeze")).ok())
                .is_some_and(|s| s.trim() == "1")
        } else {
            self.read("freezer", "freezer.state")
                .is_some_and(|s| s != "THAWED")
        }
    }

    /// Usage numbers for `events --stats`, in runc's JSON shape.
    pub fn stats(&self) -> serde_json::Value {
        let num = |c: &str, f: &str| -> u64 {
            self.read(c, f)
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let (mem_usage, mem_limit, mem_max, cpu_ns) = if self.unified {
            let cpu_us = self
                .read("cpu", "cpu.stat")
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("usage_usec ")?.trim().parse::<u64>().ok())
                })
                .unwrap_or(0);
            (
                num("memory", "memory.current"),
                num("memory", "memory.max"),
                num("memory", "memory.peak"),
                cpu_us * 1000,
            )
        } else {
            (
                num("memory", "memory.usage_in_bytes"),
                num("memory", "memory.limit_in_bytes"),
                num("memory", "memory.max_usage_in_bytes"),
                num("cpuacct", "cpuacct.usage"),
            )
        };
        serde_json::json!({
            "cpu": {"usage": {"total": cpu_ns}},
            "memory": {"usage": {"usage": mem_usage, "limit": mem_limit, "max": mem_max}},
            "pids": {"current": num("pids", "pids.current"), "limit": num("pids", "pids.max")},
        })
    }

    /// Kills every process left in the cgroup and removes the directories
    /// (best effort: a cgroup still in use stays).
    pub fn remove(&self) {
        if self.is_frozen() {
            let _ = self.freeze(false);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pids = self.pids();
            if pids.is_empty() || Instant::now() > deadline {
                break;
            }
            for p in pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for d in &self.dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}

fn v2_max(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// A new v1 cpuset cgroup starts empty; copy the parents' cpus and mems
/// down so processes may join it.
fn inherit_cpuset(dir: &Path) -> Result<()> {
    let root = Path::new(ROOT).join("cpuset");
    let mut chain = Vec::new();
    let mut d = dir.to_path_buf();
    while d != root {
        chain.push(d.clone());
        if !d.pop() {
            break;
        }
    }
    for d in chain.into_iter().rev() {
        let parent = d.parent().unwrap_or(&root).to_path_buf();
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let cur = std::fs::read_to_string(d.join(f)).unwrap_or_default();
            if cur.trim().is_empty() {
                let v = std::fs::read_to_string(parent.join(f)).unwrap_or_default();
                std::fs::write(d.join(f), v.trim())
                    .with_context(|| format!("writing {}", d.join(f).display()))?;
            }
        }
    }
    Ok(())
}

/// In v2, controllers must be enabled in every ancestor's subtree_control.
fn enable_v2_controllers(dir: &Path) {
    let root = Path::new(ROOT);
    let mut anc: Vec<PathBuf> = dir
        .ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(root))
        .map(Path::to_path_buf)
        .collect();
    anc.reverse();
    for a in anc {
        if let Ok(mut f) = File::options()
            .write(true)
            .open(a.join("cgroup.subtree_control"))
        {
            for c in ["+memory", "+pids", "+cpu"] {
                let _ = f.write_all(c.as_bytes());
            }
        }
    }
}

/// For a `pre_exec` closure: moves the calling process into the cgroups
/// whose `cgroup.procs` files `fds` are. Async-signal-safe (raw writes).
pub fn join_from_pre_exec(fds: &[i32]) -> std::io::Result<()> {
    for fd in fds {
        // SAFETY: write(2) of a static buffer to a descriptor we own.
        if unsafe { libc::write(*fd, b"0".as_ptr().cast(), 1) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Raw fds of `files` (for [`join_from_pre_exec`]).
pub fn raw(files: &[OwnedFd]) -> Vec<i32> {
    files.iter().map(|f| f.as_raw_fd()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_paths() {
        assert_eq!(
            relative_path(None, "c1").expect("default"),
            PathBuf::from("rvisor/c1")
        );
        assert_eq!(
            relative_path(Some(Path::new("/docker/abc")), "x").expect("cgroupfs"),
            PathBuf::from("docker/abc")
        );
        assert_eq!(
            relative_path(Some(Path::new("system.slice:docker:abc")), "x").expect("systemd"),
            PathBuf::from("system.slice/docker-abc.scope")
        );
        assert!(relative_path(Some(Path::new("/a/../b")), "x").is_err());
    }
}
