//! Configuration: defaults, serde loading, duration syntax, and every misconfiguration
//! refused at build time with a message that says what to fix.

use std::time::Duration;

use centurion::config::parse_duration;
use centurion::memory::MemoryUserStore;
use centurion::testing::TestUser;
use centurion::{Centurion, Config, Error, ErrorKind, Secret, VerificationKeyConfig};
use centurion_testkit::prelude::*;
use serde_json::json;

/// Builds an instance from `config` and returns the configuration error.
fn config_error(config: Config) -> Error {
    let err = Centurion::<TestUser>::builder()
        .config(Config {
            password: cheap_passwords(),
            ..config
        })
        .user_store(MemoryUserStore::new())
        .build()
        .expect_err("the configuration must be refused");
    assert_eq!(err.kind(), ErrorKind::ConfigurationError, "{err:?}");
    assert_eq!(err.status().as_u16(), 500);
    err
}

fn hs(secret: &str) -> Config {
    Config {
        secret: Some(secret.into()),
        ..Config::default()
    }
}

fn assert_mentions(err: &Error, words: &[&str]) {
    for word in words {
        assert!(
            err.message().contains(word),
            "`{}` does not mention `{word}`",
            err.message()
        );
    }
}

#[test]
fn defaults_match_the_issue() {
    let config = Config::default();
    assert_eq!(config.algorithm, "HS256");
    assert_eq!(config.access_lifespan, Duration::from_secs(15 * 60));
    assert_eq!(config.refresh_lifespan, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(config.registration_lifespan, Duration::from_secs(15 * 60));
    assert_eq!(config.reset_lifespan, Duration::from_secs(15 * 60));
    assert_eq!(config.leeway, Duration::ZERO);
    assert_eq!(config.issuer, None);
    assert_eq!(config.audience, None);
    assert_eq!(config.password.memory_kib, 19456);
    assert_eq!(config.password.iterations, 2);
    assert_eq!(config.password.parallelism, 1);
    assert!(config.max_token_bytes >= 1024);
}

#[test]
fn secret_under_32_bytes_is_refused() {
    let err = config_error(hs(&"s".repeat(31)));
    assert_mentions(&err, &["31 bytes", "at least 32"]);
    // Exactly 32 is enough.
    assert!(builder().secret("s".repeat(32)).build().is_ok());
}

#[test]
fn hs384_secret_under_48_bytes_is_refused() {
    let err = config_error(Config {
        algorithm: "HS384".into(),
        ..hs(&"s".repeat(47))
    });
    assert_mentions(&err, &["HS384", "at least 48"]);
    assert!(
        builder()
            .algorithm("HS384")
            .secret("s".repeat(48))
            .build()
            .is_ok()
    );
}

#[test]
fn hs512_secret_under_64_bytes_is_refused() {
    let err = config_error(Config {
        algorithm: "HS512".into(),
        ..hs(&"s".repeat(63))
    });
    assert_mentions(&err, &["HS512", "at least 64"]);
    assert!(
        builder()
            .algorithm("HS512")
            .secret("s".repeat(64))
            .build()
            .is_ok()
    );
}

#[test]
fn missing_secret_is_refused() {
    let err = config_error(Config::default());
    assert_mentions(&err, &["secret"]);
}

#[test]
fn unknown_algorithm_is_refused() {
    for name in ["HS257", "hs256", "none", "None", "PS256", ""] {
        let err = config_error(Config {
            algorithm: name.into(),
            ..hs(TEST_SECRET)
        });
        assert_mentions(&err, &["unknown algorithm", "HS256"]);
    }
    let err = config_error(Config {
        algorithms: vec!["HS256".into(), "none".into()],
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["unknown algorithm `none`"]);
}

#[test]
fn pem_key_given_as_hs256_secret_is_refused() {
    for pem in [
        key("rsa_public.pem"),
        key("rsa_private.pem"),
        key("ec_public.pem"),
    ] {
        let err = config_error(hs(&pem));
        assert_mentions(&err, &["PEM", "RS256"]);
    }
}

/// Regression: a PEM key with leading whitespace (a YAML block, an env var with a newline)
/// was accepted as an HMAC secret (fixed in keys.rs).
#[test]
fn pem_key_with_leading_whitespace_given_as_hs256_secret_is_refused() {
    for prefix in ["\n", "  ", "\r\n\t"] {
        let err = config_error(hs(&format!("{prefix}{}", key("rsa_public.pem"))));
        assert_mentions(&err, &["PEM"]);
    }
}

#[test]
fn private_key_pem_with_hs256_is_refused() {
    let err = config_error(Config {
        private_key_pem: Some(Secret::new(key("rsa_private.pem"))),
        public_key_pem: Some(key("rsa_public.pem")),
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["private_key_pem", "HS256", "RS256"]);
    // Without a secret as well.
    let err = config_error(Config {
        private_key_pem: Some(Secret::new(key("rsa_private.pem"))),
        public_key_pem: Some(key("rsa_public.pem")),
        ..Config::default()
    });
    assert_mentions(&err, &["private_key_pem"]);
}

#[test]
fn secret_with_an_asymmetric_algorithm_is_refused() {
    let err = config_error(Config {
        algorithm: "RS256".into(),
        private_key_pem: Some(Secret::new(key("rsa_private.pem"))),
        public_key_pem: Some(key("rsa_public.pem")),
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["secret"]);
}

#[test]
fn asymmetric_algorithm_without_both_keys_is_refused() {
    let err = config_error(Config {
        algorithm: "RS256".into(),
        private_key_pem: Some(Secret::new(key("rsa_private.pem"))),
        ..Config::default()
    });
    assert_mentions(&err, &["public_key_pem"]);
}

#[test]
fn mismatched_key_pair_is_refused() {
    for (alg, private, public) in [
        ("RS256", "rsa_private.pem", "rsa2_public.pem"),
        ("EdDSA", "ed25519_private.pem", "ed25519_2_public.pem"),
    ] {
        let err = config_error(Config {
            algorithm: alg.into(),
            private_key_pem: Some(Secret::new(key(private))),
            public_key_pem: Some(key(public)),
            ..Config::default()
        });
        assert_mentions(&err, &["not two halves", alg]);
    }
}

#[test]
fn key_of_the_wrong_type_for_the_algorithm_is_refused() {
    for (alg, private, public) in [
        ("RS256", "ec_private.pem", "ec_public.pem"),
        ("ES256", "rsa_private.pem", "rsa_public.pem"),
        ("EdDSA", "ec_private.pem", "ec_public.pem"),
        ("ES256", "ec_private.pem", "rsa_public.pem"),
    ] {
        let err = config_error(Config {
            algorithm: alg.into(),
            private_key_pem: Some(Secret::new(key(private))),
            public_key_pem: Some(key(public)),
            ..Config::default()
        });
        assert_mentions(&err, &["PEM", alg]);
    }
}

#[test]
fn access_lifespan_longer_than_refresh_is_refused() {
    let err = config_error(Config {
        access_lifespan: Duration::from_secs(2 * 3600),
        refresh_lifespan: Duration::from_secs(3600),
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["access_lifespan", "refresh_lifespan", "2h", "1h"]);
    // Equal lifespans are fine.
    assert!(
        builder()
            .access_lifespan(Duration::from_secs(60))
            .refresh_lifespan(Duration::from_secs(60))
            .build()
            .is_ok()
    );
}

#[test]
fn zero_lifespans_are_refused() {
    let err = config_error(Config {
        access_lifespan: Duration::ZERO,
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["access_lifespan"]);
    let err = config_error(Config {
        reset_lifespan: Duration::ZERO,
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["reset_lifespan"]);
}

#[test]
fn empty_issuer_or_audience_is_refused() {
    let err = config_error(Config {
        issuer: Some("  ".into()),
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["issuer"]);
    let err = config_error(Config {
        audience: Some(String::new()),
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["audience"]);
}

#[test]
fn tiny_token_size_limit_is_refused() {
    let err = config_error(Config {
        max_token_bytes: 100,
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["max_token_bytes"]);
}

#[test]
fn zero_sized_hashing_pool_is_refused() {
    let err = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(centurion::PasswordConfig {
            pool_size: Some(0),
            ..cheap_passwords()
        })
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    assert!(err.message().contains("pool_size"));
}

#[test]
fn impossible_argon2_parameters_are_refused() {
    let err = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(centurion::PasswordConfig {
            iterations: 0,
            ..cheap_passwords()
        })
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    assert!(err.message().contains("argon2"));
}

#[test]
fn missing_user_store_is_refused() {
    let err = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    assert!(err.message().contains("user_store"));
}

#[test]
fn verification_keys_without_a_signing_kid_are_refused() {
    let err = config_error(Config {
        verification_keys: vec![VerificationKeyConfig {
            kid: "old".into(),
            algorithm: "HS256".into(),
            secret: Some(OTHER_SECRET.into()),
            public_key_pem: None,
        }],
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["kid"]);
}

#[test]
fn unsafe_or_duplicate_kids_are_refused() {
    for kid in ["../../etc/passwd", "", "a b", "k\u{0}"] {
        let err = config_error(Config {
            kid: Some(kid.into()),
            ..hs(TEST_SECRET)
        });
        assert_mentions(&err, &["kid"]);
    }
    let err = config_error(Config {
        kid: Some("same".into()),
        verification_keys: vec![VerificationKeyConfig {
            kid: "same".into(),
            algorithm: "HS256".into(),
            secret: Some(OTHER_SECRET.into()),
            public_key_pem: None,
        }],
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["same"]);
}

#[test]
fn verification_key_with_a_short_secret_is_refused() {
    let err = config_error(Config {
        kid: Some("new".into()),
        verification_keys: vec![VerificationKeyConfig {
            kid: "old".into(),
            algorithm: "HS256".into(),
            secret: Some("short".into()),
            public_key_pem: None,
        }],
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["old", "at least 32"]);
}

#[test]
fn allow_list_without_the_signing_algorithm_is_refused() {
    let err = config_error(Config {
        algorithms: vec!["HS512".into()],
        ..hs(TEST_SECRET)
    });
    assert_mentions(&err, &["algorithms", "HS256"]);
}

#[test]
fn durations_parse_in_the_documented_syntax() {
    assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
    assert_eq!(
        parse_duration("30d").unwrap(),
        Duration::from_secs(30 * 86_400)
    );
    assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
    assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
    assert_eq!(parse_duration(" 10m ").unwrap(), Duration::from_secs(600));
    let err = parse_duration("soon").unwrap_err();
    assert!(err.contains("15m"), "{err}");
    assert!(parse_duration("").is_err());
    assert!(parse_duration("-5m").is_err());
}

#[test]
fn config_loads_from_json_with_duration_strings() {
    let config: Config = serde_json::from_value(json!({
        "secret": TEST_SECRET,
        "access_lifespan": "15m",
        "refresh_lifespan": "30d",
        "registration_lifespan": "1h30m",
        "reset_lifespan": 600,
        "leeway": "5s",
        "issuer": "https://auth.example.com",
        "audience": "api",
        "max_token_bytes": 4096,
        "store_timeout": "2s",
        "password": {"memory_kib": 1024, "iterations": 1, "pool_size": 2, "queue_length": 3},
        "kid": "k2",
        "verification_keys": [
            {"kid": "k1", "algorithm": "HS256", "secret": OTHER_SECRET}
        ],
    }))
    .unwrap();
    assert_eq!(config.access_lifespan, Duration::from_secs(900));
    assert_eq!(config.refresh_lifespan, Duration::from_secs(30 * 86_400));
    assert_eq!(config.registration_lifespan, Duration::from_secs(5400));
    assert_eq!(config.reset_lifespan, Duration::from_secs(600));
    assert_eq!(config.leeway, Duration::from_secs(5));
    assert_eq!(config.store_timeout, Some(Duration::from_secs(2)));
    assert_eq!(config.password.memory_kib, 1024);
    assert_eq!(
        config.password.parallelism, 1,
        "unset fields keep their default"
    );
    assert_eq!(config.password.queue_length, 3);
    assert_eq!(
        config.secret.as_ref().map(Secret::expose),
        Some(TEST_SECRET)
    );
    assert_eq!(config.verification_keys[0].kid, "k1");
    // Defaults fill the rest.
    assert_eq!(config.algorithm, "HS256");
    assert_eq!(config.service_lifespan, Config::default().service_lifespan);
    assert!(
        Centurion::<TestUser>::builder()
            .config(config)
            .user_store(MemoryUserStore::new())
            .build()
            .is_ok()
    );
}

#[test]
fn durations_load_from_any_string_deserializer() {
    // Env- and TOML-style loaders hand values over through serde's plain string
    // deserializers, not serde_json: the duration fields must accept those too.
    use serde::Deserialize;
    use serde::de::value::{Error as ValueError, MapDeserializer};
    let entries = vec![
        ("algorithm", "HS256"),
        ("access_lifespan", "5m"),
        ("refresh_lifespan", "7d"),
        ("leeway", "1s"),
    ];
    let config =
        Config::deserialize(MapDeserializer::<_, ValueError>::new(entries.into_iter())).unwrap();
    assert_eq!(config.access_lifespan, Duration::from_secs(300));
    assert_eq!(config.refresh_lifespan, Duration::from_secs(7 * 86_400));
    assert_eq!(config.leeway, Duration::from_secs(1));
}

#[test]
fn config_with_an_unknown_field_is_refused_by_serde() {
    let err =
        serde_json::from_value::<Config>(json!({"secret": TEST_SECRET, "acces_lifespan": "5m"}))
            .unwrap_err();
    assert!(err.to_string().contains("acces_lifespan"), "{err}");
    let err = serde_json::from_value::<Config>(json!({"password": {"memory": 1}})).unwrap_err();
    assert!(err.to_string().contains("memory"), "{err}");
}

#[test]
fn config_with_a_bad_duration_is_refused_by_serde() {
    let err = serde_json::from_value::<Config>(json!({"access_lifespan": "fifteen minutes"}))
        .unwrap_err();
    assert!(err.to_string().contains("15m"), "{err}");
    assert!(serde_json::from_value::<Config>(json!({"access_lifespan": -1})).is_err());
}

#[test]
fn config_errors_are_the_same_from_builder_and_from_config() {
    let from_builder = Centurion::<TestUser>::builder()
        .secret("short")
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap_err();
    let from_config = config_error(hs("short"));
    assert_eq!(from_builder.message(), from_config.message());
}

#[test]
fn configuration_error_message_never_contains_the_secret() {
    let secret = "tiny-secret";
    let err = config_error(hs(secret));
    assert!(!err.message().contains(secret));
    assert!(!format!("{err:?} {err}").contains(secret));
    let pem = key("rsa_private.pem");
    let err = config_error(hs(&pem));
    assert!(!format!("{err:?}").contains("PRIVATE KEY-----\n"));
}

#[tokio::test]
async fn sub_second_lifespans_round_up_to_a_whole_second() {
    let auth = builder()
        .access_lifespan(Duration::from_millis(1500))
        .build()
        .unwrap();
    let pair = auth
        .issue_pair(&TestUser::new(1, "ada", &[]))
        .await
        .unwrap();
    assert_eq!(pair.expires_in, 2);
}
