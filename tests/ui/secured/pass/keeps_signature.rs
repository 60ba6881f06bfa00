//! Name, visibility, attributes, docs, generics, where-clause and return type survive.
#![deny(missing_docs, unreachable_pub, dead_code)]

use axum::{Router, response::IntoResponse, routing::get};
use centurion::secured;

/// Handlers of a module.
pub mod handlers {
    use super::*;

    /// Documented, public, generic, with a where-clause.
    #[secured]
    #[must_use = "handlers return responses"]
    pub async fn generic<T>() -> impl IntoResponse
    where
        T: Default + std::fmt::Debug + Send + 'static,
    {
        format!("{:?}", T::default())
    }

    /// `pub(crate)` survives too.
    #[secured]
    pub(crate) async fn restricted() -> Result<String, centurion::Error> {
        Ok("ok".to_owned())
    }

    /// A `cfg` below `#[secured]` applies to everything generated for the handler, its
    /// role check included (this crate declares no roles).
    #[secured(roles = "admin, editor")]
    #[cfg(any())]
    pub async fn compiled_out() {}
}

/// A raw identifier as a handler name.
#[secured]
pub async fn r#type() {}

fn main() {
    let _app: Router = Router::new()
        .route("/generic", get(handlers::generic::<u32>))
        .route("/restricted", get(handlers::restricted))
        .route("/type", get(r#type));
}
