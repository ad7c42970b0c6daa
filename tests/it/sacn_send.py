#!/usr/bin/env python3
"""An E1.31 source for the integration tests, built on the `sacn` package (a client Diuna did not write).

Usage: sacn_send.py PORT UNIVERSE PRIORITY NAME [--multicast]
Then one command per line on stdin; each is answered with "ok" once done:
  rgb R G B N      every one of the first N pixels of the universe gets (R, G, B)
  terminate        send the stream-terminated packets (sacn's deactivate_output)
  quit             stop the sender and exit
The sacn package always sends to port 5568; the tests run the daemon on a free port, so the module's
port constant is pointed there. Everything else (packet layout, sequence numbers, keep-alive every second,
the three stream-terminated packets) is the package's own.
"""
import sys

import sacn
import sacn.sending.sender_socket_udp as udp


def main() -> None:
    port, universe, priority, name = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    multicast = "--multicast" in sys.argv
    udp.DEFAULT_PORT = port
    sender = sacn.sACNsender(bind_address="127.0.0.1" if not multicast else "0.0.0.0", bind_port=0,
                             source_name=name, fps=40, universeDiscovery=False)
    sender.activate_output(universe)
    out = sender[universe]
    out.priority = priority
    out.multicast = multicast
    out.destination = "127.0.0.1"
    sender.start()
    try:
        for line in sys.stdin:
            cmd = line.split()
            if not cmd:
                continue
            if cmd[0] == "rgb":
                r, g, b, n = (int(x) for x in cmd[1:5])
                out.dmx_data = tuple([r, g, b] * n)
            elif cmd[0] == "terminate":
                sender.deactivate_output(universe)
            elif cmd[0] == "quit":
                break
            print("ok", flush=True)
    finally:
        sender.stop()


if __name__ == "__main__":
    main()
