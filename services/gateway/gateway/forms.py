"""Forms that help, on every console page, without each template doing it by hand:
a pass over the page the templates drew (web.render calls `finish`) that

- marks every required field: a `*` (hidden from screen readers, which hear
  `required`) beside the control, and "Fields marked * are required." at the top of
  each form that has one;
- after a refusal naming fields (a service's InvalidInput with `fields`), puts each
  field's message next to its control in the page's language (`<p class="field-error"
  id="error-<name>">`), ties it to the control (`aria-describedby`, `aria-invalid`),
  and keeps what the person typed in the form they sent (never a password, a code,
  bank details or the CSRF token);
- gives each cell of a table with a header row the name of its column
  (`data-label`), which the stylesheet shows above the cell on a phone, where each
  row becomes a block.

It works on the consoles' own markup (templates/*.html), which keeps to a few
shapes: a control wrapped in its `<label>` or named by `<label for>`, attributes in
double quotes. tests/gateway/integration/test_forms.py walks every console form."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from html import escape, unescape
from typing import Any

# what a refused form never shows again, whatever was typed
SECRET_FIELDS = frozenset(
    {"csrf", "password", "new_password", "code", "iban", "bic", "holder", "token"}
)
# the input types whose typed value is put back (not buttons, boxes, hidden fields)
TEXT_TYPES = frozenset(
    {"text", "email", "number", "date", "search", "tel", "url", "month", "time"}
)

FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)
FORM_OPEN = re.compile(r"<form\b[^>]*>")
CONTROL = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.S)
ATTR = re.compile(r'([\w:-]+)(?:="([^"]*)")?')
LABEL = re.compile(r"<label\b[^>]*>.*?</label>", re.S)
TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.S)
TH = re.compile(r"<th\b[^>]*>(.*?)</th>", re.S)
THEAD = re.compile(r"<thead\b[^>]*>.*?</thead>", re.S)
TBODY = re.compile(r"<tbody\b[^>]*>.*?</tbody>", re.S)
ROW = re.compile(r"<tr\b[^>]*>.*?</tr>", re.S)
TD = re.compile(r"<td\b([^>]*)>")
TAG = re.compile(r"<[^>]+>")


def attributes(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) or "" for m in ATTR.finditer(text)}


def required(attrs: Mapping[str, str]) -> bool:
    return "required" in attrs or attrs.get("aria-required") == "true"


def visible(tag: str, attrs: Mapping[str, str]) -> bool:
    return not (tag == "input" and attrs.get("type") in ("hidden", "submit"))


def finish(
    html: str,
    *,
    required_note: str,
    field_errors: Mapping[str, str] | None = None,
    typed: Mapping[str, Any] | None = None,
    action: str | None = None,
) -> str:
    """The page with its forms marked and its tables labelled; with `field_errors`,
    the messages put next to their fields of the form that posted to `action`, and
    `typed` put back in it."""
    html = label_tables(html)
    sent = None
    if field_errors or typed:
        sent = sent_form(html, action, list((typed or {}).keys()))

    def each_form(match: re.Match[str]) -> str:
        form = match.group(0)
        if match.start() == sent:
            form = put_back(form, typed or {})
            form = tie_errors(form, field_errors or {})
        return mark_required(form, required_note)

    return FORM.sub(each_form, html)


def sent_form(html: str, action: str | None, names: Iterable[str]) -> int | None:
    """Where the form that was sent starts: of the forms posting to `action`, the
    one holding most of the sent fields' names."""
    if not action:
        return None
    wanted = set(names)
    best, score = None, -1
    for match in FORM.finditer(html):
        opening = attributes(FORM_OPEN.match(match.group(0)).group(0))  # type: ignore[union-attr]
        if opening.get("action") != action:
            continue
        held = {
            attributes(c.group(2)).get("name") for c in CONTROL.finditer(match.group(0))
        }
        if len(held & wanted) > score:
            best, score = match.start(), len(held & wanted)
    return best


def mark_required(form: str, note: str) -> str:
    """A `*` after the text of each required control's label, and the note at the
    form's top; a form that marks its own (`class="req"`) is left as it is."""
    if 'class="req"' in form:
        return form
    marked = False

    def each_label(match: re.Match[str]) -> str:
        nonlocal marked
        label = match.group(0)
        control = CONTROL.search(label)
        if control is None or not required(attributes(control.group(2))):
            return label
        marked = True
        star = ' <span class="req" aria-hidden="true">*</span> '
        return label[: control.start()].rstrip() + star + label[control.start() :]

    form = LABEL.sub(each_label, form)
    if not marked:
        return form
    opening = FORM_OPEN.match(form)
    assert opening is not None
    end = opening.end()
    return form[:end] + f'\n<p class="hint required-note">{note}</p>' + form[end:]


def put_back(form: str, typed: Mapping[str, Any]) -> str:
    """What was typed into each text field, textarea and select of the sent form."""

    def each_control(match: re.Match[str]) -> str:
        tag, raw = match.group(1), match.group(2)
        attrs = attributes(raw)
        name = attrs.get("name", "")
        if name not in typed or name in SECRET_FIELDS:
            return match.group(0)
        value = typed[name]
        if tag == "input" and attrs.get("type", "text") in TEXT_TYPES:
            raw = re.sub(r'\svalue="[^"]*"', "", raw)
            return f'<input{raw.rstrip("/ ")} value="{escape(str(value))}">'
        return match.group(0)

    form = CONTROL.sub(each_control, form)
    for name, value in typed.items():
        if name in SECRET_FIELDS:
            continue
        form = _inside("textarea", name, form, str(value))
        form = _inside("select", name, form, str(value))
    return form


def _inside(tag: str, name: str, form: str, value: str) -> str:
    """The form with its first `tag` named `name` holding `value`: a textarea's
    text, a select's chosen option."""
    found = re.search(
        rf'(<{tag}\b[^>]*\bname="{re.escape(name)}"[^>]*>)(.*?)(</{tag}>)', form, re.S
    )
    if found is None:
        return form
    content = escape(value) if tag == "textarea" else choose(found.group(2), value)
    return form[: found.start(2)] + content + form[found.end(2) :]


def choose(options: str, value: str) -> str:
    """The options of a select with `value` the one selected (if it is offered)."""
    if f'value="{escape(value)}"' not in options:
        return options
    options = options.replace(" selected", "")
    return options.replace(
        f'value="{escape(value)}"', f'value="{escape(value)}" selected', 1
    )


def tie_errors(form: str, errors: Mapping[str, str]) -> str:
    """Each message after its control (after the label wrapping it), tied to it."""
    for name, message in errors.items():
        form = tie_one(form, name, message)
    return form


def tie_one(form: str, name: str, message: str) -> str:
    control = None
    for match in CONTROL.finditer(form):
        attrs = attributes(match.group(2))
        if attrs.get("name") == name and visible(match.group(1), attrs):
            control = match
            break
    if control is None or f'id="error-{name}"' in form:
        return form
    ident = f"error-{name}"
    group = _group_of(form, control, name)
    if group is not None:
        return _tie_group(form, group, name, ident, message)
    attrs = attributes(control.group(2))
    raw = re.sub(r'\s(aria-describedby|aria-invalid)="[^"]*"', "", control.group(2))
    described = " ".join(filter(None, [attrs.get("aria-describedby"), ident]))
    tag = control.group(1)
    opened = (
        f'<{tag}{raw.rstrip("/ ")} aria-invalid="true" aria-describedby="{described}">'
    )
    form = form[: control.start()] + opened + form[control.end() :]
    after = control.start() + len(opened)
    # after the label that wraps the control, else after the control itself
    label_open = form.rfind("<label", 0, control.start())
    label_close = form.rfind("</label>", 0, control.start())
    closing = {"select": "</select>", "textarea": "</textarea>"}.get(tag)
    if closing:
        after = form.index(closing, after) + len(closing)
    if label_open > label_close:
        after = form.index("</label>", after) + len("</label>")
    note = f'<p class="field-error" id="{ident}">{escape(message)}</p>'
    return form[:after] + note + form[after:]


def _group_of(form: str, control: re.Match[str], name: str) -> tuple[int, int] | None:
    """(start, end) of the fieldset that holds a group of boxes or buttons of
    `name` (several controls of one name: "tick at least one"), None otherwise:
    the message of a group is the group's, not its first box's."""
    attrs = attributes(control.group(2))
    if attrs.get("type") not in ("checkbox", "radio"):
        return None
    start = form.rfind("<fieldset", 0, control.start())
    if start < 0 or form.rfind("</fieldset>", start, control.start()) >= 0:
        return None
    end = form.find("</fieldset>", control.end())
    if end < 0:
        return None
    inside = form[start:end]
    named = [
        m
        for m in CONTROL.finditer(inside)
        if attributes(m.group(2)).get("name") == name
    ]
    return (start, end + len("</fieldset>")) if len(named) > 1 else None


def _described(tag: str, ident: str) -> str:
    """An opening tag (without its closing `>`) that `ident` also describes."""
    found = re.search(r'\saria-describedby="([^"]*)"', tag)
    if found is None:
        return f'{tag.rstrip("/ ")} aria-describedby="{ident}"'
    described = " ".join(filter(None, [found.group(1), ident]))
    return tag.replace(found.group(0), f' aria-describedby="{described}"')


def _tie_group(
    form: str, group: tuple[int, int], name: str, ident: str, message: str
) -> str:
    """The message after the group's fieldset; it describes the fieldset and each
    box or button of `name` in it, each marked invalid as any refused field is (a
    screen reader says it on whichever of them has the focus)."""
    start, end = group

    def each_control(match: re.Match[str]) -> str:
        if attributes(match.group(2)).get("name") != name:
            return match.group(0)
        raw = re.sub(r'\saria-invalid="[^"]*"', "", match.group(2)).rstrip("/ ")
        tag = f'<{match.group(1)}{raw} aria-invalid="true"'
        return _described(tag, ident) + ">"

    opening_end = form.index(">", start)
    inside = CONTROL.sub(each_control, form[opening_end:end])
    opening = _described(form[start:opening_end], ident)
    note = f'<p class="field-error" id="{ident}">{escape(message)}</p>'
    return form[:start] + opening + inside + note + form[end:]


def label_tables(html: str) -> str:
    """`data-label` on each body cell of a table with a header row: its column's
    header, as text (a phone shows it above the cell)."""

    def each_table(match: re.Match[str]) -> str:
        table = match.group(0)
        head = THEAD.search(table)
        body = TBODY.search(table)
        if head is None or body is None:
            return table
        names = [
            " ".join(unescape(TAG.sub("", h)).split())
            for h in TH.findall(head.group(0))
        ]
        if not names:
            return table

        def each_row(row: re.Match[str]) -> str:
            column = 0

            def each_cell(cell: re.Match[str]) -> str:
                nonlocal column
                attrs = cell.group(1)
                index, column = (
                    column,
                    column + int(attributes(attrs).get("colspan") or 1),
                )
                if "data-label" in attrs or index >= len(names) or "colspan" in attrs:
                    return cell.group(0)
                # first, so that a page's `id="x">` or `data-code="x">` reads on
                return f'<td data-label="{escape(names[index])}"{attrs}>'

            return TD.sub(each_cell, row.group(0))

        labelled = ROW.sub(each_row, body.group(0))
        return table[: body.start()] + labelled + table[body.end() :]

    return TABLE.sub(each_table, html)


def flat(fields: Mapping[str, Any]) -> dict[str, list[str]]:
    """A service's field messages by the form's field names: a nested schema's
    leaves by their own names (`{"tier_amounts": {"professional": [...]}}` →
    `professional`, and `tier_amounts`)."""
    found: dict[str, list[str]] = {}
    for name, value in fields.items():
        if isinstance(value, Mapping):
            for leaf, messages in flat(value).items():
                found.setdefault(leaf, messages)
                found.setdefault(str(name), messages)
        elif isinstance(value, list | tuple):
            found[str(name)] = [str(v) for v in value if not isinstance(v, Mapping)]
        else:
            found[str(name)] = [str(value)]
    return found
