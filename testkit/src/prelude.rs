//! What the runtime's integration tests glob-import (`use centurion_testkit::prelude::*`):
//! the constants, the instances, the clock helpers and the token surgery, but no module
//! or type whose name a test file would import from elsewhere (`http`, `Request`, …).

pub use crate::tokens::{
    access_payload, b64, header_of, hs256_header, key, parts, payload_of, sign_json_text,
    signing_input, unb64, unique_bytes,
};
pub use crate::{
    OTHER_SECRET, SharedStore, TEST_SECRET, auth, builder, cheap_passwords, now, now_ms, secs_on,
    shared_builder,
};
