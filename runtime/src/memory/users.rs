//! [`MemoryUserStore`]: users in process memory, for development and tests.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::poisoned;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{ImportedUser, NewUser, UserStore};
use crate::user::{UserParts, UserRecord};

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

    async fn upsert(&self, new: ImportedUser) -> Result<U> {
        let id = new
            .id
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                Error::new(ErrorKind::InvalidRequest)
                    .with_message("this store's user ids are positive integers")
            })?;
        let mut users = self.users.write().map_err(|_| poisoned())?;
        let email_key = new.email.as_deref().map(str::to_lowercase);
        let taken_by_other = |held: Option<&i64>| held.is_some_and(|holder| *holder != id);
        if taken_by_other(users.by_username.get(&new.username))
            || email_key
                .as_ref()
                .is_some_and(|e| taken_by_other(users.by_email.get(e)))
        {
            return Err(Error::new(ErrorKind::UserExists));
        }
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
        if let Some(old) = users.by_id.remove(&id) {
            users.by_username.remove(&old.username);
            if let Some(e) = old.email.as_deref() {
                users.by_email.remove(&e.to_lowercase());
            }
        }
        users.by_username.insert(parts.username.clone(), id);
        if let Some(e) = email_key {
            users.by_email.insert(e, id);
        }
        users.by_id.insert(id, parts);
        // Ids handed out later stay above every imported one.
        self.next_id
            .fetch_max(id.unsigned_abs().saturating_add(1), Ordering::Relaxed);
        Ok(user)
    }
}
