#!/usr/bin/env python3
"""A real MQTT client the integration tests did not write: paho-mqtt (the library Home Assistant uses).

    paho_client.py PORT TOPIC [--qos N] [--retain] [--size BYTES | --message TEXT] [--count N]

Publishes COUNT messages (default 1) on TOPIC, each MESSAGE (or SIZE bytes of "x"; with COUNT > 1 a
"{i}" in MESSAGE becomes the message's index), waits until the broker has them (PUBACK for QoS 1),
then prints "published N" and disconnects. Works with paho-mqtt 1.x (Debian's python3-paho-mqtt) and 2.x.
"""

import argparse
import sys

import paho.mqtt.client as mqtt


def client(client_id):
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    return mqtt.Client(client_id=client_id)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("topic")
    ap.add_argument("--qos", type=int, default=0)
    ap.add_argument("--retain", action="store_true")
    ap.add_argument("--size", type=int)
    ap.add_argument("--message", default="")
    ap.add_argument("--count", type=int, default=1)
    a = ap.parse_args()

    c = client("paho-test-publisher")
    c.connect("127.0.0.1", a.port, keepalive=30)
    c.loop_start()
    infos = []
    for i in range(a.count):
        payload = b"x" * a.size if a.size is not None else a.message.replace("{i}", str(i)).encode()
        infos.append(c.publish(a.topic, payload, qos=a.qos, retain=a.retain))
    for info in infos:
        info.wait_for_publish(timeout=30)
        if not info.is_published():
            print("not published", file=sys.stderr)
            return 1
    c.disconnect()
    c.loop_stop()
    print(f"published {len(infos)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
