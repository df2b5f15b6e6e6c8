"""A cluster-mode worker for pmd in plain Python: serves HTTP on the socket
pmd passes as fd 3, says READY=1 when it can take requests, and drains on
SIGTERM (finishes what it has, then exits) so that a reload drops nothing.
"""
import http.server
import os
import signal
import socket
import threading


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = f"hello from worker {os.environ.get('PMD_INSTANCE')} (pid {os.getpid()})\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if draining.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, fmt, *args):
        print(self.address_string(), fmt % args, flush=True)


def notify(message):
    path = os.environ.get("NOTIFY_SOCKET")
    if path:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), "\0" + path[1:] if path[0] == "@" else path)


draining = threading.Event()
assert os.environ.get("LISTEN_PID") == str(os.getpid()), "run me with pmd's listen ="
server = http.server.ThreadingHTTPServer(("", 0), Hello, bind_and_activate=False)
server.socket.close()
server.socket = socket.socket(fileno=3)
# Shared with the other workers: another may take the connection that woke
# us, and a blocking accept() would then wait, deaf to SIGTERM.
server.socket.setblocking(False)
server.daemon_threads = False      # server_close() waits for requests in flight
server.timeout = 0.2               # how often the loop looks at draining

signal.signal(signal.SIGTERM, lambda signum, frame: draining.set())
notify("READY=1\nSTATUS=serving")
print(f"worker {os.environ.get('PMD_INSTANCE')} serving", flush=True)
while not draining.is_set():
    server.handle_request()
server.server_close()
