//! Identity in one normal form: how usernames and e-mail addresses are compared, stored and
//! checked, the same way on every store and every database whatever its locale.
//!
//! Two layers:
//!
//! - **Keys**, total functions that never fail: [`identity_key`] for usernames and
//!   [`email_key`] for e-mail addresses. Log-in, look-ups, the throttle and the SQL
//!   back-fill compare keys, and the shipped stores keep them in columns of their own with
//!   a UNIQUE index. Because keys never refuse anything, a later change to the rules below
//!   can never lock an existing account out.
//! - **Checks**, run only when a name or address is *stored* (registration, an
//!   administrator creating a user): [`normalize_username`] and [`normalize_email`] refuse
//!   what should never become an identity, with [`ErrorKind::InvalidRequest`] (400) and a
//!   message that names the rule, and return the form to store beside its key.
//!
//! ```
//! use centurion::identity::{UsernamePolicy, email_key, identity_key, normalize_email, normalize_username};
//!
//! // One account, however it is typed.
//! assert_eq!(identity_key("Alice"), "alice");
//! assert_eq!(identity_key("ＡＬＩＣＥ"), "alice"); // fullwidth
//! assert_eq!(identity_key("STRAẞE"), identity_key("strasse"));
//! // Full (not Turkish) case folding: İ is i + U+0307, never plain i, on every database.
//! assert_ne!(identity_key("İstanbul"), identity_key("istanbul"));
//!
//! let policy = UsernamePolicy::default();
//! let name = normalize_username("Alice", &policy).unwrap();
//! assert_eq!((name.display(), name.key()), ("Alice", "alice"));
//! // Invisible characters and mixed scripts are refused when a name is stored.
//! assert!(normalize_username("al\u{200B}ice", &policy).is_err());
//! assert!(normalize_username("p\u{430}ypal", &policy).is_err()); // Cyrillic а
//!
//! // E-mail: the key folds the local part; the domain is compared as DNS sees it (UTS 46).
//! assert_eq!(email_key("Ada@Example.ORG"), "ada@example.org");
//! assert_ne!(email_key("victim@gİthub.com"), email_key("victim@github.com"));
//! let address = normalize_email("Ada@ＥＸＡＭＰＬＥ.org").unwrap();
//! assert_eq!(address.address(), "Ada@example.org"); // where mail goes
//! assert_eq!(address.key(), "ada@example.org");
//! ```
//!
//! ## The key: Unicode `toNFKC_Casefold`
//!
//! [`identity_key`] is Unicode's `toNFKC_Casefold` (Unicode §3.13, D147, "identifier
//! caseless matching"): NFKC, full default case folding, removal of default-ignorable code
//! points, NFKC again, all from ICU4X's data. It maps compatibility look-alikes together
//! (`ａｌｉｃｅ`, `ﬁ`, the Kelvin sign `K`), folds case without any locale (`ß` = `ss`,
//! final `ς` = `σ`), and drops invisible characters (zero-width spaces and joiners, bidi
//! controls, variation selectors). It is idempotent, and stable across Unicode versions
//! for assigned characters (the normalization and case-folding stability policies), which
//! is why [`normalize_username`] refuses unassigned code points.
//!
//! [`email_key`] is `identity_key(local part) + "@" + UTS 46 ToASCII(domain)`: two keys
//! are equal only when the addresses reach the same DNS name, so `victim@gİthub.com`
//! (the A-label `xn--github-qyd.com`, a domain anyone can register) never matches
//! `victim@github.com`, while `ｇｉｔｈｕｂ.com` and `github。com` do (UTS 46 maps them
//! to `github.com`). Folding the local part decides uniqueness and look-up only; mail is
//! sent to the stored [`EmailAddress::address`], never to a key or to what a client typed.
//!
//! ## What is refused when a name is stored
//!
//! [`normalize_username`] refuses, with a message naming the rule:
//!
//! 1. control, format, private-use, surrogate and unassigned characters, default-ignorable
//!    characters, bidi controls and white space, looked for in the raw input (the key would
//!    silently drop some of them);
//! 2. an empty key, more than [`UsernamePolicy::max_chars`] characters, or a key over 256
//!    bytes;
//! 3. a character that is not UTS 39 `Identifier_Status=Allowed` (emoji, symbols,
//!    `½`, scripts of limited use), apart from the policy's extra ASCII punctuation
//!    (default `@` and `+`; `' - . : _` are allowed by UTS 39 already);
//! 4. a mix of scripts beyond UTS 39 "Highly Restrictive": `pаypal` with a Cyrillic `а` is
//!    refused, `taro山田` (Latin with Han and Japanese) is not.
//!
//! The name is stored as `display` = NFKC of the input (case kept: no fullwidth letters or
//! ligatures in stored names) beside its key.
//!
//! **Confusables.** Names that differ only by compatibility forms, case or invisible
//! characters fold to one key (the second gets 409); mixed-script spoofs are refused. What
//! remains possible is a *whole-script* confusable (`аре` written entirely in Cyrillic
//! next to Latin `ape`): it is another account, with its own key, its own throttle counter
//! and its own mail, so it cannot log in as, lock out or receive mail of the account it
//! imitates. It can only *look* like it where names are shown to other people, and an
//! application that shows names can add its own skeleton check through
//! [`UsernamePolicy::check`]. No skeleton is stored: UTS 39 skeletons change between
//! Unicode releases and would refuse many honest ASCII names (`bill`/`bi11`).
//!
//! [`normalize_email`] refuses the same invisible and control characters, quoted local
//! parts, local parts over 64 bytes or with misplaced dots, domains UTS 46 refuses or
//! without a dot, IP literals, and addresses over 254 bytes. It stores the local part in
//! NFC and the domain as its A-label (ASCII), so mail never needs SMTPUTF8 for the domain.

use std::fmt;
use std::sync::Arc;

use icu_casemap::CaseMapperBorrowed;
use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::props::{
    BidiControl, DefaultIgnorableCodePoint, GeneralCategory, GeneralCategoryGroup, WhiteSpace,
};
use icu_properties::{CodePointMapData, CodePointSetData};
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

use crate::error::{Error, ErrorKind, Result};

/// The longest key, in bytes, a stored username may have (NFKC can expand a character
/// into many: U+FDFA becomes 18).
pub const MAX_KEY_BYTES: usize = 256;

/// The longest local part of an e-mail address, in bytes (RFC 5321).
const MAX_LOCAL_BYTES: usize = 64;

/// The longest e-mail address, in bytes (RFC 5321's path limit minus the brackets).
const MAX_ADDRESS_BYTES: usize = 254;

/// Unicode's `toNFKC_Casefold` of `s`: the form usernames are compared in.
///
/// NFKC, full default case folding, default-ignorable code points removed, NFKC. Total
/// (it never fails) and idempotent. Log-in, look-ups and the throttle compare this key;
/// see the [module documentation](self).
///
/// ```
/// use centurion::identity::identity_key;
/// assert_eq!(identity_key("Ada"), "ada");
/// assert_eq!(identity_key("ﬁle"), "file");
/// assert_eq!(identity_key("al\u{200D}ice"), "alice"); // a zero-width joiner is dropped
/// assert_eq!(identity_key("ΟΔΥΣΣΕΥΣ"), identity_key("οδυσσευς"));
/// let key = identity_key("Straße");
/// assert_eq!(identity_key(&key), key);
/// ```
pub fn identity_key(s: &str) -> String {
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let composed = nfkc.normalize(s);
    let folded = CaseMapperBorrowed::new().fold_string(&composed);
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let kept: String = folded.chars().filter(|c| !ignorable.contains(*c)).collect();
    nfkc.normalize(&kept).into_owned()
}

/// Splits an address at its last `@`, both sides non-empty.
fn split_address(s: &str) -> Option<(&str, &str)> {
    s.rsplit_once('@')
        .filter(|(local, domain)| !local.is_empty() && !domain.is_empty())
}

/// The key e-mail addresses are compared in: `identity_key(local part) + "@" +` the
/// domain as UTS 46 ToASCII gives it. Total: a string without `@`, or with a domain UTS 46
/// refuses, still gets a key (made with [`identity_key`]), which no stored address can
/// have, so a look-up with it finds nobody.
///
/// ```
/// use centurion::identity::email_key;
/// assert_eq!(email_key("Ada@Example.ORG"), "ada@example.org");
/// assert_eq!(email_key("ada@ｅｘａｍｐｌｅ.org"), "ada@example.org");
/// assert_eq!(email_key("victim@gİthub.com"), "victim@xn--github-qyd.com");
/// assert_eq!(email_key("not an address"), "not an address");
/// ```
pub fn email_key(s: &str) -> String {
    let Some((local, domain)) = split_address(s) else {
        return identity_key(s);
    };
    // The lenient flags only turn errors into answers; they never map a domain differently
    // from the strict call `normalize_email` makes.
    let domain = Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::EMPTY,
            Hyphens::Allow,
            DnsLength::Ignore,
        )
        .map_or_else(|_| identity_key(domain), std::borrow::Cow::into_owned);
    format!("{}@{domain}", identity_key(local))
}

/// Characters no stored name or address may contain: controls, format characters, private
/// use, surrogates, unassigned and noncharacters (General_Category C*), default-ignorables,
/// bidi controls, white space.
fn forbidden(c: char) -> bool {
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    GeneralCategoryGroup::Other.contains(category)
        || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointSetData::new::<BidiControl>().contains(c)
        || CodePointSetData::new::<WhiteSpace>().contains(c)
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidRequest).with_message(message)
}

fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// A username checked by [`normalize_username`]: the form to store and its key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Username {
    display: String,
    key: String,
}

impl Username {
    /// The name to store and show: NFKC of the input, case kept.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// [`identity_key`] of the name: what is compared and unique.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Username")
            .field("display", &self.display)
            .field("key", &self.key)
            .finish()
    }
}

/// An application's own extra rule for new usernames: return a message to refuse.
pub type UsernameCheck = Arc<dyn Fn(&Username) -> std::result::Result<(), String> + Send + Sync>;

/// What [`normalize_username`] accepts beyond the rules every name follows (see the
/// [module documentation](self)).
///
/// ```
/// use centurion::identity::{UsernamePolicy, normalize_username};
///
/// let policy = UsernamePolicy::default()
///     .extra_characters("@+")
///     .max_chars(32)
///     .check(|name| if name.key().starts_with("admin") { Err("that name is reserved".into()) } else { Ok(()) });
/// assert!(normalize_username("ada+test@home", &policy).is_ok());
/// let err = normalize_username("Administrator", &policy).unwrap_err();
/// assert_eq!(err.message(), "that name is reserved");
/// ```
#[derive(Clone)]
pub struct UsernamePolicy {
    extra: String,
    max_chars: usize,
    identifier_characters_only: bool,
    single_script: bool,
    check: Option<UsernameCheck>,
}

impl Default for UsernamePolicy {
    /// Extra characters `@+`, at most 64 characters, UTS 39 identifier characters only,
    /// no script mixing beyond "Highly Restrictive", no extra check.
    fn default() -> Self {
        Self {
            extra: "@+".to_owned(),
            max_chars: 64,
            identifier_characters_only: true,
            single_script: true,
            check: None,
        }
    }
}

impl fmt::Debug for UsernamePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsernamePolicy")
            .field("extra", &self.extra)
            .field("max_chars", &self.max_chars)
            .field(
                "identifier_characters_only",
                &self.identifier_characters_only,
            )
            .field("single_script", &self.single_script)
            .field("check", &self.check.as_ref().map(|_| "…"))
            .finish()
    }
}

impl UsernamePolicy {
    /// ASCII punctuation allowed in names besides UTS 39's identifier characters (which
    /// already include `' - . : _`). Non-ASCII and alphanumeric characters are ignored.
    /// Default `@+`.
    pub fn extra_characters(mut self, characters: &str) -> Self {
        self.extra = characters
            .chars()
            .filter(|c| c.is_ascii_punctuation())
            .collect();
        self
    }

    /// The longest name, in characters of its NFKC form (default 64).
    pub fn max_chars(mut self, max: usize) -> Self {
        self.max_chars = max.max(1);
        self
    }

    /// Whether only UTS 39 identifier characters are allowed (default `true`). Off, any
    /// assigned, visible character is accepted (emoji, symbols, scripts of limited use);
    /// the invisible and control characters stay refused.
    pub fn identifier_characters_only(mut self, on: bool) -> Self {
        self.identifier_characters_only = on;
        self
    }

    /// Whether names may not mix scripts beyond UTS 39 "Highly Restrictive" (default
    /// `true`).
    pub fn single_script(mut self, on: bool) -> Self {
        self.single_script = on;
        self
    }

    /// Adds the application's own rule, run last (e.g. a reserved-names list, or a
    /// skeleton check against existing names): return `Err(message)` to refuse with 400.
    pub fn check(
        mut self,
        check: impl Fn(&Username) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.check = Some(Arc::new(check));
        self
    }
}

/// Checks a username that is about to be stored and returns its display form and key;
/// [`ErrorKind::InvalidRequest`] with a message naming the rule otherwise. The rules are
/// in the [module documentation](self). Always `normalize_username(x)?.key() ==
/// identity_key(x)`.
///
/// ```
/// use centurion::identity::{UsernamePolicy, identity_key, normalize_username};
/// let policy = UsernamePolicy::default();
/// let name = normalize_username("ＡＤＡ", &policy).unwrap();
/// assert_eq!(name.display(), "ADA");
/// assert_eq!(name.key(), identity_key("ＡＤＡ"));
/// let err = normalize_username("bob😀", &policy).unwrap_err();
/// assert_eq!(err.status().as_u16(), 400);
/// assert!(err.message().contains("U+1F600"));
/// ```
pub fn normalize_username(input: &str, policy: &UsernamePolicy) -> Result<Username> {
    if let Some(c) = input.chars().find(|c| forbidden(*c)) {
        return Err(invalid(format!(
            "the username contains an invisible, control, space or unassigned character ({})",
            code_point(c)
        )));
    }
    let display = ComposingNormalizerBorrowed::new_nfkc()
        .normalize(input)
        .into_owned();
    let key = identity_key(input);
    if key.is_empty() {
        return Err(invalid("the username is empty".to_owned()));
    }
    if display.chars().count() > policy.max_chars || key.len() > MAX_KEY_BYTES {
        return Err(invalid(format!(
            "the username is longer than {} characters",
            policy.max_chars
        )));
    }
    let extra = |c: char| c.is_ascii() && policy.extra.contains(c);
    if policy.identifier_characters_only
        && let Some(c) = key.chars().find(|c| !(c.identifier_allowed() || extra(*c)))
    {
        return Err(invalid(format!(
            "the username contains a character that is not a letter, digit or allowed punctuation ({})",
            code_point(c)
        )));
    }
    if policy.single_script {
        let core: String = key.chars().filter(|c| !extra(*c)).collect();
        let level = if core.chars().all(|c| c.identifier_allowed()) {
            core.as_str().detect_restriction_level()
        } else {
            // Characters outside the profile (the policy allowed them): judge the rest.
            let allowed: String = core.chars().filter(|c| c.identifier_allowed()).collect();
            allowed.as_str().detect_restriction_level()
        };
        if level > RestrictionLevel::HighlyRestrictive {
            return Err(invalid(
                "the username mixes letters of different scripts (e.g. Latin and Cyrillic); use one script"
                    .to_owned(),
            ));
        }
    }
    let name = Username { display, key };
    if let Some(check) = &policy.check {
        check(&name).map_err(invalid)?;
    }
    Ok(name)
}

/// An e-mail address checked by [`normalize_email`]: where mail goes, and its key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    address: String,
    key: String,
}

impl EmailAddress {
    /// The address to store and send mail to: the local part in NFC, `@`, the domain's
    /// A-label (ASCII).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// [`email_key`] of the address: what is compared and unique.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailAddress")
            .field("address", &self.address)
            .field("key", &self.key)
            .finish()
    }
}

fn bad_address(why: &str) -> Error {
    invalid(format!("the e-mail address is not valid: {why}"))
}

/// RFC 5322 `atext`, or any non-ASCII character (RFC 6531).
fn local_char(c: char) -> bool {
    !c.is_ascii() || c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Checks an e-mail address that is about to be stored and returns the address to store
/// (and send mail to) and its key; [`ErrorKind::InvalidRequest`] otherwise. Always
/// `normalize_email(x)?.key() == email_key(x)`.
///
/// ```
/// use centurion::identity::{email_key, normalize_email};
/// let a = normalize_email("Ünï@Exämple.org").unwrap();
/// assert_eq!(a.address(), "Ünï@xn--exmple-cua.org");
/// assert_eq!(a.key(), email_key("Ünï@Exämple.org"));
/// for bad in ["no-at-sign", "a@localhost", "a..b@x.org", "\"a b\"@x.org", "a@[127.0.0.1]", "a@x.org."] {
///     assert!(normalize_email(bad).is_err(), "{bad}");
/// }
/// ```
pub fn normalize_email(input: &str) -> Result<EmailAddress> {
    if let Some(c) = input.chars().find(|c| forbidden(*c)) {
        return Err(bad_address(&format!(
            "it contains an invisible, control, space or unassigned character ({})",
            code_point(c)
        )));
    }
    let (local, domain) =
        split_address(input).ok_or_else(|| bad_address("it needs a local part, @ and a domain"))?;
    let local = ComposingNormalizerBorrowed::new_nfc()
        .normalize(local)
        .into_owned();
    let dots_ok = !local.starts_with('.') && !local.ends_with('.') && !local.contains("..");
    if local.len() > MAX_LOCAL_BYTES
        || !dots_ok
        || !local.chars().all(|c| c == '.' || local_char(c))
    {
        return Err(bad_address(
            "the part before @ has a character or dot that is not allowed, or is too long",
        ));
    }
    let ascii = Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .map_err(|_| bad_address("the domain is not a valid domain name"))?
        .into_owned();
    if !ascii.contains('.') {
        return Err(bad_address("the domain has no dot"));
    }
    let address = format!("{local}@{ascii}");
    if address.len() > MAX_ADDRESS_BYTES {
        return Err(bad_address("it is longer than 254 bytes"));
    }
    let key = format!("{}@{ascii}", identity_key(&local));
    Ok(EmailAddress { address, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_vectors() {
        let p = UsernamePolicy::default();
        let ok = |s: &str| normalize_username(s, &p).map(|u| (u.display, u.key));
        assert_eq!(ok("Alice").unwrap(), ("Alice".into(), "alice".into()));
        assert_eq!(ok("\u{212A}elvin").unwrap().1, "kelvin");
        assert_eq!(ok("cafe\u{301}").unwrap().1, "caf\u{e9}");
        assert_eq!(ok("taro山田").unwrap().1, "taro山田");
        assert_eq!(ok("аре").unwrap().1, "аре"); // one script: allowed
        assert_eq!(ok("a.b-c_d@e+f").unwrap().1, "a.b-c_d@e+f");
        for bad in [
            "",
            "al\u{200B}ice",
            "al\u{200D}ice",
            "\u{202E}ecila",
            "a b",
            "x\u{378}",
            "x\u{E000}",
            "\u{1}",
            "bob😀",
            "½",
            "pаypal",
            "abγ",
            "\u{13A0}\u{13A1}",
        ] {
            assert!(ok(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(ok(&"a".repeat(65)).is_err());
        assert!(ok(&"a".repeat(64)).is_ok());
        // One character that NFKC expands to 18.
        assert!(
            normalize_username(
                &"\u{FDFA}".repeat(16),
                &p.clone()
                    .identifier_characters_only(false)
                    .single_script(false)
            )
            .is_err()
        );
    }

    #[test]
    fn keys_fold_what_should_be_one_account() {
        for (a, b) in [
            ("Alice", "alice"),
            ("ALICE", "ａｌｉｃｅ"),
            ("straße", "STRAẞE"),
            ("strasse", "straße"),
            ("ΟΔΥΣΣΕΥΣ", "οδυσσευς"),
            ("İstanbul", "i\u{307}stanbul"),
            ("\u{1F0}", "J\u{30C}"),
        ] {
            assert_eq!(identity_key(a), identity_key(b), "{a} ~ {b}");
        }
        assert_ne!(identity_key("İstanbul"), identity_key("istanbul"));
        assert_ne!(identity_key("ıstanbul"), identity_key("istanbul"));
    }

    #[test]
    fn email_vectors() {
        let e = |s: &str| normalize_email(s).map(|a| (a.address, a.key));
        assert_eq!(
            e("Victim@GitHub.COM").unwrap(),
            ("Victim@github.com".into(), "victim@github.com".into())
        );
        assert_eq!(
            e("victim@github\u{3002}com").unwrap().1,
            "victim@github.com"
        );
        assert_eq!(
            e("victim@gİthub.com").unwrap().1,
            "victim@xn--github-qyd.com"
        );
        assert_eq!(e("Straße@Example.ORG").unwrap().1, "strasse@example.org");
        for bad in [
            "victim@git\u{200B}hub.com",
            "victim@github.com.",
            "victim@[127.0.0.1]",
            "victim@localhost",
            "\"a b\"@x.org",
            "a..b@x.org",
            ".a@x.org",
            "@x.org",
            "a@",
            "a(b)@x.org",
        ] {
            assert!(e(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(e(&format!("{}@x.org", "a".repeat(65))).is_err());
        for s in [
            "Victim@GitHub.COM",
            "victim@ｇｉｔｈｕｂ.com",
            "Ünï@Exämple.org",
        ] {
            assert_eq!(normalize_email(s).unwrap().key, email_key(s));
        }
    }

    /// The key is idempotent over every assigned code point (and a few compositions).
    #[test]
    fn identity_key_is_idempotent_on_every_code_point() {
        let category = CodePointMapData::<GeneralCategory>::new();
        let mut checked = 0;
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            if category.get(c) == GeneralCategory::Unassigned {
                continue;
            }
            let s = c.to_string();
            let k = identity_key(&s);
            assert_eq!(identity_key(&k), k, "U+{:04X}", u32::from(c));
            checked += 1;
        }
        assert!(checked > 150_000, "{checked}");
    }
}
