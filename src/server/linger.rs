//! A lingering close for client connections.
//!
//! When the server answers a request before reading all of it (a `431` for a head past the
//! limit, an error before a large body) and then closes, the bytes still unread make the
//! kernel reset the connection, and the client may see "connection reset" instead of the
//! answer already sent. Like nginx's `lingering_close` and Go's `net/http`, the server first
//! sends its end of the stream, then reads and discards what the client still sends, for a
//! bounded time and number of bytes, before closing. hyper has no such option, hence this
//! wrapper around the socket: hyper calls `poll_shutdown` once the last answer is written.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest time spent draining a closing connection.
const LINGER: Duration = Duration::from_secs(2);
/// Most bytes read and discarded from a closing connection.
const LINGER_BYTES: usize = 4 * 1024 * 1024;

/// A socket whose shutdown drains the client's remaining input (see the module comment).
pub(super) struct Lingering<T> {
    inner: T,
    state: Shutdown,
}

enum Shutdown {
    Open,
    Draining {
        deadline: Pin<Box<tokio::time::Sleep>>,
        drained: usize,
    },
    Done,
}

impl<T> Lingering<T> {
    pub(super) fn new(inner: T) -> Self {
        Self {
            inner,
            state: Shutdown::Open,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Lingering<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lingering<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                Shutdown::Open => {
                    // Our end first: the client sees the end of the answer and closes.
                    ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                    this.state = Shutdown::Draining {
                        deadline: Box::pin(tokio::time::sleep(LINGER)),
                        drained: 0,
                    };
                }
                Shutdown::Draining { deadline, drained } => {
                    if deadline.as_mut().poll(cx).is_ready() || *drained >= LINGER_BYTES {
                        this.state = Shutdown::Done;
                        continue;
                    }
                    let mut scratch = [0u8; 8192];
                    let mut buf = ReadBuf::new(&mut scratch);
                    match ready!(Pin::new(&mut this.inner).poll_read(cx, &mut buf)) {
                        Ok(()) if !buf.filled().is_empty() => *drained += buf.filled().len(),
                        // End of the client's stream, or an error: nothing more to drain.
                        Ok(()) | Err(_) => this.state = Shutdown::Done,
                    }
                }
                Shutdown::Done => return Poll::Ready(Ok(())),
            }
        }
    }
}
