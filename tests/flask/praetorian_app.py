"""A tiny flask-praetorian service for Centurion's migration tests.

    FLASK_SHARED_SECRET=... python praetorian_app.py --port 5001

Routes:
  POST /login      {"username","password"} -> {"access_token"}
  POST /refresh    token as Bearer header or {"access_token"} body -> {"access_token"}
                   (praetorian refuses with 425 while the token's exp has not passed)
  GET  /protected  @auth_required -> {"id", "username"}
  GET  /admin      @roles_required("admin")
  GET  /editor     @roles_accepted("editor", "author")
  GET  /claims     @auth_required -> {"claims", "header", "rolenames", "custom_claims"}
  POST /logout     @auth_required; blacklists the caller's jti
  POST /blacklist  {"jti"}: blacklist any jti (test helper)
  GET  /healthz
"""

import flask
import flask_praetorian
import jwt
import pendulum

from common import User, load_users, parse_args, secret_from_env, serve

BLACKLIST = set()


def create_app(args):
    app = flask.Flask(__name__)
    app.config["SECRET_KEY"] = secret_from_env(args.secret_env)
    app.config["JWT_ACCESS_LIFESPAN"] = pendulum.duration(seconds=args.access_seconds)
    app.config["JWT_REFRESH_LIFESPAN"] = pendulum.duration(seconds=args.refresh_seconds)
    app.config["JWT_PLACES"] = ["header"]

    guard = flask_praetorian.Praetorian()
    guard.init_app(app, User, is_blacklisted=lambda jti: jti in BLACKLIST)
    load_users(args.users, guard.hash_password)

    @app.post("/login")
    def login():
        body = flask.request.get_json(force=True)
        user = guard.authenticate(body.get("username"), body.get("password"))
        return {"access_token": guard.encode_jwt_token(user)}

    @app.post("/refresh")
    def refresh():
        body = flask.request.get_json(silent=True) or {}
        old = body.get("access_token") or guard.read_token_from_header()
        return {"access_token": guard.refresh_jwt_token(old)}

    @app.get("/protected")
    @flask_praetorian.auth_required
    def protected():
        user = flask_praetorian.current_user()
        return {"id": flask_praetorian.current_user_id(), "username": user.username}

    @app.get("/admin")
    @flask_praetorian.roles_required("admin")
    def admin():
        return {"ok": True, "id": flask_praetorian.current_user_id()}

    @app.get("/editor")
    @flask_praetorian.roles_accepted("editor", "author")
    def editor():
        return {"ok": True, "id": flask_praetorian.current_user_id()}

    @app.get("/claims")
    @flask_praetorian.auth_required
    def claims():
        token = guard.read_token()
        return {
            "claims": guard.extract_jwt_token(token),
            "header": jwt.get_unverified_header(token),
            "rolenames": sorted(flask_praetorian.current_rolenames()),
            "custom_claims": flask_praetorian.current_custom_claims(),
        }

    @app.post("/logout")
    @flask_praetorian.auth_required
    def logout():
        jti = guard.extract_jwt_token(guard.read_token())["jti"]
        BLACKLIST.add(jti)
        return {"revoked": jti}

    @app.post("/blacklist")
    def blacklist():
        BLACKLIST.add(flask.request.get_json(force=True)["jti"])
        return {"ok": True}

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    return app


if __name__ == "__main__":
    args = parse_args("flask-praetorian")
    serve(create_app(args), args, "flask-praetorian")
