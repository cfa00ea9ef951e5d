"""pain.001 files held to the ISO 20022 XSD: the official pain.001.001.09 schema as
the sepaxml package ships it (its only route onto a machine that reaches nothing but
package registries), read by xmlschema. Every test that writes a bank file passes it
through `assert_valid_pain001`."""

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import sepaxml
import xmlschema

from svyaz import money

PAIN001 = "pain.001.001.09"
NS = {"p": f"urn:iso:std:iso:20022:tech:xsd:{PAIN001}"}


@cache
def schema() -> Any:
    return xmlschema.XMLSchema(
        Path(sepaxml.__file__).parent / "schemas" / f"{PAIN001}.xsd"
    )


def pain001_errors(text: str) -> list[str]:
    return [f"{e.path}: {e.reason}" for e in schema().iter_errors(text)]


def assert_valid_pain001(text: str) -> Any:
    """Valid against the XSD, and its control sums and counts add up (which the
    XSD cannot check); the parsed document, for further assertions."""
    errors = pain001_errors(text)
    assert errors == [], errors[:5]
    document = xmlschema.XMLResource(text).root
    blocks = document.findall(".//p:PmtInf", NS)
    amounts = []
    for block in blocks:
        mine = [Decimal(a.text) for a in block.findall(".//p:InstdAmt", NS)]
        assert Decimal(block.findtext("p:CtrlSum", namespaces=NS)) == sum(mine)
        assert int(block.findtext("p:NbOfTxs", namespaces=NS)) == len(mine)
        amounts += mine
    header = document.find(".//p:GrpHdr", NS)
    assert Decimal(header.findtext("p:CtrlSum", namespaces=NS)) == sum(amounts)
    assert int(header.findtext("p:NbOfTxs", namespaces=NS)) == len(amounts)
    for amount in document.findall(".//p:InstdAmt", NS):
        # exactly the currency's ISO 4217 decimals: 2 for EUR, none for JPY, 3 for KWD
        assert len(amount.text.partition(".")[2]) == money.exponent(amount.get("Ccy"))
    return document
