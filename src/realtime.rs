//! Real-time scheduling for the frame-path threads: the render loop, and the output thread when the
//! writes wait (`output::Placement`; otherwise frames are shown on the render thread).
//!
//! A frame that wakes late is a visible stutter, and on a busy Pi the default scheduler can delay a
//! wake-up by milliseconds. The render and output threads only ever sleep until a deadline or a
//! message, so running them `SCHED_FIFO` cannot starve the system; they also get a 1 µs timer slack so
//! deadline sleeps end on time. Without the privilege the threads stay normal, and the first refusal
//! is logged once, at info level, with the reason and the fix (the second thread's is at debug).
//!
//! Real-time threads also share one CPU (the highest the process may use). With an output thread, the
//! render thread wakes it once per frame; for a `SCHED_FIFO` thread woken by another of the same
//! priority, the kernel picks an idle CPU, so every frame would cost an inter-processor interrupt and
//! a cold cache (on the benchmark machine the output thread's wake-up cost 5× as much as on the
//! waker's CPU, where it runs as soon as the render thread sleeps). Neither thread computes for long
//! — the output thread's device writes sleep in the kernel — so one CPU serves both; on a single-core
//! Pi Zero it is the only choice anyway.

use std::sync::atomic::{AtomicBool, Ordering};

/// FIFO priority: above normal tasks, well below the kernel's own real-time threads.
const PRIORITY: i32 = 10;

/// Whether a refusal has been logged at info level already.
static REFUSAL_REPORTED: AtomicBool = AtomicBool::new(false);

/// Makes the calling thread real-time if allowed; returns whether it is.
pub fn promote_current_thread(name: &str) -> bool {
    // SAFETY: plain syscalls on the calling thread with valid arguments; no memory is shared.
    let rc = unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
        let param = libc::sched_param {
            sched_priority: PRIORITY,
        };
        libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param)
    };
    if rc != 0 {
        let error = std::io::Error::from_raw_os_error(rc);
        if first(&REFUSAL_REPORTED) {
            tracing::info!(
                thread = name,
                %error,
                reason = reason(rc),
                "no real-time priority (SCHED_FIFO): frames are paced as a normal thread and may \
                 stutter under load"
            );
        } else {
            tracing::debug!(thread = name, %error, "no real-time priority");
        }
        return false;
    }
    let cpu = frame_cpu();
    if let Some(cpu) = cpu {
        pin_current_thread(cpu);
    }
    tracing::debug!(
        thread = name,
        priority = PRIORITY,
        ?cpu,
        "running SCHED_FIFO"
    );
    true
}

/// The CPU the frame threads share: the highest one this thread may run on, when there are several.
fn frame_cpu() -> Option<usize> {
    // SAFETY: `set` is a plain bit set the kernel fills for the calling thread.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        set
    };
    // SAFETY: CPU_ISSET only reads `set` at an index below CPU_SETSIZE.
    let allowed = (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) });
    let (count, last) = allowed.fold((0, None), |(n, _), c| (n + 1, Some(c)));
    if count > 1 { last } else { None }
}

/// Keeps the calling thread on `cpu` (best effort: a refusal leaves it where it is).
fn pin_current_thread(cpu: usize) {
    // SAFETY: `set` is a zeroed bit set with one CPU below CPU_SETSIZE; the call reads it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        tracing::debug!(cpu, error = %std::io::Error::last_os_error(), "frame thread not pinned");
    }
}

/// True the first time it is called on `flag`.
fn first(flag: &AtomicBool) -> bool {
    !flag.swap(true, Ordering::Relaxed)
}

/// Why `pthread_setschedparam` refused with `errno`, and what to do about it.
fn reason(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => {
            "not permitted: the process is not root, has no CAP_SYS_NICE and its RLIMIT_RTPRIO is \
             below 10. Run it as root, or give the systemd unit LimitRTPRIO=10 or \
             AmbientCapabilities=CAP_SYS_NICE (in a shell: ulimit -r 10). As root it also fails \
             under RestrictRealtime=yes or in a cgroup without a real-time budget"
        }
        libc::EINVAL => "the kernel does not accept SCHED_FIFO at priority 10",
        libc::ESRCH => "the thread is gone",
        _ => "unexpected error from pthread_setschedparam",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_says_why_and_what_to_do() {
        let eperm = reason(libc::EPERM);
        for fix in ["root", "CAP_SYS_NICE", "LimitRTPRIO=10", "ulimit -r"] {
            assert!(eperm.contains(fix), "{fix}");
        }
        assert!(reason(libc::EINVAL).contains("priority"));
    }

    #[test]
    fn the_frame_cpu_is_one_this_thread_may_use() {
        // On a one-CPU machine there is nothing to share; otherwise the highest allowed CPU.
        if let Some(cpu) = frame_cpu() {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            assert!(n > 1 && cpu < libc::CPU_SETSIZE as usize);
        }
    }

    #[test]
    fn reported_once() {
        let flag = AtomicBool::new(false);
        assert!(first(&flag));
        assert!(!first(&flag));
        assert!(!first(&flag));
    }
}
