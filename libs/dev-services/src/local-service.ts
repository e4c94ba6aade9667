import path from 'node:path';

export type Log = (line: string) => void;

/** A server this process started, or found already running on the same data folder and reused. */
export interface LocalService {
  url: string;
  started: boolean;
  /** Leaves the server; it stops when no other live process uses it. */
  stop(): Promise<void>;
}

/** How a path is printed: relative to the working directory when it lies below it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') ? relative : file;
}
