use std::future::Future;
use std::io;

use tokio::signal::unix::{signal, SignalKind};

/// Installs SIGINT and SIGTERM handlers now and returns a future that resolves
/// on the first of them.
///
/// As PID 1 in a container a process gets no default signal handling, so
/// without this `docker stop` would wait its whole grace period, then kill.
/// The handlers are installed before the future is polled so that a signal
/// arriving during start-up is not lost.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}
