"""Query and reply models of the dev console. Its pages read their query leniently (unknown
parameters are ignored, as on the customer pages) and an empty filter field means no filter."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel

from ..validation import Query


class WorkspaceQuery(Query):
    customer: Optional[str] = None  # the usage chart of one customer
    page: Optional[str] = None  # of the customers table


class RequestsQuery(Query):
    route: Optional[str] = None
    status: Optional[str] = None
    customer: Optional[str] = None
    page: Optional[str] = None


class WebhooksQuery(Query):
    status: Optional[str] = None  # pending | delivered | failed
    page: Optional[str] = None


class Live(BaseModel):
    """What the console's script polls every 2 s: when `stamp` changes, the page's lists are
    fetched again. `stamp` is opaque; the other members say what the page shows."""

    stamp: str
    workspaces: int
    requests: int
