//! Bounded, cancellable waiting: cancellation tokens, deadlines and adaptive polling.
//!
//! Every wait in noderoll goes through [`wait_until`], so each one has a deadline that names
//! what it waited for (and the last thing it saw), and each one stops at once when the run
//! is cancelled, not after its current back-off.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// The sending side of a cancellation: `cancel()` wakes every waiter.
#[derive(Debug, Clone)]
pub struct CancelHandle(watch::Sender<bool>);

/// A cheap, clonable view of whether the run has been asked to stop.
#[derive(Debug, Clone)]
pub struct Cancel(watch::Receiver<bool>);

impl CancelHandle {
    /// Ask every [`Cancel`] made from this handle to stop.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

impl Cancel {
    /// A connected pair.
    pub fn new() -> (CancelHandle, Cancel) {
        let (tx, rx) = watch::channel(false);
        (CancelHandle(tx), Cancel(rx))
    }

    /// A token that is never cancelled (tests, one-shot reads).
    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(false);
        // Keep the sender alive forever so `changed()` never resolves with an error.
        std::mem::forget(tx);
        Cancel(rx)
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once cancellation is requested (never, if the handle is dropped uncancelled).
    pub async fn cancelled(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Sleep for `d` unless cancelled first; returns `false` when cancelled.
    pub async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.cancelled() => false,
        }
    }
}

/// Polling that is quick right after an action and backs off while nothing changes.
#[derive(Debug, Clone)]
pub struct Poller {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl Poller {
    /// Starts at `min`, multiplies by 1.25 per unchanged observation, caps at `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Poller {
            min,
            max: max.max(min),
            current: min,
        }
    }

    /// The default for waits on CCF state: 25 ms right after an action, growing by a quarter
    /// per poll to at most 1 s while nothing changes. The growth factor bounds how late a
    /// change is seen (at most a quarter of the time already waited), at a few requests per
    /// second once a wait is long.
    pub fn service_default() -> Self {
        Poller::new(Duration::from_millis(25), Duration::from_secs(1))
    }

    /// The delay before the next poll; grows each call.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.current;
        self.current = self.current.mul_f64(1.25).min(self.max);
        d
    }

    /// Something changed: poll quickly again.
    pub fn reset(&mut self) {
        self.current = self.min;
    }
}

/// One observation of a condition being waited for.
#[derive(Debug)]
pub enum Probe<T> {
    /// The condition holds.
    Ready(T),
    /// Not yet; the text says what was seen (shown if the wait times out).
    NotYet(String),
}

/// Why a wait ended without its condition.
#[derive(Debug, thiserror::Error)]
pub enum WaitError<E: std::error::Error + 'static> {
    /// The deadline passed.
    #[error("timed out after {}s waiting for {what} (last seen: {last_seen})", .after.as_secs_f64().round())]
    TimedOut {
        /// What was waited for.
        what: String,
        /// How long it waited.
        after: Duration,
        /// The last observation.
        last_seen: String,
    },
    /// The run was cancelled while waiting.
    #[error("cancelled while waiting for {what}")]
    Cancelled {
        /// What was waited for.
        what: String,
    },
    /// The probe failed with an error that waiting will not fix.
    #[error("failed while waiting for {what}")]
    Failed {
        /// What was waited for.
        what: String,
        /// The probe's error.
        #[source]
        source: E,
    },
}

/// Poll `probe` until it is ready, the timeout passes, or `cancel` fires.
///
/// The probe decides what is fatal: returning `Err` ends the wait at once; transient
/// trouble should be reported as `Ok(Probe::NotYet(..))` so the wait goes on.
pub async fn wait_until<T, E, F, Fut>(
    what: impl fmt::Display,
    timeout: Duration,
    cancel: &Cancel,
    mut poller: Poller,
    mut probe: F,
) -> Result<T, WaitError<E>>
where
    E: std::error::Error + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Probe<T>, E>>,
{
    let what = what.to_string();
    let start = Instant::now();
    let deadline = start + timeout;
    let mut last_seen = String::from("nothing yet");
    loop {
        if cancel.is_cancelled() {
            return Err(WaitError::Cancelled { what });
        }
        let observed = tokio::select! {
            r = tokio::time::timeout_at(deadline.into(), probe()) => r,
            _ = cancel.cancelled() => return Err(WaitError::Cancelled { what }),
        };
        match observed {
            Ok(Ok(Probe::Ready(v))) => return Ok(v),
            Ok(Ok(Probe::NotYet(seen))) => {
                if seen != last_seen {
                    poller.reset();
                }
                last_seen = seen;
            }
            Ok(Err(source)) => return Err(WaitError::Failed { what, source }),
            Err(_elapsed) => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitError::TimedOut {
                what,
                after: now - start,
                last_seen,
            });
        }
        let delay = poller.next_delay().min(deadline - now);
        if !cancel.sleep(delay).await {
            return Err(WaitError::Cancelled { what });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("boom")]
    struct Boom;

    #[tokio::test(start_paused = true)]
    async fn times_out_with_last_observation() {
        let mut n = 0;
        let r: Result<(), WaitError<Boom>> = wait_until(
            "node X to appear",
            Duration::from_secs(5),
            &Cancel::never(),
            Poller::service_default(),
            || {
                n += 1;
                let seen = format!("poll {n}");
                async move { Ok(Probe::NotYet(seen)) }
            },
        )
        .await;
        let e = r.unwrap_err();
        let text = e.to_string();
        assert!(text.contains("node X to appear"), "{text}");
        assert!(text.contains("last seen: poll"), "{text}");
        assert!(matches!(e, WaitError::TimedOut { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_interrupts_a_long_poll_interval() {
        let (handle, cancel) = Cancel::new();
        let c2 = cancel.clone();
        let waiter = tokio::spawn(async move {
            wait_until::<(), Boom, _, _>(
                "forever",
                Duration::from_secs(3600),
                &c2,
                Poller::new(Duration::from_secs(600), Duration::from_secs(600)),
                || async { Ok(Probe::NotYet("same".into())) },
            )
            .await
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = tokio::time::Instant::now();
        handle.cancel();
        let r = waiter.await.unwrap();
        assert!(matches!(r, Err(WaitError::Cancelled { .. })));
        // Paused clock: no virtual time passed between cancel and return.
        assert!(tokio::time::Instant::now() - before < Duration::from_secs(1));
    }

    #[test]
    fn poller_backs_off_and_resets() {
        let mut p = Poller::new(Duration::from_millis(100), Duration::from_millis(400));
        let seq: Vec<_> = (0..7).map(|_| p.next_delay().as_millis()).collect();
        assert_eq!(seq, vec![100, 125, 156, 195, 244, 305, 381]);
        p.reset();
        assert_eq!(p.next_delay().as_millis(), 100);
    }
}
