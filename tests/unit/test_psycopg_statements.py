"""Statements written with :name parameters, as psycopg takes them (%(name)s)."""

from videogen_common.db import psycopg_statement as _psycopg
from videogen_generation.repository import columns


def test_parameters_become_psycopg_placeholders_and_casts_stay():
    statement = (
        f"UPDATE generation.generations g SET lease_until = now() + :lease"
        f" WHERE g.id = :id AND g.lease_owner = :token RETURNING {columns('g')}"
    )
    converted = _psycopg(statement)
    assert "now() + %(lease)s" in converted
    assert "g.id = %(id)s AND g.lease_owner = %(token)s" in converted
    assert "g.id::text AS id" in converted and "g.user_id::text AS user_id" in converted
    assert ":" not in converted.replace("::", "")


def test_a_literal_percent_is_kept_literal():
    converted = _psycopg("SELECT 1 WHERE note LIKE '50%' AND id = :id")
    assert converted == "SELECT 1 WHERE note LIKE '50%%' AND id = %(id)s"


def test_the_same_parameter_twice_is_converted_twice():
    converted = _psycopg("SELECT now() - :settle, now() + :settle")
    assert converted == "SELECT now() - %(settle)s, now() + %(settle)s"
