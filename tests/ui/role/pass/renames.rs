//! Role names: snake_case by default, `rename_all` rules and per-variant `rename`. (One
//! role enum per module: each leaves the same hidden macro for `#[secured]` behind.)
use centurion::Role;

#[derive(Role, Debug, PartialEq, Clone, Copy)]
enum Default {
    Admin,
    SuperAdmin,
    HTTPAuditor,
    Level2Support,
}

mod kebab {
    #[derive(centurion::Role, Debug, PartialEq)]
    #[role(rename_all = "kebab-case")]
    pub enum Kebab {
        SuperAdmin,
        #[role(rename = "root")]
        Administrator,
    }
}

mod other_rules {
    #[derive(centurion::Role, Debug, PartialEq)]
    #[role(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum Screaming {
        SuperAdmin,
    }

    pub mod camel {
        #[derive(centurion::Role, Debug, PartialEq)]
        #[role(rename_all = "camelCase")]
        pub enum Camel {
            SuperAdmin,
            HTTPAuditor,
        }
    }
}

use kebab::Kebab;
use other_rules::{Screaming, camel::Camel};

fn main() {
    assert_eq!(
        Default::NAMES,
        ["admin", "super_admin", "http_auditor", "level2_support"]
    );
    assert_eq!(Kebab::NAMES, ["super-admin", "root"]);
    assert_eq!(Screaming::NAMES, ["SUPER_ADMIN"]);
    assert_eq!(Camel::NAMES, ["superAdmin", "httpAuditor"]);
    assert_eq!(Default::SuperAdmin.name(), "super_admin");
    assert_eq!(Default::from_name("http_auditor"), Some(Default::HTTPAuditor));
    assert_eq!(Kebab::from_name("administrator"), None);
    assert_eq!(Kebab::from_name("root"), Some(Kebab::Administrator));
    let _ = (Screaming::SuperAdmin, Camel::SuperAdmin, Camel::HTTPAuditor);
}
