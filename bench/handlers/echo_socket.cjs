// The floor under the worker round trip: echoes what arrives on fd 3, no framing, no work.
const net = require('node:net');

const socket = new net.Socket({ fd: 3, readable: true, writable: true });
socket.on('data', (chunk) => socket.write(chunk));
socket.on('end', () => process.exit(0));
