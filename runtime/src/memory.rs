//! In-memory stores: the defaults for a single instance, for development and for tests.
//!
//! Both keep everything in the process; nothing survives a restart and nothing is shared
//! between instances. Use the SQL and Redis stores for that.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::now_secs;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{NewUser, RevocationStore, TokenRef, UserStore};
use crate::user::{UserParts, UserRecord};

fn poisoned() -> Error {
    Error::new(ErrorKind::InternalError).with_message("an in-memory store lock is poisoned")
}

/// A map of keys to expiry times (Unix seconds) that forgets expired keys.
///
/// Expired entries are swept on writes, at most once per `SWEEP_EVERY` seconds or when the
/// map has doubled since the last sweep, so memory stays proportional to the live entries.
#[derive(Default)]
struct ExpiringMap<V> {
    entries: HashMap<String, (V, u64)>,
    last_sweep: u64,
    size_after_sweep: usize,
}

const SWEEP_EVERY: u64 = 60;

impl<V> ExpiringMap<V> {
    fn get(&self, key: &str, now: u64) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v)
    }

    fn sweep_if_due(&mut self, now: u64) {
        let grown = self.entries.len() >= 2 * self.size_after_sweep.max(512);
        if grown || now >= self.last_sweep + SWEEP_EVERY {
            self.entries.retain(|_, (_, exp)| *exp > now);
            self.last_sweep = now;
            self.size_after_sweep = self.entries.len();
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[derive(Default)]
struct Revocations {
    tokens: ExpiringMap<()>,
    families: ExpiringMap<()>,
    users: ExpiringMap<u64>,
    spent: ExpiringMap<()>,
}

/// Revocations in process memory. The default revocation store.
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::{RevocationStore, TokenRef, memory::MemoryRevocationStore};
/// let store = MemoryRevocationStore::new();
/// let far = u64::MAX / 2;
/// store.revoke_token("abc", far).await?;
/// let token = TokenRef { jti: "abc", family: None, subject: "1", issued_at_ms: 0 };
/// assert!(store.is_revoked(&token).await?);
/// assert!(store.mark_spent("r1", far).await?);
/// assert!(!store.mark_spent("r1", far).await?);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Default)]
pub struct MemoryRevocationStore {
    inner: RwLock<Revocations>,
}

impl MemoryRevocationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries (live or not yet swept) the store holds.
    pub fn len(&self) -> usize {
        self.inner.read().map_or(0, |r| {
            r.tokens.len() + r.families.len() + r.users.len() + r.spent.len()
        })
    }

    /// Whether the store holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn write<T>(&self, f: impl FnOnce(&mut Revocations, u64) -> T) -> Result<T> {
        let now = now_secs();
        let mut guard = self.inner.write().map_err(|_| poisoned())?;
        let out = f(&mut guard, now);
        guard.tokens.sweep_if_due(now);
        guard.families.sweep_if_due(now);
        guard.users.sweep_if_due(now);
        guard.spent.sweep_if_due(now);
        Ok(out)
    }
}

impl std::fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("entries", &self.len())
            .finish()
    }
}

impl RevocationStore for MemoryRevocationStore {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<()> {
        self.write(|r, _| {
            r.tokens.entries.insert(jti.to_owned(), ((), expires_at));
        })
    }

    async fn revoke_family(&self, family: &str, expires_at: u64) -> Result<()> {
        self.write(|r, _| {
            r.families
                .entries
                .insert(family.to_owned(), ((), expires_at));
        })
    }

    async fn revoke_user(&self, subject: &str, not_before_ms: u64, expires_at: u64) -> Result<()> {
        self.write(|r, _| {
            let entry = r.users.entries.entry(subject.to_owned()).or_insert((0, 0));
            entry.0 = entry.0.max(not_before_ms);
            entry.1 = entry.1.max(expires_at);
        })
    }

    async fn is_revoked(&self, token: &TokenRef<'_>) -> Result<bool> {
        let now = now_secs();
        let r = self.inner.read().map_err(|_| poisoned())?;
        Ok(r.tokens.get(token.jti, now).is_some()
            || token
                .family
                .is_some_and(|f| r.families.get(f, now).is_some())
            || r.users
                .get(token.subject, now)
                .is_some_and(|nb| token.issued_at_ms < *nb))
    }

    async fn mark_spent(&self, jti: &str, expires_at: u64) -> Result<bool> {
        self.write(|r, now| {
            if r.spent.get(jti, now).is_some() {
                false
            } else {
                r.spent.entries.insert(jti.to_owned(), ((), expires_at));
                true
            }
        })
    }
}

#[derive(Default)]
struct Users {
    by_id: HashMap<i64, UserParts>,
    by_username: HashMap<String, i64>,
    by_email: HashMap<String, i64>,
}

/// Users in process memory, for development and tests. Usernames and e-mail addresses are
/// unique (e-mail compared case-insensitively).
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::{NewUser, UserStore, memory::MemoryUserStore, testing::TestUser};
/// let store = MemoryUserStore::<TestUser>::new();
/// let user = store.create(NewUser {
///     username: "ada".into(), email: None, password_hash: "$argon2id$…".into(),
///     roles: vec!["admin".into()], active: true,
/// }).await?;
/// assert_eq!(store.lookup("ada").await?.map(|u| u.id), Some(user.id));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct MemoryUserStore<U> {
    users: RwLock<Users>,
    next_id: AtomicU64,
    lookups: AtomicU64,
    _user: PhantomData<fn() -> U>,
}

impl<U> Default for MemoryUserStore<U> {
    fn default() -> Self {
        Self {
            users: RwLock::default(),
            next_id: AtomicU64::new(1),
            lookups: AtomicU64::new(0),
            _user: PhantomData,
        }
    }
}

impl<U> std::fmt::Debug for MemoryUserStore<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.users.read().map_or(0, |u| u.by_id.len());
        f.debug_struct("MemoryUserStore")
            .field("users", &n)
            .finish()
    }
}

impl<U: UserRecord> MemoryUserStore<U> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many lookups (`lookup`, `identify`, `lookup_by_email`) the store has answered;
    /// tests use it to prove a handler did not load the user.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    fn find(&self, f: impl FnOnce(&Users) -> Option<i64>) -> Result<Option<U>> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let users = self.users.read().map_err(|_| poisoned())?;
        Ok(f(&users)
            .and_then(|id| users.by_id.get(&id))
            .cloned()
            .and_then(U::from_parts))
    }

    fn modify(&self, id: &str, f: impl FnOnce(&mut UserParts)) -> Result<()> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(());
        };
        let mut users = self.users.write().map_err(|_| poisoned())?;
        if let Some(parts) = users.by_id.get_mut(&id) {
            f(parts);
        }
        Ok(())
    }
}

impl<U: UserRecord> UserStore<U> for MemoryUserStore<U> {
    async fn lookup(&self, username: &str) -> Result<Option<U>> {
        self.find(|u| u.by_username.get(username).copied())
    }

    async fn identify(&self, id: &str) -> Result<Option<U>> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        self.find(|_| Some(id))
    }

    async fn update_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        self.modify(id, |p| p.password_hash = hash.to_owned())
    }

    async fn create(&self, new: NewUser) -> Result<U> {
        let mut users = self.users.write().map_err(|_| poisoned())?;
        let email_key = new.email.as_deref().map(str::to_lowercase);
        if users.by_username.contains_key(&new.username)
            || email_key
                .as_ref()
                .is_some_and(|e| users.by_email.contains_key(e))
        {
            return Err(Error::new(ErrorKind::UserExists));
        }
        let id = i64::try_from(self.next_id.fetch_add(1, Ordering::Relaxed))
            .map_err(|_| Error::new(ErrorKind::InternalError).with_message("user ids exhausted"))?;
        let parts = UserParts {
            id,
            username: new.username,
            email: new.email,
            password_hash: new.password_hash,
            roles: new.roles,
            active: new.active,
        };
        let user = U::from_parts(parts.clone()).ok_or_else(|| {
            Error::new(ErrorKind::InternalError).with_message("the user type cannot hold this user")
        })?;
        users.by_username.insert(parts.username.clone(), id);
        if let Some(e) = email_key {
            users.by_email.insert(e, id);
        }
        users.by_id.insert(id, parts);
        Ok(user)
    }

    async fn activate(&self, id: &str) -> Result<()> {
        self.modify(id, |p| p.active = true)
    }

    async fn lookup_by_email(&self, email: &str) -> Result<Option<U>> {
        let key = email.to_lowercase();
        self.find(|u| u.by_email.get(&key).copied())
    }
}
