//! A future polled only once its own waker fired. A connection's task
//! waits on its requests and on two rare events, the header timer and the
//! drain; in a `select!` those two are polled on every wake-up of the task,
//! that is on every request (a timer's and a watch channel's poll, ~400
//! instructions per `/who` request: README, "CPU per request"). Wrapped in
//! [`OnWake`], each is polled when it asked to be, and otherwise costs a
//! flag read.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use pin_project_lite::pin_project;

pin_project! {
    pub struct OnWake<F> {
        #[pin]
        future: F,
        signal: Arc<Signal>,
        // `signal` as a waker, made once.
        waker: Waker,
    }
}

struct Signal {
    /// Set by the waker, cleared before the future is polled; starts set
    /// so that the first poll registers the future's wake-up.
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<F> OnWake<F> {
    pub fn new(future: F) -> OnWake<F> {
        let signal = Arc::new(Signal {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        OnWake {
            future,
            waker: Waker::from(signal.clone()),
            signal,
        }
    }

    /// The future, to change it (a timer's deadline, say); it is polled
    /// at the next poll.
    pub fn future_mut(self: Pin<&mut Self>) -> Pin<&mut F> {
        let this = self.project();
        this.signal.woken.store(true, Ordering::Release);
        this.future
    }
}

impl<F: Future> Future for OnWake<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.signal.task.register(cx.waker());
        // Cleared before the poll: a wake-up during it sets it again.
        if !this.signal.woken.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        this.signal.woken.store(false, Ordering::Release);
        this.future.poll(&mut Context::from_waker(this.waker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::future::poll_fn;
    use std::pin::pin;
    use std::task::Waker;

    /// A future that counts its polls and stays pending, keeping the last waker.
    fn counting<'a>(
        polls: &'a Cell<u32>,
        waker: &'a Cell<Option<Waker>>,
    ) -> impl Future<Output = ()> + 'a {
        poll_fn(move |cx| {
            polls.set(polls.get() + 1);
            waker.set(Some(cx.waker().clone()));
            Poll::Pending
        })
    }

    #[test]
    fn the_future_is_polled_first_then_only_after_its_own_wake_up() {
        let (polls, inner) = (Cell::new(0), Cell::new(None));
        let mut wrapped = pin!(OnWake::new(counting(&polls, &inner)));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(wrapped.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.get(), 1, "the first poll registers it");
        assert!(wrapped.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.get(), 1, "not woken: not polled");
        inner.take().unwrap().wake();
        assert!(wrapped.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.get(), 2, "woken: polled");
        assert!(wrapped.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.get(), 2);
    }

    #[test]
    fn its_wake_up_wakes_the_task() {
        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let task = Waker::from(flag.clone());
        let (polls, inner) = (Cell::new(0), Cell::new(None));
        let mut wrapped = pin!(OnWake::new(counting(&polls, &inner)));
        assert!(wrapped
            .as_mut()
            .poll(&mut Context::from_waker(&task))
            .is_pending());
        inner.take().unwrap().wake();
        assert!(flag.0.load(Ordering::SeqCst));
    }

    #[test]
    fn a_change_to_the_future_has_it_polled_again() {
        let (polls, inner) = (Cell::new(0), Cell::new(None));
        let mut wrapped = pin!(OnWake::new(counting(&polls, &inner)));
        let mut cx = Context::from_waker(Waker::noop());
        let _ = wrapped.as_mut().poll(&mut cx);
        {
            // Taken to change it (unchanged here: the taking is what counts).
            let _inner = wrapped.as_mut().future_mut();
        }
        let _ = wrapped.as_mut().poll(&mut cx);
        assert_eq!(polls.get(), 2);
    }
}
