//! What handing a run to another thread costs on this machine.
//!
//! A run sent to a queue worker pays a wake-up of the worker and a wake-up of the caller on top
//! of the run itself. That cost is the machine's, not the model's: ~10 µs on a fast idle host,
//! several times more on a slow or crowded VM. The engine measures it once, so that "a run cheap
//! enough to do on the submitting thread" means cheaper than sending it away, on any machine.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The median, over `rounds` round trips, of waking a thread that sleeps on a condvar and being
/// woken back by it. Each round trip starts after `pause`, as the requests of a client come a
/// round trip apart: both threads are asleep by then, as a queue worker and a waiting client
/// are. `None` if the other thread cannot be started.
pub fn round_trip(rounds: usize, pause: Duration) -> Option<Duration> {
    #[derive(Default)]
    struct Turns {
        /// Odd: the helper's turn; even: the caller's.
        n: u64,
        stop: bool,
    }
    let shared = Arc::new((Mutex::new(Turns::default()), Condvar::new(), Condvar::new()));
    let theirs = shared.clone();
    let helper = std::thread::Builder::new()
        .name("redisai-handoff".into())
        .spawn(move || {
            let (turns, to_helper, to_caller) = &*theirs;
            let Ok(mut t) = turns.lock() else { return };
            loop {
                while t.n.is_multiple_of(2) && !t.stop {
                    let Ok(next) = to_helper.wait(t) else { return };
                    t = next;
                }
                if t.stop {
                    return;
                }
                t.n += 1;
                to_caller.notify_one();
            }
        })
        .ok()?;
    let (turns, to_helper, to_caller) = &*shared;
    let one = || -> Option<Duration> {
        let started = Instant::now();
        let mut t = turns.lock().ok()?;
        t.n += 1;
        let answered = t.n + 1;
        to_helper.notify_one();
        while t.n != answered {
            t = to_caller.wait(t).ok()?;
        }
        Some(started.elapsed())
    };
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        std::thread::sleep(pause);
        match one() {
            Some(t) => times.push(t),
            None => break,
        }
    }
    if let Ok(mut t) = turns.lock() {
        t.stop = true;
    }
    to_helper.notify_one();
    let _ = helper.join();
    times.sort_unstable();
    times.get(times.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_trip_is_measured() {
        let t = round_trip(9, Duration::from_micros(50)).expect("a helper thread");
        assert!(t > Duration::ZERO && t < Duration::from_secs(1), "{t:?}");
    }

    #[test]
    fn no_rounds_measure_nothing() {
        assert_eq!(round_trip(0, Duration::ZERO), None);
    }
}
