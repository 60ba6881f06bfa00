//! Cost of one password verification on the hashing pool for each Flask hash format
//! (feature `legacy`), at the value their libraries write by default and at Centurion's cap,
//! beside the baseline of the same run: one verification of Centurion's own default argon2id
//! (OWASP: 19 MiB, t=2, p=1). The caps are set so that a hostile stored hash costs at most
//! about a bcrypt-14 login; a hash above them is refused before any work (see the
//! `hostile_costs_are_refused_before_any_work` test).
//!
//! Run: `cargo bench -p centurion --features legacy --bench legacy_hashes`
//! (the hashes below are well formed; the password does not match, which costs the same).

use std::time::Duration;

use centurion::PasswordConfig;
use centurion::password::PasswordHasher;
use criterion::{Criterion, criterion_group, criterion_main};

const B64_16: &str = "AAAAAAAAAAAAAAAAAAAAAA";

fn ab64(bytes: usize) -> String {
    // Adapted base64 of `bytes` zero bytes: 'A's, as many as the unpadded encoding has.
    "A".repeat((bytes * 4).div_ceil(3))
}

fn cases() -> Vec<(&'static str, String)> {
    let argon = |m: u32, t: u32, p: u32| {
        format!(
            "$argon2id$v=19$m={m},t={t},p={p}${B64_16}${}",
            "A".repeat(43)
        )
    };
    vec![
        (
            "baseline: centurion argon2id m=19456 t=2 p=1",
            argon(19456, 2, 1),
        ),
        (
            "passlib pbkdf2-sha512 25000 (default)",
            format!("$pbkdf2-sha512$25000${B64_16}${}", ab64(64)),
        ),
        (
            "pbkdf2-sha512 1000000 (cap)",
            format!("$pbkdf2-sha512$1000000${B64_16}${}", ab64(64)),
        ),
        (
            "passlib pbkdf2-sha256 29000 (default)",
            format!("$pbkdf2-sha256$29000${B64_16}${}", ab64(32)),
        ),
        (
            "werkzeug pbkdf2:sha256 1000000 (default)",
            format!("pbkdf2:sha256:1000000$abcdefghijklmnop${}", "00".repeat(32)),
        ),
        (
            "pbkdf2-sha256 2000000 (cap)",
            format!("$pbkdf2-sha256$2000000${B64_16}${}", ab64(32)),
        ),
        (
            "bcrypt cost 12 (passlib default)",
            "$2b$12$WqCcbhb70DTBc70q9q3Die5M9GhyrFWJxloSOxY5.GdA6u2QzWrza".into(),
        ),
        (
            "bcrypt cost 14 (cap)",
            "$2b$14$WqCcbhb70DTBc70q9q3Die5M9GhyrFWJxloSOxY5.GdA6u2QzWrza".into(),
        ),
        (
            "werkzeug scrypt 32768:8:1 (default)",
            format!("scrypt:32768:8:1$abcdefghijklmnop${}", "00".repeat(64)),
        ),
        (
            "scrypt 65536:8:1 (memory cap)",
            format!("scrypt:65536:8:1$abcdefghijklmnop${}", "00".repeat(64)),
        ),
        (
            "scrypt 32768:8:4 (work cap)",
            format!("scrypt:32768:8:4$abcdefghijklmnop${}", "00".repeat(64)),
        ),
        ("passlib argon2id 65536/3/4 (default)", argon(65536, 3, 4)),
        ("argon2id 131072/6/4 (caps)", argon(131072, 6, 4)),
    ]
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hasher = PasswordHasher::new(&PasswordConfig {
        pool_size: Some(1),
        ..PasswordConfig::default()
    })
    .unwrap();
    let mut group = c.benchmark_group("legacy_hash_verify");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_millis(500));
    for (name, hash) in cases() {
        hasher.check_stored_hash(&hash).expect(name);
        group.bench_function(name, |b| {
            b.iter(|| {
                let matched = rt.block_on(hasher.verify("correct horse battery staple", &hash));
                assert!(!matched.unwrap());
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
