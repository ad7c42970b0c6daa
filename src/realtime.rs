//! Real-time scheduling for the two frame-path threads (render loop and output).
//!
//! A frame that wakes late is a visible stutter, and on a busy Pi the default scheduler can delay a
//! wake-up by milliseconds. The render and output threads only ever sleep until a deadline or a
//! message, so running them `SCHED_FIFO` cannot starve the system; they also get a 1 µs timer slack so
//! deadline sleeps end on time. Without the privilege the threads stay normal, and the first refusal
//! is logged once, at info level, with the reason and the fix (the second thread's is at debug).

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
    tracing::debug!(thread = name, priority = PRIORITY, "running SCHED_FIFO");
    true
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
    fn reported_once() {
        let flag = AtomicBool::new(false);
        assert!(first(&flag));
        assert!(!first(&flag));
        assert!(!first(&flag));
    }
}
