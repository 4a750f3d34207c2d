"""Reader ratings: one per reader, re-rating replaces, 404 for anything unpublished, the signed
reader cookie, abuse limits, address hashes that expire, CORS, and the no-JavaScript form."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from feedback_support import HIDDEN, OTHER, PUBLIC, app_client, ratings
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from app.main import create_app
from editorial import clock
from editorial.cli import app as cli
from editorial.ingest import ingest
from editorial.models import StoreState
from editorial.moderation import purge
from editorial.readers import client_address
from editorial.settings import Settings

URL = f"/api/pieces/{PUBLIC}/ratings"


@pytest.fixture
def site(client: TestClient, engine: Engine, content_dir: Path) -> TestClient:
    assert not ingest(engine, content_dir).errors
    return client


@pytest.fixture
def stocked(engine: Engine, content_dir: Path) -> Engine:
    assert not ingest(engine, content_dir).errors
    return engine


def test_one_rating_per_reader_and_rating_again_replaces(site: TestClient, engine: Engine) -> None:
    first = site.post(URL, json={"stars": 2})
    assert first.status_code == 200
    assert first.json() == {
        "count": 1,
        "mean": 2.0,
        "bayesian": round((5 * 3.0 + 2) / 6, 3),
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0},
        "yours": 2,
    }
    again = site.post(URL, json={"stars": 5})
    assert again.json()["count"] == 1
    assert again.json()["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    stored = ratings(engine)
    assert [(r.stars, len(r.reader)) for r in stored] == [(5, 64)]
    assert site.get(URL).json()["yours"] == 5


def test_each_new_cookie_is_a_new_reader(site: TestClient, engine: Engine) -> None:
    for stars in (1, 4, 4):
        site.cookies.clear()
        assert site.post(URL, json={"stars": stars}).status_code == 200
    summary = site.get(URL).json()
    assert summary["count"] == 3
    assert summary["mean"] == 3.0
    assert summary["distribution"] == {"1": 1, "2": 0, "3": 0, "4": 2, "5": 0}
    assert len({r.reader for r in ratings(engine)}) == 3


def test_the_prior_comes_from_settings(stocked: Engine, settings: Settings) -> None:
    with app_client(settings, rating_prior_mean=4.0, rating_prior_weight=2.0) as client:
        body = client.post(URL, json={"stars": 1}).json()
    assert body["bayesian"] == round((2 * 4.0 + 1) / 3, 3)
    assert body["mean"] == 1.0


@pytest.mark.parametrize(
    ("stars", "mean", "shown"),
    [
        ((2, 2, 2, 3), 2.25, "2.3"),  # a half: rounded up, as the page's script rounds it
        ((1, 2, 4), 2.333, "2.3"),
        ((5, 4, 4, 4, 4, 4), 4.167, "4.2"),
    ],
)
def test_the_page_shows_the_mean_to_one_decimal_halves_up(
    site: TestClient, stars: tuple[int, ...], mean: float, shown: str
) -> None:
    for n in stars:
        site.cookies.clear()
        summary = site.post(URL, json={"stars": n}).json()
    assert summary["mean"] == mean
    page = site.get(f"/pieces/{PUBLIC}/").text
    assert f"Rated <strong>{shown}</strong> out of 5 by {len(stars)} readers." in page


def test_no_ratings_yet(site: TestClient) -> None:
    body = site.get(URL).json()
    assert body == {
        "count": 0,
        "mean": None,
        "bayesian": None,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
        "yours": None,
    }


@pytest.mark.parametrize("slug", HIDDEN)
def test_unpublished_pieces_are_404_everywhere(site: TestClient, engine: Engine, slug: str) -> None:
    assert site.get(f"/api/pieces/{slug}/ratings").status_code == 404
    assert site.post(f"/api/pieces/{slug}/ratings", json={"stars": 5}).status_code == 404
    form = site.post(f"/pieces/{slug}/rate", data={"stars": "5"}, follow_redirects=False)
    assert form.status_code == 404
    assert "Page not found" in form.text
    assert ratings(engine) == []


@pytest.mark.parametrize("stars", [0, 6, -1, "five", None, 2.5])
def test_stars_must_be_1_to_5(site: TestClient, engine: Engine, stars: object) -> None:
    response = site.post(URL, json={"stars": stars})
    assert response.status_code == 422
    assert "stars" in str(response.json()["detail"])
    assert ratings(engine) == []


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"NaN", b"Infinity", b"-Infinity"])
def test_numbers_json_cannot_hold_are_refused_not_crashes(
    site: TestClient, engine: Engine, number: bytes
) -> None:
    """The 422 echoes the input; an infinity or NaN in it used to make the answer itself fail."""
    body = b'{"stars": ' + number + b"}"
    response = site.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "stars"]
    assert ratings(engine) == []


def test_reader_cookie_is_signed_first_party_and_httponly(site: TestClient) -> None:
    response = site.post(URL, json={"stars": 3})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("editorial_reader=")
    for flag in ("HttpOnly", "Path=/", "SameSite=lax", "Max-Age="):
        assert flag in cookie
    assert "Secure" not in cookie
    again = site.post(URL, json={"stars": 4})
    assert "set-cookie" not in again.headers  # known reader: nothing to set


def test_cookie_is_secure_over_https(stocked: Engine, settings: Settings) -> None:
    with app_client(settings, base_url="https://testserver") as client:
        cookie = client.post(URL, json={"stars": 3}).headers["set-cookie"]
    assert "Secure" in cookie


def test_cookie_is_secure_when_the_site_is_https_behind_a_proxy(
    stocked: Engine, settings: Settings
) -> None:
    """A proxy that ends TLS passes plain HTTP on; the cookie of an https site lacked Secure."""
    public = settings.model_copy(update={"base_url": "https://insights.corp.example/"})
    with TestClient(create_app(public)) as client:
        cookie = client.post(URL, json={"stars": 3}).headers["set-cookie"]
    assert "Secure" in cookie


def test_a_forged_cookie_is_a_new_reader(site: TestClient, engine: Engine) -> None:
    site.post(URL, json={"stars": 3})
    reader_id = site.cookies["editorial_reader"].split(".")[0]
    site.cookies.clear()
    site.cookies.set("editorial_reader", f"{reader_id}.{'0' * 32}")
    response = site.post(URL, json={"stars": 1})
    assert "editorial_reader=" in response.headers["set-cookie"]
    assert len(ratings(engine)) == 2


def test_the_generated_key_is_kept_in_the_store_and_shared(
    stocked: Engine, settings: Settings
) -> None:
    with app_client(settings) as first:
        first.post(URL, json={"stars": 2})
        cookie = first.cookies["editorial_reader"]
    with Session(stocked) as session:
        assert session.get(StoreState, "secret_key") is not None
    with app_client(settings) as second:  # another process, same store
        second.cookies.set("editorial_reader", cookie)
        response = second.post(URL, json={"stars": 4})
        assert "set-cookie" not in response.headers
    assert [r.stars for r in ratings(stocked)] == [4]


def test_a_configured_key_wins(stocked: Engine, settings: Settings) -> None:
    with app_client(settings, secret_key="one key") as first:
        first.post(URL, json={"stars": 2})
        cookie = first.cookies["editorial_reader"]
    with app_client(settings, secret_key="another key") as second:
        second.cookies.set("editorial_reader", cookie)
        assert "set-cookie" in second.post(URL, json={"stars": 4}).headers
    with Session(stocked) as session:
        assert session.get(StoreState, "secret_key") is None


def test_honeypot_answers_like_a_rating_but_stores_nothing(
    site: TestClient, engine: Engine
) -> None:
    response = site.post(URL, json={"stars": 5, "website": "http://spam.example"})
    assert response.status_code == 200
    assert ratings(engine) == []
    form = site.post(
        f"/pieces/{PUBLIC}/rate", data={"stars": "5", "website": "x"}, follow_redirects=False
    )
    assert form.status_code == 303
    assert ratings(engine) == []


def test_one_reader_repeating_itself_is_limited(site: TestClient, frozen_clock) -> None:
    codes = [site.post(URL, json={"stars": 1 + i % 5}).status_code for i in range(11)]
    assert codes == [200] * 10 + [429]
    limited = site.post(URL, json={"stars": 3})
    assert limited.headers["retry-after"] == "60"
    assert "try again" in limited.json()["detail"]
    assert site.post(f"/api/pieces/{OTHER}/ratings", json={"stars": 3}).status_code == 429


def test_two_hundred_readers_behind_one_address_can_all_rate(
    site: TestClient, engine: Engine, frozen_clock
) -> None:
    for i in range(200):
        site.cookies.clear()
        response = site.post(URL, json={"stars": 1 + i % 5})
        assert response.status_code == 200, (i, response.text)
    assert site.get(URL).json()["count"] == 200


def test_one_network_is_limited(stocked: Engine, settings: Settings, frozen_clock) -> None:
    with app_client(settings, network_writes_per_hour=3) as client:
        codes = []
        for _ in range(4):
            client.cookies.clear()
            codes.append(client.post(URL, json={"stars": 4}).status_code)
    assert codes == [200, 200, 200, 429]
    with app_client(settings, network_writes_per_hour=3, client=("198.51.100.7", 1)) as other:
        assert other.post(URL, json={"stars": 4}).status_code == 200


def test_a_client_that_drops_its_cookie_is_limited(
    stocked: Engine, settings: Settings, frozen_clock
) -> None:
    with app_client(settings, network_new_readers_per_hour=2) as client:
        client.post(URL, json={"stars": 5})
        known = client.cookies["editorial_reader"]
        client.cookies.clear()
        client.post(URL, json={"stars": 5})
        client.cookies.clear()
        assert client.post(URL, json={"stars": 5}).status_code == 429
        client.cookies.clear()
        client.cookies.set("editorial_reader", known)
        assert client.post(URL, json={"stars": 4}).status_code == 200


def test_addresses_are_stored_only_as_short_salted_hashes(
    stocked: Engine, settings: Settings
) -> None:
    with app_client(settings, client=("203.0.113.9", 5)) as client:
        client.post(URL, json={"stars": 4})
    (rating,) = ratings(stocked)
    assert rating.ip_hash and len(rating.ip_hash) == 16
    assert "203.0.113" not in rating.ip_hash
    with app_client(settings, client=("203.0.113.9", 6)) as again:
        again.post(URL, json={"stars": 2})
    assert len({r.ip_hash for r in ratings(stocked)}) == 1


def test_address_hashes_expire(
    stocked: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch, frozen_clock
) -> None:
    with app_client(settings) as client:
        client.post(URL, json={"stars": 4})
    with Session(stocked) as session:
        report = purge(session, settings, at=frozen_clock + timedelta(days=29))
        session.commit()
    assert report.ratings == 0 and ratings(stocked)[0].ip_hash
    later = frozen_clock + timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    result = CliRunner().invoke(cli, ["feedback", "purge"])
    assert result.exit_code == 0, result.output
    assert "Cleared address hashes of 1 ratings" in result.output
    assert "removed 3 counters" in result.output  # reader, network, new readers: all ended
    (rating,) = ratings(stocked)
    assert rating.ip_hash is None and rating.stars == 4


@pytest.mark.parametrize(
    ("peer", "header", "proxies", "expected"),
    [
        ("203.0.113.5", "198.51.100.1", "", "203.0.113.5"),  # untrusted peer: header ignored
        ("10.0.0.2", "198.51.100.1", "10.0.0.0/8", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.3", "10.0.0.0/8", "198.51.100.1"),
        ("10.0.0.2", "", "10.0.0.2", "10.0.0.2"),
        ("::1", "2001:db8::7", "::1", "2001:db8::7"),
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    settings: Settings, peer: str, header: str, proxies: str, expected: str
) -> None:
    configured = settings.model_copy(update={"trusted_proxies": proxies})
    assert client_address(peer, header, configured) == expected


def test_forwarded_for_from_a_trusted_proxy_separates_networks(
    stocked: Engine, settings: Settings, frozen_clock
) -> None:
    changes = {"trusted_proxies": "127.0.0.1", "network_writes_per_hour": 1}
    with app_client(settings, client=("127.0.0.1", 9), **changes) as proxy:
        for address in ("198.51.100.1", "198.51.100.2"):
            proxy.cookies.clear()
            headers = {"X-Forwarded-For": address}
            assert proxy.post(URL, json={"stars": 3}, headers=headers).status_code == 200
        proxy.cookies.clear()
        headers = {"X-Forwarded-For": "198.51.100.1"}
        assert proxy.post(URL, json={"stars": 3}, headers=headers).status_code == 429


def test_posts_from_other_origins_are_refused(site: TestClient, engine: Engine) -> None:
    evil = site.post(URL, json={"stars": 1}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    null = site.post(URL, json={"stars": 1}, headers={"Origin": "null"})
    assert null.status_code == 403
    form = site.post(
        f"/pieces/{PUBLIC}/rate",
        data={"stars": "1"},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert form.status_code == 403
    assert ratings(engine) == []
    own = site.post(URL, json={"stars": 2}, headers={"Origin": "http://testserver"})
    assert own.status_code == 200


def test_cors_allow_list(stocked: Engine, settings: Settings) -> None:
    allowed = "https://corp.example"
    with app_client(settings, feedback_origins=f"{allowed}, https://www.corp.example") as client:
        preflight = client.options(
            URL,
            headers={
                "Origin": allowed,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == allowed
        assert preflight.headers["access-control-allow-credentials"] == "true"
        posted = client.post(URL, json={"stars": 5}, headers={"Origin": allowed})
        assert posted.status_code == 200
        assert posted.headers["access-control-allow-origin"] == allowed
        denied = client.options(
            URL, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert denied.status_code == 400
        assert "access-control-allow-origin" not in denied.headers
        other_api = client.get("/api/pieces", headers={"Origin": allowed})
        assert "access-control-allow-origin" not in other_api.headers


def test_the_star_form_works_without_javascript(site: TestClient, engine: Engine) -> None:
    page = site.get(f"/pieces/{PUBLIC}/").text
    assert f'<form class="rate" method="post" action="/pieces/{PUBLIC}/rate">' in page
    data = {"stars": "4", "website": "", "return_to": f"http://testserver/pieces/{PUBLIC}/"}
    response = site.post(f"/pieces/{PUBLIC}/rate", data=data, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"http://testserver/pieces/{PUBLIC}/#feedback-rated"
    assert "editorial_reader=" in response.headers["set-cookie"]
    page = site.get(f"/pieces/{PUBLIC}/").text
    assert "Rated <strong>4.0</strong> out of 5 by 1 reader." in page
    assert [r.stars for r in ratings(engine)] == [4]


def test_the_form_goes_back_only_to_trusted_pages(site: TestClient) -> None:
    data = {"stars": "4", "return_to": "https://evil.example/phish"}
    response = site.post(f"/pieces/{PUBLIC}/rate", data=data, follow_redirects=False)
    assert response.headers["location"] == f"/pieces/{PUBLIC}/#feedback-rated"


def test_a_form_without_stars_explains_what_to_do(site: TestClient, engine: Engine) -> None:
    response = site.post(f"/pieces/{PUBLIC}/rate", data={}, follow_redirects=False)
    assert response.status_code == 422
    assert "Choose from 1 to 5 stars." in response.text
    assert f'href="/pieces/{PUBLIC}/#feedback"' in response.text
    assert ratings(engine) == []


@pytest.mark.parametrize("stars", ["\u00b2", "\u0664", "\uff14"])
def test_the_star_form_takes_ascii_digits_only(
    site: TestClient, engine: Engine, stars: str
) -> None:
    """Superscript two, Arabic-Indic four, fullwidth four: digits to str.isdigit, not to int()."""
    response = site.post(f"/pieces/{PUBLIC}/rate", data={"stars": stars}, follow_redirects=False)
    assert response.status_code == 422
    assert "Choose from 1 to 5 stars." in response.text
    assert ratings(engine) == []


def test_exported_widget_posts_to_the_configured_api(
    stocked: Engine, settings: Settings, tmp_path: Path
) -> None:
    from editorial.export import export_site

    configured = settings.model_copy(update={"feedback_api_url": "https://api.corp.example"})
    out = tmp_path / "out"
    export_site(stocked, configured, out, base_url="https://corp.example/insights/")
    page = (out / "pieces" / PUBLIC / "index.html").read_text()
    assert 'action="https://api.corp.example/pieces/cloud-basics/rate"' in page
    assert 'data-api="https://api.corp.example/"' in page
    assert (out / "static" / "feedback.js").is_file()
    assert "feedback-unavailable" in page
    script = (out / "static" / "feedback.js").read_text()
    assert "unavailable" in script and "credentials" in script


def test_stored_readers_are_digests_not_cookie_values(site: TestClient, engine: Engine) -> None:
    site.post(URL, json={"stars": 3})
    cookie = site.cookies["editorial_reader"]
    (rating,) = ratings(engine)
    assert cookie.split(".")[0] not in rating.reader
    assert cookie not in rating.reader
