"""An in-app message's content as data: the working copy of a message, the frozen approved
copy campaigns show, and rendering it for one lead and platform (what the SDK receives).

Rendering compiles the approved copy's templates once per process and approval (the answer
to "what should I show now?" renders on every call), then fills tokens with one dict lookup
each, as push personalization does."""

from __future__ import annotations

from typing import Any

from inapp.models import TAP_TARGETS, InAppMessage
from notifications.images import image_absolute_url
from notifications.personalization import CompiledTemplate, compile_template

CONTENT_FIELDS = (
    "layout",
    "title",
    "body",
    "image_url",
    "buttons",
    "tap_actions",
    "background_color",
    "text_color",
    "button_color",
    "button_text_color",
    "close_button",
)
# The model columns the composer and the API edit (the image is a file, set apart).
COLUMN_FIELDS = tuple(name for name in CONTENT_FIELDS if name != "image_url")


def message_working_content(message: InAppMessage) -> dict[str, Any]:
    """The working copy (what the composer shows), image as an absolute URL."""
    content: dict[str, Any] = {name: getattr(message, name) for name in COLUMN_FIELDS}
    content["image_url"] = image_absolute_url(message.image.name or "")
    return content


def _lenient(text: str) -> CompiledTemplate:
    # Approved content was validated; a token naming a custom field that no lead has any
    # more still renders its default rather than failing the SDK call.
    return compile_template(text, require_default=False)


class CompiledMessage:
    """One approved content with its templates compiled."""

    def __init__(self, content: dict[str, Any]) -> None:
        self.content = content
        self.title = _lenient(content["title"])
        self.body = _lenient(content["body"])
        self.labels = [_lenient(button["label"]) for button in content["buttons"]]
        self.uris = {
            (where, platform): _lenient(action["uri"])
            for where, actions in self._actions()
            for platform, action in actions.items()
        }

    def _actions(self) -> list[tuple[str, dict[str, dict[str, str]]]]:
        pairs = [(target, self.content["tap_actions"][target]) for target in TAP_TARGETS]
        for index, button in enumerate(self.content["buttons"], start=1):
            pairs.append((f"button{index}", {p: button[p] for p in ("ios", "android")}))
        return pairs

    def _action(self, where: str, platform: str, values: dict[str, str]) -> dict[str, str]:
        action = (
            self.content["tap_actions"][where][platform]
            if where in TAP_TARGETS
            else self.content["buttons"][int(where.removeprefix("button")) - 1][platform]
        )
        return {"action": action["action"], "uri": self.uris[(where, platform)].render(values)}

    def render(self, *, platform: str, values: dict[str, str]) -> dict[str, Any]:
        """The message as the SDK shows it on `platform` for a lead with token `values`."""
        content = self.content
        return {
            "layout": content["layout"],
            "title": self.title.render(values),
            "body": self.body.render(values),
            "image_url": content["image_url"],
            "close_button": content["close_button"],
            "colors": {
                "background": content["background_color"],
                "text": content["text_color"],
                "button": content["button_color"],
                "button_text": content["button_text_color"],
            },
            "buttons": [
                {
                    "id": f"button{index}",
                    "label": label.render(values),
                    **self._action(f"button{index}", platform, values),
                }
                for index, label in enumerate(self.labels, start=1)
            ],
            "tap_actions": {
                target: self._action(target, platform, values) for target in TAP_TARGETS
            },
        }


_COMPILED: dict[tuple[int, str], CompiledMessage] = {}
_COMPILED_MAX = 512


def message_compiled(
    *, message_id: int, approved_at_iso: str, content: dict[str, Any]
) -> CompiledMessage:
    """The compiled approved copy, cached per process by (message, approval time): a new
    approval is a new key, so nothing stale is ever shown."""
    key = (message_id, approved_at_iso)
    compiled = _COMPILED.get(key)
    if compiled is None:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        compiled = _COMPILED[key] = CompiledMessage(content)
    return compiled
