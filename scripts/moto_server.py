"""moto's server, made linearizable for drlease's tests.

moto serves requests on many threads and its DynamoDB backend checks a write's condition
and applies the write without a lock, so two concurrent conditional writes can both
succeed. Real DynamoDB never allows that, and drlease's safety rests on it. This runs
moto's own server unchanged except that every request is handled under one lock.

Usage: python scripts/moto_server.py -H 127.0.0.1 -p PORT   (the same flags as moto_server)
"""

import threading

from moto import server
from moto.moto_server import werkzeug_app

_lock = threading.Lock()
_handle = werkzeug_app.DomainDispatcherApplication.__call__


def _serialized(self, environ, start_response):
    with _lock:
        # Materialise the body under the lock too, in case the response is lazy.
        return list(_handle(self, environ, start_response))


werkzeug_app.DomainDispatcherApplication.__call__ = _serialized

if __name__ == "__main__":
    server.main()
