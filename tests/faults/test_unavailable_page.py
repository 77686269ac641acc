"""The 503 answer for a lost database, where Django reaches it through ``handler500`` (outside a view).

The view path is tested against a real server and a real restart in ``test_database_restart``;
errors raised outside views (a middleware saving the session, say) reach ``handler500`` instead,
which Django calls inside its ``except`` block.
"""

from __future__ import annotations

import json

from django.db import DatabaseError, InterfaceError, OperationalError

from core.unavailable import server_error


def _answer(rf, path: str, error: Exception):
    try:
        raise error
    except Exception:
        return server_error(rf.get(path))


def test_a_lost_database_outside_a_view_gets_the_readable_503_page(rf):
    response = _answer(rf, "/task/abcdefgh12/", OperationalError("server closed the connection unexpectedly"))
    assert response.status_code == 503
    assert response["Retry-After"]
    body = response.content.decode()
    assert "Not saved: please try again" in body
    assert "server closed the connection" not in body  # no internals shown


def test_the_api_gets_the_same_answer_as_json(rf):
    response = _answer(rf, "/api/studies/", InterfaceError("connection already closed"))
    assert response.status_code == 503
    assert json.loads(response.content)["code"] == "service_unavailable"


def test_other_errors_stay_a_plain_500(rf):
    response = _answer(rf, "/", DatabaseError("value too long for type character varying(8)"))
    assert response.status_code == 500
