"""Render a vendor's Markdown description as safe HTML: no raw HTML, no script links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

# Links leave the marketplace: no referrer, no ranking passed on, no window handle.
LINK_REL = "nofollow noopener noreferrer"


def _link_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", LINK_REL)
    return str(renderer.renderToken(tokens, idx, options, env))


# The Content-Security-Policy loads images only from our own origin, so an image written in
# a description becomes a link to it instead of a broken picture.
def _image_as_link(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = renderer.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escape(src)}" rel="{LINK_REL}">{escape(alt)}</a>'


def _parser() -> MarkdownIt:
    # html=False escapes raw HTML; markdown-it's validateLink drops javascript:, vbscript:,
    # file: and data: links.
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.add_render_rule("link_open", _link_open)
    parser.add_render_rule("image", _image_as_link)
    return parser


_PARSER = _parser()


def render_markdown(text: str) -> Markup:
    """Return a description's Markdown as HTML that carries no markup of the author's own."""
    return Markup(_PARSER.render(text or ""))  # noqa: S704 (the parser escapes raw HTML)
