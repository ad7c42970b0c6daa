//! The pacing rules at made-up instants: deadlines, an urgent frame between two of them,
//! re-anchoring after a stall, slow fades, idle sleep and the loop's timers.

use super::*;

const FULL: Duration = Duration::from_millis(20);
const REFRESH: Duration = Duration::from_secs(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A turn at `t0 + at` with `pace`, nothing else pending.
fn moment(t0: Instant, at: u64, pace: Option<Duration>, need_frame: bool) -> Moment {
    Moment {
        now: t0 + ms(at),
        pace,
        full: FULL,
        refresh: REFRESH,
        need_frame,
        idle_timer: None,
        timer: Duration::MAX,
    }
}

fn same(t: Instant) -> Instant {
    t
}

/// One whole turn that wakes at `wake` (after the wait): plans, and shows the frame if one is due.
fn turn(p: &mut Pacer, t0: Instant, at: u64, wake: u64, need: bool) -> (Turn, Option<Due>) {
    let turn = p.plan(&moment(t0, at, Some(FULL), need), same);
    let due = p.due(&turn, t0 + ms(wake), need);
    if due.is_some() {
        p.shown(&turn, t0 + ms(wake), same);
    }
    (turn, due)
}

#[test]
fn waking_from_idle_draws_at_once_then_every_interval_without_drift() {
    let t0 = Instant::now();
    let mut p = Pacer::new(t0);
    // Idle until 1 s; then an effect starts: the first frame is now, not at a stale deadline.
    let (t, due) = turn(&mut p, t0, 1000, 1000, true);
    assert_eq!(t.wait, Duration::ZERO);
    assert_eq!(
        due,
        Some(Due {
            refresh: false,
            late: false
        })
    );
    assert_eq!(p.next(), t0 + ms(1020));
    // Each later turn waits exactly until the deadline, which moves by one interval, even when the
    // loop wakes a little after it (the rate never drifts).
    for k in 1..50u64 {
        let at = 1000 + 20 * k;
        let (t, due) = turn(&mut p, t0, at - 20 + 3, at + 2, false);
        assert_eq!(t.wait, ms(17), "turn {k}");
        assert_eq!(
            due,
            Some(Due {
                refresh: false,
                late: false
            }),
            "turn {k}"
        );
        assert_eq!(p.next(), t0 + ms(at + 20), "turn {k}");
    }
}

#[test]
fn a_wake_before_the_deadline_draws_nothing() {
    let t0 = Instant::now();
    let mut p = Pacer::new(t0);
    turn(&mut p, t0, 0, 0, true);
    let t = p.plan(&moment(t0, 5, Some(FULL), false), same);
    assert_eq!(t.wait, ms(15));
    // A command woke the loop at 8 ms: not yet due.
    assert_eq!(t.after_commands(false, true), AfterCommands::Sleep);
    assert_eq!(p.due(&t, t0 + ms(8), true), None);
}

#[test]
fn an_urgent_frame_between_deadlines_leaves_the_schedule_alone() {
    let t0 = Instant::now();
    let mut p = Pacer::new(t0);
    turn(&mut p, t0, 0, 0, true);
    let t = p.plan(&moment(t0, 3, Some(FULL), false), same);
    // A knob turn arrives at 7 ms while animating: shown at once.
    assert_eq!(t.after_commands(true, true), AfterCommands::Urgent);
    p.shown_between(t0 + ms(7));
    assert_eq!(p.next(), t0 + ms(20), "the deadline did not move");
    // The next turn still waits for the 20 ms deadline.
    let t = p.plan(&moment(t0, 8, Some(FULL), false), same);
    assert_eq!(t.wait, ms(12));
    // A command that is not a local input does not get a frame of its own while animating.
    assert_eq!(t.after_commands(false, true), AfterCommands::Sleep);
}

#[test]
fn after_a_stall_the_frame_is_late_and_the_schedule_re_anchors() {
    let t0 = Instant::now();
    let mut p = Pacer::new(t0);
    turn(&mut p, t0, 0, 0, true);
    // The loop was stalled and wakes at 250 ms, twelve deadlines late.
    let (_, due) = turn(&mut p, t0, 3, 250, false);
    assert_eq!(
        due,
        Some(Due {
            refresh: false,
            late: true
        })
    );
    // No burst of catch-up frames: the next deadline is one interval from now.
    assert_eq!(p.next(), t0 + ms(270));
    // A frame less than half an interval behind is on time.
    let (_, due) = turn(&mut p, t0, 255, 279, false);
    assert_eq!(
        due,
        Some(Due {
            refresh: false,
            late: false
        })
    );
}

#[test]
fn after_a_stall_frames_come_one_interval_apart_not_in_a_catch_up_burst() {
    let t0 = Instant::now();
    let mut p = Pacer::new(t0);
    turn(&mut p, t0, 0, 0, true);
    // Stalled from 3 ms to 250 ms: one late frame, then the loop comes straight back.
    turn(&mut p, t0, 3, 250, false);
    let t = p.plan(&moment(t0, 251, Some(FULL), false), same);
    assert_eq!(
        t.wait,
        ms(19),
        "the next deadline is a full interval after the late frame"
    );
    assert_eq!(p.due(&t, t0 + ms(251), false), None);
    // A loop that wakes every millisecond for the next 100 ms draws exactly five frames, on the
    // re-anchored grid: none of the twelve missed deadlines is made up.
    let mut shown = Vec::new();
    for at in 251..=350u64 {
        let t = p.plan(&moment(t0, at, Some(FULL), false), same);
        if p.due(&t, t0 + ms(at), false).is_some() {
            p.shown(&t, t0 + ms(at), same);
            shown.push(at);
        }
    }
    assert_eq!(shown, [270, 290, 310, 330, 350]);
}

#[test]
fn a_sync_group_puts_the_first_and_every_deadline_on_its_grid() {
    let t0 = Instant::now();
    let mut p = Pacer::new(t0);
    // A grid of 20 ms points at t0 + 7 + 20k.
    let grid = |t: Instant| {
        let off = (t - t0).as_micros() as u64;
        t0 + Duration::from_micros(7_000 + (off.saturating_sub(7_000)).div_ceil(20_000) * 20_000)
    };
    let t = p.plan(&moment(t0, 100, Some(FULL), true), grid);
    assert_eq!(p.next(), t0 + ms(107));
    assert_eq!(t.wait, ms(7));
    p.shown(&t, t0 + ms(108), grid);
    assert_eq!(p.next(), t0 + ms(127));
}

#[test]
fn idle_sleeps_until_the_refresh_or_a_timer() {
    let t0 = Instant::now();
    let mut p = Pacer::new(t0);
    let idle = p.plan(&moment(t0, 0, None, true), same);
    assert_eq!(idle.wait, Duration::ZERO, "a change is shown at once");
    assert_eq!(idle.after_commands(false, true), AfterCommands::Check);
    p.shown(&idle, t0, same);
    // Nothing moves and nothing changed: sleep until the refresh resend.
    let t = p.plan(&moment(t0, 1000, None, false), same);
    assert_eq!(t.wait, REFRESH - ms(1000));
    assert_eq!(t.after_commands(false, false), AfterCommands::Sleep);
    // ... which is then due and marked as a refresh.
    assert_eq!(
        p.due(&t, t0 + REFRESH, false),
        Some(Due {
            refresh: true,
            late: false
        })
    );
    // A playlist entry due sooner, or a realtime/group timer, wakes it earlier.
    let mut m = moment(t0, 1000, None, false);
    m.idle_timer = Some(ms(300));
    assert_eq!(p.plan(&m, same).wait, ms(300));
    m.timer = ms(40);
    assert_eq!(p.plan(&m, same).wait, ms(40));
}

#[test]
fn a_slow_fade_shows_a_change_at_once_and_otherwise_waits_for_its_own_pace() {
    let t0 = Instant::now();
    let mut p = Pacer::new(t0);
    let slow = Some(ms(3000));
    let t = p.plan(&moment(t0, 0, slow, true), same);
    assert!(t.slow);
    assert_eq!(t.wait, Duration::ZERO);
    p.shown(&t, t0, same);
    assert_eq!(p.next(), t0 + ms(3000));
    // A colour change arrives at 500 ms: a frame at once, before the fade's next step.
    let t = p.plan(&moment(t0, 400, slow, false), same);
    assert_eq!(t.wait, ms(2600));
    assert_eq!(t.after_commands(false, true), AfterCommands::Check);
    assert!(p.due(&t, t0 + ms(500), true).is_some());
    // The fade speeding up (a quick transition starts) re-anchors the deadline to now.
    let mut p = Pacer::new(t0);
    p.plan(&moment(t0, 0, slow, true), same);
    p.shown(&t, t0, same);
    let t = p.plan(&moment(t0, 100, Some(FULL), true), same);
    assert_eq!(p.next(), t0 + ms(100));
    assert_eq!(t.wait, Duration::ZERO);
}
