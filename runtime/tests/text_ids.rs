//! Users whose ids are not integers (issue 14, point 4): a `#[derive(AuthUser)]` struct with
//! `#[auth_user(id)] id: uuid::Uuid` (feature `uuid`) or `String` works with the shipped
//! stores, memory, SQLite and PostgreSQL: new users get random v4 UUIDs, tokens carry them
//! as `sub`, and every store call that names a user by id (identify, password change,
//! confirmation, import) finds the same row.
//!
//! Run: `cargo test -p centurion --features uuid,sqlite,postgres --test text_ids`.

#![cfg(feature = "uuid")]

use centurion::memory::MemoryUserStore;
use centurion::{
    AuthUser, Centurion, ErrorKind, HasEmail, IdKind, ImportedUser, Registration, UserRecord,
    UserStore,
};
use centurion_testkit::prelude::*;
use centurion_testkit::unique;

#[derive(AuthUser, Clone)]
#[auth_user(debug)]
struct UuidUser {
    #[auth_user(id)]
    id: uuid::Uuid,
    #[auth_user(username)]
    name: String,
    #[auth_user(email)]
    email: Option<String>,
    #[auth_user(password)]
    hash: String,
    #[auth_user(roles)]
    roles: Vec<String>,
    #[auth_user(is_valid)]
    active: bool,
}

#[derive(AuthUser, Clone)]
#[auth_user(debug)]
struct StringUser {
    #[auth_user(id)]
    id: String,
    #[auth_user(username)]
    name: String,
    #[auth_user(email)]
    email: Option<String>,
    #[auth_user(password)]
    hash: String,
    #[auth_user(roles)]
    roles: Vec<String>,
    #[auth_user(is_valid)]
    active: bool,
}

const PASSWORD: &str = "correct horse battery staple";

fn assert_v4(id: &str, tag: &str) {
    let parsed = uuid::Uuid::try_parse(id).unwrap_or_else(|e| panic!("{tag}: {id}: {e}"));
    assert_eq!(parsed.get_version_num(), 4, "{tag}: {id}");
    assert_eq!(parsed.hyphenated().to_string(), id, "{tag}: canonical form");
}

/// Everything an application does with its users, through `Centurion`, on `store`.
async fn lifecycle<U, S>(store: S, tag: &str)
where
    U: UserRecord + HasEmail + Clone,
    S: UserStore<U>,
{
    assert_eq!(U::id_kind(), IdKind::Uuid);
    let auth = Centurion::<U>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store)
        .build()
        .unwrap();

    // Created directly: a random v4 UUID each.
    let name = unique(&format!("ada-{tag}"));
    let ada = auth
        .create_user(
            &name,
            Some(&format!("{name}@example.org")),
            PASSWORD,
            &["admin"],
        )
        .await
        .unwrap();
    let id = ada.id();
    assert_v4(&id, tag);
    let other = unique(&format!("bob-{tag}"));
    let bob = auth.create_user(&other, None, PASSWORD, &[]).await.unwrap();
    assert_v4(&bob.id(), tag);
    assert_ne!(bob.id(), id, "{tag}");

    // Found by id, name and address; nothing else answers to an id.
    assert_eq!(
        auth.identify(&id).await.unwrap().map(|u| u.id()),
        Some(id.clone())
    );
    assert_eq!(
        auth.lookup_by_username(&name.to_uppercase())
            .await
            .unwrap()
            .map(|u| u.id()),
        Some(id.clone())
    );
    assert_eq!(
        auth.lookup_by_email(&format!("{name}@EXAMPLE.org"))
            .await
            .unwrap()
            .map(|u| u.email().map(str::to_owned)),
        Some(Some(format!("{name}@example.org")))
    );
    for absent in ["1", "", "not-a-uuid", &uuid::Uuid::from_u128(7).to_string()] {
        assert!(
            auth.identify(absent).await.unwrap().is_none(),
            "{tag}: {absent:?}"
        );
    }

    // Tokens carry the UUID; refresh and the current user find it again.
    let pair = auth.login(&name, PASSWORD).await.unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert_eq!(claims.subject(), id, "{tag}");
    assert_eq!(claims.roles(), ["admin"], "{tag}");
    let pair = auth.refresh(&pair.refresh_token).await.unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert_eq!(claims.subject(), id, "{tag}");

    // A password change reaches the row by its UUID (and revokes the old tokens).
    auth.change_password(&ada, "another long password")
        .await
        .unwrap();
    assert_eq!(
        auth.login(&name, PASSWORD).await.unwrap_err().kind(),
        ErrorKind::AuthenticationError
    );
    auth.login(&name, "another long password").await.unwrap();
    assert!(
        auth.verify_access(&pair.access_token).await.is_err(),
        "{tag}"
    );

    // Registration and confirmation, by the UUID the registration token names.
    let carol = unique(&format!("carol-{tag}"));
    let registration = auth
        .register(&carol, Some(&format!("{carol}@example.org")), PASSWORD, &[])
        .await
        .unwrap();
    let Registration::Created { user, token } = registration else {
        panic!("{tag}: a new registration");
    };
    assert_v4(&user.id(), tag);
    assert!(!user.is_valid(), "{tag}: inactive until confirmed");
    let confirmed = auth.confirm_registration(&token).await.unwrap();
    assert_eq!(confirmed.id(), user.id());
    assert!(confirmed.is_valid(), "{tag}");
    auth.login(&carol, PASSWORD).await.unwrap();

    // An import keeps the id it is given; a second import of it replaces the row.
    let given = uuid::Uuid::new_v4_like(tag);
    let dave = unique(&format!("dave-{tag}"));
    let imported = auth
        .import_users(vec![ImportedUser::new(
            &given,
            &dave,
            ada_hash(&auth, &name).await,
        )])
        .await
        .unwrap();
    assert_eq!(imported[0].id(), given, "{tag}");
    auth.login(&dave, "another long password").await.unwrap();
    let renamed = unique(&format!("dave2-{tag}"));
    auth.import_users(vec![ImportedUser::new(
        &given,
        &renamed,
        ada_hash(&auth, &name).await,
    )])
    .await
    .unwrap();
    let found = auth.identify(&given).await.unwrap().expect("imported");
    assert_eq!(found.username(), renamed, "{tag}");
    assert!(
        auth.lookup_by_username(&dave).await.unwrap().is_none(),
        "{tag}: the old name was freed"
    );
}

/// The current hash of the user named `name`, for imports that should log in like it.
async fn ada_hash<U: UserRecord>(auth: &Centurion<U>, name: &str) -> String {
    auth.lookup_by_username(name)
        .await
        .unwrap()
        .expect("ada")
        .password_hash()
        .to_owned()
}

/// A v4 UUID for an import: random, so that runs against a shared database never meet.
trait NewV4Like {
    fn new_v4_like(tag: &str) -> String;
}

impl NewV4Like for uuid::Uuid {
    fn new_v4_like(_tag: &str) -> String {
        uuid::Builder::from_random_bytes(unique_bytes())
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

/// A `String` id also takes ids that are not UUIDs from an import.
async fn string_ids_take_any_imported_id<S: UserStore<StringUser>>(store: S, tag: &str) {
    let auth = Centurion::<StringUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store)
        .build()
        .unwrap();
    let name = unique(&format!("erin-{tag}"));
    let erin = auth.create_user(&name, None, PASSWORD, &[]).await.unwrap();
    let given = unique(&format!("legacy-{tag}"));
    let imported = auth
        .import_users(vec![ImportedUser::new(
            &given,
            unique("frank"),
            erin.hash.clone(),
        )])
        .await
        .unwrap();
    assert_eq!(imported[0].id, given);
    assert_eq!(
        auth.identify(&given).await.unwrap().map(|u| u.id),
        Some(given)
    );
    let refused = auth
        .import_users(vec![ImportedUser::new(
            "",
            unique("gina"),
            erin.hash.clone(),
        )])
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidRequest, "{tag}: no id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_with_uuid_ids() {
    lifecycle(MemoryUserStore::<UuidUser>::new(), "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_with_string_ids() {
    lifecycle(MemoryUserStore::<StringUser>::new(), "memory-string").await;
    string_ids_take_any_imported_id(MemoryUserStore::new(), "memory").await;
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use centurion::sql::SqlUserStore;
    use centurion_testkit::TempDir;

    fn url(dir: &TempDir) -> String {
        format!("sqlite://{}", dir.path().join("ids.db").display())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_store_with_uuid_ids() {
        let dir = TempDir::new("uuid-ids");
        let store = SqlUserStore::<UuidUser>::connect(&url(&dir)).await.unwrap();
        lifecycle(store, "sqlite").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_store_with_string_ids() {
        let dir = TempDir::new("string-ids");
        let store = SqlUserStore::<StringUser>::connect(&url(&dir))
            .await
            .unwrap();
        lifecycle(store.clone(), "sqlite-string").await;
        string_ids_take_any_imported_id(store, "sqlite").await;
    }

    /// A database of integer ids, written before, keeps its users and their ids.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_integer_ids_are_unchanged() {
        let dir = TempDir::new("int-ids");
        let ints = SqlUserStore::<centurion::testing::TestUser>::connect(&url(&dir))
            .await
            .unwrap();
        let ada = ints
            .create(centurion::NewUser::new("ada", "$argon2id$…"))
            .await
            .unwrap();
        assert_eq!(ada.id, 1);
        let again = SqlUserStore::<centurion::testing::TestUser>::connect(&url(&dir))
            .await
            .unwrap();
        assert_eq!(again.identify("1").await.unwrap().map(|u| u.id), Some(1));
        let bob = again
            .create(centurion::NewUser::new("bob", "$argon2id$…"))
            .await
            .unwrap();
        assert_eq!(bob.id, 2);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use centurion::sql::SqlUserStore;

    const GROUP: &str = "postgres";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_store_with_uuid_ids() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let url = pg.create_database("");
        let store = SqlUserStore::<UuidUser>::connect(&url).await.unwrap();
        lifecycle(store, "pg").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_store_with_string_ids() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let url = pg.create_database("");
        let store = SqlUserStore::<StringUser>::connect(&url).await.unwrap();
        lifecycle(store.clone(), "pg-string").await;
        string_ids_take_any_imported_id(store, "pg").await;
    }
}
