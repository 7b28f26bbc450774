//! The accept loop every squall server uses.
//!
//! Accepting fails for reasons that pass (out of file descriptors, a
//! connection reset before it was accepted). Retrying at once spins a core;
//! giving up stops the server silently. So the loop waits, doubling from
//! 1 ms up to 1 s (as mini-redis does), and goes on.

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Longest wait between failed accepts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Accepts connections on `listener` and hands each to `on_conn` until
/// `stop` turns true (a dropped sender means "never"). Returns how many
/// accepts failed, for the caller's logs.
pub async fn accept_loop(
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    mut on_conn: impl FnMut(TcpStream),
) -> u64 {
    let mut backoff = Duration::from_millis(1);
    let mut failures = 0u64;
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stopped(&mut stop) => return failures,
        };
        match accepted {
            Ok((stream, _)) => {
                backoff = Duration::from_millis(1);
                let _ = stream.set_nodelay(true);
                on_conn(stream);
            }
            Err(_) => {
                failures += 1;
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopped(&mut stop) => return failures,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Resolves when `stop` turns true; never when its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_until_stopped_and_keeps_serving_without_a_stop_sender() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(accept_loop(l, rx, move |s| {
            let _ = seen_tx.send(s);
        }));
        drop(TcpStream::connect(addr).await.unwrap());
        assert!(seen.recv().await.is_some());
        tx.send(true).unwrap();
        assert_eq!(task.await.unwrap(), 0);

        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        drop(tx);
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(accept_loop(l, rx, move |s| {
            let _ = seen_tx.send(s);
        }));
        drop(TcpStream::connect(addr).await.unwrap());
        assert!(seen.recv().await.is_some(), "still serving");
    }
}
