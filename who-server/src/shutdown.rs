//! How a stop request becomes a shutdown: the delay (if any), then the drain.
//!
//! Behind an orchestrator, new connections keep coming for a while after
//! SIGTERM (Kubernetes takes a pod out of its Service endpoints
//! asynchronously), so for `--shutdown-delay` the server goes on serving
//! and accepting while `/health` answers 503; only then does it close the
//! listener and drain. A second signal skips what is left of the delay.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::log::Counters;

/// Asks a serving [`Server`](crate::Server) to stop, as SIGTERM does: the
/// first request starts the shutdown delay (or, without one, the drain);
/// a second one cuts the delay short.
#[derive(Clone)]
pub struct Stopper(watch::Sender<u32>);

impl Stopper {
    pub(crate) fn new() -> Stopper {
        Stopper(watch::Sender::new(0))
    }

    pub fn stop(&self) {
        self.0.send_modify(|asked| *asked += 1);
    }

    /// Turns every SIGTERM and SIGINT into a stop request, on `runtime`.
    ///
    /// As PID 1 in a container a process gets no default signal handling, so
    /// without this `docker stop` would wait its whole grace period, then
    /// kill. The handlers are installed now, not when the runtime first
    /// runs, so that a signal arriving during start-up is not lost.
    pub(crate) fn on_signals(&self, runtime: &Runtime) -> io::Result<()> {
        let _entered = runtime.enter();
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let stopper = self.clone();
        runtime.spawn(async move {
            loop {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
                stopper.stop();
            }
        });
        Ok(())
    }
}

/// Waits for the first stop request, sets `draining` (`/health` answers 503
/// and every answer says `Connection: close`), waits out `delay` unless a
/// second request comes first, then tells the workers to close.
pub(crate) async fn coordinate(
    stopper: Stopper,
    delay: Duration,
    draining: &AtomicBool,
    close: watch::Sender<bool>,
    counters: &Counters,
) {
    let mut asked = stopper.0.subscribe();
    // The server holds a Stopper while it serves, so this waits until asked.
    let _ = asked.wait_for(|n| *n >= 1).await;
    draining.store(true, Relaxed);
    if !delay.is_zero() {
        counters.say(format!(
            "shutdown delay of {delay:?} started: /health answers 503, everything else is served"
        ));
        let cut = tokio::select! {
            () = tokio::time::sleep(delay) => false,
            _ = asked.wait_for(|n| *n >= 2) => true,
        };
        counters.say(if cut {
            "shutdown delay cut short by a second signal: closing the listener".to_owned()
        } else {
            "shutdown delay over: closing the listener".to_owned()
        });
    }
    let _ = close.send(true);
}
