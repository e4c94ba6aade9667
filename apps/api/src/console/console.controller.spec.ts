import type { FastifyReply } from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Problem } from '../http/problem';
import { ConsoleFiles } from './console-files';
import { ConsoleController } from './console.controller';

/** A FastifyReply stand-in that records what the controller sends. */
function recordingReply() {
  const sent: { headers: Record<string, string>; body?: Buffer } = { headers: {} };
  const reply = {
    header(name: string, value: string) {
      sent.headers[name] = value;
      return reply;
    },
    async send(body: Buffer) {
      sent.body = body;
    },
  };
  return { reply: reply as unknown as FastifyReply, sent };
}

describe('ConsoleController', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'herald-console-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const build = () => {
    mkdirSync(join(root, 'console', 'assets'), { recursive: true });
    writeFileSync(join(root, 'console', 'index.html'), '<!doctype html><title>Herald console</title>');
    writeFileSync(join(root, 'console', 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(root, 'secret.txt'), 'not for the web');
  };
  const controller = () => new ConsoleController(new ConsoleFiles(join(root, 'console')));

  it('answers a problem saying to build when there is no build', async () => {
    const { reply } = recordingReply();
    const error = await controller()
      .page(reply)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Problem);
    expect(error).toMatchObject({ status: 404, slug: 'console-not-built' });
    expect((error as Problem).detail).toContain('npm run build');
  });

  it('serves the page, hashed assets for good, and the page for client routes', async () => {
    build();
    const page = recordingReply();
    await controller().page(page.reply);
    expect(page.sent.body?.toString()).toContain('Herald console');
    expect(page.sent.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
    });
    expect(page.sent.headers['content-security-policy']).toContain("default-src 'self'");

    const asset = recordingReply();
    await controller().file('assets/index-abc123.js', asset.reply);
    expect(asset.sent.body?.toString()).toBe('console.log(1)');
    expect(asset.sent.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
    });

    const route = recordingReply();
    await controller().file('events/123', route.reply);
    expect(route.sent.body?.toString()).toContain('Herald console');
  });

  it('never serves a file outside the build, and a missing asset is a 404', async () => {
    build();
    const escape = recordingReply();
    await controller().file('../secret.txt', escape.reply);
    expect(escape.sent.body?.toString()).toContain('Herald console');
    await expect(controller().file('assets/gone.js', recordingReply().reply)).rejects.toMatchObject({ status: 404 });
  });
});
