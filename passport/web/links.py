"""The links a resolver gives for a passport or a lot: an RFC 9264 linkset, GS1 link types.

Link relation types are the GS1 Web Vocabulary's, written as full URIs in the linkset (the
GS1 resolver linkset schema accepts full URIs or registered names as keys) and accepted as
`gs1:` CURIEs in `?linkType=`. Every target is on this service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

GS1 = "https://gs1.org/voc/"
LINKSET_MEDIA_TYPE = "application/linkset+json"


@dataclass(frozen=True, slots=True)
class Link:
    """One link: its GS1 link type (without namespace), target, title and languages."""

    rel: str
    href: str
    title: str
    media_type: str
    hreflang: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """Return the link object as the linkset writes it."""
        body: dict[str, Any] = {"href": self.href, "title": self.title, "type": self.media_type}
        if self.hreflang:
            body["hreflang"] = list(self.hreflang)
        return body


def passport_links(base_url: str, path: str, name: str) -> list[Link]:
    """Return the links of the passport at Digital Link `path`, the default link first."""
    uri = f"{base_url}/{path}"
    api = f"{base_url}/api/v1/passports/{path}"
    return [
        Link("defaultLink", uri, f"{name}: lifecycle", "text/html", ("en",)),
        Link(
            "pip",
            f"{uri}?lang=en",
            f"{name}: product information and lifecycle",
            "text/html",
            ("en",),
        ),
        Link(
            "pip",
            f"{uri}?lang=nl",
            f"{name}: productinformatie en levenscyclus",
            "text/html",
            ("nl",),
        ),
        Link(
            "dpp",
            api,
            f"{name}: digital product passport (W3C verifiable credential)",
            "application/json",
        ),
        Link(
            "sustainabilityInfo",
            f"{api}/lineage",
            f"{name}: lineage, recycled content and material lots",
            "application/json",
        ),
        Link(
            "epcis",
            f"{api}/events.epcis",
            f"{name}: lifecycle events (EPCIS 2.0)",
            "application/ld+json",
        ),
        Link(
            "certificationInfo",
            f"{api}/bundle",
            f"{name}: offline verification bundle (signatures, log proofs, checkpoint)",
            "application/json",
        ),
    ]


def lot_links(base_url: str, path: str, material: str) -> list[Link]:
    """Return the links of the material lot at Digital Link `path`."""
    uri = f"{base_url}/{path}"
    api = f"{base_url}/api/v1/lots/{path}"
    title = f"material lot ({material})"
    return [
        Link("defaultLink", uri, title, "text/html", ("en",)),
        Link("pip", f"{uri}?lang=en", title, "text/html", ("en",)),
        Link("pip", f"{uri}?lang=nl", f"materiaalpartij ({material})", "text/html", ("nl",)),
        Link("dpp", api, f"{title}: signed lot credential and claims", "application/json"),
    ]


def linkset(anchor: str, links: list[Link], description: str) -> dict[str, Any]:
    """Return the RFC 9264 linkset document (JSON) of `anchor`."""
    context: dict[str, Any] = {"anchor": anchor, "description": description}
    for link in links:
        context.setdefault(GS1 + link.rel, []).append(link.as_json())
    return {"linkset": [context]}


def link_type(asked: str) -> str | None:
    """Return the GS1 link type `?linkType=` names (`gs1:pip`, a full URI or `pip`)."""
    for prefix in ("gs1:", GS1, "http://gs1.org/voc/"):
        if asked.startswith(prefix):
            return asked[len(prefix) :]
    return asked if asked.isalpha() else None


def choose(links: list[Link], rel: str, language: str) -> Link | None:
    """Return the link of type `rel` in `language` if there is one, else the first of `rel`."""
    matching = [link for link in links if link.rel == rel]
    preferred = [link for link in matching if language in link.hreflang]
    found = preferred or matching
    return found[0] if found else None


def link_header(uri: str) -> str:
    """Return the `Link` header every resolver response carries: where its linkset is."""
    target = quote(uri, safe=":/%?=&~-._!$'()*+,;@")
    return f'<{target}?linkType=linkset>; rel="linkset"; type="{LINKSET_MEDIA_TYPE}"'
