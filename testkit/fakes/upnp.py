"""SOAP and SCPD text for the fake speaker: just enough UPnP for the real SoCo library.

SoCo parses what a Sonos player sends, so the envelopes and service descriptions here
follow the player's format (namespaces, escaped argument values, the UPnP fault body).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
CONTROL_NS = "urn:schemas-upnp-org:control-1-0"
EVENT_NS = "urn:schemas-upnp-org:event-1-0"
AVT_EVENT_NS = "urn:schemas-upnp-org:metadata-1-0/AVT/"
XML_CONTENT_TYPE = 'text/xml; charset="utf-8"'


@dataclass(frozen=True)
class ActionSpec:
    """One action of a service: argument names in and out (all typed as strings)."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


class SoapFaultError(Exception):
    """Raised by an action handler to answer a UPnP error (HTTP 500 with a fault)."""

    def __init__(self, code: int, description: str = "") -> None:
        super().__init__(f"UPnP error {code} {description}".strip())
        self.code = code


def parse_call(body: bytes) -> tuple[str, dict[str, str]]:
    """The action name and its arguments from a SOAP request body."""
    root = ElementTree.fromstring(body)
    envelope_body = root.find(f"{{{SOAP_NS}}}Body")
    if envelope_body is None or len(envelope_body) == 0:
        raise SoapFaultError(401, "no action in the envelope")
    call = envelope_body[0]
    action = call.tag.rsplit("}", 1)[-1]
    arguments = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in call}
    return action, arguments


def response_envelope(service_type: str, action: str, values: dict[str, str]) -> bytes:
    arguments = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in values.items())
    return (
        '<?xml version="1.0"?>'
        f'<s:Envelope xmlns:s="{SOAP_NS}" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
        f'<u:{action}Response xmlns:u="urn:schemas-upnp-org:service:{service_type}:1">'
        f"{arguments}</u:{action}Response></s:Body></s:Envelope>"
    ).encode()


def fault_envelope(code: int) -> bytes:
    return (
        '<?xml version="1.0"?>'
        f'<s:Envelope xmlns:s="{SOAP_NS}" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault>'
        "<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
        f'<UPnPError xmlns="{CONTROL_NS}"><errorCode>{code}</errorCode></UPnPError>'
        "</detail></s:Fault></s:Body></s:Envelope>"
    ).encode()


def scpd(actions: list[ActionSpec]) -> bytes:
    """A service description SoCo can read to compose arguments for keyword calls."""
    variables: set[str] = set()
    action_xml = []
    for spec in actions:
        arguments = []
        for direction, names in (("in", spec.inputs), ("out", spec.outputs)):
            for name in names:
                variable = f"A_ARG_TYPE_{name}"
                variables.add(variable)
                arguments.append(
                    f"<argument><name>{name}</name><direction>{direction}</direction>"
                    f"<relatedStateVariable>{variable}</relatedStateVariable></argument>"
                )
        action_xml.append(
            f"<action><name>{spec.name}</name>"
            f"<argumentList>{''.join(arguments)}</argumentList></action>"
        )
    state = "".join(
        f'<stateVariable sendEvents="no"><name>{variable}</name>'
        "<dataType>string</dataType></stateVariable>"
        for variable in sorted(variables)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<scpd xmlns="urn:schemas-upnp-org:service-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion>"
        f"<actionList>{''.join(action_xml)}</actionList>"
        f"<serviceStateTable>{state}</serviceStateTable></scpd>"
    ).encode()


def device_description(name: str, uid: str, ip: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<root xmlns="urn:schemas-upnp-org:device-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion>"
        "<device><deviceType>urn:schemas-upnp-org:device:ZonePlayer:1</deviceType>"
        f"<friendlyName>{escape(ip)} - Fake Sonos</friendlyName>"
        "<manufacturer>Sonos, Inc.</manufacturer><modelNumber>S1</modelNumber>"
        "<modelName>Fake Sonos One</modelName><softwareVersion>79.1-00000</softwareVersion>"
        "<hardwareVersion>1.0</hardwareVersion><displayVersion>16.0</displayVersion>"
        f"<serialNum>00-0E-58-00-00-01:A</serialNum><UDN>uuid:{uid}</UDN>"
        f"<roomName>{escape(name)}</roomName>"
        "<iconList><icon><url>/img/icon.png</url></icon></iconList>"
        "</device></root>"
    ).encode()


def last_change_event(values: dict[str, str]) -> bytes:
    """An AVTransport NOTIFY body: the variables in an escaped LastChange document."""
    variables = "".join(f"<{name} val={quoteattr(value)}/>" for name, value in values.items())
    last_change = (
        f'<Event xmlns="{AVT_EVENT_NS}"><InstanceID val="0">{variables}</InstanceID></Event>'
    )
    return (
        f'<e:propertyset xmlns:e="{EVENT_NS}"><e:property>'
        f"<LastChange>{escape(last_change)}</LastChange>"
        "</e:property></e:propertyset>"
    ).encode()
