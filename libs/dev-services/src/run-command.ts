import { execFile } from 'node:child_process';
import path from 'node:path';

export interface RunOptions {
  uid?: number;
  gid?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a program without a shell and resolves with its stdout; a failure names the command and carries its stderr. */
export function runCommand(file: string, args: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        uid: options.uid,
        gid: options.gid,
        cwd: options.cwd,
        env: options.env,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error) {
          const detail = (stderr.trim() || error.message).split('\n').slice(-5).join(' | ');
          reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${detail}`));
          return;
        }
        resolve(stdout);
      },
    );
  });
}
