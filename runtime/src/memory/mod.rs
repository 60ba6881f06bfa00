//! In-memory stores: the defaults for a single instance, for development and for tests.
//!
//! Both keep everything in the process; nothing survives a restart and nothing is shared
//! between instances. Use the SQL and Redis stores for that.

mod revocations;
mod users;

pub use self::revocations::MemoryRevocationStore;
pub use self::users::MemoryUserStore;

use crate::error::{Error, ErrorKind};

fn poisoned() -> Error {
    Error::new(ErrorKind::InternalError).with_message("an in-memory store lock is poisoned")
}
