#!/usr/bin/env python3
"""An mDNS responder the tests did not write: python-zeroconf (the mDNS library Home Assistant uses).

    mdns_responder.py NAME ADDRESS

Announces the host NAME (e.g. diuna-test-broker.local) at the IPv4 ADDRESS on the loopback
interface, as the server of an `_mqtt._tcp` service, prints "ready", and answers queries until it is
killed. The loopback interface must carry multicast (the test runs in a network namespace of its own
where it turns that on).
"""

import socket
import sys
import time

from zeroconf import IPVersion, ServiceInfo, Zeroconf


def main():
    name, address = sys.argv[1], sys.argv[2]
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    info = ServiceInfo(
        "_mqtt._tcp.local.",
        "Diuna test broker._mqtt._tcp.local.",
        addresses=[socket.inet_aton(address)],
        port=1883,
        server=name.rstrip(".") + ".",
    )
    zc.register_service(info)
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        zc.close()


if __name__ == "__main__":
    main()
