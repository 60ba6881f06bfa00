"""Write hashes.json: password hashes made by passlib and werkzeug, with their plaintexts.

    tests/flask/.venv/bin/python tests/flask/gen_hashes.py          # then: tests/flask/.venv/bin/python tests/flask/gen_hashes.py --check

Sections:
  "hashes":   real hashes; each verifies with "password" (and not with "wrong").
  "other_passlib": formats a flask-praetorian app may hold (its default allowed schemes
              include sha256_crypt, sha512_crypt, bcrypt_sha256) but that issue 18 does not
              list: for the "unknown format -> clear error" path, or later support.
  "hostile":  well-formed hashes whose cost parameters a verifier must refuse before
              doing any work (see the caps in runtime/src/legacy/hashes.rs).
  "malformed": strings that are no known format or are broken.
"""

import json
import sys
import time

import passlib
from importlib.metadata import version as _v
from passlib.hash import (
    argon2,
    bcrypt,
    bcrypt_sha256,
    pbkdf2_sha1,
    pbkdf2_sha256,
    pbkdf2_sha512,
    sha256_crypt,
    sha512_crypt,
)
from werkzeug.security import check_password_hash, generate_password_hash

PASSWORDS = [
    "correct horse battery staple",
    "hunter2",
    "Pässwörd ☃ 🦀 ünïcode",  # non-ASCII: every scheme hashes its UTF-8 bytes
    # Changes under NFC/NFKC (U+212B ANGSTROM SIGN -> U+00C5, full-width, ligature):
    # proves the verifier hashes the bytes as typed, with no Unicode normalisation.
    "\u212b ｆｕｌｌ ﬁ",
]
LONG = "x" * 100  # > 72 bytes: bcrypt only looks at the first 72

WRONG = "Correct horse battery staple"


def passlib_entry(handler, scheme, pw, notes=""):
    t0 = time.perf_counter()
    h = handler.hash(pw)
    return {
        "library": f"passlib {passlib.__version__}",
        "scheme": scheme,
        "password": pw,
        "wrong": WRONG,
        "hash": h,
        "hash_seconds_python": round(time.perf_counter() - t0, 4),
        "notes": notes,
    }


def werkzeug_entry(method, pw, notes=""):
    t0 = time.perf_counter()
    h = generate_password_hash(pw, method=method) if method else generate_password_hash(pw)
    return {
        "library": f"werkzeug {_v('werkzeug')}",
        "scheme": "werkzeug " + (method or "default"),
        "password": pw,
        "wrong": WRONG,
        "hash": h,
        "hash_seconds_python": round(time.perf_counter() - t0, 4),
        "notes": notes,
    }


def build():
    out = []
    for pw in PASSWORDS:
        out += [
            passlib_entry(pbkdf2_sha512, "passlib pbkdf2_sha512", pw,
                          "flask-praetorian's default PRAETORIAN_HASH_SCHEME"),
            passlib_entry(pbkdf2_sha256, "passlib pbkdf2_sha256", pw),
            passlib_entry(bcrypt, "passlib bcrypt $2b$", pw),
            passlib_entry(bcrypt.using(ident="2a"), "passlib bcrypt $2a$", pw),
            passlib_entry(bcrypt.using(ident="2y"), "passlib bcrypt $2y$", pw),
            passlib_entry(argon2, "passlib argon2 (id)", pw),
            passlib_entry(argon2.using(type="i"), "passlib argon2 i", pw),
            werkzeug_entry(None, pw, "werkzeug 3 default: scrypt:32768:8:1"),
            werkzeug_entry("pbkdf2", pw, "werkzeug 3.1 default pbkdf2: sha256, 1000000"),
        ]
    pw = PASSWORDS[0]
    out += [
        passlib_entry(pbkdf2_sha512.using(rounds=1000), "passlib pbkdf2_sha512", pw,
                      "low rounds, for fast tests"),
        passlib_entry(bcrypt.using(rounds=4), "passlib bcrypt $2b$", pw,
                      "cost 4, for fast tests"),
        passlib_entry(argon2.using(memory_cost=1024, rounds=1, parallelism=1),
                      "passlib argon2 (id)", pw, "m=1024 t=1 p=1, for fast tests"),
        werkzeug_entry("pbkdf2:sha256:600000", pw, "werkzeug 2.3-3.0 default"),
        werkzeug_entry("pbkdf2:sha256:260000", pw, "werkzeug 2.0-2.2 default"),
        werkzeug_entry("pbkdf2:sha512:1000", pw, "pbkdf2 with sha512; low rounds"),
        werkzeug_entry("pbkdf2:sha1:1000", pw, "pbkdf2 with sha1 (werkzeug < 1.0 style)"),
        werkzeug_entry("scrypt:16384:8:1", pw, "explicit scrypt parameters"),
        werkzeug_entry("scrypt:1024:8:1", pw, "small scrypt, for fast tests"),
    ]
    long_bcrypt = passlib_entry(bcrypt, "passlib bcrypt $2b$", LONG,
                                "100-byte password: bcrypt uses only the first 72 bytes, "
                                "so password[:72] + anything also verifies under passlib")
    long_bcrypt["also_verifies"] = LONG[:72] + "TRUNCATED-TAIL"
    out.append(long_bcrypt)
    # Made once with passlib 1.7.4 + argon2-cffi 21.1.0 (pre-21.2 defaults: m=100 MiB, t=2,
    # p=8, 16-byte digest). Apps that hashed before Dec 2021 hold hashes like this one; it is
    # above Centurion's current argon2 memory ceiling (max(4 x 19 MiB, 64 MiB) = 76 MiB).
    out.append({
        "library": "passlib 1.7.4 + argon2-cffi 21.1.0",
        "scheme": "passlib argon2 (id), old defaults",
        "password": "correct horse battery staple",
        "wrong": WRONG,
        "hash": "$argon2id$v=19$m=102400,t=2,p=8$+Z/z/t/7f681hrD2vtc6xw$5OcWLcVRsPTO44wfOWV1gQ",
        "hash_seconds_python": None,
        "notes": "argon2-cffi < 21.2 defaults (m=102400 KiB, t=2, p=8, 16-byte digest)",
    })
    # empty password: passlib and werkzeug both hash it
    out.append(passlib_entry(pbkdf2_sha512, "passlib pbkdf2_sha512", "", "empty password"))
    out.append(werkzeug_entry(None, "", "empty password"))

    other = [
        passlib_entry(bcrypt_sha256, "passlib bcrypt_sha256", pw,
                      "in praetorian's default allowed schemes; HMAC-SHA256 then bcrypt"),
        passlib_entry(sha512_crypt, "passlib sha512_crypt", pw, "in praetorian's default allowed schemes"),
        passlib_entry(sha256_crypt, "passlib sha256_crypt", pw, "in praetorian's default allowed schemes"),
        dict(passlib_entry(pbkdf2_sha1, "passlib pbkdf2_sha1", pw, "passlib's $pbkdf2$ (SHA-1)"), expect="verifies"),
        passlib_entry(argon2.using(type="d"), "passlib argon2 d", pw, "argon2d: not for passwords"),
    ]

    hostile = [
        {"hash": "$pbkdf2-sha512$4294967295$" + "A" * 22 + "$" + "A" * 86,
         "why": "2^32-1 rounds of PBKDF2-SHA512: hours of CPU"},
        {"hash": "$pbkdf2-sha256$999999999$" + "A" * 22 + "$" + "A" * 43,
         "why": "1e9 rounds"},
        {"hash": bcrypt.using(rounds=4).hash("x").replace("$04$", "$31$"),
         "why": "bcrypt cost 31 = 2^31 key expansions: days (a real cost-4 hash, cost edited)"},
        {"hash": "$argon2id$v=19$m=4194304,t=1,p=1$" + "A" * 22 + "$" + "A" * 43,
         "why": "argon2 m = 4 GiB"},
        {"hash": "$argon2id$v=19$m=65536,t=10000,p=4$" + "A" * 22 + "$" + "A" * 43,
         "why": "argon2 t = 10000 passes over 64 MiB"},
        {"hash": "$argon2id$v=19$m=65536,t=3,p=255$" + "A" * 22 + "$" + "A" * 43,
         "why": "argon2 p = 255 lanes"},
        {"hash": "scrypt:1048576:8:1$abcdefghijklmnop$" + "00" * 64,
         "why": "scrypt N=2^20 r=8: 1 GiB of memory"},
        {"hash": "scrypt:32768:8:1000$abcdefghijklmnop$" + "00" * 64,
         "why": "scrypt p=1000: 1000 x 32 MiB passes"},
        {"hash": "scrypt:32768:1024:1$abcdefghijklmnop$" + "00" * 64,
         "why": "scrypt r=1024: 4 GiB"},
        {"hash": "pbkdf2:sha256:2000000000$abcdefghijklmnop$" + "00" * 32,
         "why": "2e9 iterations"},
    ]

    malformed = [
        {"hash": "", "why": "empty"},
        {"hash": "correct horse battery staple", "why": "a plaintext"},
        {"hash": "$1$abcdefgh$" + "A" * 22, "why": "md5_crypt: unknown/unsupported format"},
        {"hash": "sha256$abcdefghijklmnop$" + "00" * 32,
         "why": "werkzeug < 3.0 salted single-HMAC format (removed in werkzeug 3.0)"},
        {"hash": "plain$$hunter2", "why": "werkzeug < 3.0 'plain' method"},
        {"hash": "{SSHA}abcdefghijklmnopqrstuvwxyz", "why": "LDAP style: unknown"},
        {"hash": "$pbkdf2-sha512$25000$!!!!$" + "A" * 86, "why": "bad ab64 salt"},
        {"hash": "$pbkdf2-sha512$abc$" + "A" * 22 + "$" + "A" * 86, "why": "rounds not a number"},
        {"hash": "$pbkdf2-sha512$025000$" + "A" * 22 + "$" + "A" * 86,
         "why": "zero-padded rounds (passlib: 'malformed pbkdf2_sha512 hash (zero-padded rounds)')"},
        {"hash": "$pbkdf2-sha512$25000$" + "A" * 22 + "$" + "A" * 10, "why": "short checksum"},
        {"hash": "$2b$12$short", "why": "truncated bcrypt"},
        {"hash": "$argon2id$v=19$m=65536,t=3$AAAA$AAAA", "why": "argon2 without p"},
        {"hash": "scrypt:32768:8$abcdefghijklmnop$" + "00" * 64, "why": "scrypt with 2 params"},
        {"hash": "scrypt:32768:8:1$abcdefghijklmnop$zz", "why": "non-hex digest"},
        {"hash": "pbkdf2:md5:1000$abcdefghijklmnop$" + "00" * 16,
         "why": "werkzeug accepts any hashlib name (md5 here); refuse unknown digests"},
        {"hash": "pbkdf2:sha256$abcdefghijklmnop$" + "00" * 32,
         "why": "pbkdf2 without iterations: werkzeug then uses ITS CURRENT default (1000000 in 3.1)"},
    ]
    return {
        "generated_with": {
            "passlib": passlib.__version__,
            "werkzeug": _v('werkzeug'),
            "python": sys.version.split()[0],
        },
        "hashes": out,
        "other_passlib": other,
        "hostile": hostile,
        "malformed": malformed,
    }


def verify(entry, pw):
    h = entry["hash"]
    if entry["library"].startswith("werkzeug"):
        return check_password_hash(h, pw)
    from passlib.context import CryptContext

    ctx = CryptContext(schemes=["pbkdf2_sha512", "pbkdf2_sha256", "pbkdf2_sha1", "bcrypt",
                                "bcrypt_sha256", "argon2", "sha512_crypt", "sha256_crypt"])
    return ctx.verify(pw, h)


def check(doc):
    bad = 0
    for e in doc["hashes"] + doc["other_passlib"]:
        ok = verify(e, e["password"]) and not verify(e, e["wrong"])
        if "also_verifies" in e:
            ok = ok and verify(e, e["also_verifies"])
        bad += not ok
        print(("ok  " if ok else "FAIL"), e["scheme"], e["hash"][:60])
    n = len(doc["hashes"]) + len(doc["other_passlib"])
    print(f"{n - bad} passed, {bad} failed")
    return bad


if __name__ == "__main__":
    if "--check" in sys.argv:
        with open("hashes.json") as fh:
            sys.exit(1 if check(json.load(fh)) else 0)
    doc = build()
    with open("hashes.json", "w") as fh:
        json.dump(doc, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    print(f"wrote hashes.json: {len(doc['hashes'])} hashes")
