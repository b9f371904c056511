"""python3 -m http.server, plus an ETag (the file's sha256) and 304 for a
matching If-None-Match: a static file server as operators front rules with.

usage: etag_server.py DIR   (prints the port it listens on, 127.0.0.1 only)
"""
import hashlib
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                tag = '"%s"' % hashlib.sha256(f.read()).hexdigest()
            if self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.send_header("ETag", tag)
                self.end_headers()
                return None
            self._etag = tag
        return super().send_head()

    def end_headers(self):
        tag = getattr(self, "_etag", None)
        if tag:
            self.send_header("ETag", tag)
            self._etag = None
        super().end_headers()

    def log_message(self, *args):
        pass


os.chdir(sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
