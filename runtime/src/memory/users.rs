//! [`MemoryUserStore`]: users in process memory, for development and tests.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::poisoned;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{ImportedUser, NewUser, Registered, UserStore};
use crate::user::{UserParts, UserRecord};

/// One stored user: its fields and its keys.
struct Row {
    parts: UserParts,
    username_key: String,
    email_key: Option<String>,
    pending_since_ms: Option<u64>,
}

#[derive(Default)]
struct Users {
    by_id: HashMap<i64, Row>,
    by_username: HashMap<String, i64>,
    by_email: HashMap<String, i64>,
}

impl Users {
    fn remove(&mut self, id: i64) {
        if let Some(row) = self.by_id.remove(&id) {
            self.by_username.remove(&row.username_key);
            if let Some(key) = &row.email_key {
                self.by_email.remove(key);
            }
        }
    }

    /// Deletes the unconfirmed registration holding `id` if it expired before `cutoff`.
    fn drop_if_expired(&mut self, id: Option<i64>, cutoff: u64) {
        if let Some(id) = id
            && self
                .by_id
                .get(&id)
                .and_then(|r| r.pending_since_ms)
                .is_some_and(|since| since < cutoff)
        {
            self.remove(id);
        }
    }
}

/// Users in process memory, for development and tests. Username keys and e-mail keys
/// ([`crate::identity`]) are unique.
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::{NewUser, UserStore, identity::identity_key, memory::MemoryUserStore, testing::TestUser};
/// let store = MemoryUserStore::<TestUser>::new();
/// let user = store.create(NewUser::new("Ada", "$argon2id$…").with_roles(["admin"])).await?;
/// assert_eq!(store.lookup(&identity_key("ADA")).await?.map(|u| u.id), Some(user.id));
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
            .map(|row| row.parts.clone())
            .and_then(U::from_parts))
    }

    fn modify(&self, id: &str, f: impl FnOnce(&mut Row)) -> Result<()> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(());
        };
        let mut users = self.users.write().map_err(|_| poisoned())?;
        if let Some(row) = users.by_id.get_mut(&id) {
            f(row);
        }
        Ok(())
    }

    /// Inserts `new` under the write lock; the caller checked the keys are free.
    fn insert(&self, users: &mut Users, new: NewUser) -> Result<U> {
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
        users.by_username.insert(new.username_key.clone(), id);
        if let Some(key) = &new.email_key {
            users.by_email.insert(key.clone(), id);
        }
        users.by_id.insert(
            id,
            Row {
                parts,
                username_key: new.username_key,
                email_key: new.email_key,
                pending_since_ms: new.pending_since_ms,
            },
        );
        Ok(user)
    }

    fn owner(users: &Users, id: i64) -> Result<U> {
        users
            .by_id
            .get(&id)
            .and_then(|row| U::from_parts(row.parts.clone()))
            .ok_or_else(|| {
                Error::new(ErrorKind::InternalError)
                    .with_message("the user type cannot hold the address's owner")
            })
    }
}

impl<U: UserRecord> UserStore<U> for MemoryUserStore<U> {
    async fn lookup(&self, username_key: &str) -> Result<Option<U>> {
        self.find(|u| u.by_username.get(username_key).copied())
    }

    async fn identify(&self, id: &str) -> Result<Option<U>> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        self.find(|_| Some(id))
    }

    async fn update_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        self.modify(id, |row| row.parts.password_hash = hash.to_owned())
    }

    async fn create(&self, new: NewUser) -> Result<U> {
        let mut users = self.users.write().map_err(|_| poisoned())?;
        if users.by_username.contains_key(&new.username_key)
            || new
                .email_key
                .as_ref()
                .is_some_and(|e| users.by_email.contains_key(e))
        {
            return Err(Error::new(ErrorKind::UserExists));
        }
        self.insert(&mut users, new)
    }

    async fn register(&self, new: NewUser, expired_before_ms: u64) -> Result<Registered<U>> {
        let mut users = self.users.write().map_err(|_| poisoned())?;
        let by_name = users.by_username.get(&new.username_key).copied();
        users.drop_if_expired(by_name, expired_before_ms);
        if let Some(key) = &new.email_key {
            let by_email = users.by_email.get(key).copied();
            users.drop_if_expired(by_email, expired_before_ms);
        }
        if users.by_username.contains_key(&new.username_key) {
            return Err(Error::new(ErrorKind::UserExists));
        }
        if let Some(owner) = new
            .email_key
            .as_ref()
            .and_then(|key| users.by_email.get(key).copied())
        {
            return Ok(Registered::AddressTaken(Self::owner(&users, owner)?));
        }
        self.insert(&mut users, new).map(Registered::Created)
    }

    async fn confirm(&self, id: &str, registered_after_ms: u64) -> Result<bool> {
        let mut confirmed = false;
        self.modify(id, |row| {
            if row
                .pending_since_ms
                .is_some_and(|since| since >= registered_after_ms)
            {
                row.pending_since_ms = None;
                row.parts.active = true;
                confirmed = true;
            }
        })?;
        Ok(confirmed)
    }

    async fn activate(&self, id: &str) -> Result<()> {
        self.modify(id, |row| {
            row.parts.active = true;
            row.pending_since_ms = None;
        })
    }

    async fn purge_unconfirmed(&self, expired_before_ms: u64) -> Result<u64> {
        let mut users = self.users.write().map_err(|_| poisoned())?;
        let expired: Vec<i64> = users
            .by_id
            .iter()
            .filter(|(_, row)| {
                row.pending_since_ms
                    .is_some_and(|since| since < expired_before_ms)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in &expired {
            users.remove(*id);
        }
        Ok(expired.len() as u64)
    }

    async fn lookup_by_email(&self, email_key: &str) -> Result<Option<U>> {
        self.find(|u| u.by_email.get(email_key).copied())
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
        // The keys, as `create` compares them: a name or address held by another id
        // (whatever its case or Unicode form) is refused.
        let taken_by_other = |held: Option<&i64>| held.is_some_and(|holder| *holder != id);
        if taken_by_other(users.by_username.get(&new.username_key))
            || new
                .email_key
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
        // Replaces the row with that id (its old keys freed), an ordinary user now.
        users.remove(id);
        users.by_username.insert(new.username_key.clone(), id);
        if let Some(key) = &new.email_key {
            users.by_email.insert(key.clone(), id);
        }
        users.by_id.insert(
            id,
            Row {
                parts,
                username_key: new.username_key,
                email_key: new.email_key,
                pending_since_ms: None,
            },
        );
        // Ids handed out later stay above every imported one.
        self.next_id
            .fetch_max(id.unsigned_abs().saturating_add(1), Ordering::Relaxed);
        Ok(user)
    }
}
