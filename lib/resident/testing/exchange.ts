// For tests: one connection to a plugin host socket, as a launcher (or a misbehaving client) makes it.
import { createConnection } from 'node:net';
import { FrameReader, type Frame } from '../protocol.ts';

/** Sends `bytes` on a fresh connection to `socket`; the frames that come back before it closes. */
export function exchange(socket: string, bytes: Buffer): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader();
    const frames: Frame[] = [];
    const connection = createConnection(socket);
    connection.on('data', (chunk: Buffer) => frames.push(...reader.push(chunk)));
    // A refusal may close the connection while the request is still being written: what came back counts.
    connection.on('error', (err) => (frames.length > 0 ? resolve(frames) : reject(err)));
    connection.on('close', () => resolve(frames));
    connection.write(bytes);
  });
}
