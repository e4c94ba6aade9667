import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';

// The HTTP ceiling, in a process of its own as Herald's api is: Fastify parses the JSON body of
// the same event and answers 202, nothing else. Prints its port on stdout.
const app = Fastify({ logger: false });
app.post('/v1/events', async (request, reply) => {
  const body = request.body as { type?: unknown } | undefined;
  if (typeof body?.type !== 'string') return reply.code(400).send({ error: 'type is required' });
  return reply.code(202).send({ id: randomUUID(), status: 'accepted' });
});
app.listen({ port: 0, host: '127.0.0.1' }).then(() => {
  console.log(JSON.stringify({ port: (app.server.address() as AddressInfo).port }));
});
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
