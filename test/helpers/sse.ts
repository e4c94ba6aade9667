import { request } from 'node:http';

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Opens an SSE stream and yields its messages one by one (comments and heartbeats skipped). */
export async function openStream(url: string, headers: Record<string, string> = {}) {
  const queue: SseMessage[] = [];
  const waiters: ((m: SseMessage) => void)[] = [];
  let buffer = '';
  const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, resolve);
    req.on('error', reject);
    req.end();
  });
  if (response.statusCode !== 200) throw new Error(`stream answered ${response.statusCode}`);
  // Settles when the server ends the stream (or the connection drops).
  const ended = new Promise<void>((resolve) => response.on('close', resolve));
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: SseMessage = { event: 'message', data: '' };
      let hasData = false;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) message.event = line.slice(7);
        else if (line.startsWith('data: ')) {
          message.data += line.slice(6);
          hasData = true;
        } else if (line.startsWith('id: ')) message.id = line.slice(4);
      }
      if (!hasData) continue;
      const waiter = waiters.shift();
      if (waiter) waiter(message);
      else queue.push(message);
    }
  });
  return {
    status: response.statusCode,
    ended,
    /** The messages received and not yet taken by next(). */
    pending: () => [...queue],
    // Generous: with every suite running at once on two cores, the pipeline can take seconds.
    next(timeoutMs = 30_000): Promise<SseMessage> {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no SSE message in time')), timeoutMs);
        waiters.push((m) => {
          clearTimeout(timer);
          resolve(m);
        });
      });
    },
    close: () => response.destroy(),
  };
}
