//! The flask-jwt-extended tutorial (register, login, logout with revocation, a protected
//! `/user`) ported to centurion. `SECRET_KEY` signs tokens; users live in `DATABASE_URL`.
use axum::routing::{get, post};
use axum::{Json, Router, http::StatusCode};
use centurion::serve::{Server, bind};
use centurion::throttle::{Throttle, ThrottleConfig};
use centurion::{AuthUser, Centurion, CurrentUser, Error, JsonBody, routes::TokenRoutes, secured};
use serde_json::{Value, json};

#[derive(AuthUser, Clone)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    username: String,
    #[auth_user(email)]
    email: Option<String>,
    #[auth_user(password)]
    password_hash: String,
    #[auth_user(is_valid)]
    active: bool,
}

#[derive(serde::Deserialize)]
struct Register {
    username: String,
    email: String,
    password: String,
}

/// An active user at once (hashed, under the password policy).
async fn register(auth: Centurion<User>, body: JsonBody<Register>) -> Result<StatusCode, Error> {
    let JsonBody(new) = body;
    let created = auth.create_user(&new.username, Some(&new.email), &new.password, &[]);
    created.await.map(|_| StatusCode::CREATED)
}

#[secured]
async fn user(user: CurrentUser<User>) -> Json<Value> {
    let status = if user.active { "active" } else { "inactive" };
    Json(json!({"username": user.username, "email": user.email, "status": status}))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let database = env("DATABASE_URL", "sqlite://tutorial.db");
    let users = centurion::sql::SqlUserStore::connect(&database).await?;
    let builder = Centurion::<User>::builder().secret(std::env::var("SECRET_KEY")?);
    let auth = builder.user_store(users).build()?;
    let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    let app = Router::new()
        .route("/auth/register", post(register))
        .route("/user", get(user))
        .merge(TokenRoutes::<User>::new().throttle(throttle).router())
        .layer(auth.layer());
    let listener = bind(env("TUTORIAL_ADDR", "127.0.0.1:5000").parse()?, 1024)?;
    println!("listening on http://{}", listener.local_addr()?);
    let stop = async { tokio::signal::ctrl_c().await.unwrap_or(()) };
    Server::new(listener, app).serve(stop).await?;
    Ok(())
}
