"""The XML envelope: one ``<ExchangeMessage>`` per record and the platform's ``<ExchangeAck>``, both
checked against ``exchange_message.xsd`` (kept beside this module) when written and when read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from lxml import etree

from creditsync.exceptions import FatalError
from creditsync.sinks.base import PushItem, Receipt, answer

NS = "urn:creditsync:exchange:1"
_Q = f"{{{NS}}}"
# Hardened: no entities, no network, no huge trees (an answer is read from outside the gateway).
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


class EnvelopeError(FatalError):
    """A message or an answer that does not follow exchange_message.xsd: nothing in it can be trusted."""


@dataclass(frozen=True)
class Header:
    sender: str
    receiver: str
    flow_id: str
    operator: str
    category: str


@dataclass(frozen=True)
class Message:
    """An envelope as read back (by the platform's side)."""

    item_id: str
    category: str
    action: str
    business_key: str
    platform_id: str | None
    data: dict[str, str] = field(default_factory=dict)
    flow_id: str = ""


@cache
def schema() -> etree.XMLSchema:
    source = resources.files(__package__).joinpath("exchange_message.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(source, _PARSER))


def _el(parent: Any, name: str, text: str | None) -> None:
    etree.SubElement(parent, _Q + name).text = text


def build(item: PushItem, header: Header, serial: int) -> bytes:
    root = etree.Element(_Q + "ExchangeMessage", nsmap={None: NS}, version="1.0")
    head = etree.SubElement(root, _Q + "Header")
    for name, value in (("Sender", header.sender), ("Receiver", header.receiver), ("FlowId", header.flow_id),
                        ("ItemId", item.idempotency_key), ("SerialNo", str(serial)),
                        ("Operator", header.operator), ("Category", header.category),
                        ("Action", item.action), ("BusinessKey", item.business_key)):
        _el(head, name, value)
    if item.platform_id:
        _el(head, "PlatformId", item.platform_id)
    _el(head, "SentAt", datetime.now(UTC).isoformat(timespec="seconds"))
    body = etree.SubElement(root, _Q + "Body")
    for code, value in item.data.items():
        if value is not None:
            etree.SubElement(body, _Q + "Field", code=code).text = str(value)
    return _checked(root)


def parse(raw: bytes) -> Message:
    root = _read(raw, "ExchangeMessage")
    head = root.find(_Q + "Header")
    get = {child.tag.removeprefix(_Q): child.text or "" for child in head}
    data = {f.get("code"): f.text or "" for f in root.find(_Q + "Body")}
    return Message(get["ItemId"], get["Category"], get["Action"], get["BusinessKey"],
                   get.get("PlatformId") or None, data, get["FlowId"])


def build_ack(item_id: str, status: str, platform_id: str | None, messages: list[str]) -> bytes:
    root = etree.Element(_Q + "ExchangeAck", nsmap={None: NS})
    _el(root, "ItemId", item_id)
    _el(root, "Status", status)
    if platform_id:
        _el(root, "PlatformId", platform_id)
    for message in messages:
        _el(root, "Message", message)
    return _checked(root)


def parse_ack(raw: bytes) -> Receipt:
    root = _read(raw, "ExchangeAck")
    status = root.findtext(_Q + "Status") or ""
    messages = [m.text or "" for m in root.findall(_Q + "Message")]
    return answer(root.findtext(_Q + "ItemId") or "", "rejected" if status == "rejected" else "accepted",
                  root.findtext(_Q + "PlatformId"), messages)


def _checked(root: Any) -> bytes:
    if not schema().validate(root):
        raise EnvelopeError(f"envelope does not follow exchange_message.xsd: {schema().error_log.last_error}")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _read(raw: bytes, expected: str) -> Any:
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise EnvelopeError(f"not XML: {exc}") from None
    if root.tag != _Q + expected or not schema().validate(root):
        error = schema().error_log.last_error
        raise EnvelopeError(f"not a valid {expected} (exchange_message.xsd): {error or root.tag}")
    return root
