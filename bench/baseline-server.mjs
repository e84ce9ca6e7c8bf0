// The HTTP ceiling: bare node:http answering the same bytes as the no-op model. Prints its port.
import { createServer } from 'node:http';

const body = process.argv[2] ?? 'ok';
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
