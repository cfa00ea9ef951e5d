"""gateway.forms on small pages of the consoles' shapes: required fields marked,
messages tied to their fields in the form that was sent, typed values put back
except secrets, table cells named by their column."""

from gateway import forms

NOTE = "Fields marked * are required."
PAGE = """<form method="post" action="/sign-out"><button>Out</button></form>
<form method="post" action="/x"><input type="hidden" name="csrf" value="t">
<label>Name <input name="name" required value="old"></label>
<label>Password <input name="password" type="password" required></label>
<label>Kind <select name="kind"><option value="a" selected>A</option>\
<option value="b">B</option></select></label>
<label>Why <textarea name="why"></textarea></label>
<button name="step" value="go">Go</button></form>
<form method="post" action="/x"><label>Other <input name="other"></label></form>
<table><thead><tr><th>When</th><th>What &amp; why</th></tr></thead>\
<tbody><tr><td>1</td><td class="w">2</td></tr>\
<tr><td colspan="2">none</td></tr></tbody></table>"""


def test_required_fields_are_marked_and_the_form_says_what_the_star_means() -> None:
    page = forms.finish(PAGE, required_note=NOTE)
    assert page.count('<span class="req" aria-hidden="true">*</span>') == 2
    assert page.count(NOTE) == 1  # only the form with required fields
    assert 'Name <span class="req" aria-hidden="true">*</span> <input' in page


def test_a_refusal_ties_messages_and_keeps_what_was_typed_but_secrets() -> None:
    page = forms.finish(
        PAGE,
        required_note=NOTE,
        field_errors={"name": "Fill in this field.", "kind": "Choose one."},
        typed={
            "name": "<new>",
            "password": "hunter2hunter2",
            "kind": "b",
            "why": "because",
            "csrf": "t",
            "step": "go",
        },
        action="/x",
    )
    assert 'name="name" required aria-invalid="true" aria-describedby="error-name"' in (
        page.replace(' value="&lt;new&gt;"', "")
    )
    assert 'value="&lt;new&gt;"' in page and 'value="old"' not in page
    assert "hunter2" not in page
    assert '<option value="b" selected>' in page and 'value="a" selected' not in page
    assert ">because</textarea>" in page
    # the message comes after the label that wraps the field
    assert (
        '</select></label><p class="field-error" id="error-kind">Choose one.</p>'
        in page
    )
    assert page.index('id="error-name"') < page.index('name="password"')
    assert "Other" in page and 'name="other" aria-invalid' not in page


def test_table_cells_carry_their_columns_name() -> None:
    page = forms.finish(PAGE, required_note=NOTE)
    assert '<td data-label="When">1</td>' in page
    assert '<td data-label="What &amp; why" class="w">2</td>' in page
    assert '<td colspan="2">none</td>' in page


def test_nested_field_messages_are_found_by_their_leaf_names() -> None:
    found = forms.flat({"tier_amounts": {"professional": ["Not a valid integer."]}})
    assert found["professional"] == ["Not a valid integer."]
    assert found["tier_amounts"] == ["Not a valid integer."]


GROUP = """<form method="post" action="/g"><input type="hidden" name="csrf" value="t">
<fieldset id="audiences"><legend>With whom</legend>\
<label><input type="checkbox" name="audiences" value="family"> Family</label>\
<label><input type="checkbox" name="audiences" value="friends"> Friends</label>\
</fieldset>
<fieldset><legend>Alone</legend>\
<label><input type="checkbox" name="confirm" value="yes"> I understand</label>\
</fieldset>
<button>Send</button></form>"""


def test_a_group_of_boxes_is_refused_as_a_group_not_at_its_first_box() -> None:
    page = forms.finish(
        GROUP,
        required_note=NOTE,
        field_errors={"audiences": "Tick at least one.", "confirm": "Tick it."},
        typed={"csrf": "t"},
        action="/g",
    )
    # the group's message after its fieldset, which it describes
    assert '<fieldset id="audiences" aria-describedby="error-audiences">' in page
    assert (
        'Friends</label></fieldset><p class="field-error" id="error-audiences">'
        "Tick at least one.</p>" in page
    )
    # and each of its boxes, marked as any refused field is
    for value in ("family", "friends"):
        assert (
            f'name="audiences" value="{value}" aria-invalid="true" '
            'aria-describedby="error-audiences">' in page
        )
    # a lone box is a field of its own: its message after its label, tied to it
    assert (
        'value="yes" aria-invalid="true" aria-describedby="error-confirm">'
        ' I understand</label><p class="field-error" id="error-confirm">' in page
    )
