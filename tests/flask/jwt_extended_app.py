"""A tiny flask-jwt-extended service for Centurion's migration tests.

    FLASK_SHARED_SECRET=... python jwt_extended_app.py --port 5002

Tokens travel in the Authorization header only (JWT_TOKEN_LOCATION = ["headers"]).
Routes:
  POST /login      {"username","password"} -> {"access_token","refresh_token"}
                   access: fresh=True, additional claim <roles-claim> = [roles]
  POST /refresh    @jwt_required(refresh=True) -> {"access_token"} (fresh=False)
  GET  /protected  @jwt_required() -> {"identity"}
  GET  /fresh      @jwt_required(fresh=True)
  GET  /admin      @jwt_required() + "admin" in the roles claim (403 otherwise)
  GET  /whoami     @jwt_required() -> {"claims": get_jwt(), "header", "identity", "user"}
  POST /logout     @jwt_required(verify_type=False); blocklists the caller's jti
  POST /blocklist  {"jti"} (test helper)
  GET  /healthz
Passwords: any passlib hash (pbkdf2_sha512/sha256, bcrypt, argon2, ...) or werkzeug's
pbkdf2:/scrypt: hashes.
"""

from datetime import timedelta

import flask
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    current_user,
    get_jwt,
    get_jwt_header,
    get_jwt_identity,
    jwt_required,
)
from passlib.context import CryptContext
from werkzeug.security import check_password_hash

from common import User, load_users, parse_args, secret_from_env, serve

BLOCKLIST = set()
PWD = CryptContext(
    schemes=["pbkdf2_sha512", "pbkdf2_sha256", "bcrypt", "argon2"],
    default="pbkdf2_sha512",
)


def verify_password(password, stored):
    if stored.startswith(("pbkdf2:", "scrypt:")):
        return check_password_hash(stored, password)
    try:
        return PWD.verify(password, stored)
    except ValueError:
        return False


def create_app(args):
    app = flask.Flask(__name__)
    app.config["JWT_SECRET_KEY"] = secret_from_env(args.secret_env)
    app.config["JWT_TOKEN_LOCATION"] = ["headers"]
    app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(seconds=args.access_seconds)
    app.config["JWT_REFRESH_TOKEN_EXPIRES"] = timedelta(seconds=args.refresh_seconds)
    roles_claim = args.roles_claim

    jwt = JWTManager(app)

    @jwt.token_in_blocklist_loader
    def in_blocklist(jwt_header, jwt_payload):
        return jwt_payload.get("jti") in BLOCKLIST

    if not args.no_user_lookup:

        @jwt.user_lookup_loader
        def lookup(jwt_header, jwt_payload):
            user = User.identify(jwt_payload["sub"])
            return user if user is not None and user.is_active else None

    load_users(args.users, PWD.hash)

    def roles_of(user):
        return user.rolenames

    @app.post("/login")
    def login():
        body = flask.request.get_json(force=True)
        user = User.lookup(body.get("username"))
        if user is None or not verify_password(body.get("password", ""), user.password):
            return {"msg": "Bad username or password"}, 401
        if not user.is_active:
            return {"msg": "Inactive user"}, 403
        ident = str(user.id)  # jwt-extended 4.7 + PyJWT 2.10: sub must be a string
        return {
            "access_token": create_access_token(
                identity=ident, fresh=True, additional_claims={roles_claim: roles_of(user)}
            ),
            "refresh_token": create_refresh_token(identity=ident),
        }

    @app.post("/refresh")
    @jwt_required(refresh=True)
    def refresh():
        ident = get_jwt_identity()
        user = User.identify(ident)
        roles = roles_of(user) if user else []
        return {
            "access_token": create_access_token(
                identity=ident, fresh=False, additional_claims={roles_claim: roles}
            )
        }

    @app.get("/protected")
    @jwt_required()
    def protected():
        return {"identity": get_jwt_identity()}

    @app.get("/fresh")
    @jwt_required(fresh=True)
    def fresh():
        return {"identity": get_jwt_identity(), "fresh": get_jwt()["fresh"]}

    @app.get("/admin")
    @jwt_required()
    def admin():
        if "admin" not in (get_jwt().get(roles_claim) or []):
            return {"msg": "admin role required"}, 403
        return {"ok": True, "identity": get_jwt_identity()}

    @app.get("/whoami")
    @jwt_required()
    def whoami():
        user = None if args.no_user_lookup else current_user.to_json()
        return {
            "claims": get_jwt(),
            "header": get_jwt_header(),
            "identity": get_jwt_identity(),
            "user": user,
        }

    @app.post("/logout")
    @jwt_required(verify_type=False)
    def logout():
        BLOCKLIST.add(get_jwt()["jti"])
        return {"revoked": get_jwt()["jti"]}

    @app.post("/blocklist")
    def blocklist():
        BLOCKLIST.add(flask.request.get_json(force=True)["jti"])
        return {"ok": True}

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    return app


if __name__ == "__main__":
    args = parse_args("flask-jwt-extended")
    serve(create_app(args), args, "flask-jwt-extended")
