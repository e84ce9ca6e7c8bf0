"""The floor under the worker round trip: echoes what arrives on fd 3, no framing, no work."""
import socket

sock = socket.socket(fileno=3)
while True:
    data = sock.recv(1 << 16)
    if not data:
        break
    sock.sendall(data)
