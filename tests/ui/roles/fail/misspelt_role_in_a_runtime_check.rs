//! `claims.has_role(AppRole::…)` names a variant, so a misspelt role does not compile.
use centurion::{Claims, Role};

#[derive(Role, Clone, Copy)]
enum AppRole {
    Editor,
}

fn is_editor(claims: &Claims) -> bool {
    claims.has_role(AppRole::Editr)
}

fn main() {
    let _ = is_editor;
}
