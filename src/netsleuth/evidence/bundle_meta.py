"""The schema of a bundle's meta.json, validated at the door: a field of the wrong type is named,
never an internal error. Imported only where a bundle is read (pydantic costs start-up time)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from netsleuth.evidence.model import Status

Finite = Annotated[float, Field(allow_inf_nan=False, ge=0)]


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    status: Status
    data: StrictStr
    source: StrictStr = ""
    duration_s: Finite = 0.0
    netns: StrictStr = ""
    key: StrictStr = ""
    rc: Annotated[int, Field(ge=-(2**31), lt=2**32)] | None = None
    error: StrictStr = ""
    later: StrictStr | None = None
    interval_s: Finite | None = None


class Note(BaseModel):
    """A note kept as wording (messages.Msg): its key and params (nested notes as params too)."""

    model_config = ConfigDict(extra="ignore")

    msg: StrictStr
    params: dict[StrictStr, Any] = {}


class Meta(BaseModel):
    model_config = ConfigDict(extra="ignore")

    format: StrictStr
    hostname: StrictStr = ""
    kernel: StrictStr = ""
    collected_at: StrictStr = ""
    source: StrictStr = ""
    namespaces: list[StrictStr] = [""]
    notes: list[StrictStr | Note] = []
    evidence: list[Record] = []
