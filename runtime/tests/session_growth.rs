//! Refresh does not accumulate (issue 20.1): 100 000 refreshes of one session leave the
//! in-memory store as large as one refresh did, in entries and in bytes. (Before, each
//! refresh left a spent-token entry until the session's end: about 160 bytes each.)
//!
//! One test in this binary, so that the process's memory is its alone. Prints the
//! figure: `cargo test -p centurion --test session_growth -- --nocapture`.

use std::sync::Arc;

use centurion::memory::MemoryRevocationStore;
use centurion::testing::TestUser;
use centurion_testkit::prelude::*;

/// The process's resident memory, bytes (`VmRSS` of `/proc/self/status`).
fn rss() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        .map_or(0, |kb| kb * 1024)
}

const REFRESHES: usize = 100_000;
const WARM_UP: usize = 1_000;

#[test]
fn a_hundred_thousand_refreshes_of_one_session_cost_what_one_does() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Arc::new(MemoryRevocationStore::new());
        let (builder, users) = shared_builder();
        users.insert(TestUser::new(7, "ada", &[]));
        let auth = builder
            .revocation_store(Arc::clone(&store))
            .verified_cache_bytes(0)
            .build()
            .unwrap();
        let mut pair = auth
            .issue_pair(&TestUser::new(7, "ada", &[]))
            .await
            .unwrap();
        // Warm up first (the allocator's pools, the store's map, the runtime), so that the
        // figure is what refreshing costs, not what starting costs.
        for _ in 0..WARM_UP {
            pair = auth.refresh(&pair.refresh_token).await.unwrap();
        }
        let (entries, held) = (store.len(), rss());
        for _ in 0..REFRESHES {
            pair = auth.refresh(&pair.refresh_token).await.unwrap();
        }
        let grown = rss() - held;
        eprintln!(
            "{REFRESHES} refreshes of one session: store entries {entries} -> {}, \
             resident memory {grown:+} bytes ({:.2} bytes per refresh)",
            store.len(),
            grown as f64 / REFRESHES as f64
        );
        assert_eq!(store.len(), entries, "one entry: the session");
        assert_eq!(entries, 1);
        // Before the fix: about 160 bytes per refresh, 16 MB here. After it, a few KB; the
        // bound leaves room for the allocator taking a new pool (seen once: +2 MiB).
        assert!(
            grown < 4 << 20,
            "resident memory grew by {grown} bytes over {REFRESHES} refreshes"
        );
        auth.verify_access(&pair.access_token).await.unwrap();
    });
}
