"""The containment documents an attribute filter asks the variants' GIN index for: the value as a JSON
string, and, when the value is JSON PostgreSQL reads (not a string), that JSON too."""

from __future__ import annotations

from mercato.catalog.service_layer.attribute_filter import containing


def test_a_word_is_looked_for_as_a_string_only() -> None:
    assert containing("size", "M") == ['{"size": "M"}']


def test_json_text_is_also_looked_for_as_the_json_it_is() -> None:
    assert containing("size", "42") == ['{"size": "42"}', '{"size": 42}']
    assert containing("waterproof", "true") == ['{"waterproof": "true"}', '{"waterproof": true}']
    assert containing("tags", '["a", "b"]') == ['{"tags": "[\\"a\\", \\"b\\"]"}', '{"tags": ["a", "b"]}']
    # digits PostgreSQL keeps exactly: the value's own text, not Python's float of it
    assert containing("w", "12345678901234567890.5") == [
        '{"w": "12345678901234567890.5"}',
        '{"w": 12345678901234567890.5}',
    ]


def test_json_postgresql_refuses_is_looked_for_as_a_string_only() -> None:
    # No stored value prints as these (jsonb has no NaN, no NUL, no lone surrogate), and asking would fail
    for value in ("NaN", "Infinity", "-Infinity", '"\\u0000"', '["\\ud800"]', '"M"', "[1, 2"):
        assert containing("size", value)[1:] == [], value
