"""Study instructions: Markdown written by researchers, shown to coaches as sanitised HTML.

Researchers type instructions in the admin; the text is trusted less than code
(an account can be compromised, text gets pasted from elsewhere), so the HTML
Markdown produces passes through nh3 with a short list of tags. Raw HTML in the
Markdown is escaped rather than interpreted, and links open in a new tab
without handing the coach's page to the target.
"""

from __future__ import annotations

from functools import lru_cache

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p",
    "h1",
    "br",
    "hr",
    "h2",
    "h3",
    "h4",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=128)
def render_instructions(text: str) -> SafeString:
    """Markdown to safe HTML. Cached by text: a task page shows the same instructions on every item."""
    if not text.strip():
        return mark_safe("")
    md = markdown.Markdown(extensions=["tables", "sane_lists"])
    # Raw HTML blocks and inline tags would otherwise pass through to nh3 as markup;
    # escaping them shows a researcher's stray "<b>" as text instead of silently dropping it.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    html = md.convert(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 with an allow-list just above
