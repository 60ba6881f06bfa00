//! The connection caps: a slot under the global cap is taken before `accept`, so at the cap
//! new connections wait in the kernel's listen backlog; the per-address cap refuses at once.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::sleep;

use super::stats::ServerStats;

/// How long to wait before accepting again after an error that retrying at once would
/// repeat (out of descriptors, out of memory).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Waits for a free slot under the global cap, then for a connection. `None` only if the
/// semaphore was closed, which the server never does.
pub(super) async fn accept_one(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let permit = Arc::clone(slots).acquire_owned().await.ok()?;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => return Some((stream, peer, permit)),
            // The client gave up before it was accepted: nothing to do.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionRefused
                ) => {}
            // EMFILE, ENFILE, ENOBUFS …: retrying at once would spin.
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
                sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
}

/// A connection's place under the caps, and its count in the open-connections gauge. It
/// lives in the connection's socket wrapper, so it is freed when the socket closes, also
/// after an HTTP upgrade (the upgraded stream owns the socket).
pub(super) struct ConnSlot {
    _permit: OwnedSemaphorePermit,
    _address: Option<AddressSlot>,
    stats: ServerStats,
}

impl ConnSlot {
    pub(super) fn new(
        permit: OwnedSemaphorePermit,
        address: Option<AddressSlot>,
        stats: ServerStats,
    ) -> Self {
        stats.record_opened();
        Self {
            _permit: permit,
            _address: address,
            stats,
        }
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.stats.record_closed();
    }
}

/// The per-address cap: how many connections each client address holds. An address
/// leaves the map when its last connection closes, so the map holds at most
/// `max_connections` entries.
pub(super) struct PerAddressLimit {
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

impl PerAddressLimit {
    pub(super) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more connection from `ip`, or `None` when it holds `max` already.
    pub(super) fn try_take(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        let ip = ip.to_canonical();
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        // `max` is at least 1, so an entry found full was there before.
        let count = counts.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            limit: Arc::clone(self),
            ip,
        })
    }

    fn release(&self, ip: IpAddr) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&ip);
            }
        }
    }

    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One connection counted against its address; released when dropped.
pub(super) struct AddressSlot {
    limit: Arc<PerAddressLimit>,
    ip: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        self.limit.release(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_max_slots_and_leaves_the_map_with_its_last() {
        let limit = PerAddressLimit::new(2);
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let other: IpAddr = "2001:db8::1".parse().unwrap();
        let a = limit.try_take(v4).expect("first");
        let b = limit
            .try_take(mapped)
            .expect("second, the same address written as IPv6");
        assert!(limit.try_take(v4).is_none(), "third from one address");
        let c = limit
            .try_take(other)
            .expect("another address is not affected");
        assert_eq!(limit.addresses(), 2);
        drop(a);
        let a = limit.try_take(mapped).expect("a slot freed");
        drop((a, b, c));
        assert_eq!(limit.addresses(), 0, "no entry outlives its connections");
    }
}
