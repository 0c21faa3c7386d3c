"""Web login: session cookie flags, session.clear at login, logout and deactivation kill the cookie,
CSRF on every cookie-authenticated change, throttling."""
from sqlalchemy import select

from grants.extensions import db
from grants.models import AuditEvent, Organization
from tests.factories import PASSWORD, make_organization, make_user
from tests.helpers import csrf_token, web_login


def test_login_sets_an_httponly_samesite_cookie_and_lands_on_home(client):
    user = make_user(["treasury"])
    response = web_login(client, user.email)
    assert response.status_code == 302 and response.location.endswith("/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = client.get("/")
    assert home.status_code == 200
    assert "Tesorería" in home.get_data(as_text=True)


def test_session_cookie_is_secure_outside_development():
    from config import load_config

    assert load_config("production", SECRET_KEY="k" * 48,
                       SQLALCHEMY_DATABASE_URI="postgresql+psycopg://db/fondos")["SESSION_COOKIE_SECURE"] is True
    assert load_config("development")["SESSION_COOKIE_SECURE"] is False


def test_login_clears_the_previous_session(client):
    user = make_user(["treasury"])
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    web_login(client, user.email)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_wrong_password_shows_a_message_and_no_session(client):
    user = make_user(["treasury"])
    response = web_login(client, user.email, "wrong-password")
    assert response.status_code == 200
    assert "Correo o contraseña incorrectos" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_open_redirects_after_login_are_ignored(client):
    user = make_user(["treasury"])
    token = csrf_token(client)
    response = client.post("/login?next=https://evil.example.com/", data={
        "email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.location == "/"


def test_a_logged_out_cookie_no_longer_works(client, app):
    user = make_user(["treasury"])
    web_login(client, user.email)
    stolen = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    home = client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/")
    assert "Cerrar sesión" in home
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    response = replay.get("/")
    assert response.status_code == 302 and "/login" in response.location
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.logout")) is not None


def test_a_deactivated_users_cookie_no_longer_works(client, app):
    from grants.audit import Actor
    from grants.services.users import update_user

    user = make_user(["treasury"])
    web_login(client, user.email)
    assert client.get("/").status_code == 200
    update_user(Actor.system("tests"), user.id, {"active": False})
    db.session.commit()
    assert client.get("/").status_code == 302


def test_a_change_without_a_csrf_token_is_refused(client):
    admin = make_user(["admin"])
    web_login(client, admin.email)
    before = db.session.scalar(select(Organization.id))
    response = client.post("/admin/organizations/new", data={"legal_name": "Sin token"})
    assert response.status_code == 400
    assert "formulario expiró" in response.get_data(as_text=True)
    assert db.session.scalar(select(Organization.id)) == before
    assert client.post("/logout").status_code == 400


def test_login_form_itself_needs_a_csrf_token(client):
    user = make_user(["treasury"])
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400


def test_the_eleventh_rapid_failed_web_login_is_refused(client, one_window):
    user = make_user(["treasury"])
    for attempt in range(10):
        assert web_login(client, user.email, f"wrong-{attempt}").status_code == 200
    response = web_login(client, user.email, "wrong-10")
    assert response.status_code == 429
    assert "Demasiados intentos" in response.get_data(as_text=True)


def test_ngo_user_gets_404_pages_for_another_organization(client):
    mine, other = make_organization(), make_organization()
    web_login(client, make_user(["ngo"], organization=mine).email)
    assert client.get(f"/admin/organizations/{mine.id}").status_code == 200
    response = client.get(f"/admin/organizations/{other.id}")
    assert response.status_code == 404
    assert "No encontrado" in response.get_data(as_text=True)
    listing = client.get("/admin/organizations").get_data(as_text=True)
    assert mine.legal_name in listing and other.legal_name not in listing


def test_error_pages_follow_the_chosen_language(client):
    make_user(["treasury"])
    client.set_cookie("fondos_lang", "en")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)
    client.set_cookie("fondos_lang", "es")
    assert "No encontrado" in client.get("/no-such-page").get_data(as_text=True)


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_too_large_request_gets_a_413_page_not_a_crash(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = client.post("/login", data={"email": "x" * 3000, "password": "y"})
    assert response.status_code == 413
    assert "demasiado grande" in response.get_data(as_text=True)
