// The standalone page's feed: a run's widget protocol messages as Server-Sent Events from
// the team server, decoded for `RunState.handle`. No DOM here (vitest runs it in Node); the
// page gives it the browser's EventSource.
//
// The contract with the server: each SSE event is `event: messages`, with `id:` the run's
// ingest sequence (an integer that grows from one event to the next) and `data:` the JSON
// `{"messages": [{"content": <a protocol message>, "buffers": [<base64>, ...]}, ...]}`,
// each content a "points", "histograms" or "header" message exactly as
// nbtrack/widget/_protocol.py builds it. `event: ping` keeps idle connections open. An id that
// is not an integer (`nbtrack ui` sends "<seq>.<hist_seq>", a store position) is never used to
// skip events; the browser still sends it back as Last-Event-ID, and the stream resumes there.
//
// The browser's EventSource reconnects by itself and sends Last-Event-ID, from which the
// server resumes with no gap and no duplicate. It gives up for good only when a reconnect
// gets an HTTP error (a proxy's 502 while the server restarts, say); then a fresh
// EventSource is opened after a pause. That one cannot send Last-Event-ID, so the server
// starts from the beginning, and events up to the last id already handled are skipped.

/** Where the feed stands: before the first open, open, or between connections. */
export type FeedStatus = "connecting" | "live" | "reconnecting";

export const FEED_LABEL: Record<FeedStatus, string> = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
};

/** The message types the feed passes on. BokehJS, say, the page loads itself. */
export const FEED_TYPES: ReadonlySet<string> = new Set([
  "points", "histograms", "header", "overview",
  // the media section's (js/media/store.ts)
  "media", "media-thin",
  // the compare view's (compare-protocol.ts)
  "runs", "curves",
]); // prettier-ignore

export interface FeedMessage {
  content: { type: string };
  buffers: DataView[];
}

export class FeedError extends Error {
  override name = "FeedError";
}

// Uint8Array.fromBase64 (Chrome 140, Firefox 133, Safari 18.2) decodes in native code, several
// times quicker than atob and a loop over its characters (a run's history is megabytes).
type FromBase64 = (s: string) => Uint8Array;
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;

/** The bytes of a base64 string, in a DataView of their own (so aligned for any type). */
export function decodeBase64(b64: string, fromBase64: FromBase64 | undefined = nativeFromBase64): DataView {
  if (fromBase64) {
    const bytes = fromBase64.call(Uint8Array, b64);
    return new DataView(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  }
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new DataView(bytes.buffer);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * The messages of one `messages` event's data, buffers decoded; types other than
 * FEED_TYPES left out. Throws a FeedError when the data is not what the contract says:
 * then none of the event is used, rather than a part of it.
 */
export function decodeEvent(data: string): FeedMessage[] {
  let doc: unknown;
  try {
    doc = JSON.parse(data);
  } catch (err) {
    throw new FeedError(`nbtrack: an event's data is not JSON: ${String(err)}`);
  }
  if (!isObject(doc) || !Array.isArray(doc.messages)) {
    throw new FeedError("nbtrack: an event's data has no messages list");
  }
  const out: FeedMessage[] = [];
  for (const [i, m] of doc.messages.entries()) {
    if (!isObject(m) || !isObject(m.content) || typeof m.content.type !== "string") {
      throw new FeedError(`nbtrack: message ${i} of an event has no content type`);
    }
    if (!FEED_TYPES.has(m.content.type)) continue;
    const buffers = m.buffers ?? [];
    if (!Array.isArray(buffers) || !buffers.every((b) => typeof b === "string")) {
      throw new FeedError(`nbtrack: message ${i} of an event has buffers that are not base64 strings`);
    }
    let views: DataView[];
    try {
      views = buffers.map((b) => decodeBase64(b));
    } catch (err) {
      throw new FeedError(`nbtrack: a buffer of message ${i} is not base64: ${String(err)}`);
    }
    out.push({ content: m.content as { type: string }, buffers: views });
  }
  return out;
}

/** An SSE event id as the run's ingest sequence; null when there is none. */
export function parseEventId(id: string | undefined): number | null {
  if (!id || !/^\d+$/.test(id)) return null;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : null;
}

/** The part of EventSource the feed uses; the browser's has it. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (ev: Event) => void): void;
  close(): void;
}

/** EventSource.CLOSED, spelt out: Node, where the tests run, has no EventSource. */
const CLOSED = 2;

/** Pauses before a fresh EventSource, after the browser gave one up; the last repeats. */
const RETRY_MS = [1000, 2000, 5000, 10000, 30000];

export interface FeedOptions {
  /** Where each message goes: `RunState.handle`. */
  handle: (content: { type: string }, buffers: DataView[]) => void;
  onStatus?: (status: FeedStatus) => void;
  /** A message that could not be decoded or handled; console.error unless given. */
  onError?: (err: unknown) => void;
  /** The browser's EventSource unless given. */
  open?: (url: string) => EventSourceLike;
  retryMs?: readonly number[];
}

export class EventFeed {
  status: FeedStatus = "connecting";
  /** The id of the last event handled; null before the first. */
  lastId: number | null = null;
  private source: EventSourceLike | null = null;
  private retries = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private readonly open: (url: string) => EventSourceLike;
  private readonly onError: (err: unknown) => void;
  private readonly retryMs: readonly number[];

  constructor(
    readonly url: string,
    private readonly options: FeedOptions,
  ) {
    this.open = options.open ?? ((u) => new EventSource(u));
    this.onError = options.onError ?? ((err) => console.error(err));
    this.retryMs = options.retryMs ?? RETRY_MS;
    this.connect();
  }

  private connect(): void {
    this.timer = null;
    if (this.closed) return;
    const es = this.open(this.url);
    this.source = es;
    // A listener per event type: a plain `message` listener would not see named events.
    es.addEventListener("messages", (e) => {
      if (es === this.source) this.onMessages(e as MessageEvent);
    });
    es.addEventListener("ping", () => {
      if (es === this.source) this.setStatus("live");
    });
    es.addEventListener("open", () => {
      if (es !== this.source) return;
      this.retries = 0;
      this.setStatus("live");
    });
    es.addEventListener("error", () => {
      if (es !== this.source || this.closed) return;
      this.setStatus("reconnecting");
      if (es.readyState === CLOSED) {
        es.close();
        this.source = null;
        const delays = this.retryMs;
        const wait = delays[Math.min(this.retries, delays.length - 1)] ?? 1000;
        this.retries++;
        this.timer = setTimeout(() => this.connect(), wait);
      }
    });
  }

  private onMessages(e: MessageEvent): void {
    const id = parseEventId(e.lastEventId);
    if (id !== null && this.lastId !== null && id <= this.lastId) return;
    this.setStatus("live");
    let messages: FeedMessage[] = [];
    try {
      messages = decodeEvent(String(e.data));
    } catch (err) {
      this.onError(err);
    }
    for (const m of messages) {
      try {
        this.options.handle(m.content, m.buffers);
      } catch (err) {
        this.onError(err);
      }
    }
    // Past a bad event too: coming back to it would not make it any better.
    if (id !== null) this.lastId = id;
  }

  private setStatus(s: FeedStatus): void {
    if (s === this.status) return;
    this.status = s;
    this.options.onStatus?.(s);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.source?.close();
    this.source = null;
  }
}
