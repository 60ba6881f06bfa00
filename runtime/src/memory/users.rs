//! [`MemoryUserStore`]: users in process memory, for development and tests.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::poisoned;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{ImportedUser, NewUser, Registered, UserStore, random_uuid};
use crate::user::{IdKind, UserParts, UserRecord};

/// One stored user: its fields and its keys.
struct Row {
    parts: UserParts,
    username_key: String,
    email_key: Option<String>,
    pending_since_ms: Option<u64>,
}

/// Rows by id (the id's text, as tokens carry it), and the keys that lead to them.
#[derive(Default)]
struct Users {
    by_id: HashMap<String, Row>,
    by_username: HashMap<String, String>,
    by_email: HashMap<String, String>,
}

impl Users {
    fn remove(&mut self, id: &str) {
        if let Some(row) = self.by_id.remove(id) {
            self.by_username.remove(&row.username_key);
            if let Some(key) = &row.email_key {
                self.by_email.remove(key);
            }
        }
    }

    /// Deletes the unconfirmed registration holding `id` if it expired before `cutoff`.
    fn drop_if_expired(&mut self, id: Option<String>, cutoff: u64) {
        if let Some(id) = id
            && self
                .by_id
                .get(&id)
                .and_then(|r| r.pending_since_ms)
                .is_some_and(|since| since < cutoff)
        {
            self.remove(&id);
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

    fn find(&self, f: impl FnOnce(&Users) -> Option<String>) -> Result<Option<U>> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let users = self.users.read().map_err(|_| poisoned())?;
        Ok(f(&users)
            .and_then(|id| users.by_id.get(&id))
            .map(|row| row.parts.clone())
            .and_then(U::from_parts))
    }

    /// The key a token's `sub` names a row by: integer ids in their canonical form
    /// (`+7` and `07` are `7`), others as they are; `None` for one that cannot be an id.
    fn key_of(id: &str) -> Option<String> {
        match U::id_kind() {
            IdKind::Integer => id.parse::<i64>().ok().map(|n| n.to_string()),
            _ => (!id.is_empty()).then(|| id.to_owned()),
        }
    }

    fn modify(&self, id: &str, f: impl FnOnce(&mut Row)) -> Result<()> {
        let Some(id) = Self::key_of(id) else {
            return Ok(());
        };
        let mut users = self.users.write().map_err(|_| poisoned())?;
        if let Some(row) = users.by_id.get_mut(&id) {
            f(row);
        }
        Ok(())
    }

    /// A new user's id: the next number, or a random UUID not yet held.
    fn new_id(&self, users: &Users) -> Result<String> {
        match U::id_kind() {
            IdKind::Integer => i64::try_from(self.next_id.fetch_add(1, Ordering::Relaxed))
                .map(|id| id.to_string())
                .map_err(|_| {
                    Error::new(ErrorKind::InternalError).with_message("user ids exhausted")
                }),
            _ => loop {
                let id = random_uuid()?;
                if !users.by_id.contains_key(&id) {
                    return Ok(id);
                }
            },
        }
    }

    /// Inserts `new` under the write lock; the caller checked the keys are free.
    fn insert(&self, users: &mut Users, new: NewUser) -> Result<U> {
        let id = self.new_id(users)?;
        let parts = UserParts {
            id: id.clone(),
            username: new.username,
            email: new.email,
            password_hash: new.password_hash,
            roles: new.roles,
            active: new.active,
        };
        let user = U::from_parts(parts.clone()).ok_or_else(|| {
            Error::new(ErrorKind::InternalError).with_message("the user type cannot hold this user")
        })?;
        users
            .by_username
            .insert(new.username_key.clone(), id.clone());
        if let Some(key) = &new.email_key {
            users.by_email.insert(key.clone(), id.clone());
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

    fn owner(users: &Users, id: &str) -> Result<U> {
        users
            .by_id
            .get(id)
            .and_then(|row| U::from_parts(row.parts.clone()))
            .ok_or_else(|| {
                Error::new(ErrorKind::InternalError)
                    .with_message("the user type cannot hold the address's owner")
            })
    }
}

impl<U: UserRecord> UserStore<U> for MemoryUserStore<U> {
    async fn lookup(&self, username_key: &str) -> Result<Option<U>> {
        self.find(|u| u.by_username.get(username_key).cloned())
    }

    async fn identify(&self, id: &str) -> Result<Option<U>> {
        let Some(id) = Self::key_of(id) else {
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
        let by_name = users.by_username.get(&new.username_key).cloned();
        users.drop_if_expired(by_name, expired_before_ms);
        if let Some(key) = &new.email_key {
            let by_email = users.by_email.get(key).cloned();
            users.drop_if_expired(by_email, expired_before_ms);
        }
        if users.by_username.contains_key(&new.username_key) {
            return Err(Error::new(ErrorKind::UserExists));
        }
        if let Some(owner) = new
            .email_key
            .as_ref()
            .and_then(|key| users.by_email.get(key).cloned())
        {
            return Ok(Registered::AddressTaken(Self::owner(&users, &owner)?));
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
        let expired: Vec<String> = users
            .by_id
            .iter()
            .filter(|(_, row)| {
                row.pending_since_ms
                    .is_some_and(|since| since < expired_before_ms)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            users.remove(id);
        }
        Ok(expired.len() as u64)
    }

    async fn lookup_by_email(&self, email_key: &str) -> Result<Option<U>> {
        self.find(|u| u.by_email.get(email_key).cloned())
    }

    async fn upsert(&self, new: ImportedUser) -> Result<U> {
        let (id, number) = match U::id_kind() {
            IdKind::Integer => {
                let number = new
                    .id
                    .parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| {
                        Error::new(ErrorKind::InvalidRequest)
                            .with_message("this store's user ids are positive integers")
                    })?;
                (number.to_string(), Some(number))
            }
            _ if new.id.is_empty() => {
                return Err(Error::new(ErrorKind::InvalidRequest)
                    .with_message("an imported user needs an id"));
            }
            _ => (new.id.clone(), None),
        };
        let mut users = self.users.write().map_err(|_| poisoned())?;
        // The keys, as `create` compares them: a name or address held by another id
        // (whatever its case or Unicode form) is refused.
        let taken_by_other = |held: Option<&String>| held.is_some_and(|holder| *holder != id);
        if taken_by_other(users.by_username.get(&new.username_key))
            || new
                .email_key
                .as_ref()
                .is_some_and(|e| taken_by_other(users.by_email.get(e)))
        {
            return Err(Error::new(ErrorKind::UserExists));
        }
        let parts = UserParts {
            id: id.clone(),
            username: new.username,
            email: new.email,
            password_hash: new.password_hash,
            roles: new.roles,
            active: new.active,
        };
        let user = U::from_parts(parts.clone()).ok_or_else(|| {
            Error::new(ErrorKind::InvalidRequest).with_message("the user type cannot hold this id")
        })?;
        // Replaces the row with that id (its old keys freed), an ordinary user now.
        users.remove(&id);
        users
            .by_username
            .insert(new.username_key.clone(), id.clone());
        if let Some(key) = &new.email_key {
            users.by_email.insert(key.clone(), id.clone());
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
        if let Some(number) = number {
            self.next_id
                .fetch_max(number.unsigned_abs().saturating_add(1), Ordering::Relaxed);
        }
        Ok(user)
    }
}
