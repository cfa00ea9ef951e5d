"""The gateway service is composed of its consoles' and APIs' classes: a name two of
them define would hide one behind the other (the finance home once drew the
communicator's, through a shared helper's name)."""

from gateway.base import GatewayBase
from gateway.service import GatewayService


def test_no_two_parts_of_the_gateway_define_the_same_name() -> None:
    defined: dict[str, list[str]] = {}
    for part in GatewayService.__mro__:
        if part is GatewayBase or not part.__module__.startswith("gateway."):
            continue
        for name in vars(part):
            if not name.startswith("__"):
                defined.setdefault(name, []).append(part.__name__)
    assert len(GatewayService.__mro__) > 10  # the consoles and APIs are all here
    twice = {name: parts for name, parts in defined.items() if len(parts) > 1}
    assert not twice, f"defined in more than one part: {twice}"
