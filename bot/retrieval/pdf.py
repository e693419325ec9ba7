"""PDF text per page, with pypdf's own limits tightened and a per-file decoded-bytes budget.

pypdf bounds each stream; a file can still hold thousands of streams. Here the decoded page
content is summed per file, pages are capped, extracted text is capped, and the sandbox's clock
and memory ceiling bound what is left (one page that takes forever, a huge font or image).
"""

from __future__ import annotations

import io
import logging
import time
from typing import Any

from bot.retrieval.parsing import MB, Block, Limits, ParsedDoc, ParseError, tidy, too_much_text

DAMAGED = "The PDF is damaged or incomplete, so I could not read it."
LOCKED = "The PDF is password-protected; save a copy without the password and send that."


def read_pdf(data: bytes, limits: Limits) -> ParsedDoc:
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    with pypdf.apply_configuration(**_pypdf_limits(limits)):
        try:
            return _read(pypdf.PdfReader(io.BytesIO(data), strict=False), limits)
        except ParseError:
            raise
        except (pypdf.errors.FileNotDecryptedError, pypdf.errors.DependencyError):
            raise ParseError(LOCKED) from None
        except pypdf.errors.LimitReachedError:
            raise ParseError(_too_big(limits)) from None
        except (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError, AttributeError):
            raise ParseError(DAMAGED) from None
        except (IndexError, AssertionError, RecursionError, OSError, EOFError):
            raise ParseError(DAMAGED) from None


def _pypdf_limits(limits: Limits) -> dict[str, Any]:
    cap = limits.max_stream_bytes
    return {
        "maximum_declared_stream_length": cap,
        "array_based_stream_maximum_output_length": cap,
        "zlib_maximum_output_length": cap,
        "lzw_maximum_output_length": cap,
        "run_length_maximum_output_length": cap,
        "brotli_maximum_output_length": cap,
        "jbig2_maximum_output_length": cap,
        "image_maximum_buffer_size": cap,
        "stream_decoding_work_maximum_length": 3 * cap,
        "xform_maximum_invocations_per_extraction": 500,
        "jbig2dec_binary": None,
    }


def _read(reader: Any, limits: Limits) -> ParsedDoc:
    import pypdf

    if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
        raise ParseError(LOCKED)
    pages = reader.pages
    if len(pages) > limits.max_pdf_pages:
        raise ParseError(
            f"The PDF has {len(pages):,} pages; I index up to {limits.max_pdf_pages:,}."
        )
    deadline = time.monotonic() + limits.seconds
    decoded = chars = 0
    blocks: list[Block] = []
    for number, page in enumerate(pages, start=1):
        contents = page.get_contents()  # decoded once; pypdf caches it for extract_text
        decoded += len(contents.get_data()) if contents is not None else 0
        if decoded > limits.max_decoded_bytes:
            raise ParseError(_too_big(limits))
        text = tidy(page.extract_text() or "")
        chars += len(text)
        if chars > limits.max_text_chars:
            raise ParseError(too_much_text(limits))
        if time.monotonic() > deadline:
            raise ParseError(
                f"Reading the PDF took longer than {limits.seconds:.0f} s, so I stopped."
            )
        if text:
            blocks.append(Block(text, page=number))
    return ParsedDoc(blocks)


def _too_big(limits: Limits) -> str:
    return (
        "The PDF unpacks to more data than I read from one file "
        f"(a part over {limits.max_stream_bytes // MB} MB or over "
        f"{limits.max_decoded_bytes // MB} MB in all), so I stopped."
    )
