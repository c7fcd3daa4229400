//! Write windows: a release waits for every window granted; a lost lease needs nothing.

use super::*;

fn release_sent_at(h: &Harness) -> Mono {
    h.writes
        .iter()
        .find(|(_, w)| w.kind == WriteKind::Release)
        .map(|(sent, _)| *sent)
        .expect("a release was sent")
}

#[test]
fn a_shutdown_release_waits_for_the_windows_already_granted() {
    let mut h = Harness::new(private("a", "sa"));
    h.window = Some(ms(150));
    h.run(INTERVAL * 2);
    h.step();
    let granted = h.granted;
    assert!(granted > h.now, "a window is open");
    h.core.begin_release();
    assert_eq!(h.role(), Role::Passive, "stops granting at once");
    assert_eq!(h.core.next_step(h.now), Step::Wait(granted));
    h.run(LEASE);
    assert_eq!(
        h.granted, granted,
        "no window granted after the release began"
    );
    assert!(release_sent_at(&h) >= granted);
    assert!(h.item().unwrap().is_released());
}

#[test]
fn a_handover_release_waits_for_the_windows_already_granted() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    a.window = Some(ms(80));
    a.run(ms(5));
    let mut b = beside(&a, config("b", "sb"));
    b.run(ms(5));
    let version = a.item().unwrap().version.unwrap();
    a.store
        .request_handover_now(&operator::HandoverRequest::by_operator(
            &version, "b", "h11",
        ))
        .unwrap();
    // Noticed at the next renewal; released one window later.
    a.run(INTERVAL * 2);
    assert!(a.granted > Mono::ZERO);
    assert!(
        release_sent_at(&a) >= a.granted,
        "released before the last window ended"
    );
    // The target saw the tenure within a lease, so it acquires at its next read.
    b.now = a.now;
    b.run(INTERVAL + ms(5));
    assert_eq!(b.role(), Role::Active);
}

#[test]
fn a_step_down_for_health_waits_for_the_windows_already_granted() {
    let mut h = Harness::new(private("a", "sa"));
    h.window = Some(ms(120));
    h.run(INTERVAL * 2);
    h.step();
    let granted = h.granted;
    h.core.set_eligible(false);
    assert_eq!(h.role(), Role::Passive);
    assert_eq!(h.core.next_step(h.now), Step::Wait(granted));
    h.run(INTERVAL * 3);
    assert!(release_sent_at(&h) >= granted);
}

/// A lease lost without a release needs nothing extra: every window ends by the validity
/// deadline, and a candidate takes over only a lease duration after it last saw the
/// holder's version, which is later.
#[test]
fn windows_of_a_lost_lease_end_before_anyone_takes_over() {
    let mut a = Harness::new(config("a", "sa")).with_item(seed());
    // The controller asks for the longest window it could want, before every step.
    a.window = Some(LEASE * 10);
    a.run(ms(5));
    let mut b = beside(&a, config("b", "sb"));
    for _ in 0..10 {
        a.run(INTERVAL);
        b.now = a.now;
        b.run(ms(1));
    }
    // a's store goes away; b keeps reading until it takes over.
    a.outage_until = a.now.plus(LEASE * 10);
    a.run(LEASE * 2);
    assert!(a.granted > Mono::ZERO);
    let mut took_over = None;
    b.run_for(LEASE * 3, |h| {
        if took_over.is_none() && h.role() == Role::Active {
            took_over = Some(h.now);
        }
    });
    let took_over = took_over.expect("b took over");
    assert!(
        took_over > a.granted,
        "b active at {took_over:?} while a's window ran to {:?}",
        a.granted
    );
}

/// A release whose first attempt failed is resent, like its first attempt, only once
/// every window granted has ended: here one the loop reported after the release began
/// (granted just before it), and at that moment.
#[test]
fn a_release_resent_after_a_failed_attempt_waits_for_a_window_reported_meanwhile() {
    let mut h = Harness::new(private("a", "sa"));
    h.run(INTERVAL * 2);
    h.core.begin_release();
    h.fault = Fault::Unreachable;
    h.step_to_next_write();
    assert_eq!(h.writes[h.writes.len() - 1].1.kind, WriteKind::Release);
    h.fault = Fault::None;
    let window_end = h.now.plus(INTERVAL);
    h.core.set_granted_until(window_end);
    h.step_to_next_write();
    let (sent, resent) = h.writes.last().unwrap().clone();
    assert_eq!(resent.kind, WriteKind::Release);
    assert_eq!(sent, window_end, "resent the moment the window ended");
    h.run(ms(5));
    assert!(h.item().unwrap().is_released());
}
