//! The socket of one client connection, closed when the client is too slow to send a request head or leaves
//! the connection idle too long.
//!
//! hyper 1.12's own `header_read_timeout` starts its clock as soon as the connection waits for a request, so on a
//! kept-alive connection it bounds the idle wait and the head together, with one duration. We want a short head
//! deadline (slow-header clients) and a longer keep-alive (clients and load balancers reuse connections), so the
//! socket keeps both clocks itself, told by the service when requests start and finish.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Requests of one connection, counted by its service and read by its socket.
#[derive(Debug, Default)]
pub struct Requests {
    started: AtomicU64,
    in_flight: AtomicUsize,
}

impl Requests {
    /// Marks a request whose head has been read; it is in flight until the guard drops.
    pub fn enter(self: &Arc<Self>) -> InFlight {
        self.started.fetch_add(1, Ordering::AcqRel);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }
}

/// A request being handled: while one is, the connection has no deadline of its own (the body has its own
/// deadline, and a slow handler is not the client's fault).
pub struct InFlight(Arc<Requests>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between requests: closed after `idle` without traffic.
    Idle,
    /// A request head is arriving: closed if it is not complete `header` after its first byte.
    Head,
    /// A request is being handled.
    Busy,
}

/// The socket's two deadlines.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header: Duration,
    pub idle: Duration,
}

pub struct GuardedIo<T> {
    inner: T,
    requests: Arc<Requests>,
    timeouts: Timeouts,
    phase: Phase,
    seen_started: u64,
    deadline: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl<T> GuardedIo<T> {
    /// A new connection is waiting for its first head: the header deadline runs from accept, so a client that
    /// connects and sends nothing is dropped as soon as a slow-header client would be.
    pub fn new(inner: T, requests: Arc<Requests>, timeouts: Timeouts) -> Self {
        let deadline = Instant::now() + timeouts.header;
        Self {
            inner,
            requests,
            timeouts,
            phase: Phase::Head,
            seen_started: 0,
            deadline,
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }

    /// Moves to the phase the request counters show.
    fn observe(&mut self) {
        let started = self.requests.started.load(Ordering::Acquire);
        let busy = self.requests.in_flight.load(Ordering::Acquire) > 0;
        let finished_one = started != self.seen_started;
        self.seen_started = started;
        if busy {
            self.phase = Phase::Busy;
        } else if self.phase == Phase::Busy || (self.phase == Phase::Head && finished_one) {
            self.idle_from_now();
        }
    }

    fn idle_from_now(&mut self) {
        self.phase = Phase::Idle;
        self.deadline = Instant::now() + self.timeouts.idle;
    }

    /// Traffic moved: the first byte of a head starts its deadline; any traffic restarts the idle clock.
    fn progressed(&mut self, read: bool) {
        if self.phase == Phase::Idle {
            if read {
                self.phase = Phase::Head;
                self.deadline = Instant::now() + self.timeouts.header;
            } else {
                self.deadline = Instant::now() + self.timeouts.idle;
            }
        }
    }

    /// Registers the phase's deadline with the task; true once it has passed (never while busy).
    fn arm(&mut self, cx: &mut Context<'_>) -> bool {
        if self.phase == Phase::Busy {
            return false;
        }
        if self.sleep.deadline() != self.deadline {
            self.sleep.as_mut().reset(self.deadline);
        }
        self.sleep.as_mut().poll(cx).is_ready()
    }

    /// The socket would block: fails with `TimedOut` once the phase's deadline has passed.
    fn expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if !self.arm(cx) {
            return Poll::Pending;
        }
        let what = match self.phase {
            Phase::Head => "request head",
            _ => "next request",
        };
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("client too slow: {what}"),
        ))
    }

    /// A write went through. hyper may not poll the read side again after answering (its last read poll came
    /// while the request was busy, with no deadline), so the idle deadline is armed here, on the same task: when
    /// it passes, the task wakes and its next read fails.
    fn wrote(&mut self, cx: &mut Context<'_>) {
        self.progressed(false);
        if self.arm(cx) {
            cx.waker().wake_by_ref();
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.observe();
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.progressed(true);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.expired(cx).map(Err),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for GuardedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.observe();
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                self.wrote(cx);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // A client that stops reading its response holds the connection like an idle one.
            Poll::Pending => self.expired(cx).map(Err),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.observe();
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                self.wrote(cx);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.expired(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
