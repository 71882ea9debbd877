"""Several sites: a site's Mosquitto bridges ``chalkwall/<site>/#`` to a central broker (the snippet
docs/hub.md gives), tested with two real brokers — what the hub publishes at the site, retained or
not, reaches a subscriber on the central broker; the TLS form of the snippet is one Mosquitto accepts."""

from __future__ import annotations

import time
from pathlib import Path

from tests.mosquitto import Broker, Client, free_port, needs_mosquitto
from tests.test_hub_e2e import wait_for

pytestmark = needs_mosquitto

BRIDGE = """
connection chalkwall-{site}-to-central
address {address}
bridge_protocol_version mqttv50
cleansession false
local_clientid chalkwall-bridge-{site}
remote_clientid chalkwall-bridge-{site}
topic chalkwall/{site}/# out 1
"""
TLS = """remote_username bridge-{site}
remote_password {password}
bridge_cafile {cafile}
bridge_insecure false
"""


def test_a_bridged_site_reaches_the_central_broker(tmp_path: Path) -> None:
    central_port, site_port = free_port(), free_port()
    (tmp_path / "central").mkdir()
    (tmp_path / "site").mkdir()
    central = Broker(tmp_path / "central", f"listener {central_port} 127.0.0.1\nallow_anonymous true\n",
                     [central_port]).start()
    site = Broker(tmp_path / "site", f"listener {site_port} 127.0.0.1\nallow_anonymous true\n" +
                  BRIDGE.format(site="acme", address=f"127.0.0.1:{central_port}"), [site_port]).start()
    hub, head_office = Client("hub"), Client("head-office")
    try:
        assert hub.connect(site_port) == 0 and head_office.connect(central_port) == 0
        hub.publish("chalkwall/acme/board/team/night", b'{"v":1,"kind":"board"}', retain=True)
        # The bridge is up once the central broker has the retained board: until then an event could
        # overtake the head office's SUBSCRIBE on a loaded machine (CI saw exactly that), so wait for it.
        head_office.mqtt.subscribe("chalkwall/#", qos=1)
        assert wait_for(lambda: "chalkwall/acme/board/team/night" in {m.topic for m in head_office.messages},
                        timeout=15), site.log_text()
        hub.publish("chalkwall/acme/events/team/night", b'{"v":1,"kind":"event"}')
        hub.publish("chalkwall/other/board/team/x", b"not bridged")
        assert wait_for(lambda: "chalkwall/acme/events/team/night" in {m.topic for m in head_office.messages},
                        timeout=15), head_office.messages
        time.sleep(0.3)  # the unbridged publish went out after the event: give it the same chance to leak
        assert "chalkwall/other/board/team/x" not in {m.topic for m in head_office.messages}  # only its site
    finally:
        hub.close()
        head_office.close()
        site.stop()
        central.stop()


def test_the_tls_bridge_snippet_is_a_config_mosquitto_accepts(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "b").mkdir()
    ca = tmp_path / "central-ca.crt"
    from datetime import datetime, timezone

    from feeds.publish.certs import make_ca

    ca.write_bytes(make_ca(datetime.now(timezone.utc))[0])
    body = (f"listener {port} 127.0.0.1\nallow_anonymous true\n" + BRIDGE.format(site="acme", address="192.0.2.1:8883")
            + TLS.format(site="acme", password="x", cafile=ca))
    broker = Broker(tmp_path / "b", body, [port]).start()  # raises if mosquitto refused the config
    try:
        time.sleep(0.5)
        assert broker.proc is not None and broker.proc.poll() is None
        log = broker.log_text()  # (the central broker is not there: "Error creating bridge" is the connection)
        assert "Config loaded" in log and "Connecting bridge (step 1) chalkwall-acme-to-central" in log, log
    finally:
        broker.stop()
