// A Prisma generator that writes the DMMF (Prisma's own parse of schema.prisma) to $DMMF_OUT.
// Prisma talks to generators in JSON-RPC, one message a line: requests on stdin, answers on stderr.
const { writeFileSync } = require('node:fs');
const { createInterface } = require('node:readline');

const answer = (id, result) => process.stderr.write(`${JSON.stringify({ jsonrpc: '2.0', id, result })}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line);
  if (request.method === 'getManifest') answer(request.id, { manifest: { prettyName: 'DMMF dump' } });
  if (request.method === 'generate') {
    writeFileSync(process.env.DMMF_OUT, JSON.stringify(request.params.dmmf));
    answer(request.id, null);
  }
});
