"""marshmallow schemas for the HTTP API's bodies, by subject: base (the limits,
the field helpers, the vocabularies, the pseudonym rule), people, programmes,
strategies, finance and oversight. Import them from here:
`from gateway.schemas import X`.

Every text field and list a request can carry has a maximum length, so that an
oversized value is refused here and never travels on the bus; the limits appear in
the OpenAPI document as maxLength and maxItems. The services behind check each field
in depth (and often more tightly)."""

from gateway.schemas.base import *  # noqa: F403
from gateway.schemas.finance import *  # noqa: F403
from gateway.schemas.oversight import *  # noqa: F403
from gateway.schemas.people import *  # noqa: F403
from gateway.schemas.programmes import *  # noqa: F403
from gateway.schemas.strategies import *  # noqa: F403
