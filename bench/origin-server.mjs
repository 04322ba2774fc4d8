// The benchmark's origin: the smallest useful HTTP server, in a process of its own so that it does
// not share an event loop with the load generator. Prints its port, then serves until killed.
import { createServer } from 'node:http';

const body = Buffer.from('{"ok":true,"from":"origin"}');
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    response.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
