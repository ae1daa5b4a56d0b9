// The plugin host's socket: where the plugin launchers (lib/resident/native/launcher.c) hand weftd their
// calls. One socket per network namespace in a root-only directory (lib/resident/protocol.ts socketPath),
// mode 0600, and the caller's credentials (SO_PEERCRED) must be root's: running a plugin is root's power.
// A call is served only when the caller shares weftd's host and files (peer-view.ts) and its launcher is
// weftd's own build; otherwise it is declined and the launcher runs the Node plugin itself. A malformed,
// oversized or late request is answered with an ERROR frame and logged; it costs no other call anything.
import { chmod } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { configVersionOf, decodeConfigObject } from '../../lib/cni/config.ts';
import { CURRENT_VERSION } from '../../lib/cni/version.ts';
import { nativeNetlink } from '../../lib/netlink/addon.ts';
import {
  decodeRequest, encodeFrame, encodeResult, environmentOf, FrameError, FrameReader, FrameType, ownNetnsInode,
  socketPath, type CallRequest,
} from '../../lib/resident/protocol.ts';
import { privateDirectory } from '../../lib/run-dir.ts';
import { claimSocketPath } from '../files/unix-socket.ts';
import type { Logger } from '../log.ts';
import { hostedPluginNames, type HostedCall, type HostedOutput } from './call.ts';
import { commandLabel, type CallMetrics, type DeclineReason } from './call-metrics.ts';
import { viewDifference } from './peer-view.ts';

export interface PluginServerOptions {
  /** This weftd's build identity (the launchers of the same build carry it). */
  readonly build: string;
  /** Directory of the socket (lib/resident/protocol.ts socketDirectory). */
  readonly socketDir: string;
  /** Runs a call (the worker pool). */
  readonly run: (call: HostedCall) => Promise<HostedOutput>;
  readonly metrics: CallMetrics;
  readonly log: Logger;
}

export interface PluginServer {
  readonly path: string;
  /** Stops taking calls and waits for those running. */
  close(): Promise<void>;
}

/** A request must be whole within this long of the connection (a stuck client holds nothing longer). */
const requestTimeoutMs = 10_000;

/** Sends the last frame and closes once it is out (a client still sending cannot hold the connection). */
function finish(socket: Socket, frame: Buffer): void {
  socket.end(frame, () => socket.destroy());
}

/** The fd of a connected unix socket (Node keeps it on the handle; it offers no SO_PEERCRED itself). */
function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/** [pid, uid] of the peer, or a reason it cannot be known. */
function peerOf(socket: Socket): { pid: number; uid: number } | string {
  const fd = socketFd(socket);
  if (fd < 0) return 'the connection has no descriptor';
  const cred = nativeNetlink().peerCredentials(fd);
  if (typeof cred === 'number') return `SO_PEERCRED failed with errno ${-cred}`;
  return { pid: cred[0], uid: cred[1] };
}

/**
 * What the launcher prints if weftd vanishes before the result: the spec's error JSON, code 11, in the
 * config's version when stdin gives one (as the plugin would have answered).
 */
export function interruptedCallJson(stdin: string): string {
  let cniVersion = CURRENT_VERSION;
  try {
    cniVersion = configVersionOf(decodeConfigObject(stdin));
  } catch {
    // Not a config the plugin could read: it would have answered in the newest version too.
  }
  const error = new CniError(ErrorCode.TryAgainLater, 'weftd stopped during the plugin call', 'the call may be partly done: delete the attachment and add it again');
  return `${JSON.stringify(error.toJson(cniVersion), null, 4)}\n`;
}

export async function startPluginServer(options: PluginServerOptions): Promise<PluginServer> {
  const { log, metrics } = options;
  const path = socketPath(ownNetnsInode(), options.socketDir);
  privateDirectory(options.socketDir, 'serve plugin calls');
  await claimSocketPath(path, 'plugin host socket');
  const running = new Set<Promise<void>>();
  const builds = new Set<string>();

  const refuse = (socket: Socket, reason: string, fields: Record<string, unknown> = {}) => {
    metrics.refused++;
    log.warn('refused a plugin call', { reason, ...fields });
    finish(socket, encodeFrame(FrameType.Error, reason));
  };
  const decline = (socket: Socket, kind: DeclineReason, reason: string, fields: Record<string, unknown>) => {
    metrics.declined(kind);
    // Another build is worth saying once (plugins upgraded, weftd not restarted); the rest is routine.
    if (kind === 'build' && !builds.has(reason)) {
      builds.add(reason);
      log.warn('plugin launchers of another build: they run their own Node plugins until weftd is restarted', { reason });
    } else {
      log.debug('declined a plugin call', { reason, ...fields });
    }
    finish(socket, encodeFrame(FrameType.Decline, reason));
  };

  const serve = (socket: Socket, pid: number, request: CallRequest) => {
    if (request.build !== options.build) {
      return decline(socket, 'build', `weftd is build ${options.build}, the launcher build ${request.build}`, { pid });
    }
    if (!hostedPluginNames.includes(request.plugin)) {
      return decline(socket, 'plugin', `weftd does not run a plugin named ${JSON.stringify(request.plugin)}`, { pid });
    }
    const difference = viewDifference(pid);
    if (difference !== undefined) return decline(socket, 'view', difference, { pid, plugin: request.plugin });
    const env = environmentOf(request.env);
    const stdin = request.stdin.toString('utf8');
    const command = commandLabel(env.CNI_COMMAND);
    const interrupted = interruptedCallJson(stdin);
    const started = process.hrtime.bigint();
    metrics.inFlight++;
    const call = new Promise<void>((resolve) => {
      // The call starts only once PENDING is on its way: if weftd dies after this, the launcher knows. A
      // launcher already gone (its runtime gave up) gets no call started for it.
      socket.write(encodeFrame(FrameType.Pending, interrupted), (err) => {
        if (err) {
          metrics.inFlight--;
          resolve();
          return;
        }
        options.run({ plugin: request.plugin, env, stdin }).catch((err: unknown) => {
          log.error('a plugin call failed in the plugin host', { error: err, plugin: request.plugin, command });
          return { stdout: interrupted, stderr: '', exitCode: 1 };
        }).then((output) => {
          metrics.inFlight--;
          metrics.record(request.plugin, command, output.exitCode, Number(process.hrtime.bigint() - started) / 1e9);
          finish(socket, encodeResult(output));
          resolve();
        });
      });
    });
    running.add(call);
    void call.then(() => running.delete(call));
  };

  const accept = (socket: Socket) => {
    socket.on('error', () => undefined);
    // Who connected is fixed at connect(2); the answer waits for the request, so that a client still
    // writing it is not cut off before it can read why it was refused.
    const peer = peerOf(socket);
    const pid = typeof peer === 'string' ? undefined : peer.pid;
    const reader = new FrameReader();
    const timer = setTimeout(() => refuse(socket, `no whole request within ${requestTimeoutMs} ms`, { pid, received: reader.partialBytes }), requestTimeoutMs);
    const onData = (chunk: Buffer) => {
      let frame;
      try {
        frame = reader.push(chunk)[0];
        if (!frame) return;
        if (frame.type !== FrameType.Request) throw new FrameError(`frame type ${frame.type} where a request belongs`);
      } catch (err) {
        socket.off('data', onData);
        clearTimeout(timer);
        return refuse(socket, (err as Error).message, { pid });
      }
      socket.off('data', onData);
      clearTimeout(timer);
      if (typeof peer === 'string') return refuse(socket, peer);
      if (peer.uid !== 0) return refuse(socket, 'only root may run plugins', { pid: peer.pid, uid: peer.uid });
      let request: CallRequest;
      try {
        request = decodeRequest(frame.payload);
      } catch (err) {
        return refuse(socket, (err as Error).message, { pid: peer.pid });
      }
      serve(socket, peer.pid, request);
    };
    socket.on('data', onData);
    socket.once('close', () => clearTimeout(timer));
  };

  const server: Server = createServer(accept);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return {
    path,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(running);
    },
  };
}
