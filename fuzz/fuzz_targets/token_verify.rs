//! Arbitrary bytes as a token, through every entry point that verifies one: access
//! verification, refresh, registration confirmation and password reset. None may accept
//! it, panic, or answer anything but a 401 JSON refusal.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Tokens come from headers, cookies and JSON strings: UTF-8 text. Invalid UTF-8 is
    // fed in its lossy form so the bytes still reach the parser.
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let f = common::fixture();
    common::rt().block_on(async {
        let outcomes = [
            f.auth.verify_access(text).await.map(|_| ()),
            f.auth.refresh(text).await.map(|_| ()),
            f.auth.confirm_registration(text).await.map(|_| ()),
            f.auth
                .reset_password(text, "a new password of some length")
                .await
                .map(|_| ()),
        ];
        for outcome in outcomes {
            match outcome {
                Ok(()) => panic!("an arbitrary string was accepted as a token: {text:?}"),
                Err(err) => common::check_refusal(&err, text),
            }
        }
    });
});
