"""Bank files: what the programme's bank is given and what it gives back. A run's bank
payouts as CSV or ISO 20022 pain.001 (checked against the XSD in the tests), and the
bank's statement parsed into lines the reconciliation matches. Names go into a file
only as SEPA's character set allows; every CSV cell is neutralized (svyaz.tables)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from text_unidecode import unidecode

from svyaz import money, tables


@dataclass(frozen=True)
class FileLine:
    reference: str  # payout:<id>
    amount_minor: int
    currency: str
    destination: dict[str, Any]

    @property
    def end_to_end_id(self) -> str:
        """The payout's id as ISO 20022's 35 characters allow (32 hex digits); the
        statement import matches it as it matches the reference."""
        return uuid.UUID(self.reference.removeprefix("payout:")).hex


CSV_HEADER = ("reference", "amount", "currency", "holder", "iban", "bic")


def major(amount_minor: int, currency: str) -> str:
    """Minor units as a bank file writes them: the currency's ISO 4217 decimals
    (svyaz.money), "250.00" EUR, "500" JPY, "1.234" KWD."""
    return money.plain(amount_minor, currency)


def bank_csv(lines: Iterable[FileLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    tables.csv_row(writer, CSV_HEADER)
    for line in lines:
        d = line.destination
        # every cell neutralized: the holder's name is the payee's own text, and
        # finance opens the file in a spreadsheet
        tables.csv_row(
            writer,
            (
                line.reference,
                major(line.amount_minor, line.currency),
                line.currency,
                d.get("holder", ""),
                d.get("iban", ""),
                d.get("bic", ""),
            ),
        )
    return out.getvalue()


PAIN001 = "pain.001.001.09"
NAME_MAX = 70  # a party's name in SEPA (ISO 20022 allows 140)
# EPC's SEPA character set: Latin letters, digits, / - ? : ( ) . , ' + and space
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]+")


def sepa_text(text: str, limit: int = NAME_MAX) -> str:
    """Text as every SEPA bank takes it: transliterated to Latin (Ирина Петрова is
    Irina Petrova), `&` as `+`, any other character a space, spaces collapsed, cut
    to `limit`. A name with nothing Latin left is NOTPROVIDED, which the bank
    returns (and the statement import fails the payout) rather than pay a guess."""
    latin = unidecode(unicodedata.normalize("NFC", text)).replace("&", "+")
    cleaned = " ".join(_NOT_SEPA.sub(" ", latin).split())[:limit].strip()
    return cleaned or "NOTPROVIDED"


def pain001(
    lines: Sequence[FileLine],
    message_id: str,
    created: datetime,
    debtor: dict[str, str],
    execution_date: str,
) -> str:
    """An ISO 20022 pain.001.001.09 credit transfer initiation: one payment info
    block per currency, amounts in major units with the currency's ISO 4217
    decimals (none for JPY, three for KWD), control sums per block and for the file
    (the file's adds the blocks' numbers, as ISO 20022 says, whatever their
    currencies), names in the SEPA character set. The tests validate
    what it writes against the ISO 20022 XSD. `debtor` is the programme's own
    account, checked by the caller; each line's account was checked when its
    payout joined the file (`BankFile.send`)."""
    by_currency: dict[str, list[FileLine]] = {}
    for line in lines:
        by_currency.setdefault(line.currency, []).append(line)
    total = money.sum_major([(line.amount_minor, line.currency) for line in lines])
    debtor_name = escape(sepa_text(debtor.get("name", "")))
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{PAIN001}">',
        "<CstmrCdtTrfInitn><GrpHdr>",
        f"<MsgId>{escape(message_id)}</MsgId>",
        f"<CreDtTm>{created.strftime('%Y-%m-%dT%H:%M:%S')}</CreDtTm>",
        f"<NbOfTxs>{len(lines)}</NbOfTxs><CtrlSum>{total:f}</CtrlSum>",
        f"<InitgPty><Nm>{debtor_name}</Nm></InitgPty>",
        "</GrpHdr>",
    ]
    for n, (currency, group) in enumerate(sorted(by_currency.items()), 1):
        parts += [
            f"<PmtInf><PmtInfId>{escape(message_id)}-{n}</PmtInfId>",
            "<PmtMtd>TRF</PmtMtd>",
            f"<NbOfTxs>{len(group)}</NbOfTxs>",
            f"<CtrlSum>{major(sum(x.amount_minor for x in group), currency)}</CtrlSum>",
            f"<ReqdExctnDt><Dt>{escape(execution_date)}</Dt></ReqdExctnDt>",
            f"<Dbtr><Nm>{debtor_name}</Nm></Dbtr>",
            f"<DbtrAcct><Id><IBAN>{escape(debtor.get('iban', ''))}</IBAN></Id>"
            "</DbtrAcct>",
            f"<DbtrAgt><FinInstnId><BICFI>{escape(debtor.get('bic', ''))}</BICFI>"
            "</FinInstnId></DbtrAgt>",
        ]
        for line in group:
            d = line.destination
            parts += [
                "<CdtTrfTxInf>",
                f"<PmtId><EndToEndId>{line.end_to_end_id}</EndToEndId></PmtId>",
                f'<Amt><InstdAmt Ccy="{escape(currency)}">'
                f"{major(line.amount_minor, currency)}</InstdAmt></Amt>",
                f"<CdtrAgt><FinInstnId><BICFI>{escape(d.get('bic', ''))}</BICFI>"
                "</FinInstnId></CdtrAgt>",
                f"<Cdtr><Nm>{escape(sepa_text(d.get('holder', '')))}</Nm></Cdtr>",
                f"<CdtrAcct><Id><IBAN>{escape(d.get('iban', ''))}</IBAN></Id>"
                "</CdtrAcct>",
                f"<RmtInf><Ustrd>{escape(line.reference)}</Ustrd></RmtInf>",
                "</CdtTrfTxInf>",
            ]
        parts.append("</PmtInf>")
    parts.append("</CstmrCdtTrfInitn></Document>")
    return "".join(parts)


@dataclass(frozen=True)
class StatementLine:
    reference: str
    amount_minor: int
    currency: str
    status: str  # booked | returned
    fee_minor: int = 0


def parse_statement(text: str) -> list[StatementLine]:
    """The bank's statement as CSV: reference (`payout:<id>` or the pain.001 file's
    EndToEndId), amount (major units), currency, status (booked or returned), fee
    (major units, optional)."""
    return list(parse_statement_lines(io.StringIO(text)))


_END_TO_END = re.compile(r"[0-9a-fA-F]{32}")
# the payout's id as the consoles and the API write it (with hyphens)
_PAYOUT_ID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def statement_reference(text: str) -> str:
    """A statement line's reference as ours, `payout:<id>`: banks report either the
    remittance text (our reference) or the file's EndToEndId (the id's 32 hex
    digits), and the import and the reconciliation match both the same way; the
    payout's id as the consoles show it (with hyphens) is taken too."""
    value = text.strip()
    if _END_TO_END.fullmatch(value) or _PAYOUT_ID.fullmatch(value):
        return f"payout:{uuid.UUID(value)}"
    return value


STATEMENT_COLUMNS = ("reference", "amount", "currency", "status")  # fee: optional


BOM = "\ufeff"  # what Excel and others write before a UTF-8 CSV's first line


def without_bom(lines: Iterable[str]) -> Iterator[str]:
    """The lines of a file as written, without the byte order mark a spreadsheet
    program may put before the first (it would be read as part of the first
    column's name)."""
    first = True
    for line in lines:
        yield line.removeprefix(BOM) if first else line
        first = False


def parse_statement_lines(lines: Iterable[str]) -> Iterator[StatementLine]:
    """`parse_statement`, one line at a time (for statements too big to hold). A
    missing column is named; a line that cannot be read is named with every value
    of it that is wrong, and what each should be."""
    reader = csv.DictReader(without_bom(lines))
    missing = [c for c in STATEMENT_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(
            f"the statement has no column {', '.join(missing)}: its first line "
            "names the columns reference, amount, currency, status (and fee)"
        )
    for n, row in enumerate(reader, 2):
        faults, line = _statement_line(row)
        if faults:
            raise ValueError(f"statement line {n}: {'; '.join(faults)}")
        assert line is not None
        yield line


def _statement_line(
    row: dict[str, str | None],
) -> tuple[list[str], StatementLine | None]:
    """A statement's row read, or what is wrong with each of its values."""
    faults = []
    status = (row.get("status") or "").strip().lower()
    if status not in ("booked", "returned"):
        faults.append(f"status {status!r} is not booked or returned")
    currency = (row.get("currency") or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        faults.append(f"currency {currency!r} is not a three-letter code")
        currency = ""
    amounts = {}
    for name, value in (("amount", row.get("amount") or ""), ("fee", row.get("fee"))):
        if name == "fee" and not (value or "").strip():
            amounts[name] = 0
            continue
        if not currency:
            continue  # read in the currency's own units: not known
        try:
            amounts[name] = to_minor(value or "", currency)
        except ValueError as exc:
            faults.append(f"{name}: {exc}".replace(f"{name}: amount ", f"{name} "))
    if faults:
        return faults, None
    return [], StatementLine(
        statement_reference(row.get("reference") or ""),
        amounts["amount"],
        currency,
        status,
        amounts["fee"],
    )


def to_minor(value: str, currency: str) -> int:
    """A statement's amount (major units, a point before the decimals, a sign if
    negative) as minor units of `currency`; more decimals than it has are refused."""
    text = value.strip()
    if "," in text:
        raise ValueError(f"amount {value!r}: a point before the decimals, no commas")
    try:
        return money.parse(text, currency, signed=True)
    except money.InvalidAmount as exc:
        raise ValueError(f"amount {exc}") from None
