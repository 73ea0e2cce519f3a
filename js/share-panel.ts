// The Share button and its panel: make a read-only link of this run (or project), copy it,
// list the live links and revoke them. The hosts mount it with `dashboard.addAction(el)` /
// `compareView.addAction(el)`:
//
// - in a notebook (widget.ts) the page itself calls the team server, with the short-lived
//   grant the kernel sends in a `share-grant` message (a busy kernel reads nothing from the
//   page, but its thread can send): `kernelAccess`;
// - on the server's own pages (page.ts) it calls the page's same-origin endpoints with the
//   session cookie: `pageAccess`.
//
// The logic (`ShareController`, the backends, the words of every error) is DOM-free and
// tested with a fake backend (share-panel.test.ts); `SharePanel` draws it. Everything shown
// goes in as text (textContent, input.value), never as HTML. The grant lives in the page's
// memory only (a `GrantBox` in RunState / ProjectState), never in the widget's model, which
// the notebook saves.

import type { GrantState, ShareGrant, ShareGrantMessage } from "./protocol";
import { decodeShareGrant } from "./protocol";

// -- what the server says ----------------------------------------------------------------

/** A live link as the server lists it (no token: that is in `CreatedLink` only). */
export interface ShareLink {
  id: string;
  scope: "run" | "project";
  runId: string | null;
  /** Unix seconds; null when the server did not say. */
  createdAt: number | null;
  /** Unix seconds; null: never. */
  expiresAt: number | null;
  showPrivate: boolean;
  /** The token's first characters, to tell links apart ("nbl_3fA9…"). */
  shown: string;
}

/** A link just made: the only time its URL (with the token) is known. */
export interface CreatedLink extends ShareLink {
  url: string;
}

export interface CreateOptions {
  /** null: never expires. */
  expiresInS: number | null;
  /** Show the machine's host, user name and git remote to whoever opens it. */
  showPrivate: boolean;
}

/** Where the panel's calls go: the server with a grant, or the page's own endpoints. */
export interface ShareBackend {
  list(): Promise<ShareLink[]>;
  create(opts: CreateOptions): Promise<CreatedLink>;
  revoke(id: string): Promise<void>;
  /** The server, in words, for errors ("http://tracking:8080"). */
  readonly where: string;
  /** True when a 401 means the grant expired (the kernel makes a new one). */
  readonly granted: boolean;
}

/** The server answered with an error status. */
export class ShareHttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ""}`);
  }
}

/** The request never got an answer (server down, network gone, CORS refused). */
export class ShareNetworkError extends Error {}

/** The part of `fetch` the backends use (a fake one in the tests). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; credentials: RequestCredentials; mode?: RequestMode },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

export const EXPIRY_CHOICES: ReadonlyArray<readonly [string, number | null]> = [
  ["never", null],
  ["1 day", 86_400],
  ["7 days", 7 * 86_400],
  ["30 days", 30 * 86_400],
];

/** A server time (Unix seconds, or an ISO string) as Unix seconds. */
export function secondsOf(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v) {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t / 1000 : null;
  }
  return null;
}

export function decodeLink(x: unknown): ShareLink {
  const v = (typeof x === "object" && x !== null ? x : {}) as Record<string, unknown>;
  const runId = typeof v.run_id === "string" && v.run_id ? v.run_id : null;
  return {
    id: String(v.id ?? ""),
    scope: v.scope === "project" || (v.scope === undefined && !runId) ? "project" : "run",
    runId,
    createdAt: secondsOf(v.created_at),
    expiresAt: secondsOf(v.expires_at),
    showPrivate: v.show_private === true,
    shown: typeof v.shown === "string" ? v.shown : "",
  };
}

async function answer(resp: { ok: boolean; status: number; text(): Promise<string> }): Promise<unknown> {
  let text = "";
  try {
    text = await resp.text();
  } catch {
    text = "";
  }
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (resp.ok) return body;
  let detail = "";
  const d = typeof body === "object" && body !== null ? (body as { detail?: unknown }).detail : undefined;
  if (typeof d === "string") detail = d;
  else if (Array.isArray(d)) detail = d.map((e) => (typeof e === "object" && e && "msg" in e ? String(e.msg) : String(e))).join("; ");
  else detail = text.slice(0, 200);
  throw new ShareHttpError(resp.status, detail);
}

async function call(
  fetchFn: FetchLike,
  where: string,
  url: string,
  init: Parameters<FetchLike>[1],
): Promise<unknown> {
  let resp;
  try {
    resp = await fetchFn(url, init);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    // An https page (Colab, a hosted JupyterHub) may not call an http server: the browser
    // blocks it as mixed content, and says no more than "failed to fetch".
    const page = typeof location === "undefined" ? "" : location.protocol;
    const mixed = page === "https:" && url.startsWith("http:");
    throw new ShareNetworkError(
      `cannot reach ${where} (${why})${mixed ? "; this https page may not call an http server: serve nbtrack over https, or run run.share() in a cell" : ""}`,
    );
  }
  return answer(resp);
}

function created(body: unknown, base: string): CreatedLink {
  const link = decodeLink(body);
  const v = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const path = typeof v.path === "string" ? v.path : typeof v.token === "string" ? `/s/${v.token}` : "";
  if (!path) throw new ShareHttpError(200, "the server's reply has no link");
  // The server's base URL (which may have a path of its own) and the link's path.
  const url = /^https?:\/\//.test(path) ? path : `${base.replace(/\/+$/, "")}${path.startsWith("/") ? "" : "/"}${path}`;
  return { ...link, url };
}

function defaultFetch(): FetchLike {
  return (url, init) => fetch(url, init);
}

/** The team server's API, called from the notebook's page with the kernel's grant. */
export function grantBackend(grant: ShareGrant, fetchFn: FetchLike = defaultFetch()): ShareBackend {
  const api = `${grant.server}/api/v1/shares`;
  const headers = { Authorization: `Bearer ${grant.token}`, Accept: "application/json" };
  // Bearer only: no cookie of the server's goes along (its CORS allows no credentials).
  const init = (method: string, body?: unknown): Parameters<FetchLike>[1] => ({
    method,
    headers: body === undefined ? headers : { ...headers, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    mode: "cors",
  });
  return {
    where: grant.server,
    granted: true,
    async list() {
      const q = new URLSearchParams({ entity: grant.entity, project: grant.project });
      if (grant.runId) q.set("run_id", grant.runId);
      const got = await call(fetchFn, grant.server, `${api}?${q}`, init("GET"));
      return Array.isArray(got) ? got.map(decodeLink) : [];
    },
    async create(opts) {
      const body = {
        entity: grant.entity,
        project: grant.project,
        run_id: grant.runId,
        expires_in_s: opts.expiresInS,
        show_private: opts.showPrivate,
      };
      return created(await call(fetchFn, grant.server, api, init("POST", body)), grant.server);
    },
    async revoke(id) {
      await call(fetchFn, grant.server, `${api}/${encodeURIComponent(id)}`, init("DELETE"));
    },
  };
}

/**
 * The server's own page: its same-origin endpoints (`data-shares`, and `data-share-run` on a
 * run's page), with the session cookie and the header that tells them from a cross-site form.
 */
export function pageBackend(
  sharesUrl: string,
  runId: string | null,
  origin: string,
  fetchFn: FetchLike = defaultFetch(),
): ShareBackend {
  const url = new URL(sharesUrl, origin).href.replace(/\/+$/, "");
  const headers = { "X-Nbtrack": "1", Accept: "application/json" };
  const init = (method: string, body?: unknown): Parameters<FetchLike>[1] => ({
    method,
    headers: body === undefined ? headers : { ...headers, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  return {
    where: "this server",
    granted: false,
    async list() {
      const q = runId ? `?${new URLSearchParams({ run_id: runId })}` : "";
      const got = await call(fetchFn, "this server", `${url}${q}`, init("GET"));
      return Array.isArray(got) ? got.map(decodeLink) : [];
    },
    async create(opts) {
      const body = { run_id: runId, expires_in_s: opts.expiresInS, show_private: opts.showPrivate };
      return created(await call(fetchFn, "this server", url, init("POST", body)), origin);
    },
    async revoke(id) {
      await call(fetchFn, "this server", `${url}/${encodeURIComponent(id)}`, init("DELETE"));
    },
  };
}

/** What went wrong, in words a person can act on. */
export function errorText(err: unknown, backend: ShareBackend | null): string {
  if (err instanceof ShareNetworkError) {
    return `Could not reach the server: ${err.message.replace(/^cannot reach /, "")}. Check that it is up and reachable from this browser.`;
  }
  if (err instanceof ShareHttpError) {
    const detail = err.detail ? ` (${err.detail})` : "";
    switch (err.status) {
      case 401:
        return backend?.granted
          ? `The share credential has expired or was refused (401)${detail}: asking the kernel for a new one; try again in a moment.`
          : `Your sign-in has expired (401)${detail}: sign in again on this server, then try again.`;
      case 403:
        return `Not allowed (403)${detail}: only the owner of this ${backend?.granted ? "run or project" : "project"} can manage its links.`;
      case 404:
        return `Not found on the server (404)${detail}: the run may not be uploaded yet (\`nbtrack sync\` uploads it), or the link is gone already.`;
      case 429:
        return `The server is busy (429)${detail}: try again in a moment.`;
      default:
        return err.status >= 500
          ? `The server failed (${err.status})${detail}: try again in a moment.`
          : `The server refused it (${err.status})${detail}.`;
    }
  }
  return `Something went wrong: ${err instanceof Error ? err.message : String(err)}`;
}

// -- where the panel's calls can go --------------------------------------------------------

export type Access =
  /** No way yet: the kernel was asked (a busy kernel answers once its cell is done). */
  | { kind: "waiting"; text: string }
  /** None: not logged in, not synced; `text` says what to do. */
  | { kind: "none"; text: string }
  | { kind: "ready"; backend: ShareBackend };

export interface AccessSource {
  current(): Access;
  listen(fn: () => void): () => void;
  /** Ask for access again (the kernel: a `share-grant` request); optional. */
  renew?(): void;
}

/** The grant the kernel sent, kept per widget model (RunState, ProjectState), in memory only. */
export class GrantBox {
  state: GrantState | null = null;
  private readonly listeners = new Set<() => void>();

  take(msg: Partial<ShareGrantMessage>): void {
    this.state = decodeShareGrant(msg);
    for (const fn of this.listeners) fn();
  }

  listen(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

export const LOGIN_TEXT =
  "Share links live on a team server, and this kernel is not logged in to one. Log in with " +
  'nbtrack.login(host="http://server:8080") in the notebook (or `nbtrack login --host URL` in a ' +
  "terminal), then start the run again. Without a server, Export writes this view to one HTML " +
  "file that you can send.";

const WAITING_TEXT = "Waiting for the kernel to hand over a share credential (a busy kernel answers once its cell is done)…";
const EXPIRED_TEXT = "The share credential expired: waiting for the kernel to send a new one (a busy kernel answers once its cell is done)…";

/** Grants this close to their end count as ended (clocks differ, requests take time). */
const GRANT_MARGIN_S = 30;

/** The notebook's access: the kernel's grant in `box`; `ask` sends the kernel a request. */
export function kernelAccess(
  box: GrantBox,
  ask: () => void,
  opts: { fetch?: FetchLike; now?: () => number } = {},
): AccessSource {
  const now = opts.now ?? (() => Date.now() / 1000);
  let backendOf: { grant: ShareGrant; backend: ShareBackend } | null = null;
  return {
    current(): Access {
      const s = box.state;
      if (!s) return { kind: "waiting", text: WAITING_TEXT };
      if (s.kind === "none") {
        return { kind: "none", text: s.message ?? (s.reason === "not-logged-in" ? LOGIN_TEXT : "Share links are not available for this view.") };
      }
      if (s.grant.expiresAt !== null && s.grant.expiresAt - GRANT_MARGIN_S <= now()) {
        return { kind: "waiting", text: EXPIRED_TEXT };
      }
      if (backendOf?.grant !== s.grant) backendOf = { grant: s.grant, backend: grantBackend(s.grant, opts.fetch) };
      return { kind: "ready", backend: backendOf.backend };
    },
    listen: (fn) => box.listen(fn),
    renew: ask,
  };
}

/** The server page's access: always ready, with the session cookie. */
export function pageAccess(backend: ShareBackend): AccessSource {
  return { current: () => ({ kind: "ready", backend }), listen: () => () => undefined };
}

// -- the panel's logic ---------------------------------------------------------------------

export class ShareController {
  links: ShareLink[] = [];
  /** The link made last, with its URL; shown until it is revoked. */
  created: CreatedLink | null = null;
  error: string | null = null;
  busy = false;
  /** The list was read at least once. */
  loaded = false;
  private readonly unlisten: () => void;
  private renewed = false;

  constructor(
    private readonly source: AccessSource,
    private readonly onChange: () => void = () => undefined,
  ) {
    this.unlisten = source.listen(() => this.accessChanged());
    if (source.current().kind === "waiting") this.renew();
  }

  get access(): Access {
    return this.source.current();
  }

  destroy(): void {
    this.unlisten();
  }

  /** Read the live links again (when the panel opens, and after every change). */
  async refresh(): Promise<void> {
    const a = this.access;
    if (a.kind !== "ready") {
      if (a.kind === "waiting") this.renew();
      this.changed();
      return;
    }
    await this.run(a.backend, async (b) => {
      this.links = await b.list();
      this.loaded = true;
    });
  }

  async create(opts: CreateOptions): Promise<CreatedLink | null> {
    const a = this.access;
    if (a.kind !== "ready") return null;
    let made: CreatedLink | null = null;
    await this.run(a.backend, async (b) => {
      made = await b.create(opts);
      this.created = made;
      this.links = [made, ...this.links.filter((l) => l.id !== made?.id)];
      this.loaded = true;
      // The server's list is the truth (newest first); what failed to read stays as made.
      try {
        this.links = await b.list();
      } catch {
        // Kept as above: the link exists; the next refresh reads the list again.
      }
    });
    return made;
  }

  async revoke(id: string): Promise<void> {
    const a = this.access;
    if (a.kind !== "ready") return;
    await this.run(a.backend, async (b) => {
      await b.revoke(id);
      if (this.created?.id === id) this.created = null;
      this.links = this.links.filter((l) => l.id !== id);
      try {
        this.links = await b.list();
      } catch {
        // The revoke went through; the list is read again next time.
      }
    });
  }

  private async run(backend: ShareBackend, fn: (b: ShareBackend) => Promise<void>): Promise<void> {
    this.busy = true;
    this.error = null;
    this.changed();
    try {
      await fn(backend);
    } catch (err) {
      this.error = errorText(err, backend);
      // An expired grant: the kernel makes a new one (its thread renews it early anyway).
      if (err instanceof ShareHttpError && err.status === 401 && backend.granted) {
        this.renewed = false;
        this.renew();
      }
    } finally {
      this.busy = false;
      this.changed();
    }
  }

  private renew(): void {
    if (this.renewed) return;
    this.renewed = true;
    this.source.renew?.();
  }

  private accessChanged(): void {
    const a = this.access;
    if (a.kind === "ready") {
      this.renewed = false;
      // A new grant after a refused one: the error was about the old one.
      if (this.error && !this.busy) this.error = null;
    }
    this.changed();
  }

  private changed(): void {
    this.onChange();
  }
}

// -- words -----------------------------------------------------------------------------------

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/** A time as the panel shows it: local, to the minute. */
export function formatTime(t: number): string {
  const d = new Date(t * 1000);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** One line of the list: when it was made, when it ends, what it shows. */
export function linkText(link: ShareLink): string {
  const parts = [];
  if (link.scope === "project") parts.push("project link");
  parts.push(link.createdAt !== null ? `created ${formatTime(link.createdAt)}` : "created (time unknown)");
  parts.push(link.expiresAt !== null ? `expires ${formatTime(link.expiresAt)}` : "never expires");
  if (link.showPrivate) parts.push("shows host, user, git remote");
  return parts.join(" · ");
}

// -- the panel -------------------------------------------------------------------------------

const CSS = `
.nbt-share { position: relative; display: inline-block; }
.nbt-share-button {
  font: inherit; font-size: 12px; padding: 3px 10px; border: 1px solid #cbd5e1; border-radius: 5px;
  background: #fff; color: #1e293b; cursor: pointer;
}
.nbt-share-button[aria-expanded="true"] { background: #eff6ff; border-color: #2563eb; }
.nbt-share-panel {
  position: absolute; z-index: 30; top: calc(100% + 4px); left: 0; width: min(460px, 90vw);
  box-sizing: border-box; padding: 10px 12px; background: #fff; color: #1e293b;
  border: 1px solid #cbd5e1; border-radius: 8px; box-shadow: 0 6px 20px rgba(15, 23, 42, 0.15);
  font-size: 12px; line-height: 1.4;
}
.nbt-share-panel[hidden] { display: none; }
.nbt-share-panel .nbt-share-title { font-weight: 600; margin-bottom: 6px; }
.nbt-share-panel .nbt-share-status { color: #475569; margin: 4px 0; white-space: pre-wrap; }
.nbt-share-panel .nbt-share-status:empty { display: none; }
.nbt-share-panel .nbt-share-form { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; margin: 6px 0; }
.nbt-share-panel .nbt-share-form[hidden], .nbt-share-panel .nbt-share-new[hidden],
.nbt-share-panel .nbt-share-links[hidden] { display: none; }
.nbt-share-panel button { font: inherit; font-size: 12px; padding: 2px 8px; cursor: pointer; }
.nbt-share-panel .nbt-share-new { display: flex; gap: 6px; align-items: center; margin: 6px 0; }
.nbt-share-panel .nbt-share-url { flex: 1; min-width: 0; font-family: var(--jp-code-font-family, monospace); font-size: 11px; padding: 2px 4px; }
.nbt-share-panel .nbt-share-copied { color: #047857; white-space: nowrap; }
.nbt-share-panel .nbt-share-error { color: #b91c1c; margin: 4px 0; }
.nbt-share-panel .nbt-share-error:empty { display: none; }
.nbt-share-panel .nbt-share-list { list-style: none; margin: 4px 0 0; padding: 0; }
.nbt-share-panel .nbt-share-item { display: flex; gap: 8px; align-items: center; padding: 3px 0; border-top: 1px solid #e2e8f0; }
.nbt-share-panel .nbt-share-what { flex: 1; }
.nbt-share-panel .nbt-share-shown { font-family: var(--jp-code-font-family, monospace); color: #64748b; }
.nbt-share-panel .nbt-share-empty { color: #64748b; }
`;

function addShareStyles(): void {
  if (document.getElementById("nbtrack-share-styles")) return;
  const style = document.createElement("style");
  style.id = "nbtrack-share-styles";
  style.textContent = CSS;
  document.head.append(style);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface SharePanelOptions {
  /** "run" on a dashboard, "project" on a compare view: what the links are of. */
  scope: "run" | "project";
}

/** The Share button and its panel; `el` goes in the view's actions bar. */
export class SharePanel {
  readonly el: HTMLElement;
  readonly controller: ShareController;
  private readonly button: HTMLButtonElement;
  private readonly panel: HTMLElement;
  private readonly status: HTMLElement;
  private readonly form: HTMLElement;
  private readonly expires: HTMLSelectElement;
  private readonly showPrivate: HTMLInputElement;
  private readonly createButton: HTMLButtonElement;
  private readonly fresh: HTMLElement;
  private readonly url: HTMLInputElement;
  private readonly copyButton: HTMLButtonElement;
  private readonly copied: HTMLElement;
  private readonly error: HTMLElement;
  private readonly exportOffer: HTMLButtonElement;
  private readonly linksBox: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly onKey = (e: KeyboardEvent): void => {
    if (e.key === "Escape" && this.isOpen) this.toggle(false);
  };

  constructor(source: AccessSource, opts: SharePanelOptions) {
    addShareStyles();
    const what = opts.scope === "run" ? "this run" : "this project";
    this.el = el("div", "nbt-share");
    this.el.dataset.scope = opts.scope;
    this.button = el("button", "nbt-share-button", "Share");
    this.button.type = "button";
    this.button.title = `Read-only links to ${what} that stay live for whoever opens them`;
    this.button.setAttribute("aria-expanded", "false");
    this.button.setAttribute("aria-haspopup", "dialog");
    this.panel = el("div", "nbt-share-panel");
    this.panel.hidden = true;
    this.panel.setAttribute("role", "dialog");
    this.panel.setAttribute("aria-label", `Share ${what}`);

    const title = el("div", "nbt-share-title", `Share ${what}: a read-only link, live for whoever opens it`);
    this.status = el("div", "nbt-share-status");

    this.form = el("div", "nbt-share-form");
    const expLabel = el("label", "nbt-share-expires-label", "Expires ");
    this.expires = el("select", "nbt-share-expires");
    for (const [label, s] of EXPIRY_CHOICES) {
      const o = document.createElement("option");
      o.value = s === null ? "" : String(s);
      o.textContent = label;
      this.expires.append(o);
    }
    expLabel.append(this.expires);
    const privLabel = el("label", "nbt-share-private-label");
    this.showPrivate = el("input", "nbt-share-private");
    this.showPrivate.type = "checkbox";
    privLabel.append(this.showPrivate, document.createTextNode(" show host, user and git remote"));
    this.createButton = el("button", "nbt-share-create", "Create link");
    this.createButton.type = "button";
    this.form.append(expLabel, privLabel, this.createButton);

    this.fresh = el("div", "nbt-share-new");
    this.fresh.hidden = true;
    this.url = el("input", "nbt-share-url");
    this.url.type = "text";
    this.url.readOnly = true;
    this.url.setAttribute("aria-label", "The new link");
    this.copyButton = el("button", "nbt-share-copy", "Copy");
    this.copyButton.type = "button";
    this.copied = el("span", "nbt-share-copied");
    this.fresh.append(this.url, this.copyButton, this.copied);

    // Not logged in: the view's own Export button (beside Share, where the host has one),
    // offered from the panel too.
    this.exportOffer = el("button", "nbt-share-export", "Export as one HTML file");
    this.exportOffer.type = "button";
    this.exportOffer.hidden = true;
    this.exportOffer.addEventListener("click", () => this.exportButton()?.click());

    this.error = el("div", "nbt-share-error");
    this.error.setAttribute("role", "alert");
    this.linksBox = el("div", "nbt-share-links");
    this.list = el("ul", "nbt-share-list");
    this.linksBox.append(el("div", "nbt-share-title", "Live links"), this.list);

    this.panel.append(title, this.status, this.exportOffer, this.form, this.fresh, this.error, this.linksBox);
    this.el.append(this.button, this.panel);

    this.controller = new ShareController(source, () => this.render());
    this.button.addEventListener("click", () => this.toggle(!this.isOpen));
    this.createButton.addEventListener("click", () => {
      const v = this.expires.value;
      void this.controller.create({ expiresInS: v ? Number(v) : null, showPrivate: this.showPrivate.checked });
    });
    this.copyButton.addEventListener("click", () => void this.copy());
    document.addEventListener("keydown", this.onKey);
    this.render();
  }

  destroy(): void {
    this.controller.destroy();
    document.removeEventListener("keydown", this.onKey);
    this.el.remove();
  }

  get isOpen(): boolean {
    return this.panel.hidden !== true;
  }

  toggle(open: boolean): void {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) void this.controller.refresh();
    this.render();
  }

  /** The Export button in the same actions bar, if the host put one there. */
  private exportButton(): HTMLButtonElement | null {
    return this.el.parentElement?.querySelector<HTMLButtonElement>("button.nbt-export") ?? null;
  }

  private async copy(): Promise<void> {
    const text = this.url.value;
    try {
      if (!navigator.clipboard) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      this.copied.textContent = "Copied";
    } catch {
      // No clipboard here (an insecure origin, or permission refused): select it instead.
      this.url.focus();
      this.url.select();
      this.copied.textContent = "Selected: press Ctrl+C to copy";
    }
  }

  private render(): void {
    const c = this.controller;
    const a = c.access;
    this.el.dataset.access = a.kind;
    this.el.dataset.busy = c.busy ? "1" : "";
    this.status.textContent = a.kind === "ready" ? (c.busy && !c.loaded ? "Reading the live links…" : "") : a.text;
    this.form.hidden = a.kind !== "ready";
    this.exportOffer.hidden = a.kind !== "none" || !this.exportButton();
    this.createButton.disabled = c.busy;
    this.linksBox.hidden = a.kind !== "ready" || !c.loaded;
    this.error.textContent = c.error ?? "";
    if (c.created) {
      if (this.url.value !== c.created.url) {
        this.url.value = c.created.url; // a property: nothing of it goes into the HTML
        this.copied.textContent = "";
      }
      this.fresh.hidden = false;
    } else {
      this.url.value = "";
      this.fresh.hidden = true;
    }
    this.renderList();
  }

  private renderList(): void {
    const c = this.controller;
    if (!c.links.length) {
      this.list.replaceChildren(el("li", "nbt-share-empty", "No live links."));
      return;
    }
    this.list.replaceChildren(
      ...c.links.map((link) => {
        const li = el("li", "nbt-share-item");
        li.dataset.id = link.id;
        const what = el("span", "nbt-share-what", linkText(link));
        if (link.shown) what.append(" ", el("span", "nbt-share-shown", link.shown));
        const revoke = el("button", "nbt-share-revoke", "Revoke");
        revoke.type = "button";
        revoke.disabled = c.busy;
        revoke.addEventListener("click", () => void c.revoke(link.id));
        li.append(what, revoke);
        return li;
      }),
    );
  }
}
