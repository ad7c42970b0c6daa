//! Real-time scheduling for the two frame-path threads (render loop and output).
//!
//! A frame that wakes late is a visible stutter, and on a busy Pi the default scheduler can delay a
//! wake-up by milliseconds. The render and output threads only ever sleep until a deadline or a
//! message, so running them `SCHED_FIFO` cannot starve the system; they also get a 1 µs timer slack so
//! deadline sleeps end on time. Without the privilege (not root, no `CAP_SYS_NICE`) the threads stay
//! normal and this is logged once at debug level.

/// FIFO priority: above normal tasks, well below the kernel's own real-time threads.
const PRIORITY: i32 = 10;

/// Makes the calling thread real-time if allowed; returns whether it is.
pub fn promote_current_thread(name: &str) -> bool {
    // SAFETY: plain syscalls on the calling thread with valid arguments; no memory is shared.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
        let param = libc::sched_param {
            sched_priority: PRIORITY,
        };
        let rc = libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param);
        if rc != 0 {
            tracing::debug!(
                thread = name,
                errno = rc,
                "real-time scheduling not permitted; running as a normal thread"
            );
            return false;
        }
    }
    tracing::debug!(thread = name, priority = PRIORITY, "running SCHED_FIFO");
    true
}
