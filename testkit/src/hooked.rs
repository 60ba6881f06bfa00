//! Stores with a hook around every call: to make a store fail, hang, or pause at a chosen
//! call until the test lets it go on (deterministic interleavings, no sleeps).
//!
//! [`Hooked`] wraps any [`RevocationStore`] or [`UserStore`]; its [`Hook`] runs before and
//! after each call. [`Pause`] is the hook of the race tests: armed for one [`Op`], it stops
//! the first such call (before or after it reaches the store) and tells the test, which
//! does what it wants to interleave, then resumes it.

use std::future::Future;
use std::sync::{Arc, Mutex};

use centurion::{
    AuthUser, NewUser, Result, RevocationStore, Rotation, RotationOutcome, SessionLimits,
    SessionRecord, TokenRef, UserStore,
};
use tokio::sync::oneshot;

/// A store call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    RevokeToken,
    RevokeUser,
    IsRevoked,
    MarkSpent,
    CreateSession,
    RotateSession,
    Sessions,
    EndSession,
    EndSessionOf,
    EndSessionsOf,
    Lookup,
    Identify,
    UpdatePasswordHash,
    Create,
    Activate,
    LookupByEmail,
}

/// When a hook runs: before the call reaches the store, or after it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum When {
    Before,
    After,
}

/// What runs around every call of a [`Hooked`] store; an error from it is the call's answer.
pub trait Hook: Send + Sync + 'static {
    fn around(&self, op: Op, when: When) -> impl Future<Output = Result<()>> + Send;
}

/// A store whose every call passes through `hook` before and after reaching `inner`.
pub struct Hooked<S, H> {
    pub inner: S,
    pub hook: Arc<H>,
}

impl<S, H> Hooked<S, H> {
    pub fn new(inner: S, hook: Arc<H>) -> Self {
        Self { inner, hook }
    }
}

impl<S, H: Hook> Hooked<S, H> {
    async fn call<T>(&self, op: Op, fut: impl Future<Output = Result<T>>) -> Result<T> {
        self.hook.around(op, When::Before).await?;
        let out = fut.await?;
        self.hook.around(op, When::After).await?;
        Ok(out)
    }
}

impl<S: RevocationStore, H: Hook> RevocationStore for Hooked<S, H> {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<()> {
        self.call(Op::RevokeToken, self.inner.revoke_token(jti, expires_at))
            .await
    }
    async fn revoke_user(&self, subject: &str, not_before_ms: u64, expires_at: u64) -> Result<()> {
        let fut = self.inner.revoke_user(subject, not_before_ms, expires_at);
        self.call(Op::RevokeUser, fut).await
    }
    async fn is_revoked(&self, token: &TokenRef<'_>) -> Result<bool> {
        self.call(Op::IsRevoked, self.inner.is_revoked(token)).await
    }
    async fn mark_spent(&self, jti: &str, expires_at: u64) -> Result<bool> {
        self.call(Op::MarkSpent, self.inner.mark_spent(jti, expires_at))
            .await
    }
    async fn create_session(&self, record: &SessionRecord, limits: &SessionLimits) -> Result<()> {
        let fut = self.inner.create_session(record, limits);
        self.call(Op::CreateSession, fut).await
    }
    async fn rotate_session(&self, rotation: &Rotation<'_>) -> Result<RotationOutcome> {
        self.call(Op::RotateSession, self.inner.rotate_session(rotation))
            .await
    }
    async fn sessions(&self, subject: &str) -> Result<Vec<SessionRecord>> {
        self.call(Op::Sessions, self.inner.sessions(subject)).await
    }
    async fn end_session(&self, family: &str) -> Result<bool> {
        self.call(Op::EndSession, self.inner.end_session(family))
            .await
    }
    async fn end_session_of(&self, subject: &str, id: &str) -> Result<bool> {
        self.call(Op::EndSessionOf, self.inner.end_session_of(subject, id))
            .await
    }
    async fn end_sessions_of(
        &self,
        subject: &str,
        except: Option<&str>,
        not_before_ms: u64,
        expires_at: u64,
    ) -> Result<u64> {
        let fut = self
            .inner
            .end_sessions_of(subject, except, not_before_ms, expires_at);
        self.call(Op::EndSessionsOf, fut).await
    }
}

impl<U: AuthUser, S: UserStore<U>, H: Hook> UserStore<U> for Hooked<S, H> {
    async fn lookup(&self, username: &str) -> Result<Option<U>> {
        self.call(Op::Lookup, self.inner.lookup(username)).await
    }
    async fn identify(&self, id: &str) -> Result<Option<U>> {
        self.call(Op::Identify, self.inner.identify(id)).await
    }
    async fn update_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        let fut = self.inner.update_password_hash(id, hash);
        self.call(Op::UpdatePasswordHash, fut).await
    }
    async fn create(&self, user: NewUser) -> Result<U> {
        self.call(Op::Create, self.inner.create(user)).await
    }
    async fn activate(&self, id: &str) -> Result<()> {
        self.call(Op::Activate, self.inner.activate(id)).await
    }
    async fn lookup_by_email(&self, email: &str) -> Result<Option<U>> {
        self.call(Op::LookupByEmail, self.inner.lookup_by_email(email))
            .await
    }
}

/// A hook that stops one chosen call until the test resumes it.
#[derive(Default)]
pub struct Pause {
    armed: Mutex<Option<Armed>>,
}

struct Armed {
    op: Op,
    when: When,
    reached: oneshot::Sender<()>,
    resume: oneshot::Receiver<()>,
}

/// The test's side of an armed [`Pause`].
pub struct Paused {
    reached: oneshot::Receiver<()>,
    resume: oneshot::Sender<()>,
}

impl Paused {
    /// Waits until the armed call has reached the pause; it stays stopped.
    pub async fn reached(&mut self) {
        (&mut self.reached)
            .await
            .expect("the armed call was never made");
    }

    /// Lets the stopped call go on.
    pub fn resume(self) {
        let _ = self.resume.send(());
    }
}

impl Pause {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Stops the next `op` call at `when` (once). Replaces an armed pause that never fired.
    pub fn arm(&self, op: Op, when: When) -> Paused {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (resume_tx, resume_rx) = oneshot::channel();
        *self.armed.lock().unwrap() = Some(Armed {
            op,
            when,
            reached: reached_tx,
            resume: resume_rx,
        });
        Paused {
            reached: reached_rx,
            resume: resume_tx,
        }
    }
}

impl Hook for Pause {
    async fn around(&self, op: Op, when: When) -> Result<()> {
        let fired = {
            let mut armed = self.armed.lock().unwrap();
            match armed.as_ref() {
                Some(a) if a.op == op && a.when == when => armed.take(),
                _ => None,
            }
        };
        if let Some(armed) = fired {
            let _ = armed.reached.send(());
            let _ = armed.resume.await;
        }
        Ok(())
    }
}

/// A hook that does nothing.
pub struct NoHook;

impl Hook for NoHook {
    async fn around(&self, _: Op, _: When) -> Result<()> {
        Ok(())
    }
}
