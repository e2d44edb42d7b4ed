"""CDS Hooks 2.0: discovery, the patient-view and order services, cards, JWT checks, feedback."""

from __future__ import annotations

from omscds.interop.cdshooks.feedback import FeedbackStore
from omscds.interop.cdshooks.fhirserver import FhirServers
from omscds.interop.cdshooks.models import (
    Card,
    CdsRequest,
    CdsResponse,
    CdsService,
    Discovery,
    FeedbackRequest,
)
from omscds.interop.cdshooks.prefetch import (
    PrefetchError,
    gather_prefetch,
    read_prefetch,
    render_template,
)
from omscds.interop.cdshooks.security import ALLOWED_ALGORITHMS, JwtVerifier
from omscds.interop.cdshooks.services import (
    PREFETCH,
    SERVICES,
    HookCall,
    answer_hook,
    discovery,
    prepare_hook,
)

__all__ = [
    "ALLOWED_ALGORITHMS",
    "PREFETCH",
    "SERVICES",
    "Card",
    "CdsRequest",
    "CdsResponse",
    "CdsService",
    "Discovery",
    "FeedbackRequest",
    "FeedbackStore",
    "FhirServers",
    "HookCall",
    "JwtVerifier",
    "PrefetchError",
    "answer_hook",
    "discovery",
    "gather_prefetch",
    "prepare_hook",
    "read_prefetch",
    "render_template",
]
