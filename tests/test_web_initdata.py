"""Mini App login data (initData) validated as Telegram documents it, against a test vector
computed independently of the code with OpenSSL:

    TOKEN='123456789:TEST-webdesk-vector-token'
    SECRET=$(printf '%s' "$TOKEN" | openssl dgst -sha256 -mac HMAC -macopt key:WebAppData \\
             -binary | xxd -p -c 64)
    printf 'auth_date=...\\nquery_id=...\\nsignature=...\\nuser=...' \\
      | openssl dgst -sha256 -mac HMAC -macopt hexkey:$SECRET
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from web import initdata
from web.initdata import ExpiredInitData, InvalidInitData, validate

TOKEN = "123456789:TEST-webdesk-vector-token"
SECRET_HEX = "77b1409be2d61fc4e23208c43e792e8afffdae72b61332af9eed100fd15585fa"
USER = (
    '{"id":1000001,"first_name":"小王","last_name":"","language_code":"zh-hans",'
    '"allows_write_to_pm":true}'
)
AUTH_DATE = 1767225600  # 2026-01-01 00:00:00 UTC
HASH = "13507b5c7eca561b646dfe7f6801fc54b66cf1dce8ab7c7a4002051e06ec7938"
SIGNATURE = "c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
ISSUED = datetime.fromtimestamp(AUTH_DATE, tz=UTC)
MAX_AGE = timedelta(hours=1)


def raw(*, user: str = USER, auth_date: int = AUTH_DATE, hash_: str = HASH) -> str:
    """The vector as Telegram sends it: URL-encoded, fields in any order."""
    return (
        f"query_id=AAHdF6IQAAAAAN0XohDhrOrc&user={quote(user, safe='')}"
        f"&auth_date={auth_date}&signature={SIGNATURE}&hash={hash_}"
    )


def test_the_secret_key_is_derived_as_documented() -> None:
    assert initdata.secret_key(TOKEN).hex() == SECRET_HEX


def test_valid_login_data_is_accepted() -> None:
    data = validate(raw(), TOKEN, max_age=MAX_AGE, now=ISSUED + timedelta(minutes=5))
    assert data.user_id == 1000001
    assert data.first_name == "小王"
    assert data.language_code == "zh-hans"
    assert data.auth_date == ISSUED
    assert data.hash == HASH


def test_the_field_order_does_not_matter_and_an_uppercase_hash_is_the_same() -> None:
    reordered = (
        f"hash={HASH.upper()}&signature={SIGNATURE}&auth_date={AUTH_DATE}"
        f"&user={quote(USER, safe='')}&query_id=AAHdF6IQAAAAAN0XohDhrOrc"
    )
    assert validate(reordered, TOKEN, max_age=MAX_AGE, now=ISSUED).user_id == 1000001


@pytest.mark.parametrize(
    "tampered",
    [
        raw(user=USER.replace("1000001", "1000002")),  # another user id
        raw(user=USER.replace("小王", "老王")),
        raw(auth_date=AUTH_DATE + 3600),  # a fresher date
        raw().replace(f"signature={SIGNATURE}", "signature=x"),  # signature is signed too
        raw().replace("query_id=AAHdF6IQAAAAAN0XohDhrOrc&", ""),  # a field removed
        raw() + "&start_param=x",  # a field added
        raw(hash_=HASH[:-1] + "0"),
        raw(hash_=""),
        raw().replace(f"&hash={HASH}", ""),
    ],
)
def test_a_tampered_field_is_refused(tampered: str) -> None:
    with pytest.raises(InvalidInitData) as caught:
        validate(tampered, TOKEN, max_age=MAX_AGE, now=ISSUED)
    assert not isinstance(caught.value, ExpiredInitData)


def test_another_bots_token_is_refused() -> None:
    with pytest.raises(InvalidInitData):
        validate(raw(), "123456789:TEST-another-bot", max_age=MAX_AGE, now=ISSUED)


def test_login_data_older_than_the_age_is_refused() -> None:
    assert validate(raw(), TOKEN, max_age=MAX_AGE, now=ISSUED + MAX_AGE).user_id == 1000001
    with pytest.raises(ExpiredInitData):
        validate(raw(), TOKEN, max_age=MAX_AGE, now=ISSUED + MAX_AGE + timedelta(seconds=1))


def test_the_same_login_data_presented_again_after_its_age_is_refused() -> None:
    """What was accepted at first is refused when it comes back later (a replay)."""
    first = validate(raw(), TOKEN, max_age=MAX_AGE, now=ISSUED + timedelta(seconds=30))
    assert first.user_id == 1000001
    with pytest.raises(ExpiredInitData):
        validate(raw(), TOKEN, max_age=MAX_AGE, now=ISSUED + timedelta(hours=2))


def test_login_data_from_the_far_future_is_refused() -> None:
    with pytest.raises(InvalidInitData):
        validate(raw(), TOKEN, max_age=MAX_AGE, now=ISSUED - timedelta(hours=1))


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "not a query string",
        raw() + f"&hash={HASH}",  # a field twice
        "x" * (initdata.MAX_LENGTH + 1),
    ],
)
def test_malformed_login_data_is_refused(malformed: str) -> None:
    with pytest.raises(InvalidInitData):
        validate(malformed, TOKEN, max_age=MAX_AGE, now=ISSUED)


def test_signed_data_without_a_user_is_refused() -> None:
    fields = {"auth_date": str(AUTH_DATE), "query_id": "q"}
    fields["hash"] = initdata.sign(fields, TOKEN)
    query = "&".join(f"{k}={v}" for k, v in fields.items())
    with pytest.raises(InvalidInitData, match="no user"):
        validate(query, TOKEN, max_age=MAX_AGE, now=ISSUED)


def test_sign_reproduces_the_vector() -> None:
    """The helper the end-to-end tests build login data with computes Telegram's hash."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": USER,
        "auth_date": str(AUTH_DATE),
        "signature": SIGNATURE,
    }
    assert initdata.sign(fields, TOKEN) == HASH
