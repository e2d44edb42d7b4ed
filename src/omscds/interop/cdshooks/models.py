"""CDS Hooks 2.0 wire models (pydantic v2), with the 3.0 IG invariants as validators.

Requests allow unknown fields (forward compatibility); responses forbid them and serialise
without nulls (the spec's "no null or empty values" rule). Invariant ids follow
interop-notes.md §1.6 (cds-resp-*, cds-r-*, cds-fb-*).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omscds.interop.uuids import random_uuid

__all__ = [
    "AcceptedSuggestion",
    "Action",
    "Card",
    "CdsRequest",
    "CdsResponse",
    "CdsService",
    "Coding",
    "Discovery",
    "Feedback",
    "FeedbackRequest",
    "FhirAuthorization",
    "Link",
    "OverrideReason",
    "Source",
    "Suggestion",
    "new_uuid",
]

#: the spec says a "<140-character" summary: at most 139
SUMMARY_MAX = 139


#: the card and suggestion uuid factory (kept under its old name: it is exported)
new_uuid = random_uuid


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        return out


class _In(BaseModel):
    model_config = ConfigDict(extra="allow")


class Coding(_Out):
    system: str
    code: str
    display: str | None = None


class Source(_Out):
    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(_Out):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _cds_resp_2(self) -> Action:
        if self.type == "delete" and (self.resource is not None or not self.resourceId):
            raise ValueError("cds-resp-2: a delete action needs resourceId and no resource")
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"a {self.type} action needs a resource")
        return self


class Suggestion(_Out):
    label: str
    uuid: str = Field(default_factory=new_uuid)
    isRecommended: bool | None = None
    actions: list[Action] = Field(default_factory=list)


class Link(_Out):
    label: str
    url: str
    type: Literal["absolute", "smart"]
    appContext: str | None = None
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _cds_resp_3(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("cds-resp-3: appContext only on smart links")
        return self


class Card(_Out):
    uuid: str = Field(default_factory=new_uuid)
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None

    @model_validator(mode="after")
    def _invariants(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("cds-resp-6: suggestions need selectionBehavior")
        recommended = sum(1 for s in self.suggestions or () if s.isRecommended)
        if self.selectionBehavior == "at-most-one" and recommended > 1:
            raise ValueError("cds-resp-1: at-most-one allows one recommended suggestion")
        for reason in self.overrideReasons or ():
            if not reason.display:
                raise ValueError("cds-resp-4: every override reason needs a display")
        return self


class CdsResponse(_Out):
    cards: list[Card] = Field(default_factory=list)
    systemActions: list[Action] | None = None


class CdsService(_Out):
    hook: str
    id: str
    title: str | None = None
    description: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class Discovery(_Out):
    services: list[CdsService]


class FhirAuthorization(_In):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None

    def __repr__(self) -> str:  # never print the token
        return f"FhirAuthorization(scope={self.scope!r}, subject={self.subject!r})"

    __str__ = __repr__


class CdsRequest(_In):
    hook: str
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _cds_r_1(self) -> CdsRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("cds-r-1: fhirAuthorization requires fhirServer")
        return self


class AcceptedSuggestion(_In):
    id: str


class OverrideReason(_In):
    reason: dict[str, Any] | None = None
    userComment: str | None = None

    @model_validator(mode="after")
    def _cds_fb_3(self) -> OverrideReason:
        if self.reason is None and not self.userComment:
            raise ValueError("cds-fb-3: overrideReason needs a reason or a userComment")
        return self


class Feedback(_In):
    card: str = Field(min_length=1)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str = Field(min_length=1)

    @model_validator(mode="after")
    def _cds_fb_2(self) -> Feedback:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("cds-fb-2: an accepted outcome needs acceptedSuggestions")
        return self


class FeedbackRequest(_In):
    feedback: list[Feedback] = Field(min_length=1)
