from __future__ import annotations

import pytest

from notifications.content import PushContent
from notifications.personalization import (
    TokenError,
    compile_content,
    compile_content_lenient,
    compile_template,
)

KNOWN = ["First Name", "Last Name", "Email Address", "favourite-colour"]


def test_token_renders_lead_value_or_default():
    template = compile_template("Hi {{lead.First Name:default=there}}!", known_fields=KNOWN)
    assert template.render({"First Name": "Ann"}) == "Hi Ann!"
    assert template.render({}) == "Hi there!"
    assert template.render({"First Name": ""}) == "Hi there!"


def test_text_without_tokens_renders_unchanged_including_single_braces():
    template = compile_template("50% off {today} only", known_fields=KNOWN)
    assert template.tokens == ()
    assert template.render({"First Name": "Ann"}) == "50% off {today} only"


def test_several_tokens_and_empty_default():
    template = compile_template(
        "{{lead.First Name:default=}} {{lead.Last Name:default=friend}} <{{lead.favourite-colour:default=red}}>",
        known_fields=KNOWN,
    )
    assert template.render({"Last Name": "Lee"}) == " Lee <red>"
    assert [t.field for t in template.tokens] == ["First Name", "Last Name", "favourite-colour"]


def test_whitespace_inside_token_is_tolerated():
    template = compile_template("{{ lead.First Name:default=you }}", known_fields=KNOWN)
    assert template.render({}) == "you"


def test_default_may_contain_colons_and_spaces():
    template = compile_template("{{lead.First Name:default=dear: friend}}", known_fields=KNOWN)
    assert template.render({}) == "dear: friend"


def test_lead_value_with_braces_is_inserted_literally():
    template = compile_template("Hi {{lead.First Name:default=x}}", known_fields=KNOWN)
    assert template.render({"First Name": "{0} {{evil}}"}) == "Hi {0} {{evil}}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hi {{lead.Shoe Size:default=9}}", "no field named 'Shoe Size'"),
        ("Hi {{lead.First Name}}", "needs a default"),
        ("Hi {{First Name:default=x}}", "is not a valid token"),
        ("Hi {{lead.:default=x}}", "is not a valid token"),
        ("Hi {{lead.First Name:fallback=x}}", "is not a valid token"),
        ("Hi {{lead.First Name:default=x", "stray '{{'"),
        ("Hi lead.First Name}}", "stray '}}'"),
        ("Hi {{lead.First Name:default={x}}}", "is not a valid token"),
    ],
)
def test_invalid_tokens_are_refused_with_the_rule(text, message):
    with pytest.raises(TokenError, match=message):
        compile_template(text, known_fields=KNOWN)


def test_escaped_braces_render_literally():
    template = compile_template(
        r"Use \{{code\}} at {{lead.First Name:default=checkout}}", known_fields=KNOWN
    )
    assert template.render({}) == "Use {{code}} at checkout"
    assert len(template.tokens) == 1


def test_unknown_fields_allowed_when_no_field_list_given():
    assert compile_template("{{lead.Anything:default=x}}").render({"Anything": "y"}) == "y"


def test_default_optional_when_not_required():
    template = compile_template("{{lead.First Name}}", require_default=False)
    assert template.render({}) == ""


def test_compile_content_renders_all_four_fields():
    content = PushContent(
        title="For {{lead.First Name:default=you}}",
        subtitle="Sub",
        message="Hello {{lead.Last Name:default=friend}}",
        tap_uri="shop://u/{{lead.Email Address:default=anon}}",
    )
    rendered = compile_content(content, known_fields=KNOWN).render(
        {"First Name": "Ann", "Email Address": "a@x.io"}
    )
    assert (rendered.title, rendered.subtitle, rendered.body, rendered.tap_uri) == (
        "For Ann",
        "Sub",
        "Hello friend",
        "shop://u/a%40x.io",  # URI token values are percent-encoded
    )


def test_lenient_compile_reports_errors_by_form_field_and_keeps_text():
    content = PushContent(title="{{lead.Nope:default=x}}", message="Hi {{lead.First Name}}")
    compiled, errors = compile_content_lenient(content, known_fields=KNOWN)
    assert set(errors) == {"title", "message"}
    assert compiled.body.render({}) == "Hi {{lead.First Name}}"


def test_token_picker_text_compiles():
    # What static/js/composer.js inserts at the cursor for "First Name" with default "there".
    text = "{{lead.First Name:default=there}}"
    assert compile_template(text, known_fields=KNOWN).render({}) == "there"


def test_quotes_backslashes_and_newlines_survive_the_compiled_renderer():
    content = PushContent(
        title='It\'s "great" \\o/',
        message="Line 1\nHi {{lead.First Name:default=O'Brien \"Jr\" \\}}, {{lead.First Name:default=x}}'''",
        tap_uri="app://x?q='{{lead.Last Name:default=a\\nb}}'",
    )
    compiled = compile_content(content, known_fields=KNOWN)
    rendered = compiled.render({})
    assert rendered.title == 'It\'s "great" \\o/'
    assert rendered.body == "Line 1\nHi O'Brien \"Jr\" \\, x'''"
    assert rendered.tap_uri == "app://x?q='a%5Cnb'"  # the default is encoded like a value
    assert rendered.subtitle == ""
    assert compiled.render({"First Name": "Ann"}).body == "Line 1\nHi Ann, Ann'''"


def test_compiled_content_is_reusable_across_leads():
    compiled = compile_content(
        PushContent(message="{{lead.First Name:default=you}}"), known_fields=KNOWN
    )
    names = [compiled.render({"First Name": n}).body for n in ("A", "", "C")]
    assert names == ["A", "you", "C"]


def test_token_values_in_the_tap_uri_are_percent_encoded():
    content = PushContent(
        message="Hi {{lead.First Name:default=you all}}",
        tap_uri="shop://u/{{lead.First Name:default=you all}}?e={{lead.Email Address:default=}}",
    )
    compiled = compile_content(content, known_fields=KNOWN)
    rendered = compiled.render({"First Name": "Zoë/../admin?x=1#y", "Email Address": "a+b@x.io"})
    assert rendered.tap_uri == "shop://u/Zo%C3%AB%2F..%2Fadmin%3Fx%3D1%23y?e=a%2Bb%40x.io"
    assert rendered.body == "Hi Zoë/../admin?x=1#y"  # only the URI is encoded
    assert compiled.render({}).tap_uri == "shop://u/you%20all?e="


@pytest.mark.parametrize(
    "value", ["Ann Lee", "a@b.c/x?y=1#z", "Zoë & co", "~-._", "%41", "日本😀", ""]
)
def test_uri_encoding_matches_urllib(value):
    from urllib.parse import quote

    compiled = compile_content(
        PushContent(message="m", tap_uri="app://{{lead.First Name:default=}}"), known_fields=KNOWN
    )
    assert compiled.render({"First Name": value}).tap_uri == "app://" + quote(value, safe="")
