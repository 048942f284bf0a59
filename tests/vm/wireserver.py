# SPDX-License-Identifier: MIT
"""A stand-in for Azure's wire server, as much of it as cloud-init's Azure
datasource uses on a VM's first boot (cloudinit/sources/helpers/azure.py):
the goal state (GET /machine/?comp=goalstate, x-ms-version 2012-11-30) and
the health report that says the VM is ready (POST /machine?comp=health).
It listens on the test's loopback; the guest reaches it at the link-local
address DHCP's option 245 names (vmlib.LinkLocalNet)."""
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOAL_STATE = """<?xml version="1.0" encoding="utf-8"?>
<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">
  <Version>2012-11-30</Version>
  <Incarnation>{incarnation}</Incarnation>
  <Machine>
    <ExpectedState>Started</ExpectedState>
    <StopRolesDeadlineHint>300000</StopRolesDeadlineHint>
    <ExpectHealthReport>FALSE</ExpectHealthReport>
  </Machine>
  <Container>
    <ContainerId>{container_id}</ContainerId>
    <RoleInstanceList>
      <RoleInstance>
        <InstanceId>{instance_id}</InstanceId>
        <State>Started</State>
      </RoleInstance>
    </RoleInstanceList>
  </Container>
</GoalState>
"""


class WireServer:
    def __init__(self):
        self.lock = threading.Lock()
        self.log = []  # (method, path, comp, what): what is the health state reported
        self.instance_id = "00000000-0000-0000-0000-000000000000.sctest_0"
        self.container_id = "5e1f3b2a-0000-4000-8000-000000000001"
        self.incarnation = 1
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, status, body=b"", ctype="text/xml; charset=utf-8"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                comp = urllib.parse.parse_qs(u.query).get("comp", [""])[0]
                server.record("GET", u.path, comp, "")
                if u.path.rstrip("/") == "/machine" and comp == "goalstate":
                    if self.headers.get("x-ms-version") != "2012-11-30":
                        return self.reply(400, b"<Error>x-ms-version</Error>")
                    with server.lock:
                        body = GOAL_STATE.format(incarnation=server.incarnation,
                                                 container_id=server.container_id,
                                                 instance_id=server.instance_id)
                    return self.reply(200, body.encode())
                return self.reply(404)

            def do_POST(self):
                u = urllib.parse.urlsplit(self.path)
                comp = urllib.parse.parse_qs(u.query).get("comp", [""])[0]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                what = ""
                if u.path.rstrip("/") == "/machine" and comp == "health":
                    try:
                        state = ET.fromstring(body).find(".//Health/State")
                        what = state.text if state is not None else "?"
                    except ET.ParseError:
                        what = "unparsable"
                server.record("POST", u.path, comp, what)
                return self.reply(200 if what not in ("", "unparsable") else 400)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def record(self, method, path, comp, what):
        with self.lock:
            self.log.append((method, path, comp, what))

    def ready_reports(self):
        with self.lock:
            return [e for e in self.log if e[2] == "health" and e[3] == "Ready"]

    def stop(self):
        self.httpd.shutdown()
