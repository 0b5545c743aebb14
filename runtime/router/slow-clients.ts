// Bounds on what a slow or idle client may hold: the router's sockets, in-flight slots and tee buffers.
// Guarantees: a request body that arrives slower than `bodyBytesPerSecondMin` (averaged over a window of
// `windowMs`, after a grace of one window) has its socket destroyed and one log line written; a response body
// the client stops reading is bounded by the socket's idle timeout (server settings below). One timer serves
// every watched request, so a thousand slow clients cost one interval, not a thousand.
// Assumes: callers stop watching (the returned function) when the request ends; a destroyed socket ends it.
import type { IncomingMessage, ServerOptions } from "node:http";

/** Node server settings for the S3 port: headers must arrive within 20 s. */
export const S3_SERVER_OPTIONS: ServerOptions = {
  // Bodies of 5 GiB take long at any rate: the whole request is bounded by the rate guard, not a total time.
  requestTimeout: 0,
  // Slowloris: a client that never finishes its headers is dropped after this.
  headersTimeout: 20_000,
  // Longer than HAProxy's keep-alive, so HAProxy closes idle connections first (no race on reuse).
  keepAliveTimeout: 65_000,
  // How often Node checks the two timeouts above (default 30 s would let a slowloris hold sockets for 50 s).
  connectionsCheckingInterval: 5_000,
};

/**
 * Inactivity on a socket (no bytes either way) after which it is closed: covers stalled bodies and unread
 * responses. Above keepAliveTimeout, so an idle keep-alive connection is closed by that rule first.
 */
export const S3_SOCKET_IDLE_MS = 120_000;

export interface BodyRateSettings {
  readonly bodyBytesPerSecondMin: number;
  readonly windowMs: number;
}

/** 16 KiB/s over 20 s: far below any real upload, far above a client trickling bytes to hold a socket. */
export const BODY_RATE_DEFAULTS: BodyRateSettings = { bodyBytesPerSecondMin: 16 * 1024, windowMs: 20_000 };

interface Watched {
  readonly req: IncomingMessage;
  /** The socket's bytesRead when the window began: counting needs no 'data' listener, which would start the flow. */
  bytesReadAtWindowStart: number;
  windowStartedMs: number;
  readonly onTooSlow: (bytesPerSecond: number) => void;
}

export class BodyRateGuard {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: BodyRateSettings = BODY_RATE_DEFAULTS,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Watches one request body; returns the function that stops watching. */
  watch(req: IncomingMessage, onTooSlow: (bytesPerSecond: number) => void): () => void {
    const entry: Watched = { req, bytesReadAtWindowStart: req.socket.bytesRead, windowStartedMs: this.nowMs(), onTooSlow };
    this.watched.add(entry);
    this.timer ??= setInterval(() => this.check(), Math.max(100, this.settings.windowMs / 4)).unref();
    return () => {
      this.watched.delete(entry);
      if (this.watched.size === 0 && this.timer !== undefined) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private check(): void {
    const now = this.nowMs();
    for (const entry of this.watched) {
      const elapsedMs = now - entry.windowStartedMs;
      if (elapsedMs < this.settings.windowMs) continue;
      // A body already fully received, or one whose bytes wait for us to read them (our own backpressure:
      // a slow replica), is not the client's slowness.
      const bytesRead = entry.req.socket.bytesRead;
      const bytesPerSecond = ((bytesRead - entry.bytesReadAtWindowStart) * 1000) / elapsedMs;
      entry.bytesReadAtWindowStart = bytesRead;
      entry.windowStartedMs = now;
      if (entry.req.readableEnded || entry.req.isPaused() || entry.req.readableLength > 0) continue;
      if (bytesPerSecond < this.settings.bodyBytesPerSecondMin) {
        this.watched.delete(entry);
        entry.onTooSlow(bytesPerSecond);
      }
    }
  }
}
