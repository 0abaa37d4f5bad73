# agentless: what SWE-bench's psf/requests tests reach over the network, served on loopback. Inert unless the eval
# script sets the variables below (it does so for the test command only):
# - AGENTLESS_LOOPBACK_HOSTS="name:port=host:port,...": those names and ports resolve to the loopback servers named
#   (other ports of those names to 127.0.0.1, where nothing listens);
# - AGENTLESS_LOOPBACK_CA=file: every SSL context that loads verify locations also trusts this certificate;
# - AGENTLESS_TARPIT=address: a connect() to it times out, as one to an address that never answers does (with no
#   network the kernel refuses it at once).
import os

_hosts = os.environ.get("AGENTLESS_LOOPBACK_HOSTS", "")
_ca = os.environ.get("AGENTLESS_LOOPBACK_CA", "")
_tarpit = os.environ.get("AGENTLESS_TARPIT", "")

if _ca:
    import ssl

    _load_verify_locations = ssl.SSLContext.load_verify_locations

    def _with_loopback_ca(self, *args, **kwargs):
        _load_verify_locations(self, *args, **kwargs)
        _load_verify_locations(self, cafile=_ca)

    ssl.SSLContext.load_verify_locations = _with_loopback_ca

if _hosts:
    import socket

    _routes = {}
    for _entry in filter(None, _hosts.split(",")):
        _source, _target = _entry.split("=")
        _name, _port = _source.rsplit(":", 1)
        _host, _target_port = _target.rsplit(":", 1)
        _routes[(_name.lower(), int(_port))] = (_host, int(_target_port))
    _names = {name for name, _ in _routes}
    _getaddrinfo = socket.getaddrinfo

    def _loopback_getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.lower() in _names:
            try:
                number = int(port)
            except (TypeError, ValueError):
                number = None
            host, port = _routes.get((name.lower(), number), ("127.0.0.1", port))
        return _getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = _loopback_getaddrinfo

if _tarpit:
    import socket
    import time

    _connect = socket.socket.connect

    def _tarpit_connect(self, address):
        if isinstance(address, tuple) and address and address[0] == _tarpit:
            timeout = self.gettimeout()
            # The kernel gives up on an unanswered SYN after about 127 s.
            time.sleep(127 if timeout is None else timeout)
            raise socket.timeout("timed out")
        return _connect(self, address)

    socket.socket.connect = _tarpit_connect
