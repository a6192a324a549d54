//! One client connection: read, frame, dispatch, write. All complete requests in the read
//! buffer are answered before one write, so pipelined requests cost one syscall each way.

use std::io::IoSlice;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use redisai_core::Reply;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::commands::{dispatch, Response};
use crate::resp::{Frame, Framer, Output};
use crate::server::{After, Session, Shared};

const READ_CHUNK: usize = 16 * 1024;

pub async fn serve(shared: Arc<Shared>, mut stream: TcpStream) {
    let (Ok(addr), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    shared.connected_clients.fetch_add(1, Ordering::Relaxed);
    shared.total_connections.fetch_add(1, Ordering::Relaxed);
    let mut sess = Session::new(&shared, addr, local);
    let _ = run(&shared, &mut sess, &mut stream).await;
    shared.connected_clients.fetch_sub(1, Ordering::Relaxed);
}

async fn run(shared: &Shared, sess: &mut Session, stream: &mut TcpStream) -> std::io::Result<()> {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut framer = Framer::default();
    let mut out = Output::default();
    let mut low_water = LowWater::default();
    loop {
        let mut after = After::Continue;
        let mut ran_model = false;
        loop {
            let args = match framer.next(&mut buf, sess.authenticated) {
                Ok(Some(Frame::Args(args))) if !args.is_empty() => args,
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(e) => {
                    // Like Redis: reply the protocol error, then close.
                    out.reply(&Reply::Error(e.0), sess.resp3);
                    after = After::Close;
                    break;
                }
            };
            let (response, next) = dispatch(shared, sess, args);
            if next == After::Shutdown {
                after = next;
                break;
            }
            let reply = match response {
                Response::Now(r) => r,
                // A cheap model that ran on this thread.
                Response::Ran(c) => apply(shared, c),
                // Replies keep request order: this connection waits for its run, the others
                // are served meanwhile.
                Response::Later(rx) => {
                    ran_model = true;
                    match rx.await {
                        Ok(c) => apply(shared, c),
                        Err(_) => Reply::Error("ERR the run was dropped".into()),
                    }
                }
            };
            out.reply(&reply, sess.resp3);
            if next == After::Close {
                after = next;
                break;
            }
        }
        if !out.is_empty() {
            // Nothing is acknowledged before it is in the log (and with always, on disk).
            shared.aof.before_reply().await;
            write_all(stream, &out).await?;
            out.clear();
        }
        match after {
            After::Continue => {}
            After::Close => return Ok(()),
            After::Shutdown => {
                shared.request_shutdown();
                return Ok(());
            }
        }
        framer.make_room(&mut buf, READ_CHUNK);
        low_water.wait_for(stream, framer.bulk_left(&buf));
        // Watching is worth it only while each I/O thread has a connection to itself (with more
        // connections a watching one would hold up the others), not after a model run (the run
        // queue's worker is watching then, and a third busy thread on two vCPUs would slow the
        // client down), and not while the socket waits for the rest of a large bulk.
        let watch = !ran_model
            && !low_water.is_set()
            && shared.connected_clients.load(Ordering::Relaxed) <= shared.options.io_threads;
        if read_next(stream, &mut buf, &mut low_water, watch).await? == 0 {
            return Ok(());
        }
    }
}

/// The rest of a large bulk (a BLOB) is read in one go: the socket reports readable only once
/// all of it is there (`SO_RCVLOWAT`; Linux caps the mark at half of `tcp_rmem`'s maximum, a
/// few MiB, and grows the receive buffer to twice the mark, so a larger bulk takes one wake-up
/// per cap). The client then sends without waiting on the server's reads, and the server wakes
/// once instead of for every few segments. Smaller requests keep the default (readable at the
/// first byte). Nothing is processed before a request is complete, so the mark delays no reply;
/// a mark that is not reached within [`LOW_WATER_STALL`] (an older kernel, a slow link) is
/// dropped for the rest of that bulk, so it can never hold a connection.
#[derive(Default)]
struct LowWater {
    /// What the socket was last given; 0: the default.
    set: usize,
    /// The mark stalled: not used again until the bulk under way is complete.
    stalled: bool,
}

/// Bulks with less than this still to come are read as they arrive.
const LOW_WATER_MIN: usize = 64 * 1024;

/// How long a read waits for a low-water mark before it takes what is there.
const LOW_WATER_STALL: std::time::Duration = std::time::Duration::from_millis(20);

impl LowWater {
    fn is_set(&self) -> bool {
        self.set > 0
    }

    /// Sets the mark to `left`, the bytes of the bulk under way still to come: exactly what the
    /// client must still send, as a mark above it would never be reached.
    fn wait_for(&mut self, stream: &TcpStream, left: usize) {
        if left == 0 {
            self.stalled = false;
        }
        let want = if left >= LOW_WATER_MIN && !self.stalled {
            left
        } else {
            0
        };
        if want != self.set && set_rcvlowat(stream, want.max(1)) {
            self.set = want;
        }
    }

    /// The mark was not reached in time: back to the default for this bulk.
    fn stalled(&mut self, stream: &TcpStream) {
        self.stalled = true;
        if set_rcvlowat(stream, 1) {
            self.set = 0;
        }
    }
}

/// Reads more bytes into `buf` (0: the client closed), waiting at most [`LOW_WATER_STALL`] for
/// a low-water mark.
async fn read_next(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    low_water: &mut LowWater,
    watch: bool,
) -> std::io::Result<usize> {
    if low_water.is_set() {
        // Cancel-safe: a read that did not complete took no bytes.
        match tokio::time::timeout(LOW_WATER_STALL, read_more(stream, buf, false)).await {
            Ok(read) => return read,
            Err(_) => low_water.stalled(stream),
        }
    }
    read_more(stream, buf, watch && !low_water.is_set()).await
}

#[cfg(target_os = "linux")]
fn set_rcvlowat(stream: &TcpStream, bytes: usize) -> bool {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: a valid socket descriptor, and a pointer to a c_int with its size.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// Elsewhere the socket keeps its default: poll semantics of the mark differ.
#[cfg(not(target_os = "linux"))]
fn set_rcvlowat(_: &TcpStream, _: usize) -> bool {
    false
}

/// Writes everything queued, with as few (vectored) writes as the socket allows.
async fn write_all(stream: &mut TcpStream, out: &Output) -> std::io::Result<()> {
    let mut slices = out.slices();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let n = stream.write_vectored(rest).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}

/// How long a connection that just replied keeps looking for its next request before it parks
/// on the reactor. A closed-loop client sends it one round trip later; parking and being woken
/// costs an idle vCPU's wake-up, which dominates a small request's latency.
const IDLE_WATCH: std::time::Duration = std::time::Duration::from_micros(40);

async fn read_more(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    watch: bool,
) -> std::io::Result<usize> {
    let until = std::time::Instant::now()
        + if watch {
            IDLE_WATCH
        } else {
            Default::default()
        };
    loop {
        match stream.try_read_buf(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if std::time::Instant::now() >= until {
            return stream.read_buf(buf).await;
        }
        // Lets the other connections of this thread run meanwhile.
        tokio::task::yield_now().await;
    }
}

/// A finished run's outputs stored (and logged, as the AI.TENSORSET that recreates each) under
/// the keyspace lock; its reply.
fn apply(shared: &Shared, completion: redisai_core::Completion) -> redisai_core::Reply {
    let mut db = shared.db.lock();
    let (reply, stored) = completion.apply(&mut *db);
    crate::commands::log_stored(shared, &stored);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connected pair on loopback: (server side, client side).
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (accepted.unwrap().0, client.unwrap())
    }

    #[tokio::test]
    async fn a_mark_is_met_with_one_read_of_most_of_the_rest() {
        let (mut server, mut client) = pair().await;
        let (mut buf, mut low) = (BytesMut::with_capacity(300_000), LowWater::default());
        low.wait_for(&server, 300_000);
        assert!(low.is_set());
        let sender = tokio::spawn(async move {
            for _ in 0..30 {
                client.write_all(&[7; 10_000]).await.unwrap();
                tokio::task::yield_now().await;
            }
            client
        });
        // Without the mark the first read takes the first write (10 kB); with it, the kernel
        // wakes the reader at the mark or once the window left is under a segment (64 kB on
        // loopback).
        let n = read_next(&mut server, &mut buf, &mut low, false)
            .await
            .unwrap();
        assert!(n >= 200_000, "{n}");
        drop(sender.await);
        low.wait_for(&server, 0);
        assert!(!low.is_set());
    }

    #[tokio::test]
    async fn a_mark_that_is_not_met_is_dropped_instead_of_hanging() {
        let (mut server, mut client) = pair().await;
        let (mut buf, mut low) = (BytesMut::with_capacity(300_000), LowWater::default());
        // More than will come (which the connection never asks for): an older kernel's mark
        // behaves alike. (A fresh socket's small window closing would wake the reader anyway:
        // so little is sent that it stays open.) The first read finds nothing: tokio counts a
        // new socket as readable until a read says otherwise.
        assert!(server.try_read(&mut [0u8; 1]).is_err());
        low.wait_for(&server, 300_000);
        client.write_all(&[7; 1_000]).await.unwrap();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            read_next(&mut server, &mut buf, &mut low, false),
        )
        .await
        .expect("the read does not hang");
        assert_eq!(read.unwrap(), 1_000);
        // Not set again for the same bulk; used again for the next one.
        assert!(!low.is_set());
        low.wait_for(&server, 200_000);
        assert!(!low.is_set());
        low.wait_for(&server, 0);
        low.wait_for(&server, 200_000);
        assert!(low.is_set());
    }
}
