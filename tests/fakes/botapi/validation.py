"""Request validation as the real API does it: HTML parse mode, entities, inline keyboards.

Each check raises the 400 Telegram answers with (``BotAPIError``), word for word where it
matters to the bot (``can't parse entities: ...``, ``BUTTON_DATA_INVALID``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from tests.fakes.botapi.records import JSON, BotAPIError, bad_request

MAX_CALLBACK_DATA = 64
BUTTON_ACTIONS = frozenset(
    [
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    ]
)
_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _TelegramHTML(HTMLParser):
    """Telegram's HTML parse mode: the allowed tags only, every tag closed, no bare '<'."""

    def __init__(self, raw: str) -> None:
        super().__init__(convert_charrefs=False)
        self.raw = raw
        self.parts: list[str] = []
        self.length = 0  # UTF-16 code units, as entity offsets are counted
        self.stack: list[tuple[str, dict[str, str | None], int]] = []
        self.entities: list[JSON] = []
        self.pre_language: dict[int, str] = {}
        self.line_starts = [0]
        for match in re.finditer("\n", raw):
            self.line_starts.append(match.end())

    def error_at(self, what: str, extra: int = 0) -> BotAPIError:
        line, column = self.getpos()
        index = self.line_starts[line - 1] + column + extra
        offset = len(self.raw[:index].encode())
        return bad_request(f"can't parse entities: {what} at byte offset {offset}")

    def text(self, data: str) -> None:
        self.parts.append(data)
        self.length += _utf16_len(data)

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise self.error_at('Unsupported start tag ""', data.index("<"))
        self.text(data)

    def handle_entityref(self, name: str) -> None:
        self.text(_HTML_ENTITIES.get(name, f"&{name};"))

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self.text(chr(code))
        except (ValueError, OverflowError):
            raise self.error_at(f'Unsupported HTML entity "&#{name};"') from None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        allowed = tag in _HTML_ENTITY_TYPES
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            allowed = False
        if not allowed:
            raise self.error_at(f'Unsupported start tag "{tag}"')
        self.stack.append((tag, attributes, self.length))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise self.error_at(f'Unexpected end tag "{tag}"')
        open_tag, attributes, start = self.stack.pop()
        if open_tag != tag:
            raise self.error_at(f'Unmatched end tag, expected "</{open_tag}>", found "</{tag}>"')
        self.add_entity(tag, attributes, start)

    def add_entity(self, tag: str, attributes: dict[str, str | None], start: int) -> None:
        length = self.length - start
        css = attributes.get("class") or ""
        in_pre = bool(self.stack) and self.stack[-1][0] == "pre"
        if tag == "code" and in_pre and css.startswith("language-"):
            self.pre_language[len(self.stack) - 1] = css.removeprefix("language-")
            return
        if length <= 0:
            return
        entity: JSON = {"type": _HTML_ENTITY_TYPES[tag], "offset": start, "length": length}
        if tag == "a":
            if not attributes.get("href"):
                return
            entity["url"] = attributes["href"]
        elif tag == "pre" and len(self.stack) in self.pre_language:
            entity["language"] = self.pre_language.pop(len(self.stack))
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        self.entities.append(entity)

    def handle_comment(self, data: str) -> None:
        raise self.error_at('Unsupported start tag "!--"')

    def handle_decl(self, decl: str) -> None:
        raise self.error_at('Unsupported start tag "!"')

    def handle_pi(self, data: str) -> None:
        raise self.error_at('Unsupported start tag "?"')

    def unknown_decl(self, data: str) -> None:
        raise self.error_at('Unsupported start tag "!"')

    def finish(self) -> tuple[str, list[JSON]]:
        self.close()
        if self.stack:
            tag = self.stack[-1][0]
            raise bad_request(
                f"can't parse entities: Can't find end tag corresponding to start tag \"{tag}\""
            )
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), entities


def parse_html(raw: str) -> tuple[str, list[JSON]]:
    """The text a user sees and its entities, or a 400 like Telegram's for malformed HTML."""
    parser = _TelegramHTML(raw)
    parser.feed(raw)
    return parser.finish()


def render_text(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSON]]:
    """Apply parse_mode. Markdown modes are accepted but not parsed by this fake."""
    if not parse_mode:
        return text, list(entities or [])
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode in ("markdown", "markdownv2"):
        return text, []
    raise bad_request("unsupported parse_mode")


def check_reply_markup(markup: Any) -> JSON | None:
    """Validate a reply_markup; return the inline keyboard a Message shows (or None)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None  # reply keyboards and force_reply are not part of the returned Message
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            check_button(button)
    if not any(rows):
        return None
    return {"inline_keyboard": rows}


def check_button(button: Any) -> None:
    """One inline keyboard button, with the 64-byte callback_data limit."""
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be a String')
    if not BUTTON_ACTIONS & button.keys():
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not str(button["url"]).startswith(("http://", "https://", "tg://")):
        raise bad_request("BUTTON_URL_INVALID")


def command_entities(text: str) -> list[JSON]:
    """The bot_command entity real Telegram adds for a leading /command."""
    match = _COMMAND.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(match.group())}]
