"""Shared bits of the two harness apps: arguments, in-memory users, serving.

Users come either from built-in seeds (below) or from a JSON file in the format of the
quickstart's CENTURION_IMPORT_USERS: a list of
{"id", "username", "email", "password_hash", "roles": [..], "active"}.
"""

import argparse
import json
import os
import signal
import sys
import threading

from werkzeug.serving import make_server

SEED_PASSWORD = "correct horse battery staple"
# id, username, roles, active
SEED_USERS = [
    (1, "alice", ["admin", "editor"], True),
    (2, "bob", [], True),
    (3, "carol", ["editor"], False),  # inactive
]


def parse_args(name):
    p = argparse.ArgumentParser(description=f"{name} harness app (loopback only)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost"])
    p.add_argument(
        "--secret-env",
        default="FLASK_SHARED_SECRET",
        help="env var holding the HS256 secret (falls back to CENTURION_SECRET)",
    )
    p.add_argument("--access-seconds", type=int, default=900)
    p.add_argument("--refresh-seconds", type=int, default=30 * 24 * 3600)
    p.add_argument("--users", help="JSON file of users (CENTURION_IMPORT_USERS format)")
    p.add_argument("--roles-claim", default="roles", help="jwt-extended only")
    p.add_argument(
        "--no-user-lookup",
        action="store_true",
        help="jwt-extended only: do not register user_lookup_loader",
    )
    return p.parse_args()


def secret_from_env(var):
    secret = os.environ.get(var) or os.environ.get("CENTURION_SECRET")
    if not secret:
        sys.exit(f"set {var} (or CENTURION_SECRET) to the shared HS256 secret")
    return secret


class User:
    """In-memory user; satisfies flask-praetorian's user_class contract."""

    by_id = {}
    by_name = {}

    def __init__(self, id=None, username=None, password=None, roles="", is_active=True):
        self.id = id
        self.username = username
        self.hashed_password = password
        self.roles = roles  # comma string, as praetorian's SQLAlchemy mixin expects
        self.is_active = is_active

    # --- flask-praetorian contract ---
    @property
    def identity(self):
        return self.id

    @property
    def rolenames(self):
        return [r for r in self.roles.split(",") if r]

    @property
    def password(self):
        return self.hashed_password

    @classmethod
    def lookup(cls, username):
        return cls.by_name.get(username)

    @classmethod
    def identify(cls, id):
        # Like SQLAlchemy's query.get on an integer key, accept 7 or "7".
        try:
            return cls.by_id.get(int(id))
        except (TypeError, ValueError):
            return cls.by_id.get(id)

    def is_valid(self):  # USER_CLASS_VALIDATION_METHOD default
        return self.is_active

    def to_json(self):
        return {
            "id": self.id,
            "username": self.username,
            "roles": self.rolenames,
            "active": self.is_active,
        }

    @classmethod
    def add(cls, user):
        cls.by_id[user.id] = user
        cls.by_name[user.username] = user


def load_users(path, hasher):
    """Fill User from a JSON file, or from SEED_USERS hashed with `hasher`."""
    User.by_id.clear()
    User.by_name.clear()
    if path:
        with open(path) as fh:
            for e in json.load(fh):
                uid = e["id"]
                try:
                    uid = int(uid)
                except (TypeError, ValueError):
                    pass
                User.add(
                    User(
                        uid,
                        e["username"],
                        e["password_hash"],
                        ",".join(e.get("roles", [])),
                        e.get("active", True),
                    )
                )
    else:
        for uid, name, roles, active in SEED_USERS:
            User.add(User(uid, name, hasher(SEED_PASSWORD), ",".join(roles), active))


def serve(app, args, name):
    server = make_server(args.host, args.port, app, threaded=True)

    def on_term(signum, frame):
        # shutdown() blocks until serve_forever returns, so call it off the main thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    print(f"READY {name} http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    print(f"STOPPED {name}", flush=True)
