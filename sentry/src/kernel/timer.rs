//! ITIMER_REAL / alarm: one helper thread per armed timer, cancelled by a
//! generation counter, delivering SIGALRM to the thread group.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use rvisor_syscalls::abi::Siginfo;

use super::ThreadGroup;

#[derive(Default)]
struct State {
    gen: u64,
    deadline: Option<Instant>,
    interval: Duration,
}

/// The real-time interval timer of a process.
#[derive(Default)]
pub struct ItimerReal {
    state: Arc<(Mutex<State>, Condvar)>,
}

impl ItimerReal {
    /// (time left, interval) of the current setting.
    pub fn get(&self) -> (Duration, Duration) {
        let Ok(s) = self.state.0.lock() else {
            return (Duration::ZERO, Duration::ZERO);
        };
        let left = s
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        (left, s.interval)
    }

    /// Arms (or with `value == 0` disarms) the timer; returns the old setting.
    pub fn set(
        &self,
        tg: Weak<ThreadGroup>,
        value: Duration,
        interval: Duration,
    ) -> (Duration, Duration) {
        let old = self.get();
        let Ok(mut s) = self.state.0.lock() else {
            return old;
        };
        s.gen += 1;
        s.interval = interval;
        if value.is_zero() {
            s.deadline = None;
            self.state.1.notify_all();
            return old;
        }
        s.deadline = Some(Instant::now() + value);
        let gen = s.gen;
        drop(s);
        self.state.1.notify_all();
        let st = self.state.clone();
        let _ = std::thread::Builder::new()
            .name("itimer".into())
            .spawn(move || run(st, gen, tg));
        old
    }
}

fn run(st: Arc<(Mutex<State>, Condvar)>, gen: u64, tg: Weak<ThreadGroup>) {
    let Ok(mut s) = st.0.lock() else { return };
    loop {
        if s.gen != gen {
            return;
        }
        let Some(deadline) = s.deadline else { return };
        let now = Instant::now();
        if now >= deadline {
            let Some(g) = tg.upgrade() else { return };
            if s.interval.is_zero() {
                s.deadline = None;
            } else {
                s.deadline = Some(deadline + s.interval);
            }
            drop(s);
            let mut info = Siginfo::new(libc::SIGALRM, rvisor_syscalls::abi::SI_KERNEL);
            info.set_timer(0, 0, 0);
            super::signal::send_to_group(&g, info);
            s = match st.0.lock() {
                Ok(s) => s,
                Err(_) => return,
            };
            continue;
        }
        s = match st.1.wait_timeout(s, deadline - now) {
            Ok((s, _)) => s,
            Err(_) => return,
        };
    }
}
