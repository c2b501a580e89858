"""The text of an uploaded file: plain text and Markdown as they are, HTML without its markup
(scripts, styles and comments dropped: what a reader does not see, a model does not read), PDF
page by page with pypdf. Text comes out in pieces (a PDF's pages), so a long file is chunked and
embedded as it is read and its ingestion can stop between pieces."""

from __future__ import annotations

import io
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import PurePosixPath

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".rst", ".csv", ".json", ".jsonl", ".log"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
PDF_SUFFIXES = frozenset({".pdf"})
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
PIECE_CHARACTERS = 100_000  # plain text is handed on in pieces of about this size


class Unreadable(Exception):
    """The file is not what its name says, or cannot be read (a broken or encrypted PDF)."""


def kind_of(filename: str) -> str | None:
    suffix = PurePosixPath(filename.lower()).suffix
    if suffix in PDF_SUFFIXES:
        return "pdf"
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return None


def content_type(filename: str) -> str:
    return {"pdf": "application/pdf", "html": "text/html"}.get(kind_of(filename) or "", "text/plain")


def pieces(filename: str, data: bytes) -> Iterator[str]:
    kind = kind_of(filename)
    if kind == "pdf":
        yield from _pdf_pages(data)
    elif kind == "html":
        yield _html_text(_decoded(data))
    elif kind == "text":
        text = _decoded(data)
        for start in range(0, len(text), PIECE_CHARACTERS):
            yield text[start : start + PIECE_CHARACTERS]
    else:
        raise Unreadable(f"Files of this type cannot be searched: {PurePosixPath(filename).suffix or 'no suffix'}.")


def _decoded(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise Unreadable("The file holds binary data, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _pdf_pages(data: bytes) -> Iterator[str]:
    import pypdf
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF-"):
        raise Unreadable("The file is not a PDF.")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Unreadable("The PDF is encrypted.")
        for page in reader.pages:
            yield page.extract_text() or ""
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise Unreadable(f"The PDF cannot be read ({type(error).__name__}).") from None


class _Text(HTMLParser):
    SKIPPED = frozenset({"script", "style", "head", "template", "noscript", "svg"})
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
                        "blockquote", "pre", "table", "ul", "ol", "hr", "title"})  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data) -> None:
        if not self.skipping:
            self.parts.append(data)


def _html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
