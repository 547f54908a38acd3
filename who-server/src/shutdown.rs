//! How a stop request (SIGTERM, SIGINT, or a [`Stopper`]) becomes a shutdown.

use std::io;

use tokio::runtime::Runtime;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// Asks a serving [`Server`](crate::Server) to stop, as SIGTERM does: the
/// listener closes and the requests in flight are drained.
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

/// Waits for the first stop request, then tells the workers to close.
pub(crate) async fn coordinate(stopper: Stopper, close: watch::Sender<bool>) {
    let mut asked = stopper.0.subscribe();
    // The server holds a Stopper while it serves, so this waits until asked.
    let _ = asked.wait_for(|n| *n >= 1).await;
    let _ = close.send(true);
}
