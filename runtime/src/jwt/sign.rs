//! Issuing: a [`Draft`] of the claims, signed with the instance's key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use super::claims::{Audience, Claims, ClaimsData, RESERVED_CLAIMS, TokenKind};
use super::keys::KeySet;
use crate::config::Settings;
use crate::error::{Error, ErrorKind};

/// Random 128-bit identifier, base64url.
pub(crate) fn random_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| {
        Error::new(ErrorKind::InternalError).with_message("the system random source failed")
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Refuses custom claims that are not an object or that reuse reserved names.
pub(crate) fn custom_map<T: Serialize + ?Sized>(custom: &T) -> Result<Map<String, Value>, Error> {
    let value = serde_json::to_value(custom).map_err(|e| {
        Error::new(ErrorKind::ClaimCollisionError)
            .with_message(format!("custom claims do not serialize: {e}"))
    })?;
    let map = match value {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        _ => {
            return Err(Error::new(ErrorKind::ClaimCollisionError)
                .with_message("custom claims must serialize to a JSON object"));
        }
    };
    if let Some(name) = map.keys().find(|k| RESERVED_CLAIMS.contains(&k.as_str())) {
        return Err(
            Error::new(ErrorKind::ClaimCollisionError).with_message(format!(
                "the custom claim `{name}` collides with a reserved claim"
            )),
        );
    }
    Ok(map)
}

/// The claims of a token about to be issued. Its times come from the caller's clock.
pub(crate) struct Draft(ClaimsData);

impl Draft {
    /// A token of `kind` for `subject`, issued at `now_ms` (milliseconds since the Unix
    /// epoch) and living `lifespan` seconds, with a random `jti` and the configured `iss`
    /// and `aud`.
    pub(crate) fn new(
        subject: String,
        kind: TokenKind,
        now_ms: u64,
        lifespan: u64,
        settings: &Settings,
    ) -> Result<Self, Error> {
        let now = now_ms / 1000;
        Ok(Self(ClaimsData {
            sub: subject,
            iat: now,
            iat_ms: Some(now_ms),
            nbf: now,
            exp: now.saturating_add(lifespan),
            jti: random_id()?,
            kind,
            fresh: None,
            roles: None,
            fam: None,
            generation: None,
            iss: settings.issuer().map(str::to_owned),
            aud: settings.audience().map(|a| Audience::One(a.to_owned())),
            custom: Map::new(),
        }))
    }

    /// Sets `fresh`.
    pub(crate) fn fresh(mut self, fresh: bool) -> Self {
        self.0.fresh = Some(fresh);
        self
    }

    /// Sets the role names.
    pub(crate) fn roles(mut self, roles: Vec<String>) -> Self {
        self.0.roles = Some(roles);
        self
    }

    /// Sets the refresh family.
    pub(crate) fn family(mut self, family: String) -> Self {
        self.0.fam = Some(family);
        self
    }

    /// Sets the custom claims (already checked by [`custom_map`]).
    pub(crate) fn custom(mut self, custom: Map<String, Value>) -> Self {
        self.0.custom = custom;
        self
    }

    /// Sets the revocation stamp `iat_ms` (see `Claims::issued_at_ms`): `iat_ms` only
    /// ever meets revocation not-befores, so the seconds claims stay on the clock.
    pub(crate) fn stamped(mut self, stamp_ms: u64) -> Self {
        self.0.iat_ms = Some(stamp_ms);
        self
    }

    /// Sets the refresh generation `gen`.
    pub(crate) fn generation(mut self, generation: u64) -> Self {
        self.0.generation = Some(generation);
        self
    }

    /// Makes the token expire at `at` (seconds) at the latest.
    pub(crate) fn expire_by(mut self, at: u64) -> Self {
        self.0.exp = self.0.exp.min(at);
        self
    }

    /// Makes the token expire at exactly `at` (seconds).
    pub(crate) fn expire_at(mut self, at: u64) -> Self {
        self.0.exp = at;
        self
    }

    /// `exp`, in seconds since the Unix epoch.
    pub(crate) fn expires_at(&self) -> u64 {
        self.0.exp
    }

    /// Seconds from `iat` to `exp`.
    pub(crate) fn lifetime(&self) -> u64 {
        self.0.exp.saturating_sub(self.0.iat)
    }

    /// Signs the claims with the signing key: the token, and its claims.
    pub(crate) fn sign(self, keys: &KeySet) -> Result<(String, Claims), Error> {
        let mut header = jsonwebtoken::Header::new(keys.signing.alg);
        header.kid = keys.signing.kid.clone();
        let token =
            jsonwebtoken::encode(&header, &self.0, &keys.signing.key).map_err(signing_failed)?;
        Ok((token, Claims::from_data(self.0)))
    }

    /// The claims without signing them, for tests that plant them in a cache.
    #[cfg(test)]
    pub(crate) fn into_claims(self) -> Claims {
        Claims::from_data(self.0)
    }
}

/// The claims of an access and a refresh token, as one JSON text: what a session keeps
/// of the pair its last rotation minted, to issue it again within the grace window.
pub(crate) fn pair_to_json(access: &Draft, refresh: &Draft) -> Result<String, Error> {
    serde_json::to_string(&serde_json::json!({"access": &access.0, "refresh": &refresh.0})).map_err(
        |e| {
            Error::new(ErrorKind::InternalError)
                .with_message(format!("the session's successor does not serialize: {e}"))
        },
    )
}

/// The drafts [`pair_to_json`] wrote (read with the strict claims decoder).
pub(crate) fn pair_from_json(text: &str) -> Result<(Draft, Draft), Error> {
    #[derive(serde::Deserialize)]
    struct Pair {
        access: ClaimsData,
        refresh: ClaimsData,
    }
    let pair: Pair = serde_json::from_str(text).map_err(|e| {
        Error::new(ErrorKind::InternalError)
            .with_message(format!("a session's successor does not parse: {e}"))
    })?;
    Ok((Draft(pair.access), Draft(pair.refresh)))
}

fn signing_failed(e: jsonwebtoken::errors::Error) -> Error {
    Error::new(ErrorKind::InternalError).with_message(format!("signing failed: {e}"))
}

/// Signs any JSON payload with the signing key and its header (`dangerous::sign_payload`).
pub(crate) fn sign_json(keys: &KeySet, payload: &Value) -> Result<String, Error> {
    let mut header = jsonwebtoken::Header::new(keys.signing.alg);
    header.kid = keys.signing.kid.clone();
    jsonwebtoken::encode(&header, payload, &keys.signing.key).map_err(signing_failed)
}

/// Signs `header_and_payload` as it is and appends the signature (`dangerous::sign_raw`).
pub(crate) fn sign_raw(keys: &KeySet, header_and_payload: &str) -> Result<String, Error> {
    let sig = jsonwebtoken::crypto::sign(
        header_and_payload.as_bytes(),
        &keys.signing.key,
        keys.signing.alg,
    )
    .map_err(signing_failed)?;
    Ok(format!("{header_and_payload}.{sig}"))
}
