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

  it('serves the page at /console and /console/, and hashed assets for good', async () => {
    build();
    const page = recordingReply();
    await controller().page(page.reply);
    expect(page.sent.body?.toString()).toContain('Herald console');
    expect(page.sent.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
    });
    expect(page.sent.headers['content-security-policy']).toContain("default-src 'self'");
    const slash = recordingReply();
    await controller().file('', slash.reply);
    expect(slash.sent.body).toEqual(page.sent.body);

    const asset = recordingReply();
    await controller().file('assets/index-abc123.js', asset.reply);
    expect(asset.sent.body?.toString()).toBe('console.log(1)');
    expect(asset.sent.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
    });
  });

  it('caches by where the file is, not how it was asked for', async () => {
    build();
    const detour = recordingReply();
    await controller().file('assets/../index.html', detour.reply);
    expect(detour.sent.body?.toString()).toContain('Herald console');
    expect(detour.sent.headers['cache-control']).toBe('no-cache');
  });

  it('answers 404 for any other path: the app routes in the hash, so no path of its own is a page', async () => {
    build();
    for (const path of ['events/123', 'assets/gone.js', '../secret.txt', 'assets/../../secret.txt']) {
      const { reply, sent } = recordingReply();
      await expect(controller().file(path, reply)).rejects.toMatchObject({ status: 404 });
      expect(sent.body).toBeUndefined();
    }
  });
});
