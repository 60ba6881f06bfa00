use axum::http::{HeaderMap, Method, Uri, Version};
use centurion::secured;

#[secured]
async fn dashboard(
    _a: Method,
    _b: Uri,
    _c: Version,
    _d: HeaderMap,
    _e: Method,
    _f: Uri,
    _g: Version,
    _h: HeaderMap,
    _i: Method,
    _j: Uri,
    _k: Version,
    _l: HeaderMap,
    _m: Method,
    _n: Uri,
    _o: Version,
    _p: HeaderMap,
) {
}

fn main() {}
